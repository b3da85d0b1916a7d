//! MODEL.md §4: item-item similarity from co-occurrence in histories, in exact integer
//! steps, and S(i), the most similar items of each item.

use differential_dataflow::operators::CountTotal;

use crate::model::{Key, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::topk::top_k;
use crate::Coll;

/// `((i, j), steps)` for every ordered pair with `sim(i,j) > 0` steps.
pub fn similarity<'s>(
    history: Coll<'s, (Key, (Key, Weight))>,
    scale: u64,
) -> Coll<'s, ((Key, Key), Weight)> {
    let norms = item_norms(history.clone()).arrange_by_key();
    co_occurrence(history)
        .map(|((i, j), c)| (i, (j, c)))
        .join_core(norms.clone(), |&i, &(j, c), &n_i| Some((j, (i, c, n_i))))
        .join_core(norms, move |&j, &(i, c, n_i), &n_j| {
            let steps = sim_steps(c, n_i, n_j, scale);
            (steps > 0).then_some(((i, j), steps))
        })
}

/// S(i) as `(i, (j, steps))`: the `len` most similar items of each item.
pub fn similar_items<'s>(
    similarity: Coll<'s, ((Key, Key), Weight)>,
    len: usize,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    top_k(
        similarity.map(|((i, j), s)| (i, (j, s))),
        len,
        Stage::Similar,
        counters,
    )
}

/// `((i, j), c(i,j))`: sum over users with both in H(u) of w(u,i) * w(u,j).
fn co_occurrence<'s>(history: Coll<'s, (Key, (Key, Weight))>) -> Coll<'s, ((Key, Key), isize)> {
    let by_user = history.arrange_by_key();
    by_user
        .clone()
        .join_core(by_user, |_user, &(i, w_i), &(j, w_j)| {
            (i != j).then_some(((i, j), w_i * w_j))
        })
        .explode(|(pair, product)| Some((pair, product as isize)))
        .count_total()
}

/// `(i, n(i))`: sum over users with i in H(u) of w(u,i)^2.
fn item_norms<'s>(history: Coll<'s, (Key, (Key, Weight))>) -> Coll<'s, (Key, isize)> {
    history
        .explode(|(_, (i, w))| Some((i, (w * w) as isize)))
        .count_total()
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
