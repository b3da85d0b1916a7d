//! MODEL.md §7: recommendations. Part A (item kNN) scores the candidates drawn from
//! S(j) for j in H(u); exclusions remove purchased, dismissed (and on request, seen)
//! items; users left with no candidate fall back on the shared trending list.

use differential_dataflow::operators::CountTotal;

use crate::model::{Key, Settings, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::topk::{global_top_k, top_k};
use crate::Coll;

/// Buckets of the two-level trending top-K (see `topk::global_top_k`).
const TRENDING_BUCKETS: u64 = 256;

/// `((u, i), a(u,i))` for every candidate with a positive sum (§7 part A).
pub fn item_knn_part<'s>(
    history: Coll<'s, (Key, (Key, Weight))>,
    similar: Coll<'s, (Key, (Key, Weight))>,
    totals: Coll<'s, (Key, Weight)>,
) -> Coll<'s, ((Key, Key), Weight)> {
    let similar = similar.arrange_by_key();
    let sums = history
        .map(|(user, (j, w))| (j, (user, w)))
        .arrange_by_key()
        .join_core(similar, |_j, &(user, w), &(i, sim)| {
            Some(((user, i), w * sim))
        })
        .explode(|(pair, term)| Some((pair, term as isize)))
        .count_total();
    sums.map(|((user, i), sum)| (user, (i, sum as Weight)))
        .join_map(totals, |&user, &(i, sum), &total| {
            ((user, i), sum.div_euclid(total))
        })
}

/// The blended score `(A*a + B*b + G*g) div 100`; parts B and G are not built yet.
pub fn blend<'s>(
    part_a: Coll<'s, ((Key, Key), Weight)>,
    settings: &Settings,
) -> Coll<'s, ((Key, Key), Weight)> {
    let a_weight = settings.blend_a;
    part_a.map(move |(pair, a)| (pair, (a_weight * a).div_euclid(100)))
}

/// `(u, i)` pairs that may not be recommended now (distinct).
pub fn exclusions<'s>(
    purchased: Coll<'s, (Key, Key)>,
    dismissed: Coll<'s, (Key, Key)>,
    edges: Coll<'s, ((Key, Key), Weight)>,
    settings: &Settings,
) -> Coll<'s, (Key, Key)> {
    let mut excluded = purchased.concat(dismissed);
    if settings.exclude_seen {
        excluded = excluded.concat(edges.map(|(pair, _)| pair));
    }
    excluded.distinct()
}

/// R(u) as `(u, (i, score))`: the best `top_k` candidates with a positive score.
pub fn personal_recs<'s>(
    scores: Coll<'s, ((Key, Key), Weight)>,
    excluded: Coll<'s, (Key, Key)>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    let kept = scores.filter(|(_, score)| *score > 0).antijoin(excluded);
    top_k(
        kept.map(|((user, i), s)| (user, (i, s))),
        settings.top_k,
        Stage::Recs,
        counters,
    )
}

/// The shared trending list: the `trending_depth` items of largest positive
/// undecayed weight over the trending window, as `(item, sum)`.
pub fn trending<'s>(
    windowed_weight: Coll<'s, Key>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, Weight)> {
    let sums = windowed_weight
        .count_total()
        .filter(|(_, s)| *s > 0)
        .map(|(i, s)| (i, s as Weight));
    global_top_k(sums, settings.trending_depth, TRENDING_BUCKETS, counters)
}

/// Users with an edge but no personal recommendation: they are served the trending list.
pub fn fallback_users<'s>(
    totals: Coll<'s, (Key, Weight)>,
    personal: Coll<'s, (Key, (Key, Weight))>,
) -> Coll<'s, Key> {
    let served = personal.map(|(user, _)| user).distinct();
    totals.antijoin(served).map(|(user, _)| user)
}

/// `(u, i)`: trending items a fallback user purchased, skipped in their list.
pub fn fallback_skips<'s>(
    fallback: Coll<'s, Key>,
    purchased: Coll<'s, (Key, Key)>,
    trending: Coll<'s, (Key, Weight)>,
) -> Coll<'s, (Key, Key)> {
    purchased
        .distinct()
        .semijoin(fallback)
        .map(|(user, item)| (item, user))
        .semijoin(trending.map(|(item, _)| item))
        .map(|(item, user)| (user, item))
}
