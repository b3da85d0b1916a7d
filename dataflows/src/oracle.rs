//! The oracle: a plain, from-scratch computation of the model's state at one time,
//! written to be obviously correct rather than fast (maps, sorts and loops, no
//! dataflow). Property tests compare the dataflow's accumulated output with it exactly.
//!
//! It covers all of MODEL.md §1–§7: §1 (live and late events, ticks), §2 (decay by
//! steps), §3 (edges and histories), §4 (item-item similarity), §5 (the user-user graph
//! through non-hub items), §6 (base vectors and the two mean-aggregation layers), and §7
//! (candidates from S(j) and N(u), parts A, B and G and their blend, the purchase,
//! dismiss and seen exclusions, and the trending fallback).
//!
//! Where MODEL.md leaves a choice open, the project's decisions are:
//! - §5: deg(i) counts every user with an edge to i; i is a hub when
//!   deg(i) > hub_degree. Hn(u) = the non-hub items of H(u) (H(u) is cut first).
//!   `m(u) = sum over Hn(u) of w(u,i)^2`, `s_raw(u,v) = sum over Hn(u) ∩ Hn(v) of
//!   w(u,i) w(v,i)`, and s(u,v) steps = `isqrt((scale^2 s_raw^2) div (m(u) m(v)))`,
//!   like sim; pairs of 0 steps are not neighbours.
//! - §6: category(i) = the smallest category key among the live arrivals of i (any
//!   action, any decay). Every item with a live arrival has x(i) and e(i); y(i) = 0
//!   for an item in no H(u). z(u) averages over all of u's edges (divided by W(u));
//!   the neighbour term of h(u) is one floor division of the sum of the z(v) by
//!   `lambda * |N(u)|`. Every division is floor (`div_euclid`).
//! - §7: each term of b is floored separately; the blend is floored once.
//!
//! An arrival is live at `t` when `at <= t`; its age is measured from its event tick.
//! Every arrival in the slice counts once (duplicates were dropped upstream).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    cosine_steps, item_base_vector, normalise, Action, Arrival, Event, Key, Settings, Time, Weight,
};
use crate::snapshot::{RecList, Snapshot};

/// H(u), S(i) or N(u): a ranked list of (key, weight), best first.
type Ranked = Vec<(Key, Weight)>;
/// w(u,i) for every edge, keyed (user, item).
type Edges = BTreeMap<(Key, Key), Weight>;
/// An embedding, in units of 1/`embedding_unit`.
type Vector = Vec<i64>;
type Vectors = BTreeMap<Key, Vector>;

/// Everything §7 scores from.
struct Graph {
    totals: BTreeMap<Key, Weight>,
    history: BTreeMap<Key, Ranked>,
    similar: BTreeMap<Key, Ranked>,
    neighbours: BTreeMap<Key, Ranked>,
    z: Vectors,
    h: Vectors,
    e: Vectors,
    /// h and e as of `settings.embedding_time(t)`, which part G reads.
    refreshed_h: Vectors,
    refreshed_e: Vectors,
}

/// h(u) and e(i) at time `t`.
fn embeddings_at(settings: &Settings, arrivals: &[Arrival], t: Time) -> (Vectors, Vectors) {
    let live = live_events(arrivals, t);
    let edges = edge_weights(settings, &live, t);
    let totals = total_weights(&edges);
    let history = history(settings, &edges);
    let neighbours = neighbours(settings, &user_similarity(settings, &history, &edges));
    let x = base_vectors(settings, &categories(&live));
    let z = layer1_users(settings, &edges, &totals, &x);
    let y = layer1_items(settings, &history, &z);
    (layer2_users(settings, &z, &neighbours), layer2_items(settings, &x, &y))
}

/// Everything §7 scores from at time `t` (part G as of its embedding refresh).
fn graph_at(settings: &Settings, arrivals: &[Arrival], t: Time) -> Graph {
    let live = live_events(arrivals, t);
    let edges = edge_weights(settings, &live, t);
    let totals = total_weights(&edges);
    let history = history(settings, &edges);
    let similar = similarity(settings, &history);
    let neighbours = neighbours(settings, &user_similarity(settings, &history, &edges));
    let x = base_vectors(settings, &categories(&live));
    let z = layer1_users(settings, &edges, &totals, &x);
    let y = layer1_items(settings, &history, &z);
    let h = layer2_users(settings, &z, &neighbours);
    let e = layer2_items(settings, &x, &y);
    let refresh = settings.embedding_time(t);
    let (refreshed_h, refreshed_e) =
        if refresh == t { (h.clone(), e.clone()) } else { embeddings_at(settings, arrivals, refresh) };
    Graph { totals, history, similar, neighbours, z, h, e, refreshed_h, refreshed_e }
}

/// The model's state at time `t`, computed from the arrivals live at `t`.
pub fn snapshot_at(settings: &Settings, arrivals: &[Arrival], t: Time) -> Snapshot {
    let live = live_events(arrivals, t);
    let edges = edge_weights(settings, &live, t);
    let graph = graph_at(settings, arrivals, t);
    let trending = trending(settings, &live, t);
    let purchased = recent_items(&live, t, Action::Purchase, settings.purchase_exclusion_ms);
    let dismissed = recent_items(&live, t, Action::Dismiss, settings.dismiss_exclusion_ms);
    let interacted: BTreeSet<(Key, Key)> = if settings.exclude_interacted {
        live.iter().map(|e| (e.user, e.item)).collect()
    } else {
        BTreeSet::new()
    };
    let exclusions =
        Exclusions { purchased: &purchased, dismissed: &dismissed, edges: &edges, interacted: &interacted };
    // The refreshed baseline scores from the graph as of the last boundary (none before
    // the first); exclusions, the fallback and who is a user stay as of `t`.
    let model = match settings.model_time(t) {
        Some(m) if m == t => None,
        Some(m) => Some(graph_at(settings, arrivals, m)),
        None => Some(graph_at(settings, &[], t)),
    };
    let recs = recommendations(settings, &graph, model.as_ref().unwrap_or(&graph), &trending, &exclusions);
    Snapshot {
        history: flatten(&graph.history),
        similar: flatten(&graph.similar),
        neighbours: flatten(&graph.neighbours),
        edges,
        trending,
        recs,
        z: graph.z,
        h: graph.h,
        e: graph.e,
    }
}

/// The events of the arrivals that have entered by `t` (§1: `at <= t`).
fn live_events(arrivals: &[Arrival], t: Time) -> Vec<Event> {
    let mut live = Vec::new();
    for a in arrivals {
        assert!(a.at >= a.event.tick, "an arrival enters no earlier than its tick: {a:?}");
        if a.at <= t {
            live.push(a.event);
        }
    }
    live
}

/// True when an event at `tick` lies in the window of length `len` at `t`:
/// `tick <= t < tick + len`.
fn in_window(tick: Time, t: Time, len: u64) -> bool {
    tick <= t && t - tick < len
}

/// §2–§3: `w(u,i) = max(0, sum of a(action) * decay(t - tick))`; only w > 0 is an edge.
fn edge_weights(settings: &Settings, live: &[Event], t: Time) -> Edges {
    let mut sums: Edges = BTreeMap::new();
    for e in live {
        let decayed = settings.weights.of(e.action) * settings.decay(t - e.tick);
        *sums.entry((e.user, e.item)).or_insert(0) += decayed;
    }
    sums.into_iter().filter(|&(_, w)| w > 0).collect()
}

/// W(u) = the sum of the user's edge weights, for every user with an edge.
fn total_weights(edges: &Edges) -> BTreeMap<Key, Weight> {
    let mut totals: BTreeMap<Key, Weight> = BTreeMap::new();
    for (&(u, _), &w) in edges {
        *totals.entry(u).or_insert(0) += w;
    }
    totals
}

/// The `n` best of `scored`: largest weight first, ties: smaller key first.
fn top_n(scored: impl IntoIterator<Item = (Key, Weight)>, n: usize) -> Ranked {
    let mut all: Ranked = scored.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

/// Per first key, the `n` best (second key, weight) of `pairs`.
fn ranked_lists(pairs: &BTreeMap<(Key, Key), Weight>, n: usize) -> BTreeMap<Key, Ranked> {
    let mut per_key: BTreeMap<Key, Ranked> = BTreeMap::new();
    for (&(k, m), &w) in pairs {
        per_key.entry(k).or_default().push((m, w));
    }
    per_key.into_iter().map(|(k, members)| (k, top_n(members, n))).collect()
}

/// The list of `k` in `lists`, empty when it has none.
fn list_of(lists: &BTreeMap<Key, Ranked>, k: Key) -> &[(Key, Weight)] {
    lists.get(&k).map_or(&[][..], |l| &l[..])
}

/// §3: H(u) = the `history_len` items of largest w(u,i).
fn history(settings: &Settings, edges: &Edges) -> BTreeMap<Key, Ranked> {
    ranked_lists(edges, settings.history_len)
}

/// Floor integer square root, exact for every u128: the largest r with r*r <= x.
fn isqrt(x: u128) -> u128 {
    // Invariant: lo*lo <= x < hi*hi. Every root is below 2^64, and mid < hi <= 2^64,
    // so mid*mid never overflows.
    let (mut lo, mut hi) = (0u128, 1u128 << 64);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if mid * mid <= x {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// §4 (and §5): `steps = isqrt((scale^2 * c^2) div (n(i) * n(j)))`, in u128; an
/// overflow of u128 panics rather than wrapping.
fn sim_steps(scale: u64, c: u128, n_i: u128, n_j: u128) -> Weight {
    let scale = scale as u128;
    let product = |a: u128, b: u128| a.checked_mul(b).expect("similarity overflows u128");
    let numerator = product(product(scale, scale), product(c, c));
    let steps = isqrt(numerator / product(n_i, n_j));
    Weight::try_from(steps).expect("sim steps fit in a Weight")
}

/// A positive weight as u128 (edge weights in H(u) are always positive).
fn positive(w: Weight) -> u128 {
    u128::try_from(w).expect("edge weights are positive")
}

/// The cosine of §4 and §5 over a set of weighted lists (one per user for §4, one per
/// item for §5): for every pair a != b of members of one list, `c(a,b) = sum of
/// w_a * w_b` over the lists holding both, `n(a) = sum of w_a^2` over the lists holding
/// a, and the pair's sim steps; pairs of 0 steps are dropped.
fn cosine_pairs<'a>(
    settings: &Settings,
    lists: impl IntoIterator<Item = &'a [(Key, Weight)]>,
) -> BTreeMap<(Key, Key), Weight> {
    let mut n: BTreeMap<Key, u128> = BTreeMap::new();
    let mut c: BTreeMap<(Key, Key), u128> = BTreeMap::new();
    for members in lists {
        for &(a, w_a) in members {
            *n.entry(a).or_insert(0) += positive(w_a) * positive(w_a);
            for &(b, w_b) in members {
                if a != b {
                    *c.entry((a, b)).or_insert(0) += positive(w_a) * positive(w_b);
                }
            }
        }
    }
    c.into_iter()
        .map(|((a, b), c_ab)| ((a, b), sim_steps(settings.sim_scale, c_ab, n[&a], n[&b])))
        .filter(|&(_, steps)| steps > 0)
        .collect()
}

/// §4: S(i) = the `similar_len` j of largest sim(i,j), over the histories.
fn similarity(settings: &Settings, history: &BTreeMap<Key, Ranked>) -> BTreeMap<Key, Ranked> {
    let sims = cosine_pairs(settings, history.values().map(|h| &h[..]));
    ranked_lists(&sims, settings.similar_len)
}

/// §5: deg(i) = the number of users with an edge to i.
fn degrees(edges: &Edges) -> BTreeMap<Key, usize> {
    let mut deg: BTreeMap<Key, usize> = BTreeMap::new();
    for &(_, i) in edges.keys() {
        *deg.entry(i).or_insert(0) += 1;
    }
    deg
}

/// §5: per non-hub item i (deg(i) <= hub_degree), the users u with i in H(u), with
/// w(u,i): the lists whose cosine is s(u,v), so that the sums run over Hn(u) ∩ Hn(v)
/// and m(u) over Hn(u).
fn non_hub_users(
    settings: &Settings,
    history: &BTreeMap<Key, Ranked>,
    degrees: &BTreeMap<Key, usize>,
) -> BTreeMap<Key, Ranked> {
    let mut users_of: BTreeMap<Key, Ranked> = BTreeMap::new();
    for (&u, items) in history {
        for &(i, w) in items {
            if degrees[&i] <= settings.hub_degree {
                users_of.entry(i).or_default().push((u, w));
            }
        }
    }
    users_of
}

/// §5: s(u,v) steps for every pair u != v sharing a non-hub history item; pairs of 0
/// steps are dropped.
fn user_similarity(
    settings: &Settings,
    history: &BTreeMap<Key, Ranked>,
    edges: &Edges,
) -> BTreeMap<(Key, Key), Weight> {
    let users_of = non_hub_users(settings, history, &degrees(edges));
    cosine_pairs(settings, users_of.values().map(|us| &us[..]))
}

/// §5: N(u) = the `neighbours_len` v of largest s(u,v).
fn neighbours(settings: &Settings, s: &BTreeMap<(Key, Key), Weight>) -> BTreeMap<Key, Ranked> {
    ranked_lists(s, settings.neighbours_len)
}

/// §6: category(i), for every item with a live arrival: the smallest category key its
/// live arrivals carry (any action, any decay), None when none carries one.
fn categories(live: &[Event]) -> BTreeMap<Key, Option<Key>> {
    let mut cats: BTreeMap<Key, Option<Key>> = BTreeMap::new();
    for e in live {
        let c = cats.entry(e.item).or_insert(None);
        *c = match (*c, e.category) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    cats
}

/// §6: x(i) for every item with a live arrival.
fn base_vectors(settings: &Settings, categories: &BTreeMap<Key, Option<Key>>) -> Vectors {
    categories.iter().map(|(&i, &c)| (i, item_base_vector(i, c, settings))).collect()
}

/// `sum of w * v` over `terms`, componentwise, in i128.
fn weighted_sum<'a>(dim: usize, terms: impl IntoIterator<Item = (Weight, &'a Vector)>) -> Vec<i128> {
    let mut sum = vec![0i128; dim];
    for (w, v) in terms {
        assert_eq!(v.len(), dim, "every vector has the dimension");
        for (s, &x) in sum.iter_mut().zip(v) {
            *s += w as i128 * x as i128;
        }
    }
    sum
}

/// Each component of `sum` divided by `d`, rounding down.
fn floor_div(sum: &[i128], d: i128) -> Vector {
    assert!(d > 0, "divisors are positive");
    sum.iter().map(|&s| i64::try_from(s.div_euclid(d)).expect("a component fits in i64")).collect()
}

/// The componentwise sum of two vectors.
fn add(a: &[i64], b: &[i64]) -> Vector {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// §6 layer 1, user: `z_k(u) = (sum over u's edges of w(u,i) * x_k(i)) div W(u)`,
/// for every user with an edge.
fn layer1_users(settings: &Settings, edges: &Edges, totals: &BTreeMap<Key, Weight>, x: &Vectors) -> Vectors {
    let mut terms: BTreeMap<Key, Vec<(Weight, &Vector)>> = BTreeMap::new();
    for (&(u, i), &w) in edges {
        terms.entry(u).or_default().push((w, &x[&i]));
    }
    terms
        .into_iter()
        .map(|(u, ts)| {
            let total = totals[&u] as i128;
            (u, floor_div(&weighted_sum(settings.dim, ts), total))
        })
        .collect()
}

/// §6 layer 1, item: `y_k(i) = (sum over u with i in H(u) of w(u,i) * z_k(u)) div
/// (sum of those w(u,i))`, for every item in some H(u) (the others have y = 0).
fn layer1_items(settings: &Settings, history: &BTreeMap<Key, Ranked>, z: &Vectors) -> Vectors {
    let mut terms: BTreeMap<Key, Vec<(Weight, &Vector)>> = BTreeMap::new();
    for (&u, items) in history {
        for &(i, w) in items {
            terms.entry(i).or_default().push((w, &z[&u]));
        }
    }
    terms
        .into_iter()
        .map(|(i, ts)| {
            let total: i128 = ts.iter().map(|&(w, _)| w as i128).sum();
            (i, floor_div(&weighted_sum(settings.dim, ts), total))
        })
        .collect()
}

/// §6 layer 2, user: `h(u) = normalise(z(u) + t)`, where `t_k = (sum over v in N(u) of
/// z_k(v)) div (lambda * |N(u)|)`; `h(u) = normalise(z(u))` when N(u) is empty.
fn layer2_users(settings: &Settings, z: &Vectors, neighbours: &BTreeMap<Key, Ranked>) -> Vectors {
    let mut h = Vectors::new();
    for (&u, z_u) in z {
        let n_u = list_of(neighbours, u);
        let v = if n_u.is_empty() {
            z_u.clone()
        } else {
            let sum = weighted_sum(settings.dim, n_u.iter().map(|&(v, _)| (1, &z[&v])));
            let divisor = settings.lambda as i128 * n_u.len() as i128;
            add(z_u, &floor_div(&sum, divisor))
        };
        h.insert(u, normalise(&v, settings.embedding_unit));
    }
    h
}

/// §6 layer 2, item: `e(i) = normalise(x(i) + y(i))`, for every item with a base vector.
fn layer2_items(settings: &Settings, x: &Vectors, y: &Vectors) -> Vectors {
    let mut e = Vectors::new();
    for (&i, x_i) in x {
        let v = match y.get(&i) {
            Some(y_i) => add(x_i, y_i),
            None => x_i.clone(),
        };
        e.insert(i, normalise(&v, settings.embedding_unit));
    }
    e
}

/// §7 trending: the `trending_depth` items of largest sum of a(action) over the events
/// of the trending window (all users, no decay); only positive sums count.
fn trending(settings: &Settings, live: &[Event], t: Time) -> Ranked {
    let mut sums: BTreeMap<Key, Weight> = BTreeMap::new();
    for e in live {
        if in_window(e.tick, t, settings.trending_window_ms) {
            *sums.entry(e.item).or_insert(0) += settings.weights.of(e.action);
        }
    }
    top_n(sums.into_iter().filter(|&(_, s)| s > 0), settings.trending_depth)
}

/// Per user, the items with an event of `action` in the window of length `len` at `t`
/// (purchased(u) and dismissed(u) of §7).
fn recent_items(live: &[Event], t: Time, action: Action, len: u64) -> BTreeMap<Key, BTreeSet<Key>> {
    let mut items: BTreeMap<Key, BTreeSet<Key>> = BTreeMap::new();
    for e in live {
        if e.action == action && in_window(e.tick, t, len) {
            items.entry(e.user).or_default().insert(e.item);
        }
    }
    items
}

/// What §7 keeps out of R(u).
struct Exclusions<'a> {
    purchased: &'a BTreeMap<Key, BTreeSet<Key>>,
    dismissed: &'a BTreeMap<Key, BTreeSet<Key>>,
    edges: &'a Edges,
    /// Every (u, i) with a live event, when `exclude_interacted` (else empty).
    interacted: &'a BTreeSet<(Key, Key)>,
}

impl Exclusions<'_> {
    fn purchased(&self, u: Key, i: Key) -> bool {
        self.purchased.get(&u).is_some_and(|s| s.contains(&i))
    }

    fn dismissed(&self, u: Key, i: Key) -> bool {
        self.dismissed.get(&u).is_some_and(|s| s.contains(&i))
    }

    /// Purchased, or (when `exclude_interacted`) any item u has an event with: what a
    /// fallback list skips.
    fn skipped(&self, u: Key, i: Key) -> bool {
        self.purchased(u, i) || self.interacted.contains(&(u, i))
    }

    /// Purchased, dismissed, any item with an event (when `exclude_interacted`), or
    /// (when `exclude_seen`) any item u has an edge to.
    fn excludes(&self, settings: &Settings, u: Key, i: Key) -> bool {
        self.skipped(u, i)
            || self.dismissed(u, i)
            || (settings.exclude_seen && self.edges.contains_key(&(u, i)))
    }
}

/// §7: `C(u) = {i in S(j) : j in H(u)} ∪ {i in H(v) : v in N(u)}`.
fn candidates(graph: &Graph, u: Key) -> BTreeSet<Key> {
    let mut c = BTreeSet::new();
    for &(j, _) in list_of(&graph.history, u) {
        c.extend(list_of(&graph.similar, j).iter().map(|&(i, _)| i));
    }
    for &(v, _) in list_of(&graph.neighbours, u) {
        c.extend(list_of(&graph.history, v).iter().map(|&(i, _)| i));
    }
    c
}

/// §7 part A: `a(u,i) = (sum over j in H(u) with i in S(j) of w(u,j) * sim(j,i)) div
/// W(u)`, for every i in some S(j); absent means 0.
fn item_knn_part(graph: &Graph, u: Key) -> BTreeMap<Key, i128> {
    let mut sums: BTreeMap<Key, i128> = BTreeMap::new();
    for &(j, w_j) in list_of(&graph.history, u) {
        for &(i, sim) in list_of(&graph.similar, j) {
            *sums.entry(i).or_insert(0) += w_j as i128 * sim as i128;
        }
    }
    let total = graph.totals[&u] as i128;
    sums.into_iter().map(|(i, sum)| (i, sum.div_euclid(total))).collect()
}

/// §7 part B: `b(u,i) = sum over v in N(u) with i in H(v) of ((s(u,v) * w(v,i)) div
/// W(v))`, each term floored; absent means 0.
fn neighbour_part(graph: &Graph, u: Key) -> BTreeMap<Key, i128> {
    let mut sums: BTreeMap<Key, i128> = BTreeMap::new();
    for &(v, s) in list_of(&graph.neighbours, u) {
        let total_v = graph.totals[&v] as i128;
        for &(i, w_v) in list_of(&graph.history, v) {
            *sums.entry(i).or_insert(0) += (s as i128 * w_v as i128).div_euclid(total_v);
        }
    }
    sums
}

/// §7 part G: `g(u,i) = cos(h(u), e(i))` in sim steps (may be negative).
/// g(u,i) from h(u) and e(i) as of the last refresh boundary; 0 when either is newer.
fn embedding_part(settings: &Settings, graph: &Graph, u: Key, i: Key) -> i128 {
    match (graph.refreshed_h.get(&u), graph.refreshed_e.get(&i)) {
        (Some(h_u), Some(e_i)) => cosine_steps(h_u, e_i, settings.embedding_unit, settings.sim_scale) as i128,
        _ => 0,
    }
}

/// §7: `score(u,i) = (A*a + B*b + G*g) div 100`, for every candidate i of u.
fn scores(settings: &Settings, graph: &Graph, u: Key) -> BTreeMap<Key, Weight> {
    if !graph.totals.contains_key(&u) {
        // Not a user of this (refreshed) graph yet: no candidates.
        return BTreeMap::new();
    }
    let a = item_knn_part(graph, u);
    let b = neighbour_part(graph, u);
    let mut scores = BTreeMap::new();
    for i in candidates(graph, u) {
        let a_i = a.get(&i).copied().unwrap_or(0);
        let b_i = b.get(&i).copied().unwrap_or(0);
        let g_i = embedding_part(settings, graph, u, i);
        let blend =
            settings.blend_a as i128 * a_i + settings.blend_b as i128 * b_i + settings.blend_g as i128 * g_i;
        let score = blend.div_euclid(100);
        scores.insert(i, Weight::try_from(score).expect("score fits in a Weight"));
    }
    scores
}

/// The trending fallback of u: the first `top_k` trending items u did not purchase.
fn fallback(settings: &Settings, u: Key, trending: &Ranked, exclusions: &Exclusions) -> RecList {
    let items =
        trending.iter().filter(|&&(i, _)| !exclusions.skipped(u, i)).take(settings.top_k).copied().collect();
    RecList { items, fallback: true }
}

/// §7: R(u) for every user with an edge; only non-empty lists are kept.
/// `graph` says who the users are (as of now); `model` is what they are scored from
/// (the same graph, or the one of the last refresh).
fn recommendations(
    settings: &Settings,
    graph: &Graph,
    model: &Graph,
    trending: &Ranked,
    exclusions: &Exclusions,
) -> BTreeMap<Key, RecList> {
    let mut recs = BTreeMap::new();
    // A refreshed model keeps serving a user whose edges have decayed since the
    // boundary; the fallback is only for users with an edge now.
    let users: BTreeSet<Key> = graph.totals.keys().chain(model.totals.keys()).copied().collect();
    for u in users {
        let kept: Ranked = scores(settings, model, u)
            .into_iter()
            .filter(|&(i, score)| score > 0 && !exclusions.excludes(settings, u, i))
            .collect();
        let list = if kept.is_empty() && graph.totals.contains_key(&u) {
            fallback(settings, u, trending, exclusions)
        } else if kept.is_empty() {
            RecList::default()
        } else {
            RecList { items: top_n(kept, settings.top_k), fallback: false }
        };
        if !list.items.is_empty() {
            recs.insert(u, list);
        }
    }
    recs
}

/// A per-key ranked list as (key, member, weight) triples.
fn flatten(lists: &BTreeMap<Key, Ranked>) -> BTreeSet<(Key, Key, Weight)> {
    let mut triples = BTreeSet::new();
    for (&k, list) in lists {
        for &(m, w) in list {
            triples.insert((k, m, w));
        }
    }
    triples
}
