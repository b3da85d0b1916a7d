//! MODEL.md §6: GraphSAGE-style mean aggregation with fixed weights, in integer units.
//! Each layer sums its contributions as a `VecSum` difference (a consolidation), then
//! quantises; a change that does not move the stored vector cancels in the
//! consolidation and goes no further. That is what bounds fan-out from popular items.

use differential_dataflow::operators::CountTotal;

use crate::model::{item_base_vector, normalise, Event, Key, Settings, Weight};
use crate::stats::{SharedCounters, VectorStage};
use crate::vector::{floor_div, VecSum};
use crate::Coll;
use smallvec::SmallVec;

/// z(u), y(i), x(i): unnormalised, in units of 1/`embedding_unit`.
pub type Vector = SmallVec<[i64; 32]>;
/// h(u), e(i): normalised, every component within ±`embedding_unit`.
pub type Unit = SmallVec<[i32; 32]>;

/// `(item, category)`: the smallest category any live event of the item carries.
pub fn item_categories<'s>(events: Coll<'s, Event>) -> Coll<'s, (Key, Option<Key>)> {
    events.map(|ev| (ev.item, ev.category)).distinct().reduce_named("Categories", |_item, input, output| {
        let category = input.iter().find_map(|(c, _)| **c);
        output.push((category, 1));
    })
}

/// x(i): the base vector of every item with a live event.
pub fn base_vectors<'s>(
    categories: Coll<'s, (Key, Option<Key>)>,
    settings: &Settings,
) -> Coll<'s, (Key, Vector)> {
    let settings = settings.clone();
    categories.map(move |(item, category)| (item, item_base_vector(item, category, &settings).into()))
}

/// z(u) = sum_i w(u,i) x(i) div W(u), over all the user's edges.
pub fn user_layer1<'s>(
    edges: Coll<'s, ((Key, Key), Weight)>,
    x: Coll<'s, (Key, Vector)>,
    counters: SharedCounters,
) -> Coll<'s, (Key, Vector)> {
    let terms = edges
        .map(|((user, item), w)| (item, (user, w)))
        .join_map(x, |_item, &(user, w), x| (user, VecSum::scaled(w, x, w)));
    weighted_mean(terms, VectorStage::Z, counters)
}

/// y(i) = sum over users with i in H(u) of w(u,i) z(u), divided by the sum of those w.
pub fn item_layer1<'s>(
    history: Coll<'s, (Key, (Key, Weight))>,
    z: Coll<'s, (Key, Vector)>,
    counters: SharedCounters,
) -> Coll<'s, (Key, Vector)> {
    let terms = history.join_map(z, |_user, &(item, w), z| (item, VecSum::scaled(w, z, w)));
    weighted_mean(terms, VectorStage::Y, counters)
}

/// h(u) = normalise(z(u) + (sum over v in N(u) of z(v)) div (lambda |N(u)|)).
pub fn user_layer2<'s>(
    z: Coll<'s, (Key, Vector)>,
    neighbours: Coll<'s, (Key, (Key, Weight))>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, Unit)> {
    let dim = settings.dim;
    // Sum layout: [1 for the user, |N(u)|, sum of z(v) (dim), z(u) (dim)].
    let own = z.clone().map(move |(user, z)| (user, VecSum(own_layout(&z, dim).into())));
    let theirs = neighbours
        .map(|(user, (v, _))| (v, user))
        .join_map(z, move |_v, &user, z_v| (user, VecSum(neighbour_layout(z_v, dim).into())));
    let (lambda, unit) = (settings.lambda, settings.embedding_unit);
    let sums = sum_by_key(own.concat(theirs), VectorStage::H, counters.clone());
    let h = sums.flat_map(move |(user, s)| {
        let s = &s.0;
        let (mine, n) = (s.first().copied().unwrap_or(0), s.get(1).copied().unwrap_or(0));
        (mine > 0).then(|| {
            let (sum_v, z_u) = (padded(s, 2, dim), padded(s, 2 + dim, dim));
            let mean = if n > 0 { floor_div(&sum_v, lambda * n) } else { vec![0; dim] };
            let combined: Vec<i64> = z_u.iter().zip(&mean).map(|(a, b)| a + b).collect();
            (user, to_unit(&normalise(&combined, unit)))
        })
    });
    passed(h, VectorStage::H, counters)
}

/// e(i) = normalise(x(i) + y(i)); y is zero for items in no history.
pub fn item_layer2<'s>(
    x: Coll<'s, (Key, Vector)>,
    y: Coll<'s, (Key, Vector)>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, Unit)> {
    let own = x.map(|(item, x)| (item, VecSum::with_head(1, x)));
    let learned = y.map(|(item, y)| (item, VecSum::with_head(0, y)));
    let unit = settings.embedding_unit;
    let dim = settings.dim;
    let sums = sum_by_key(own.concat(learned), VectorStage::E, counters.clone());
    let e = sums.flat_map(move |(item, s)| {
        (s.head() > 0).then(|| (item, to_unit(&normalise(&padded(&s.0, 1, dim), unit))))
    });
    passed(e, VectorStage::E, counters)
}

/// `(key, tail div head)` of summed `[weight, weight * v...]` terms.
fn weighted_mean<'s>(
    terms: Coll<'s, (Key, VecSum)>,
    stage: VectorStage,
    counters: SharedCounters,
) -> Coll<'s, (Key, Vector)> {
    let sums = sum_by_key(terms, stage, counters.clone());
    let means = sums.flat_map(|(key, s)| (s.head() > 0).then(|| (key, floor_div(s.tail(), s.head()).into())));
    passed(means, stage, counters)
}

/// Sums the `VecSum` payloads per key (as a difference: one consolidation).
fn sum_by_key<'s>(
    terms: Coll<'s, (Key, VecSum)>,
    stage: VectorStage,
    counters: SharedCounters,
) -> Coll<'s, (Key, VecSum)> {
    terms.explode(|(key, sum)| Some((key, sum))).count_total().inspect_batch(move |_, updates| {
        counters.received(stage, updates.iter().filter(|(_, _, r)| *r > 0).count() as u64)
    })
}

/// Consolidates a quantised output (unchanged vectors cancel) and counts what is left.
fn passed<'s, V: differential_dataflow::ExchangeData + std::hash::Hash>(
    out: Coll<'s, (Key, V)>,
    stage: VectorStage,
    counters: SharedCounters,
) -> Coll<'s, (Key, V)> {
    out.consolidate().inspect_batch(move |_, updates| {
        counters.passed(stage, updates.iter().filter(|(_, _, r)| *r > 0).count() as u64)
    })
}

fn own_layout(z: &[i64], dim: usize) -> Vec<i64> {
    let mut s = vec![0; 2 + 2 * dim];
    s[0] = 1;
    for (slot, v) in s[2 + dim..].iter_mut().zip(z) {
        *slot = *v;
    }
    s
}

fn neighbour_layout(z_v: &[i64], dim: usize) -> Vec<i64> {
    let mut s = vec![0; 2 + 2 * dim];
    s[1] = 1;
    for (slot, v) in s[2..2 + dim].iter_mut().zip(z_v) {
        *slot = *v;
    }
    s
}

/// A normalised vector, whose components fit in `i32` (|v_k| <= unit).
fn to_unit(v: &[i64]) -> Unit {
    v.iter().map(|x| *x as i32).collect()
}

/// `s[start..start + len]`, zeros where the sum is shorter.
fn padded(s: &[i64], start: usize, len: usize) -> Vec<i64> {
    (start..start + len).map(|k| s.get(k).copied().unwrap_or(0)).collect()
}
