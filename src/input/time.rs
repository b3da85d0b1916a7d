//! Timestamps: integer ms or s since the Unix epoch, or text (RFC 3339 and the
//! `2019-10-01 00:00:00 UTC` form), to ms since the epoch.

use super::clean::Reason;
use super::schema::TsUnit;

/// The ms since the epoch a field names. A digits-only field is read in `unit` (ms for
/// `rfc3339`); anything else is read as text time.
pub(crate) fn parse_ts(field: &str, unit: TsUnit) -> Result<u64, Reason> {
    if !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = field.parse().map_err(|_| Reason::Parse)?;
        return match unit {
            TsUnit::S => n.checked_mul(1000).ok_or(Reason::Parse),
            TsUnit::Ms | TsUnit::Rfc3339 => Ok(n),
        };
    }
    text_time(field).ok_or(Reason::Parse)
}

/// `YYYY-MM-DD[T| ]HH:MM:SS[.fff...][Z| UTC|±HH:MM|±HHMM]`; no zone means UTC.
/// Times before 1970 do not parse (ts is unsigned).
fn text_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if seps.iter().any(|(i, c)| b[*i] != *c) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let (ms, rest) = fraction(s.get(19..)?)?;
    let offset_s = zone(rest)?;
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    let total = secs.checked_mul(1000)?.checked_add(ms)?;
    u64::try_from(total).ok()
}

/// An optional `.digits` (ms; digits past the third are dropped) and what follows.
fn fraction(s: &str) -> Option<(i64, &str)> {
    let Some(rest) = s.strip_prefix('.') else {
        return Some((0, s));
    };
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let mut ms = 0;
    for (i, c) in rest.bytes().take(3).enumerate().filter(|(i, _)| *i < n) {
        ms += i64::from(c - b'0') * [100, 10, 1][i];
    }
    Some((ms, &rest[n..]))
}

/// The zone's offset east of UTC in seconds.
fn zone(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("z") || s == "UTC" || s == "GMT" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) || rest.len() > 5 {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
