//! Keys back to ids (MODEL.md §1). Only non-numeric ids are stored: a numeric key
//! prints as its number.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use dataflows::model::{is_numeric_key, Key};

/// A cheap, shareable handle on the key -> id dictionary (clones share one map).
#[derive(Clone, Debug, Default)]
pub struct Dictionary {
    map: Arc<RwLock<HashMap<Key, String>>>,
}

impl Dictionary {
    /// The original id text of `key`. A key this dictionary never saw (a bug upstream)
    /// prints as `?<key>`, which no numeric id can look like.
    pub fn id_of(&self, key: Key) -> String {
        if is_numeric_key(key) {
            return key.to_string();
        }
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        match map.get(&key) {
            Some(id) => id.clone(),
            None => format!("?{key}"),
        }
    }

    /// Whether `key` (non-numeric) may name `id`: `Some(true)` if it already does,
    /// `Some(false)` if it names another id, `None` if it is free.
    pub(crate) fn holds(&self, key: Key, id: &str) -> Option<bool> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&key).map(|known| known == id)
    }

    /// Records new (key, id) pairs already checked with `holds`.
    pub(crate) fn insert_all(&self, pairs: &[(Key, &str)]) {
        if pairs.is_empty() {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        for (key, id) in pairs {
            map.entry(*key).or_insert_with(|| (*id).to_owned());
        }
    }
}
