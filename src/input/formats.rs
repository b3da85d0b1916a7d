//! One record (a line) of a schema to a raw event: split the fields, pick each role's,
//! and check them (MODEL.md §1).

use std::borrow::Cow;

use dataflows::model::Action;

use super::clean::{check_price, check_quantity, required, Reason};
use super::schema::{Actions, Layout, Schema};
use super::time::parse_ts;

/// A record that parsed and passed the per-record checks, before keying.
#[derive(Debug)]
pub(crate) struct RawEvent<'a> {
    pub ts_ms: u64,
    pub user: Cow<'a, str>,
    pub item: Cow<'a, str>,
    pub action: Action,
    pub category: Option<Cow<'a, str>>,
}

/// Splits a line on `sep`, trimming spaces around each field. Fields may be
/// double-quoted (`""` is a quote inside); a record cannot span lines. `None` when a
/// quote is not closed or is followed by anything but the separator.
pub(crate) fn split(line: &str, sep: char) -> Option<Vec<Cow<'_, str>>> {
    if !line.contains('"') {
        return Some(line.split(sep).map(|f| Cow::Borrowed(f.trim())).collect());
    }
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.trim_start();
        if let Some(quoted) = start.strip_prefix('"') {
            let (value, after) = unquote(quoted)?;
            fields.push(Cow::Owned(value));
            let after = after.trim_start();
            match after.strip_prefix(sep) {
                Some(next) => rest = next,
                None if after.is_empty() => return Some(fields),
                None => return None,
            }
        } else {
            match rest.split_once(sep) {
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

/// The value of a quoted field (after its opening quote) and what follows its closing one.
fn unquote(quoted: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    loop {
        match chars.next() {
            None => return None,
            Some((i, '"')) => {
                let after = quoted.get(i + 1..)?;
                if after.starts_with('"') {
                    value.push('"');
                    chars.next();
                } else {
                    return Some((value, after));
                }
            }
            Some((_, c)) => value.push(c),
        }
    }
}

/// Parses one data line with `schema`.
pub(crate) fn parse<'a>(schema: &Schema, line: &'a str) -> Result<RawEvent<'a>, Reason> {
    let fields = match &schema.layout {
        Layout::Csv { sep, width, cols } => {
            let fields = split(line, *sep).ok_or(Reason::Parse)?;
            if width.is_some_and(|w| w != fields.len()) {
                return Err(Reason::Parse);
            }
            pick(fields, cols)
        }
        Layout::Json { keys } => json_fields(line, keys)?,
    };
    build(schema, fields)
}

/// Each role's field; an absent role is an empty field.
fn pick<'a>(fields: Vec<Cow<'a, str>>, cols: &[Option<usize>; 8]) -> [Cow<'a, str>; 8] {
    let mut fields: Vec<Option<Cow<'a, str>>> = fields.into_iter().map(Some).collect();
    cols.map(|c| c.and_then(|c| fields.get_mut(c).and_then(Option::take)).unwrap_or_default())
}

/// A JSON object's fields by key: strings as they are, numbers as written, null or an
/// absent key as empty; anything else does not parse.
fn json_fields<'a>(line: &str, keys: &[Option<String>; 8]) -> Result<[Cow<'a, str>; 8], Reason> {
    let mut obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(line).map_err(|_| Reason::Parse)?;
    let mut out: [Cow<'a, str>; 8] = Default::default();
    for (slot, key) in out.iter_mut().zip(keys) {
        let Some(value) = key.as_ref().and_then(|k| obj.remove(k)) else {
            continue;
        };
        *slot = match value {
            serde_json::Value::String(s) => Cow::Owned(s.trim().to_string()),
            serde_json::Value::Number(n) => Cow::Owned(n.to_string()),
            serde_json::Value::Null => Cow::Borrowed(""),
            _ => return Err(Reason::Parse),
        };
    }
    Ok(out)
}

fn build<'a>(schema: &Schema, fields: [Cow<'a, str>; 8]) -> Result<RawEvent<'a>, Reason> {
    // The session (field 7) is carried by the formats but not used by the model yet.
    let [ts, user, item, action, category, price, quantity, _session] = fields;
    for field in [&ts, &user, &item, &action] {
        required(field)?;
    }
    let ts_ms = parse_ts(&ts, schema.ts)?;
    let action = match (&schema.actions, schema.action(&action)) {
        (_, Some(a)) => a,
        (Actions::Rating, None) => rating(&action)?,
        (_, None) => return Err(Reason::UnknownAction),
    };
    check_price(&price)?;
    check_quantity(&quantity)?;
    let category = Some(category).filter(|c| !c.is_empty());
    Ok(RawEvent { ts_ms, user, item, action, category })
}

/// A MovieLens rating `1`..`5` (`0.5` steps, e.g. `3.5`) as `Action::Rating(halves)`.
fn rating(field: &str) -> Result<Action, Reason> {
    let r: f64 = field.parse().map_err(|_| Reason::Parse)?;
    let halves = r * 2.0;
    if !(1.0..=10.0).contains(&halves) || halves.fract() != 0.0 {
        return Err(Reason::BadRating);
    }
    Ok(Action::Rating(halves as u8))
}
