//! The oracle: a plain, from-scratch computation of the model's state at one time,
//! written to be obviously correct rather than fast (maps, sorts and loops, no
//! dataflow). Property tests compare the dataflow's accumulated output with it exactly.
//!
//! It covers MODEL.md §1 (live and late events, ticks), §2 (decay by steps), §3 (edges
//! and histories), §4 (item-item similarity), the trending list, and §7 part A (item-kNN
//! recommendations with the purchase, dismiss and seen exclusions and the trending
//! fallback). It does not cover §5 (user-user graph), §6 (embeddings) or parts B and G
//! of §7, which count as zero.
//!
//! An arrival is live at `t` when `at <= t`; its age is measured from its event tick.
//! Every arrival in the slice counts once (duplicates were dropped upstream).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Action, Arrival, Event, Key, Settings, Time, Weight};
use crate::snapshot::{RecList, Snapshot};

/// H(u) or S(i): a ranked list of (key, weight), best first.
type Ranked = Vec<(Key, Weight)>;

/// The model's state at time `t`, computed from the arrivals live at `t`.
pub fn snapshot_at(settings: &Settings, arrivals: &[Arrival], t: Time) -> Snapshot {
    let live = live_events(arrivals, t);
    let edges = edge_weights(settings, &live, t);
    let history = history(settings, &edges);
    let similar = similarity(settings, &history);
    let trending = trending(settings, &live, t);
    let purchased = recent_items(&live, t, Action::Purchase, settings.purchase_exclusion_ms);
    let dismissed = recent_items(&live, t, Action::Dismiss, settings.dismiss_exclusion_ms);
    let exclusions = Exclusions {
        purchased: &purchased,
        dismissed: &dismissed,
        edges: &edges,
    };
    let recs = recommendations(settings, &edges, &history, &similar, &trending, &exclusions);
    Snapshot {
        history: flatten(&history),
        similar: flatten(&similar),
        edges,
        trending,
        recs,
    }
}

/// The events of the arrivals that have entered by `t` (§1: `at <= t`).
fn live_events(arrivals: &[Arrival], t: Time) -> Vec<Event> {
    let mut live = Vec::new();
    for a in arrivals {
        assert!(
            a.at >= a.event.tick,
            "an arrival enters no earlier than its tick: {a:?}"
        );
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
fn edge_weights(settings: &Settings, live: &[Event], t: Time) -> BTreeMap<(Key, Key), Weight> {
    let mut sums: BTreeMap<(Key, Key), Weight> = BTreeMap::new();
    for e in live {
        let decayed = settings.weights.of(e.action) * settings.decay(t - e.tick);
        *sums.entry((e.user, e.item)).or_insert(0) += decayed;
    }
    sums.into_iter().filter(|&(_, w)| w > 0).collect()
}

/// W(u) = the sum of the user's edge weights, for every user with an edge.
fn total_weights(edges: &BTreeMap<(Key, Key), Weight>) -> BTreeMap<Key, Weight> {
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

/// §3: H(u) = the `history_len` items of largest w(u,i).
fn history(settings: &Settings, edges: &BTreeMap<(Key, Key), Weight>) -> BTreeMap<Key, Ranked> {
    let mut per_user: BTreeMap<Key, Ranked> = BTreeMap::new();
    for (&(u, i), &w) in edges {
        per_user.entry(u).or_default().push((i, w));
    }
    per_user
        .into_iter()
        .map(|(u, items)| (u, top_n(items, settings.history_len)))
        .collect()
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

/// §4: `steps = isqrt((scale^2 * c^2) div (n(i) * n(j)))`, in u128; an overflow of
/// u128 panics rather than wrapping.
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

/// §4: S(i) = the `similar_len` j of largest sim steps (pairs of 0 steps are not similar).
fn similarity(settings: &Settings, history: &BTreeMap<Key, Ranked>) -> BTreeMap<Key, Ranked> {
    let mut n: BTreeMap<Key, u128> = BTreeMap::new();
    let mut c: BTreeMap<(Key, Key), u128> = BTreeMap::new();
    for items in history.values() {
        for &(i, w_i) in items {
            *n.entry(i).or_insert(0) += positive(w_i) * positive(w_i);
            for &(j, w_j) in items {
                if i != j {
                    *c.entry((i, j)).or_insert(0) += positive(w_i) * positive(w_j);
                }
            }
        }
    }
    let mut candidates: BTreeMap<Key, Ranked> = BTreeMap::new();
    for (&(i, j), &c_ij) in &c {
        let steps = sim_steps(settings.sim_scale, c_ij, n[&i], n[&j]);
        if steps > 0 {
            candidates.entry(i).or_default().push((j, steps));
        }
    }
    candidates
        .into_iter()
        .map(|(i, js)| (i, top_n(js, settings.similar_len)))
        .collect()
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
    top_n(
        sums.into_iter().filter(|&(_, s)| s > 0),
        settings.trending_depth,
    )
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
    edges: &'a BTreeMap<(Key, Key), Weight>,
}

impl Exclusions<'_> {
    fn purchased(&self, u: Key, i: Key) -> bool {
        self.purchased.get(&u).is_some_and(|s| s.contains(&i))
    }

    fn dismissed(&self, u: Key, i: Key) -> bool {
        self.dismissed.get(&u).is_some_and(|s| s.contains(&i))
    }

    /// Purchased, dismissed, or (when `exclude_seen`) any item u has an edge to.
    fn excludes(&self, settings: &Settings, u: Key, i: Key) -> bool {
        self.purchased(u, i)
            || self.dismissed(u, i)
            || (settings.exclude_seen && self.edges.contains_key(&(u, i)))
    }
}

/// §7 part A: `a(u,i) = (sum over j in H(u) with i in S(j) of w(u,j) * sim(j,i)) div W(u)`
/// and `score = (A*a + B*0 + G*0) div 100`, for every candidate i of u.
fn item_knn_scores(
    settings: &Settings,
    user_history: &[(Key, Weight)],
    total: Weight,
    similar: &BTreeMap<Key, Ranked>,
) -> BTreeMap<Key, Weight> {
    let mut sums: BTreeMap<Key, i128> = BTreeMap::new();
    for &(j, w_j) in user_history {
        for &(i, steps) in similar.get(&j).map_or(&[][..], |s| &s[..]) {
            *sums.entry(i).or_insert(0) += w_j as i128 * steps as i128;
        }
    }
    let mut scores = BTreeMap::new();
    for (i, sum) in sums {
        let a = sum.div_euclid(total as i128);
        let score = (settings.blend_a as i128 * a).div_euclid(100);
        scores.insert(i, Weight::try_from(score).expect("score fits in a Weight"));
    }
    scores
}

/// The trending fallback of u: the first `top_k` trending items u did not purchase.
fn fallback(settings: &Settings, u: Key, trending: &Ranked, exclusions: &Exclusions) -> RecList {
    let items = trending
        .iter()
        .filter(|&&(i, _)| !exclusions.purchased(u, i))
        .take(settings.top_k)
        .copied()
        .collect();
    RecList {
        items,
        fallback: true,
    }
}

/// §7: R(u) for every user with an edge; only non-empty lists are kept.
fn recommendations(
    settings: &Settings,
    edges: &BTreeMap<(Key, Key), Weight>,
    history: &BTreeMap<Key, Ranked>,
    similar: &BTreeMap<Key, Ranked>,
    trending: &Ranked,
    exclusions: &Exclusions,
) -> BTreeMap<Key, RecList> {
    let mut recs = BTreeMap::new();
    for (u, total) in total_weights(edges) {
        let user_history = history.get(&u).map_or(&[][..], |h| &h[..]);
        let scores = item_knn_scores(settings, user_history, total, similar);
        let kept: Ranked = scores
            .into_iter()
            .filter(|&(i, score)| score > 0 && !exclusions.excludes(settings, u, i))
            .collect();
        let list = if kept.is_empty() {
            fallback(settings, u, trending, exclusions)
        } else {
            RecList {
                items: top_n(kept, settings.top_k),
                fallback: false,
            }
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
