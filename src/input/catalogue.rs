//! `--items FILE`: an item catalogue (CSV with a header) mapping item -> category, for
//! events that lack the category.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use dataflows::model::{key_of, Key};

use super::formats::split;
use super::reader::open_path;
use super::InputError;

const ITEM_NAMES: [&str; 5] = ["itemid", "item", "item_id", "product_id", "movieid"];
const CATEGORY_NAMES: [&str; 3] = ["categoryid", "category", "category_id"];

pub(crate) struct Catalogue {
    map: HashMap<Key, Box<str>>,
}

impl Catalogue {
    pub(crate) fn category(&self, item: Key) -> Option<&str> {
        self.map.get(&item).map(|c| &**c)
    }

    /// Loads the catalogue; the item and category columns are found by header name
    /// (e.g. `ItemId,categoryid,...`, case-insensitive), else they are the first two.
    /// Rows that do not split or lack either field are skipped and counted in a log line.
    pub(crate) fn load(path: &Path) -> Result<Catalogue, InputError> {
        let name = path.display().to_string();
        let reader = open_path(path, &Arc::new(AtomicU64::new(0)))?.reader;
        let mut lines = reader.split(b'\n');
        let read_err = |line, err| InputError::Read { file: name.clone(), line, err };
        let header = match lines.next() {
            Some(h) => h.map_err(|e| read_err(1, e))?,
            None => return Err(InputError::Catalogue { file: name, what: "empty".into() }),
        };
        let header = String::from_utf8_lossy(&header).trim().to_lowercase();
        let names: Vec<String> =
            split(&header, ',').map(|f| f.into_iter().map(|c| c.into_owned()).collect()).unwrap_or_default();
        if names.len() < 2 {
            let what = format!("header `{header}` does not name an item and a category column");
            return Err(InputError::Catalogue { file: name, what });
        }
        let find = |wanted: &[&str], default| {
            names.iter().position(|n| wanted.contains(&n.as_str())).unwrap_or(default)
        };
        let (item_col, cat_col) = (find(&ITEM_NAMES, 0), find(&CATEGORY_NAMES, 1));
        let mut map = HashMap::new();
        let mut skipped = 0u64;
        for (n, line) in lines.enumerate() {
            let line = line.map_err(|e| read_err(n as u64 + 2, e))?;
            let text = String::from_utf8_lossy(&line);
            let fields = split(text.trim_end(), ',').unwrap_or_default();
            match (fields.get(item_col), fields.get(cat_col)) {
                (Some(i), Some(c)) if !i.is_empty() && !c.is_empty() => {
                    map.insert(key_of(i), Box::from(&**c));
                }
                _ if text.trim().is_empty() => {}
                _ => skipped += 1,
            }
        }
        tracing::info!(file = %name, items = map.len(), skipped, "item catalogue loaded");
        Ok(Catalogue { map })
    }
}
