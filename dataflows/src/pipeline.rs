//! The whole model as one dataflow: events in, the collections that are emitted out.
//! Stage order follows MODEL.md: §1–2 events, §3 graph, §4 similarity, §5 neighbours,
//! §6 embeddings, §7 recs.

use crate::embedding::{Unit, Vector};
use crate::model::{Event, Key, Settings, Weight};
use crate::stats::SharedCounters;
use crate::{embedding, events, graph, neighbours, recs, similarity, Coll};

/// The collections the runtime observes and emits.
pub struct Outputs<'s> {
    /// H(u) as `(user, (item, w))`.
    pub history: Coll<'s, (Key, (Key, Weight))>,
    /// S(i) as `(item, (similar item, steps))`.
    pub similar: Coll<'s, (Key, (Key, Weight))>,
    /// Personal R(u) as `(user, (item, score))`.
    pub personal: Coll<'s, (Key, (Key, Weight))>,
    /// Users served the trending list.
    pub fallback: Coll<'s, Key>,
    /// `(user, item)`: trending items a fallback user purchased (skipped for them).
    pub skips: Coll<'s, (Key, Key)>,
    /// The trending list as `(item, sum)`.
    pub trending: Coll<'s, (Key, Weight)>,
    /// One record `()` per edge, for the edge count.
    pub edge_count: Coll<'s, ()>,
    /// N(u) as `(user, (neighbour, steps))`.
    pub neighbours: Coll<'s, (Key, (Key, Weight))>,
    /// z(u), h(u) and e(i).
    pub z: Coll<'s, (Key, Vector)>,
    pub h: Coll<'s, (Key, Unit)>,
    pub e: Coll<'s, (Key, Unit)>,
}

pub fn build<'s>(events: Coll<'s, Event>, settings: &Settings, counters: SharedCounters) -> Outputs<'s> {
    let interest = events::decayed_interest(events.clone(), settings);
    let purchased = events::windowed(events.clone(), settings.purchase_exclusion_ms, events::is_purchase);
    let dismissed = events::windowed(events.clone(), settings.dismiss_exclusion_ms, events::is_dismiss);
    let trending_weight = events::windowed_item_weight(events.clone(), settings);

    let edges = graph::edge_weights(interest);
    let totals = graph::user_totals(edges.clone());
    let history = graph::history(edges.clone(), settings.history_len, counters.clone());

    let sim = similarity::similarity(history.clone(), settings.sim_scale);
    let similar = similarity::similar_items(sim, settings.similar_len, counters.clone());

    let degrees = neighbours::item_degrees(edges.clone());
    let user_sim =
        neighbours::user_similarity(history.clone(), degrees, settings.hub_degree, settings.sim_scale);
    let neighbours = neighbours::neighbours(user_sim, settings.neighbours_len, counters.clone());

    let x = embedding::base_vectors(embedding::item_categories(events.clone()), settings);
    let z = embedding::user_layer1(edges.clone(), x.clone(), counters.clone());
    let y = embedding::item_layer1(history.clone(), z.clone(), counters.clone());
    let h = embedding::user_layer2(z.clone(), neighbours.clone(), settings, counters.clone());
    let e = embedding::item_layer2(x, y, settings, counters.clone());

    let parts = recs::candidate_parts(history.clone(), similar.clone(), neighbours.clone(), totals.clone());
    let scores = recs::scores(parts, totals.clone(), h.clone(), e.clone(), settings);
    let interacted = recs::interacted(events.clone(), settings);
    let excluded = recs::exclusions(purchased.clone(), dismissed, edges.clone(), interacted.clone(), settings);
    let personal = recs::personal_recs(scores, excluded, settings, counters.clone());
    let trending = recs::trending(trending_weight, settings, counters);
    let fallback = recs::fallback_users(totals, personal.clone());
    let skips = recs::fallback_skips(fallback.clone(), recs::skippable(purchased, interacted), trending.clone());

    Outputs {
        history,
        similar,
        personal,
        fallback,
        skips,
        trending,
        edge_count: edges.map(|_| ()),
        neighbours,
        z,
        h,
        e,
    }
}
