//! What a file's records look like: which field holds which part of an event, how
//! time is written, and what the action names mean. Every format, preset or mapped,
//! is a `Schema`; `formats::parse` turns one line into a raw event with it.

use std::collections::HashMap;
use std::str::FromStr;

use dataflows::model::Action;

/// The input formats (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Recognise the preset (or native CSV / JSON lines) from the first line of each file.
    Auto,
    /// Native CSV with a header naming the columns `ts,user,item,action[,category,price,quantity,session]`.
    Native,
    /// Native JSON lines: one object per line with those keys.
    Jsonl,
    /// Taobao UserBehavior: no header, `user_id,item_id,category_id,behavior_type,timestamp`.
    Taobao,
    /// REES46 multi-category store: header `event_time,event_type,product_id,...`.
    Rees46,
    /// RetailRocket events.csv: header `timestamp,visitorid,event,itemid,transactionid`.
    Retailrocket,
    /// MovieLens `u.data` (tab-separated, no header) or `ratings.csv` (header).
    Movielens,
}

/// How a timestamp field is written (`--ts-unit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TsUnit {
    /// Integer milliseconds since the Unix epoch.
    Ms,
    /// Integer seconds since the Unix epoch.
    S,
    /// Text: RFC 3339 (`2019-10-01T00:00:00Z`) or `2019-10-01 00:00:00 UTC`.
    Rfc3339,
}

/// Whether files are sorted by time before they are streamed (`--sort`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SortMode {
    /// Sort the formats whose public releases are not in time order (taobao, movielens,
    /// retailrocket); never when following.
    #[default]
    Auto,
    Yes,
    No,
}

/// The parts of an event, in the order of the native columns.
pub(crate) const ROLES: [&str; 8] =
    ["ts", "user", "item", "action", "category", "price", "quantity", "session"];
/// The first four roles are required.
pub(crate) const REQUIRED: usize = 4;

/// Where each role is found: CSV column index or JSON key; `None`: absent.
#[derive(Clone, Debug)]
pub(crate) enum Layout {
    Csv {
        sep: char,
        /// Every record must have exactly this many fields.
        width: Option<usize>,
        cols: [Option<usize>; 8],
    },
    Json {
        keys: [Option<String>; 8],
    },
}

/// How action names become actions.
#[derive(Clone, Debug)]
pub(crate) enum Actions {
    /// The canonical names of the native formats (`view`, ..., `rating:4.5`).
    Canonical,
    /// A preset's own names.
    Preset(&'static [(&'static str, Action)]),
    /// The action field is a rating (MovieLens): `1`..`5` in steps of 0.5.
    Rating,
}

#[derive(Clone, Debug)]
pub(crate) struct Schema {
    /// The format's name, for messages.
    pub name: &'static str,
    pub layout: Layout,
    /// The first line is a header; `header_text` is it, kept to skip it again after a
    /// followed file was truncated or rotated.
    pub header_text: Option<String>,
    pub ts: TsUnit,
    pub actions: Actions,
    /// `--actions` aliases, looked up before `actions`.
    pub aliases: HashMap<String, Action>,
    /// The format's public releases are not time-ordered: sorted by default.
    pub unsorted: bool,
}

/// `--map ts=event_time,user=uid,item=sku,action=type[,category=..,price=..,...]`:
/// the column (CSV header name) or key (JSON) of each role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap {
    pub names: [Option<String>; 8],
}

impl FromStr for ColumnMap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut map = ColumnMap::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (role, name) = pair.split_once('=').ok_or_else(|| format!("`{pair}` is not ROLE=COLUMN"))?;
            let (role, name) = (role.trim(), name.trim());
            let slot = ROLES
                .iter()
                .position(|r| *r == role)
                .ok_or_else(|| format!("unknown role `{role}` (roles: {})", ROLES.join(", ")))?;
            if name.is_empty() || map.names[slot].is_some() {
                return Err(format!("role `{role}` needs exactly one column name"));
            }
            map.names[slot] = Some(name.to_string());
        }
        if let Some(i) = (0..REQUIRED).find(|i| map.names[*i].is_none()) {
            return Err(format!("the mapping lacks `{}=`", ROLES[i]));
        }
        Ok(map)
    }
}

/// `--actions clicks=view,carts=cart,orders=purchase`: source names -> actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionTable(pub HashMap<String, Action>);

impl FromStr for ActionTable {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut table = HashMap::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, action) =
                pair.split_once('=').ok_or_else(|| format!("`{pair}` is not NAME=ACTION"))?;
            let action = Action::parse(action.trim())
                .ok_or_else(|| format!("`{}` is not an action", action.trim()))?;
            table.insert(name.trim().to_string(), action);
        }
        Ok(ActionTable(table))
    }
}

impl Schema {
    /// A schema of the canonical actions and no aliases.
    pub(crate) fn new(name: &'static str, layout: Layout, ts: TsUnit, actions: Actions) -> Self {
        Schema { name, layout, header_text: None, ts, actions, aliases: HashMap::new(), unsorted: false }
    }

    /// Stands in until a source's first line is read.
    pub(crate) fn placeholder() -> Self {
        let keys = Default::default();
        Schema::new("none", Layout::Json { keys }, TsUnit::Ms, Actions::Canonical)
    }

    /// The action a field names.
    pub(crate) fn action(&self, name: &str) -> Option<Action> {
        if let Some(a) = self.aliases.get(name) {
            return Some(*a);
        }
        match &self.actions {
            Actions::Canonical => Action::parse(name),
            Actions::Preset(table) => table.iter().find(|(n, _)| *n == name).map(|(_, a)| *a),
            Actions::Rating => None,
        }
    }
}
