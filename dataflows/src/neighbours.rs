//! MODEL.md §5: the user-user interest graph through items of bounded degree, and
//! N(u), each user's nearest neighbours. Hubs are skipped: an item with more than
//! `hub_degree` users would pair all of them on every change.

use differential_dataflow::operators::CountTotal;

use crate::model::{Key, Weight};
use crate::similarity::{normalised_steps, pair_products};
use crate::stats::{SharedCounters, Stage};
use crate::topk::top_k;
use crate::Coll;

/// `(item, deg(i))`: the number of users with an edge to the item.
pub fn item_degrees<'s>(edges: Coll<'s, ((Key, Key), Weight)>) -> Coll<'s, (Key, isize)> {
    edges.map(|((_, item), _)| item).count_total()
}

/// `((u, v), s(u,v) steps)` over the non-hub items of H(u) and H(v).
pub fn user_similarity<'s>(
    history: Coll<'s, (Key, (Key, Weight))>,
    degrees: Coll<'s, (Key, isize)>,
    hub_degree: usize,
    scale: u64,
) -> Coll<'s, ((Key, Key), Weight)> {
    let small = degrees.filter(move |(_, d)| *d as usize <= hub_degree).map(|(item, _)| item);
    let by_item = history.map(|(user, (item, w))| (item, (user, w))).semijoin(small);
    let norms = by_item.clone().explode(|(_, (user, w))| Some((user, (w * w) as isize))).count_total();
    normalised_steps(pair_products(by_item), norms, scale)
}

/// N(u) as `(u, (v, steps))`: the `len` most similar users of each user.
pub fn neighbours<'s>(
    similarity: Coll<'s, ((Key, Key), Weight)>,
    len: usize,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    top_k(similarity.map(|((u, v), s)| (u, (v, s))), len, Stage::Neighbours, counters)
}
