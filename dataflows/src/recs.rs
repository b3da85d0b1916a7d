//! MODEL.md §7: recommendations. Candidates come from S(j) for j in H(u) (part A,
//! item kNN) and from H(v) for v in N(u) (part B); part G is the cosine of the
//! embeddings h(u) and e(i). Exclusions remove purchased, dismissed (and on request, seen)
//! items; users left with no candidate fall back on the shared trending list.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};

use differential_dataflow::operators::CountTotal;
use serde::{Deserialize, Serialize};

use crate::embedding::Unit;
use crate::events::deferred;
use crate::model::{cosine_steps, Event, Key, Settings, Weight};
use crate::stats::{SharedCounters, Stage};
use crate::topk::global_top_k;
use crate::Coll;

/// Buckets of the two-level trending top-K (see `topk::global_top_k`).
const TRENDING_BUCKETS: u64 = 256;

/// What the R(u) reduce of one user reads. Scores are computed inside the reduce, so
/// a change of W(u) or W(v) costs one re-evaluation of u instead of re-sending every
/// candidate of u through joins and arrangements. Variant order matters: the reduce
/// sees the totals before the paths that are divided by them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Evidence {
    /// W(u).
    Total(Weight),
    /// W(v) of a neighbour v in N(u).
    NeighbourTotal { v: Key, total: Weight },
    /// Part A undivided: sum over j in H(u) with i in S(j) of w(u,j) * sim(j,i).
    ItemKnn { item: Key, sum: Weight },
    /// One part-B path: v in N(u) with s(u,v), and i in H(v) with w(v,i).
    Neighbour { v: Key, s: Weight, item: Key, w: Weight },
    /// h(u), for part G (as of the last embedding refresh).
    UserVector(Vec<i32>),
    /// e(i) of a candidate i, for part G: g(u,i) = cos(h(u), e(i)) is computed in the
    /// reduce, so a move of h(u) is one update, not one per candidate.
    ItemVector { item: Key, e: Vec<i32> },
    /// i may not be recommended to u now.
    Excluded { item: Key },
}

/// The inputs of the R(u) reduce, keyed by user (§7).
pub struct RecsInputs<'s> {
    pub history: Coll<'s, (Key, (Key, Weight))>,
    pub similar: Coll<'s, (Key, (Key, Weight))>,
    pub neighbours: Coll<'s, (Key, (Key, Weight))>,
    pub totals: Coll<'s, (Key, Weight)>,
    pub h: Coll<'s, (Key, Unit)>,
    pub e: Coll<'s, (Key, Unit)>,
    pub excluded: Coll<'s, (Key, Key)>,
}

/// R(u) as `(u, (i, score))`: the best `top_k` candidates with a positive score that
/// are not excluded, `score = (A*a + B*b + G*g) div 100` (§7).
pub fn personal_recs<'s>(
    inputs: RecsInputs<'s>,
    settings: &Settings,
    counters: SharedCounters,
) -> Coll<'s, (Key, (Key, Weight))> {
    let RecsInputs { history, similar, neighbours, totals, h, e, excluded } = inputs;
    let item_knn = history
        .clone()
        .map(|(user, (j, w))| (j, (user, w)))
        .join_map(similar, |_j, &(user, w), &(i, sim)| ((user, i), (w * sim) as isize))
        .explode(|(pair, product)| Some((pair, product)))
        .count_total();
    let by_neighbour = neighbours.map(|(user, (v, s))| (v, (user, s))).arrange_by_key();
    let paths = by_neighbour.clone().join_core(history.arrange_by_key(), |&v, &(user, s), &(item, w)| {
        Some((user, Evidence::Neighbour { v, s, item, w }))
    });
    let neighbour_totals = by_neighbour
        .join_core(totals.clone().arrange_by_key(), |&v, &(user, _), &total| {
            Some((user, Evidence::NeighbourTotal { v, total }))
        });
    let mut model = totals
        .map(|(user, total)| (user, Evidence::Total(total)))
        .concat(neighbour_totals)
        .concat(
            item_knn
                .clone()
                .map(|((user, item), sum)| (user, Evidence::ItemKnn { item, sum: sum as Weight })),
        )
        .concat(paths.clone());
    if settings.blend_g != 0 {
        let pairs = item_knn.map(|(pair, _)| pair).concat(paths.flat_map(|(user, ev)| match ev {
            Evidence::Neighbour { item, .. } => Some((user, item)),
            _ => None,
        }));
        let (h, e) = refreshed(h, e, settings.embedding_refresh_ms);
        let item_vectors = pairs
            .distinct()
            .map(|(user, item)| (item, user))
            .join_map(e, |&item, &user, e| (user, Evidence::ItemVector { item, e: e.to_vec() }));
        model =
            model.concat(h.map(|(user, h)| (user, Evidence::UserVector(h.to_vec())))).concat(item_vectors);
    }
    // The refreshed baseline: the model as of the last boundary; exclusions stay live.
    if settings.model_refresh_ms > 0 {
        let visible = settings.clone();
        model = deferred(model.delay(move |t: &u64| visible.model_visible_at(*t)));
    }
    let evidence = model.concat(excluded.map(|(user, item)| (user, Evidence::Excluded { item })));
    let scoring = Scoring {
        blend: (settings.blend_a, settings.blend_b, settings.blend_g),
        unit: settings.embedding_unit,
        scale: settings.sim_scale,
        top_k: settings.top_k,
    };
    evidence.reduce_named(Stage::Recs.name(), move |_user, input, output| {
        counters.bump(Stage::Recs);
        let present = input.iter().filter(|(_, r)| *r > 0).map(|(ev, _)| *ev);
        output.extend(scoring.best(present).into_iter().map(|pair| (pair, 1)));
    })
}

/// h and e as of the last embedding refresh boundary (or as they are, when 0): the
/// delayed updates wait in `deferred` until their boundary.
fn refreshed<'s>(h: Vectors<'s>, e: Vectors<'s>, refresh: u64) -> (Vectors<'s>, Vectors<'s>) {
    if refresh == 0 {
        return (h, e);
    }
    let boundary = move |t: &u64| t.div_ceil(refresh) * refresh;
    (deferred(h.delay(boundary)), deferred(e.delay(boundary)))
}

/// h(u) or e(i) by key.
type Vectors<'s> = Coll<'s, (Key, Unit)>;

/// The settings the R(u) reduce scores with.
#[derive(Clone, Copy)]
struct Scoring {
    blend: (Weight, Weight, Weight),
    unit: i64,
    scale: u64,
    top_k: usize,
}

/// Per candidate: part A's undivided sum and part B.
#[derive(Default)]
struct Parts {
    a_sum: i128,
    b: i128,
}

impl Scoring {
    /// R(u) from the evidence of u (sorted, as the reduce presents it).
    fn best<'a>(&self, evidence: impl Iterator<Item = &'a Evidence>) -> Vec<(Key, Weight)> {
        let (blend_a, blend_b, blend_g) = self.blend;
        let mut total = None;
        let mut neighbour_totals: HashMap<Key, Weight> = HashMap::new();
        let mut parts: BTreeMap<Key, Parts> = BTreeMap::new();
        let mut user_vector: Option<&[i32]> = None;
        let mut item_vectors: HashMap<Key, &[i32]> = HashMap::new();
        let mut excluded: HashSet<Key> = HashSet::new();
        for ev in evidence {
            match ev {
                Evidence::Total(w) => total = Some(*w),
                Evidence::NeighbourTotal { v, total } => {
                    neighbour_totals.insert(*v, *total);
                }
                Evidence::ItemKnn { item, sum } => parts.entry(*item).or_default().a_sum += *sum as i128,
                Evidence::Neighbour { v, s, item, w } => {
                    // Each term (s(u,v) * w(v,i)) div W(v) is rounded down on its own.
                    let term = neighbour_totals
                        .get(v)
                        .map_or(0, |&t| (*s as i128 * *w as i128).div_euclid(t as i128));
                    parts.entry(*item).or_default().b += term;
                }
                Evidence::UserVector(h) => user_vector = Some(h),
                Evidence::ItemVector { item, e } => {
                    item_vectors.insert(*item, e);
                }
                Evidence::Excluded { item } => {
                    excluded.insert(*item);
                }
            }
        }
        let Some(total) = total.filter(|t| *t > 0) else { return Vec::new() };
        let mut scored: Vec<(Reverse<Weight>, Key)> = parts
            .into_iter()
            .filter(|(item, _)| !excluded.contains(item))
            .filter_map(|(item, p)| {
                // A user or item newer than the last embedding refresh has no g yet: 0.
                let g_i = match (user_vector, item_vectors.get(&item)) {
                    (Some(h), Some(e)) => cosine_steps(h, e, self.unit, self.scale) as i128,
                    _ => 0,
                };
                let a = p.a_sum.div_euclid(total as i128);
                let blended = blend_a as i128 * a + blend_b as i128 * p.b + blend_g as i128 * g_i;
                let score = Weight::try_from(blended.div_euclid(100)).ok()?;
                (score > 0).then_some((Reverse(score), item))
            })
            .collect();
        scored.sort_unstable();
        scored.into_iter().take(self.top_k).map(|(Reverse(score), item)| (item, score)).collect()
    }
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
