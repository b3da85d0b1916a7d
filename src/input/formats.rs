//! The two input formats: how a line becomes fields, and fields a raw event.

use std::borrow::Cow;

use dataflows::model::Action;

use super::clean::{check_price, check_quantity, parse_u64, required, Reason};
use super::Format;

/// The native columns, in order; the first `NATIVE_REQUIRED` are mandatory.
pub(crate) const NATIVE_COLUMNS: [&str; 8] =
    ["ts", "user", "item", "action", "category", "price", "quantity", "session"];
const NATIVE_REQUIRED: usize = 4;
pub(crate) const NATIVE_EXPECTED: &str = "ts,user,item,action[,category,price,quantity,session]";
const TAOBAO_FIELDS: usize = 5;

/// A record that parsed and passed the per-record checks, before keying.
#[derive(Debug)]
pub(crate) struct RawEvent<'a> {
    pub ts_ms: u64,
    pub user: Cow<'a, str>,
    pub item: Cow<'a, str>,
    pub action: Action,
    pub category: Option<Cow<'a, str>>,
}

/// Splits a CSV line on commas, trimming spaces around each field. Fields may be
/// double-quoted (`""` is a quote inside); a record cannot span lines. `None` when a
/// quote is not closed or is followed by anything but the separator.
pub(crate) fn split(line: &str) -> Option<Vec<Cow<'_, str>>> {
    if !line.contains('"') {
        return Some(line.split(',').map(|f| Cow::Borrowed(f.trim())).collect());
    }
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.trim_start();
        if let Some(quoted) = start.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let after = loop {
                match chars.next() {
                    None => return None,
                    Some((i, '"')) => {
                        if quoted[i + 1..].starts_with('"') {
                            value.push('"');
                            chars.next();
                        } else {
                            break &quoted[i + 1..];
                        }
                    }
                    Some((_, c)) => value.push(c),
                }
            };
            fields.push(Cow::Owned(value));
            let after = after.trim_start();
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Some(fields),
                None => return None,
            }
        } else {
            match rest.split_once(',') {
                Some((field, next)) => {
                    fields.push(Cow::Borrowed(field.trim()));
                    rest = next;
                }
                None => {
                    fields.push(Cow::Borrowed(rest.trim()));
                    return Some(fields);
                }
            }
        }
    }
}

/// The column count a native header declares, or `None` if it is not a valid header.
pub(crate) fn native_header(line: &str) -> Option<usize> {
    let names: Vec<&str> = line.split(',').map(str::trim).collect();
    let ok = (NATIVE_REQUIRED..=NATIVE_COLUMNS.len()).contains(&names.len())
        && names.iter().zip(NATIVE_COLUMNS.iter()).all(|(a, b)| a == b);
    ok.then_some(names.len())
}

/// Whether the first line of a taobao file is a header: at least two fields, each a
/// word starting with a letter (a real record's timestamp is a number).
pub(crate) fn looks_like_header(line: &str) -> bool {
    let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
    fields.len() >= 2
        && fields.iter().all(|f| {
            f.starts_with(|c: char| c.is_ascii_alphabetic())
                && f.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '-' | '.'))
        })
}

/// Parses one data line of `format`; `columns` is the native header's column count.
pub(crate) fn parse(format: Format, columns: usize, line: &str) -> Result<RawEvent<'_>, Reason> {
    let fields = split(line).ok_or(Reason::Parse)?;
    match format {
        Format::Taobao => taobao(fields),
        Format::Native => native(fields, columns),
    }
}

fn taobao(f: Vec<Cow<'_, str>>) -> Result<RawEvent<'_>, Reason> {
    let [user, item, category, behavior, ts]: [Cow<'_, str>; TAOBAO_FIELDS] =
        f.try_into().map_err(|_| Reason::Parse)?;
    for field in [&user, &item, &behavior, &ts] {
        required(field)?;
    }
    let secs = parse_u64(&ts)?;
    let ts_ms = secs.checked_mul(1000).ok_or(Reason::Parse)?;
    let action = match &*behavior {
        "pv" => Action::View,
        "fav" => Action::Favorite,
        "cart" => Action::Cart,
        "buy" => Action::Purchase,
        _ => return Err(Reason::UnknownAction),
    };
    let category = Some(category).filter(|c| !c.is_empty());
    Ok(RawEvent { ts_ms, user, item, action, category })
}

fn native(f: Vec<Cow<'_, str>>, columns: usize) -> Result<RawEvent<'_>, Reason> {
    if f.len() != columns {
        return Err(Reason::Parse);
    }
    let mut f = f.into_iter();
    let mut next = || f.next().unwrap_or_default();
    // Absent optional columns read as empty fields.
    let (ts, user, item, action) = (next(), next(), next(), next());
    let (category, price, quantity) = (next(), next(), next());
    // Column 8 (session) is carried by the format but not used by the model yet.
    for field in [&ts, &user, &item, &action] {
        required(field)?;
    }
    let ts_ms = parse_u64(&ts)?;
    let action = Action::parse(&action).ok_or(Reason::UnknownAction)?;
    check_price(&price)?;
    check_quantity(&quantity)?;
    let category = Some(category).filter(|c| !c.is_empty());
    Ok(RawEvent { ts_ms, user, item, action, category })
}
