//! The presets and the native formats as schemas, and how a file's first line picks
//! (`--format auto`) or checks (a named format) its schema.

use dataflows::model::Action;

use super::formats::split;
use super::schema::{ActionTable, Actions, ColumnMap, Format, Layout, Schema, TsUnit, REQUIRED, ROLES};
use super::InputError;

pub(crate) const REES46_HEADER: &str =
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
pub(crate) const RETAILROCKET_HEADER: &str = "timestamp,visitorid,event,itemid,transactionid";
pub(crate) const ML_RATINGS_HEADER: &str = "userId,movieId,rating,timestamp";
pub(crate) const NATIVE_EXPECTED: &str = "ts,user,item,action[,category,price,quantity,session] (any order)";

const TAOBAO: &[(&str, Action)] =
    &[("pv", Action::View), ("fav", Action::Favorite), ("cart", Action::Cart), ("buy", Action::Purchase)];
const REES46: &[(&str, Action)] = &[
    ("view", Action::View),
    ("cart", Action::Cart),
    ("remove_from_cart", Action::RemoveCart),
    ("purchase", Action::Purchase),
];
const RETAILROCKET: &[(&str, Action)] =
    &[("view", Action::View), ("addtocart", Action::Cart), ("transaction", Action::Purchase)];

/// What the command line says about the schema, for every file.
#[derive(Clone, Debug, Default)]
pub struct SchemaOptions {
    pub format: Option<Format>,
    pub map: Option<ColumnMap>,
    pub ts_unit: Option<TsUnit>,
    pub actions: Option<ActionTable>,
}

/// How much of a line is quoted in an error.
const QUOTE_MAX: usize = 200;

fn quote(line: &str) -> String {
    match line.char_indices().nth(QUOTE_MAX) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

/// Columns by role: `(role index, column index)` pairs.
fn cols(pairs: &[(usize, usize)]) -> [Option<usize>; 8] {
    let mut out = [None; 8];
    for (role, col) in pairs {
        out[*role] = Some(*col);
    }
    out
}

fn csv(sep: char, width: usize, pairs: &[(usize, usize)]) -> Layout {
    Layout::Csv { sep, width: Some(width), cols: cols(pairs) }
}

// Role indices, as in `ROLES`.
const TS: usize = 0;
const USER: usize = 1;
const ITEM: usize = 2;
const ACTION: usize = 3;
const CATEGORY: usize = 4;
const PRICE: usize = 5;
const SESSION: usize = 7;

fn taobao() -> Schema {
    let layout = csv(',', 5, &[(USER, 0), (ITEM, 1), (CATEGORY, 2), (ACTION, 3), (TS, 4)]);
    let mut s = Schema::new("taobao", layout, TsUnit::S, Actions::Preset(TAOBAO));
    s.unsorted = true;
    s
}

fn rees46() -> Schema {
    let pairs = [(TS, 0), (ACTION, 1), (ITEM, 2), (CATEGORY, 3), (PRICE, 6), (USER, 7), (SESSION, 8)];
    let layout = csv(',', 9, &pairs);
    let mut s = Schema::new("rees46", layout, TsUnit::Rfc3339, Actions::Preset(REES46));
    s.header_text = Some(REES46_HEADER.into());
    s
}

fn retailrocket() -> Schema {
    let layout = csv(',', 5, &[(TS, 0), (USER, 1), (ACTION, 2), (ITEM, 3)]);
    let mut s = Schema::new("retailrocket", layout, TsUnit::Ms, Actions::Preset(RETAILROCKET));
    s.header_text = Some(RETAILROCKET_HEADER.into());
    s.unsorted = true;
    s
}

fn movielens(sep: char, header: bool) -> Schema {
    let layout = csv(sep, 4, &[(USER, 0), (ITEM, 1), (ACTION, 2), (TS, 3)]);
    let mut s = Schema::new("movielens", layout, TsUnit::S, Actions::Rating);
    s.header_text = header.then(|| ML_RATINGS_HEADER.into());
    s.unsorted = true;
    s
}

/// The header's column names, or `None` if it does not split.
fn header_names(line: &str) -> Option<Vec<String>> {
    split(line, ',').map(|f| f.into_iter().map(|c| c.into_owned()).collect())
}

/// Native CSV: every column a role name, each at most once, the first four present.
fn native(file: &str, line: &str, unit: TsUnit) -> Result<Schema, InputError> {
    let bad = || InputError::Header {
        file: file.to_string(),
        found: quote(line),
        expected: NATIVE_EXPECTED.to_string(),
    };
    let names = header_names(line).ok_or_else(bad)?;
    let mut out = [None; 8];
    for (col, name) in names.iter().enumerate() {
        let role = ROLES.iter().position(|r| r == name).ok_or_else(bad)?;
        if out[role].replace(col).is_some() {
            return Err(bad());
        }
    }
    if out[..REQUIRED].iter().any(Option::is_none) {
        return Err(bad());
    }
    let layout = Layout::Csv { sep: ',', width: Some(names.len()), cols: out };
    let mut s = Schema::new("native", layout, unit, Actions::Canonical);
    s.header_text = Some(line.to_string());
    Ok(s)
}

fn jsonl(map: Option<&ColumnMap>, unit: TsUnit) -> Schema {
    let keys = match map {
        Some(m) => m.names.clone(),
        None => ROLES.map(|r| Some(r.to_string())),
    };
    Schema::new("jsonl", Layout::Json { keys }, unit, Actions::Canonical)
}

/// A CSV log whose header names the mapped columns.
fn mapped_csv(file: &str, line: &str, map: &ColumnMap, unit: TsUnit) -> Result<Schema, InputError> {
    let names = header_names(line).ok_or_else(|| InputError::Header {
        file: file.to_string(),
        found: quote(line),
        expected: "a CSV header naming the --map columns".into(),
    })?;
    let mut out = [None; 8];
    for (role, wanted) in map.names.iter().enumerate() {
        let Some(wanted) = wanted else { continue };
        let col = names.iter().position(|n| n == wanted).ok_or_else(|| InputError::MissingColumn {
            file: file.to_string(),
            column: wanted.clone(),
            header: quote(line),
        })?;
        out[role] = Some(col);
    }
    let layout = Layout::Csv { sep: ',', width: Some(names.len()), cols: out };
    let mut s = Schema::new("mapped", layout, unit, Actions::Canonical);
    s.header_text = Some(line.to_string());
    Ok(s)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A Taobao record: `digits,digits,digits,word,digits`.
fn looks_taobao(line: &str) -> bool {
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    f.len() == 5
        && [f[0], f[1], f[4]].iter().all(|x| is_digits(x))
        && f[3].bytes().all(|b| b.is_ascii_alphabetic())
}

/// A `u.data` record: four tab-separated numbers.
fn looks_udata(line: &str) -> bool {
    let f: Vec<&str> = line.split('\t').map(str::trim).collect();
    f.len() == 4 && f.iter().all(|x| is_digits(x) || x.parse::<f64>().is_ok())
}

/// Whether a first line is a header: at least two fields, each a word starting with a
/// letter (a real record's timestamp is a number).
pub(crate) fn looks_like_header(line: &str) -> bool {
    let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
    fields.len() >= 2
        && fields.iter().all(|f| {
            f.starts_with(|c: char| c.is_ascii_alphabetic())
                && f.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '-' | '.'))
        })
}

/// The schema of `file` given its first non-blank line (BOM and CR removed).
pub(crate) fn resolve(opts: &SchemaOptions, file: &str, first: &str) -> Result<Schema, InputError> {
    let mut format = opts.format.unwrap_or(Format::Auto);
    if format == Format::Auto && opts.map.is_none() {
        format = detect(file, first)?;
    }
    let custom = matches!(format, Format::Auto | Format::Native | Format::Jsonl) || opts.map.is_some();
    if opts.map.is_some() && !matches!(format, Format::Auto | Format::Native | Format::Jsonl) {
        return Err(InputError::Option {
            file: file.into(),
            what: "--map applies to --format auto, native or jsonl".into(),
        });
    }
    if opts.ts_unit.is_some() && !custom {
        return Err(InputError::Option {
            file: file.into(),
            what: format!("--ts-unit applies to native, jsonl and --map; this file is {format:?}")
                .to_lowercase(),
        });
    }
    let unit = opts.ts_unit.unwrap_or(TsUnit::Ms);
    let mut schema = match (format, &opts.map) {
        (Format::Jsonl, map) => jsonl(map.as_ref(), unit),
        (_, Some(map)) if first.trim_start().starts_with('{') => jsonl(Some(map), unit),
        (_, Some(map)) => mapped_csv(file, first, map, unit)?,
        (Format::Native | Format::Auto, None) => native(file, first, unit)?,
        (Format::Taobao, None) => {
            if looks_like_header(first) {
                return Err(InputError::LooksLikeHeader { file: file.into() });
            }
            taobao()
        }
        (Format::Rees46, None) => expect_header(file, first, REES46_HEADER, rees46())?,
        (Format::Retailrocket, None) => expect_header(file, first, RETAILROCKET_HEADER, retailrocket())?,
        (Format::Movielens, None) => movielens_of(file, first)?,
    };
    if let Some(table) = &opts.actions {
        schema.aliases = table.0.clone();
    }
    Ok(schema)
}

fn expect_header(file: &str, first: &str, header: &str, schema: Schema) -> Result<Schema, InputError> {
    if first.trim() == header {
        return Ok(schema);
    }
    Err(InputError::Header { file: file.into(), found: quote(first), expected: header.into() })
}

fn movielens_of(file: &str, first: &str) -> Result<Schema, InputError> {
    if first.trim() == ML_RATINGS_HEADER {
        Ok(movielens(',', true))
    } else if first.contains('\t') {
        Ok(movielens('\t', false))
    } else {
        Err(InputError::Header {
            file: file.into(),
            found: quote(first),
            expected: format!("`{ML_RATINGS_HEADER}` (ratings.csv) or a tab-separated u.data record"),
        })
    }
}

/// `--format auto`: the format the first line shows.
fn detect(file: &str, first: &str) -> Result<Format, InputError> {
    let line = first.trim();
    let format = if line.starts_with('{') {
        Format::Jsonl
    } else if line == REES46_HEADER {
        Format::Rees46
    } else if line == RETAILROCKET_HEADER {
        Format::Retailrocket
    } else if line == ML_RATINGS_HEADER || looks_udata(line) {
        Format::Movielens
    } else if looks_taobao(line) {
        Format::Taobao
    } else if header_names(line).is_some_and(|n| n.iter().all(|c| ROLES.contains(&c.as_str()))) {
        Format::Native
    } else {
        return Err(InputError::Unrecognised { file: file.into(), first: quote(first) });
    };
    tracing::debug!(file, ?format, "format recognised");
    Ok(format)
}
