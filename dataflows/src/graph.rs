//! MODEL.md §3: the bipartite interest graph: edge weights, W(u), and the history
//! H(u) that feeds every pairwise stage.

use differential_dataflow::operators::CountTotal;

use crate::model::{Key, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::topk::top_k;
use crate::Coll;

/// `((user, item), w)` for every pair whose accumulated weight is positive.
pub fn edge_weights<'s>(interest: Coll<'s, (Key, Key)>) -> Coll<'s, ((Key, Key), Weight)> {
    interest
        .count_total()
        .filter(|(_, w)| *w > 0)
        .map(|(pair, w)| (pair, w as Weight))
}

/// `(user, W(u))`: the sum of a user's edge weights, for users with an edge.
pub fn user_totals<'s>(edges: Coll<'s, ((Key, Key), Weight)>) -> Coll<'s, (Key, Weight)> {
    edges
        .explode(|((user, _), w)| Some((user, w as isize)))
        .count_total()
        .map(|(user, total)| (user, total as Weight))
}

/// H(u) as `(user, (item, w))`: the `len` heaviest edges of each user.
pub fn history<'s>(
    edges: Coll<'s, ((Key, Key), Weight)>,
    len: usize,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    top_k(
        edges.map(|((user, item), w)| (user, (item, w))),
        len,
        Stage::History,
        counters,
    )
}
