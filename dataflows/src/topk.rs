//! Top-K per key with a reduce: values are `(Reverse(score), id)`, so DD's sorted
//! input slice runs best first, ties broken by the smaller id.

use std::cmp::Reverse;

use crate::model::{Key, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::Coll;

/// The `k` entries of largest score per key (ties: smaller id), as `(key, (id, score))`.
pub fn top_k<'s>(
    scored: Coll<'s, (Key, (Key, Weight))>,
    k: usize,
    stage: Stage,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    scored
        .map(|(key, (id, score))| (key, (Reverse(score), id)))
        .reduce_named(stage.name(), move |_key, input, output| {
            counters.bump(stage);
            let best = input.iter().filter(|(_, r)| *r > 0).take(k);
            output.extend(best.map(|((Reverse(score), id), _)| ((*id, *score), 1)));
        })
}

/// A global top-`k` over all ids, in two levels so that one change re-evaluates one
/// bucket of about n/`buckets` ids plus `buckets * k` bucket winners, not all n ids.
pub fn global_top_k<'s>(
    scored: Coll<'s, (Key, Weight)>,
    k: usize,
    buckets: u64,
    counters: SharedCounters,
) -> Coll<'s, (Key, Weight)> {
    let per_bucket = top_k(
        scored.map(move |(id, score)| (bucket_of(id, buckets), (id, score))),
        k,
        Stage::TrendingBucket,
        counters.clone(),
    );
    top_k(
        per_bucket.map(|(_, winner)| (0, winner)),
        k,
        Stage::TrendingTop,
        counters,
    )
    .map(|(_, winner)| winner)
}

/// A well-mixed bucket for an id (Fibonacci hashing), so numeric ids spread evenly.
fn bucket_of(id: Key, buckets: u64) -> Key {
    (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % buckets
}
