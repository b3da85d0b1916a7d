//! What the runtime observes: the consolidated updates of one tick, and the state they
//! accumulate to. The state is what a consumer of the change stream holds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Key, Settings, Time, Weight};
use crate::snapshot::{RecList, Snapshot};

/// One observed record of an output collection (serde: exchanged to worker 0).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Change {
    History {
        user: Key,
        item: Key,
        weight: Weight,
    },
    Similar {
        item: Key,
        other: Key,
        steps: Weight,
    },
    Personal {
        user: Key,
        item: Key,
        score: Weight,
    },
    Fallback {
        user: Key,
    },
    Skip {
        user: Key,
        item: Key,
    },
    Trending {
        item: Key,
        sum: Weight,
    },
    /// The number of edges, as a record whose value is the count.
    EdgeCount {
        edges: Weight,
    },
    Neighbour {
        user: Key,
        other: Key,
        steps: Weight,
    },
    Z {
        user: Key,
        vector: Vec<i64>,
    },
    H {
        user: Key,
        vector: Vec<i64>,
    },
    E {
        item: Key,
        vector: Vec<i64>,
    },
}

/// The consolidated updates of one tick (no zero diffs, sorted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickChanges {
    pub tick: Time,
    pub updates: Vec<(Change, isize)>,
}

/// What one tick's changes touched, for deciding what to emit.
#[derive(Clone, Debug, Default)]
pub struct Touched {
    pub users: BTreeSet<Key>,
    pub items: BTreeSet<Key>,
    pub neighbour_users: BTreeSet<Key>,
    pub embedded_users: BTreeSet<Key>,
    pub trending: bool,
}

/// The accumulated output collections.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub history: BTreeMap<Key, BTreeSet<(Reverse<Weight>, Key)>>,
    pub similar: BTreeMap<Key, BTreeSet<(Reverse<Weight>, Key)>>,
    pub personal: BTreeMap<Key, BTreeSet<(Reverse<Weight>, Key)>>,
    pub fallback: BTreeSet<Key>,
    pub skips: BTreeMap<Key, BTreeSet<Key>>,
    pub trending: BTreeSet<(Reverse<Weight>, Key)>,
    pub edges: Weight,
    pub neighbours: BTreeMap<Key, BTreeSet<(Reverse<Weight>, Key)>>,
    pub z: BTreeMap<Key, Vec<i64>>,
    pub h: BTreeMap<Key, Vec<i64>>,
    pub e: BTreeMap<Key, Vec<i64>>,
    /// Updates that did not have multiplicity ±1 (a bug if ever non-zero).
    pub anomalies: u64,
}

impl State {
    /// Applies one tick and says which keys it touched.
    pub fn apply(&mut self, tick: &TickChanges) -> Touched {
        let mut touched = Touched::default();
        for (change, diff) in &tick.updates {
            if diff.abs() != 1 {
                self.anomalies += 1;
            }
            let add = *diff > 0;
            match change.clone() {
                Change::History { user, item, weight } => {
                    toggle(self.history.entry(user).or_default(), (Reverse(weight), item), add);
                    prune(&mut self.history, user);
                }
                Change::Similar { item, other, steps } => {
                    toggle(self.similar.entry(item).or_default(), (Reverse(steps), other), add);
                    prune(&mut self.similar, item);
                    touched.items.insert(item);
                }
                Change::Personal { user, item, score } => {
                    toggle(self.personal.entry(user).or_default(), (Reverse(score), item), add);
                    prune(&mut self.personal, user);
                    touched.users.insert(user);
                }
                Change::Fallback { user } => {
                    toggle(&mut self.fallback, user, add);
                    touched.users.insert(user);
                }
                Change::Skip { user, item } => {
                    toggle(self.skips.entry(user).or_default(), item, add);
                    prune(&mut self.skips, user);
                    touched.users.insert(user);
                }
                Change::Trending { item, sum } => {
                    toggle(&mut self.trending, (Reverse(sum), item), add);
                    touched.trending = true;
                }
                Change::Neighbour { user, other, steps } => {
                    toggle(self.neighbours.entry(user).or_default(), (Reverse(steps), other), add);
                    prune(&mut self.neighbours, user);
                    touched.neighbour_users.insert(user);
                }
                Change::Z { user, vector } => set_vector(&mut self.z, user, vector, add),
                Change::H { user, vector } => {
                    set_vector(&mut self.h, user, vector, add);
                    touched.embedded_users.insert(user);
                }
                Change::E { item, vector } => set_vector(&mut self.e, item, vector, add),
                Change::EdgeCount { edges } => {
                    if add {
                        self.edges = edges;
                    } else if self.edges == edges {
                        self.edges = 0;
                    }
                }
            }
        }
        touched
    }

    /// The trending list, best first.
    pub fn trending_list(&self) -> Vec<(Key, Weight)> {
        self.trending.iter().map(|(Reverse(s), i)| (*i, *s)).collect()
    }

    /// R(u), materialised: the personal list, or the trending list less the user's skips.
    pub fn recs_of(&self, user: Key, settings: &Settings) -> Option<RecList> {
        if let Some(list) = self.personal.get(&user) {
            let items = list.iter().map(|(Reverse(s), i)| (*i, *s)).collect();
            return Some(RecList { items, fallback: false });
        }
        if !self.fallback.contains(&user) {
            return None;
        }
        let skips = self.skips.get(&user);
        let items: Vec<_> = self
            .trending_list()
            .into_iter()
            .filter(|(i, _)| !skips.is_some_and(|s| s.contains(i)))
            .take(settings.top_k)
            .collect();
        (!items.is_empty()).then_some(RecList { items, fallback: true })
    }

    /// The state as a snapshot (edges are not observed one by one: left empty).
    pub fn snapshot(&self, settings: &Settings) -> Snapshot {
        let flatten = |m: &BTreeMap<Key, BTreeSet<(Reverse<Weight>, Key)>>| {
            m.iter().flat_map(|(k, s)| s.iter().map(move |(Reverse(w), j)| (*k, *j, *w))).collect()
        };
        let users = self.personal.keys().chain(self.fallback.iter());
        let recs = users.filter_map(|u| self.recs_of(*u, settings).map(|r| (*u, r))).collect();
        Snapshot {
            edges: BTreeMap::new(),
            history: flatten(&self.history),
            similar: flatten(&self.similar),
            trending: self.trending_list(),
            recs,
            neighbours: flatten(&self.neighbours),
            z: self.z.clone(),
            h: self.h.clone(),
            e: self.e.clone(),
        }
    }
}

/// A keyed vector: `+` sets it, `-` clears it only if it is still the one retracted,
/// so the order of a tick's `-old` and `+new` does not matter.
fn set_vector(map: &mut BTreeMap<Key, Vec<i64>>, key: Key, vector: Vec<i64>, add: bool) {
    if add {
        map.insert(key, vector);
    } else if map.get(&key) == Some(&vector) {
        map.remove(&key);
    }
}

fn toggle<T: Ord>(set: &mut BTreeSet<T>, value: T, add: bool) {
    if add {
        set.insert(value);
    } else {
        set.remove(&value);
    }
}

fn prune<V>(map: &mut BTreeMap<Key, BTreeSet<V>>, key: Key) {
    if map.get(&key).is_some_and(|s| s.is_empty()) {
        map.remove(&key);
    }
}
