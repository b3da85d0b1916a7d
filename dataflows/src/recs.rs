//! MODEL.md §7: recommendations. Candidates come from S(j) for j in H(u) (part A,
//! item kNN) and from H(v) for v in N(u) (part B); part G is the cosine of the
//! embeddings h(u) and e(i). Exclusions remove purchased, dismissed (and on request, seen)
//! items; users left with no candidate fall back on the shared trending list.

use differential_dataflow::operators::CountTotal;

use crate::embedding::Unit;
use crate::model::{cosine_steps, Event, Key, Settings, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::topk::{global_top_k, top_k};
use crate::Coll;

/// Buckets of the two-level trending top-K (see `topk::global_top_k`).
const TRENDING_BUCKETS: u64 = 256;

/// A small sum of three parts, as a difference (DD sums tuples component-wise).
pub type Parts = (isize, isize, isize);

/// Per candidate `(u, i)`: `[paths, sum of w(u,j) sim(j,i), b(u,i)]`, where a path is
/// one j in H(u) with i in S(j) or one v in N(u) with i in H(v) (§7 `C(u)`).
pub fn candidate_parts<'s>(
    history: Coll<'s, (Key, (Key, Weight))>,
    similar: Coll<'s, (Key, (Key, Weight))>,
    neighbours: Coll<'s, (Key, (Key, Weight))>,
    totals: Coll<'s, (Key, Weight)>,
) -> Coll<'s, ((Key, Key), Parts)> {
    let item_knn = history
        .clone()
        .map(|(user, (j, w))| (j, (user, w)))
        .join_map(similar, |_j, &(user, w), &(i, sim)| ((user, i), (1, (w * sim) as isize, 0)));
    // b(u,i): each term (s(u,v) * w(v,i)) div W(v) is rounded down on its own.
    let neighbour_items = history.join_map(totals, |&v, &(i, w), &total| (v, (i, w, total)));
    let via_neighbours = neighbours
        .map(|(user, (v, s))| (v, (user, s)))
        .join_map(neighbour_items, |_v, &(user, s), &(i, w, total)| {
            ((user, i), (1, 0, (s * w).div_euclid(total) as isize))
        });
    item_knn.concat(via_neighbours).explode(|(pair, parts)| Some((pair, parts))).count_total()
}

/// `((u, i), score)` with `score = (A*a + B*b + G*g) div 100`, `a = sum div W(u)` and
/// `g = cos(h(u), e(i))` (§7).
pub fn scores<'s>(
    parts: Coll<'s, ((Key, Key), Parts)>,
    totals: Coll<'s, (Key, Weight)>,
    h: Coll<'s, (Key, Unit)>,
    e: Coll<'s, (Key, Unit)>,
    settings: &Settings,
) -> Coll<'s, ((Key, Key), Weight)> {
    let (blend_a, blend_b, blend_g) = (settings.blend_a, settings.blend_b, settings.blend_g);
    let pairs = parts.clone().map(|(pair, _)| pair);
    let by_user = parts.map(|((user, i), p)| (user, (i, p.1 as Weight, p.2 as Weight)));
    let ab = by_user.join_map(totals, move |&user, &(i, a_sum, b), &total| {
        ((user, i), blend_a * a_sum.div_euclid(total) + blend_b * b)
    });
    if blend_g == 0 {
        // g need not be computed: it would only be multiplied by zero.
        return ab.map(|(pair, ab)| (pair, ab.div_euclid(100)));
    }
    // A left join of ab with g as one sum `[1, A*a + B*b, g]`: a user or item newer
    // than the last embedding refresh has no g yet, and it counts 0.
    let g = embedding_part(pairs, h, e, settings);
    ab.map(|(pair, ab)| (pair, (1, ab as isize, 0)))
        .concat(g.map(|(pair, g)| (pair, (0, 0, g as isize))))
        .explode(|(pair, sum)| Some((pair, sum)))
        .count_total()
        .flat_map(move |(pair, sum)| {
            let (has_ab, ab, g) = (sum.0, sum.1 as Weight, sum.2 as Weight);
            (has_ab > 0).then(|| (pair, (ab + blend_g * g).div_euclid(100)))
        })
}

/// `((u, i), g(u,i))`: the cosine of h(u) and e(i), as of the last embedding refresh.
/// Candidate pairs change only when the candidate set does (the a and b churn
/// cancels in the first arrangement), so the vectors travel only when they move.
fn embedding_part<'s>(
    pairs: Coll<'s, (Key, Key)>,
    h: Coll<'s, (Key, Unit)>,
    e: Coll<'s, (Key, Unit)>,
    settings: &Settings,
) -> Coll<'s, ((Key, Key), Weight)> {
    let (unit, scale, refresh) = (settings.embedding_unit, settings.sim_scale, settings.embedding_refresh_ms);
    let (h, e) = if refresh > 0 {
        let boundary = move |t: &u64| t.div_ceil(refresh) * refresh;
        (h.delay(boundary), e.delay(boundary))
    } else {
        (h, e)
    };
    pairs
        .join_map(h, |&user, &i, h| (i, (user, h.clone())))
        .join_map(e, move |&i, (user, h), e| ((*user, i), cosine_steps(h, e, unit, scale)))
}

/// `(u, i)` pairs that may not be recommended now (distinct).
pub fn exclusions<'s>(
    purchased: Coll<'s, (Key, Key)>,
    dismissed: Coll<'s, (Key, Key)>,
    edges: Coll<'s, ((Key, Key), Weight)>,
    interacted: Option<Coll<'s, (Key, Key)>>,
    settings: &Settings,
) -> Coll<'s, (Key, Key)> {
    let mut excluded = purchased.concat(dismissed);
    if settings.exclude_seen {
        excluded = excluded.concat(edges.map(|(pair, _)| pair));
    }
    if let Some(interacted) = interacted {
        excluded = excluded.concat(interacted);
    }
    excluded.distinct()
}

/// With `exclude_interacted`: every `(u, i)` with an accepted event, ever (distinct).
pub fn interacted<'s>(events: Coll<'s, Event>, settings: &Settings) -> Option<Coll<'s, (Key, Key)>> {
    settings.exclude_interacted.then(|| events.map(|ev| (ev.user, ev.item)).distinct())
}

/// What a fallback user's trending list skips: purchases, and with
/// `exclude_interacted` every item of theirs.
pub fn skippable<'s>(
    purchased: Coll<'s, (Key, Key)>,
    interacted: Option<Coll<'s, (Key, Key)>>,
) -> Coll<'s, (Key, Key)> {
    match interacted {
        Some(interacted) => purchased.concat(interacted),
        None => purchased,
    }
}

/// R(u) as `(u, (i, score))`: the best `top_k` candidates with a positive score.
pub fn personal_recs<'s>(
    scores: Coll<'s, ((Key, Key), Weight)>,
    excluded: Coll<'s, (Key, Key)>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    // The refreshed baseline: the scores of the last boundary (exclusions stay live).
    let scores = if settings.model_refresh_ms > 0 {
        let visible = settings.clone();
        scores.delay(move |t: &u64| visible.model_visible_at(*t))
    } else {
        scores
    };
    let kept = scores.filter(|(_, score)| *score > 0).antijoin(excluded);
    top_k(kept.map(|((user, i), s)| (user, (i, s))), settings.top_k, Stage::Recs, counters)
}

/// The shared trending list: the `trending_depth` items of largest positive
/// undecayed weight over the trending window, as `(item, sum)`.
pub fn trending<'s>(
    windowed_weight: Coll<'s, Key>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, Weight)> {
    let sums = windowed_weight.count_total().filter(|(_, s)| *s > 0).map(|(i, s)| (i, s as Weight));
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
