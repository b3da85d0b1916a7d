//! MODEL.md §4: item-item similarity from co-occurrence in histories, in exact integer
//! steps, and S(i), the most similar items of each item.

use differential_dataflow::operators::CountTotal;

use crate::model::{Key, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::topk::top_k;
use crate::Coll;

/// `((i, j), steps)` for every ordered pair with `sim(i,j) > 0` steps.
pub fn similarity<'s>(history: Coll<'s, (Key, (Key, Weight))>, scale: u64) -> Coll<'s, ((Key, Key), Weight)> {
    let norms = item_norms(history.clone());
    normalised_steps(co_occurrence(history), norms, scale)
}

/// `((a, b), steps)` from co-occurrence sums and squared norms: the cosine in exact
/// integer steps (`sim_steps`), pairs of 0 steps dropped. Shared by §4 and §5.
pub fn normalised_steps<'s>(
    sums: Coll<'s, ((Key, Key), isize)>,
    norms: Coll<'s, (Key, isize)>,
    scale: u64,
) -> Coll<'s, ((Key, Key), Weight)> {
    let norms = norms.arrange_by_key();
    sums.map(|((a, b), c)| (a, (b, c)))
        .join_core(norms.clone(), |&a, &(b, c), &n_a| Some((b, (a, c, n_a))))
        .join_core(norms, move |&b, &(a, c, n_a), &n_b| {
            let steps = sim_steps(c, n_a, n_b, scale);
            (steps > 0).then_some(((a, b), steps))
        })
}

/// S(i) as `(i, (j, steps))`: the `len` most similar items of each item.
pub fn similar_items<'s>(
    similarity: Coll<'s, ((Key, Key), Weight)>,
    len: usize,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    top_k(similarity.map(|((i, j), s)| (i, (j, s))), len, Stage::Similar, counters)
}

/// `((i, j), c(i,j))`: sum over users with both in H(u) of w(u,i) * w(u,j).
fn co_occurrence<'s>(history: Coll<'s, (Key, (Key, Weight))>) -> Coll<'s, ((Key, Key), isize)> {
    pair_products(history)
}

/// `((a, b), sum of w_a * w_b)` over the groups `(group, (member, w))` holding both
/// members, `a != b`: co-occurrence of items in users (§4), of users in items (§5).
pub fn pair_products<'s>(groups: Coll<'s, (Key, (Key, Weight))>) -> Coll<'s, ((Key, Key), isize)> {
    let arranged = groups.arrange_by_key();
    arranged
        .clone()
        .join_core(arranged, |_group, &(a, w_a), &(b, w_b)| (a != b).then_some(((a, b), w_a * w_b)))
        .explode(|(pair, product)| Some((pair, product as isize)))
        .count_total()
}

/// `(i, n(i))`: sum over users with i in H(u) of w(u,i)^2.
fn item_norms<'s>(history: Coll<'s, (Key, (Key, Weight))>) -> Coll<'s, (Key, isize)> {
    history.explode(|(_, (i, w))| Some((i, (w * w) as isize))).count_total()
}

/// `isqrt((scale^2 * c^2) div (n_i * n_j))` in 128-bit integers: sim rounded down to steps.
pub fn sim_steps(c: isize, n_i: isize, n_j: isize, scale: u64) -> Weight {
    if c <= 0 || n_i <= 0 || n_j <= 0 {
        return 0;
    }
    let (c, n_i, n_j, scale) = (c as u128, n_i as u128, n_j as u128, scale as u128);
    let ratio = (scale * scale).saturating_mul(c * c) / (n_i * n_j);
    isqrt(ratio) as Weight
}

/// Exact floor square root of a u128.
pub fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let mut x = (n as f64).sqrt() as u128;
    while x.checked_mul(x).is_none_or(|sq| sq > n) {
        x -= 1;
    }
    while (x + 1).checked_mul(x + 1).is_some_and(|sq| sq <= n) {
        x += 1;
    }
    x
}
