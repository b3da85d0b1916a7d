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
    let outer = events.scope();
    // Each stage is a named timely region, so that the profile can say where time goes.
    let (interest, purchased, dismissed, trending_weight) = outer.region_named("§1-2 events", |r| {
        let events = events.clone().enter_region(r);
        let purchased = events::windowed(events.clone(), settings.purchase_exclusion_ms, events::is_purchase);
        let dismissed = events::windowed(events.clone(), settings.dismiss_exclusion_ms, events::is_dismiss);
        (
            events::decayed_interest(events.clone(), settings).leave_region(outer),
            purchased.leave_region(outer),
            dismissed.leave_region(outer),
            events::windowed_item_weight(events, settings).leave_region(outer),
        )
    });

    let (edges, totals, history) = outer.region_named("§3 graph", |r| {
        let edges = graph::edge_weights(interest.enter_region(r));
        let totals = graph::user_totals(edges.clone());
        let history = graph::history(edges.clone(), settings.history_len, counters.clone());
        (edges.leave_region(outer), totals.leave_region(outer), history.leave_region(outer))
    });

    let similar = outer.region_named("§4 similarity", |r| {
        let sim = similarity::similarity(history.clone().enter_region(r), settings.sim_scale);
        similarity::similar_items(sim, settings.similar_len, counters.clone()).leave_region(outer)
    });

    let neighbours = outer.region_named("§5 neighbours", |r| {
        let degrees = neighbours::item_degrees(edges.clone().enter_region(r));
        let user_sim = neighbours::user_similarity(
            history.clone().enter_region(r),
            degrees,
            settings.hub_degree,
            settings.sim_scale,
        );
        neighbours::neighbours(user_sim, settings.neighbours_len, counters.clone()).leave_region(outer)
    });

    let (z, h, e) = outer.region_named("§6 embedding", |r| {
        let categories = embedding::item_categories(events.clone().enter_region(r));
        let x = embedding::base_vectors(categories, settings);
        let z = embedding::user_layer1(edges.clone().enter_region(r), x.clone(), counters.clone());
        let y = embedding::item_layer1(history.clone().enter_region(r), z.clone(), counters.clone());
        let h =
            embedding::user_layer2(z.clone(), neighbours.clone().enter_region(r), settings, counters.clone());
        let e = embedding::item_layer2(x, y, settings, counters.clone());
        (z.leave_region(outer), h.leave_region(outer), e.leave_region(outer))
    });

    let (personal, trending, fallback, skips) = outer.region_named("§7 recs", |r| {
        let (history, totals) = (history.clone().enter_region(r), totals.clone().enter_region(r));
        let purchased = purchased.enter_region(r);
        let interacted = recs::interacted(events.clone().enter_region(r), settings);
        let excluded = recs::exclusions(
            purchased.clone(),
            dismissed.enter_region(r),
            edges.clone().enter_region(r),
            interacted.clone(),
            settings,
        );
        let inputs = recs::RecsInputs {
            history,
            similar: similar.clone().enter_region(r),
            neighbours: neighbours.clone().enter_region(r),
            totals: totals.clone(),
            h: h.clone().enter_region(r),
            e: e.clone().enter_region(r),
            excluded,
        };
        let personal = recs::personal_recs(inputs, settings, counters.clone());
        let trending = recs::trending(trending_weight.enter_region(r), settings, counters);
        let fallback = recs::fallback_users(totals, personal.clone());
        let skips =
            recs::fallback_skips(fallback.clone(), recs::skippable(purchased, interacted), trending.clone());
        (
            personal.leave_region(outer),
            trending.leave_region(outer),
            fallback.leave_region(outer),
            skips.leave_region(outer),
        )
    });

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
