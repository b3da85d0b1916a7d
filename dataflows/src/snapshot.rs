//! The model's state at one time, as plain maps: what the oracle computes from
//! scratch and what the dataflow's change streams accumulate to.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Key, Weight};

/// R(u): the ranked list, and whether it is the trending fallback (scores are then
/// trending sums) or the item-kNN blend (scores in sim steps).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecList {
    pub items: Vec<(Key, Weight)>,
    pub fallback: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// w(u,i) for every edge (weight > 0), keyed (user, item).
    pub edges: BTreeMap<(Key, Key), Weight>,
    /// H(u) as (user, item, w(u,i)) triples.
    pub history: BTreeSet<(Key, Key, Weight)>,
    /// S(i) as (item, similar item, sim steps) triples.
    pub similar: BTreeSet<(Key, Key, Weight)>,
    /// The shared trending list, best first, at most `trending_depth` long.
    pub trending: Vec<(Key, Weight)>,
    /// R(u) for every user whose list is non-empty.
    pub recs: BTreeMap<Key, RecList>,
    /// N(u) as (user, neighbour, s(u,v) steps) triples (§5).
    pub neighbours: BTreeSet<(Key, Key, Weight)>,
    /// z(u) for every user with an edge (§6, layer 1).
    pub z: BTreeMap<Key, Vec<i64>>,
    /// h(u) for every user with an edge (§6, layer 2).
    pub h: BTreeMap<Key, Vec<i64>>,
    /// e(i) for every item with a live event (§6, layer 2).
    pub e: BTreeMap<Key, Vec<i64>>,
}
