//! Property tests: random events, in random batches, through the dataflow at 1, 2 and
//! 3 workers; at every tick H(u), S(i), N(u), z(u), h(u), e(i), the trending list and
//! R(u) equal the oracle's.

use proptest::prelude::*;

use dataflows::model::{Action, Event, Settings};
use dataflows::oracle;

use crate::harness;

/// Small windows and lists, so that a few dozen events cross every boundary.
fn small_settings(
    exclude_seen: bool,
    lateness_ms: u64,
    embedding_refresh_ms: u64,
    model_refresh_ms: u64,
    exclude_interacted: bool,
) -> Settings {
    Settings {
        lateness_ms,
        embedding_refresh_ms,
        model_refresh_ms,
        exclude_interacted,
        decay_steps: vec![(0, 4), (3_000, 2), (8_000, 1), (15_000, 0)],
        history_len: 3,
        similar_len: 2,
        top_k: 3,
        trending_depth: 4,
        purchase_exclusion_ms: 12_000,
        dismiss_exclusion_ms: 6_000,
        trending_window_ms: 5_000,
        exclude_seen,
        hub_degree: 3,
        neighbours_len: 2,
        dim: 6,
        sparsity: 2,
        ..Settings::default()
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::View),
        1 => Just(Action::Favorite),
        2 => Just(Action::Cart),
        1 => Just(Action::RemoveCart),
        2 => Just(Action::Purchase),
        1 => Just(Action::Dismiss),
        1 => Just(Action::Rating(4)),
        1 => Just(Action::Rating(9)),
    ]
}

/// Events in reading order: mostly time-ordered, with some jitter (late events)
/// and some gaps longer than every decay step.
fn events() -> impl Strategy<Value = Vec<Event>> {
    let one = (0u64..40, 0u64..6, 0u64..7, action(), 0u64..4);
    prop::collection::vec(one, 1..40).prop_map(|raw| {
        let mut clock = 1_000;
        let mut out = Vec::new();
        for (step, user, item, action, jitter) in raw {
            // A step of 39 jumps past the last decay step (15 s).
            clock += if step == 39 { 20_000 } else { (step % 3) * 1_000 };
            let tick = clock.saturating_sub(jitter.min(2) * 1_000).max(1_000);
            // Categories on some items only, so that x(i) is tested with and without one.
            let category = (item % 3 != 0).then_some(100 + item % 2);
            out.push(Event { tick, user, item, action, category });
        }
        out
    })
}

fn check(settings: &Settings, events: &[Event], cuts: &[usize]) -> Result<(), TestCaseError> {
    let arrivals = harness::arrivals_in_order(settings, events);
    let newest = arrivals.iter().map(|a| a.event.tick).max().unwrap_or(0);
    let end = newest + 16_000;
    for workers in 1..=3 {
        let batches = harness::batches(settings, &arrivals, cuts, end);
        let (snapshots, _) = harness::snapshots(settings, workers, batches);
        prop_assert!(snapshots.len() as u64 >= end / settings.tick_ms, "every tick observed");
        for (t, got) in snapshots {
            let want = oracle::snapshot_at(settings, &arrivals, t);
            prop_assert_eq!(&got.history, &want.history, "H(u) at t={} workers={}", t, workers);
            prop_assert_eq!(&got.similar, &want.similar, "S(i) at t={} workers={}", t, workers);
            prop_assert_eq!(&got.trending, &want.trending, "trending at t={} workers={}", t, workers);
            prop_assert_eq!(&got.neighbours, &want.neighbours, "N(u) at t={} workers={}", t, workers);
            prop_assert_eq!(&got.z, &want.z, "z(u) at t={} workers={}", t, workers);
            prop_assert_eq!(&got.h, &want.h, "h(u) at t={} workers={}", t, workers);
            prop_assert_eq!(&got.e, &want.e, "e(i) at t={} workers={}", t, workers);
            prop_assert_eq!(&got.recs, &want.recs, "R(u) at t={} workers={}", t, workers);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn dataflow_equals_oracle_at_every_tick(
        events in events(),
        cuts in prop::collection::vec(0usize..40, 0..6),
        exclude_seen in any::<bool>(),
        lateness in prop_oneof![Just(0u64), Just(2_000u64)],
        refresh in prop_oneof![Just(0u64), Just(4_000u64)],
        model_refresh in prop_oneof![2 => Just(0u64), 1 => Just(5_000u64)],
        exclude_interacted in any::<bool>(),
    ) {
        let settings = small_settings(exclude_seen, lateness, refresh, model_refresh, exclude_interacted);
        check(&settings, &events, &cuts)?;
    }
}
