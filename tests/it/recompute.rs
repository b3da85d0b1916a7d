//! Only changed keys are recomputed: one new event of a user who shares no item
//! with anyone re-evaluates H and R for that user alone.

use dataflows::model::{Action, Arrival, Event, Settings};
use dataflows::stats::Stage;

use crate::harness;

#[test]
fn an_isolated_users_event_reevaluates_only_that_user() {
    let settings = Settings::default();
    let ev = |tick, user, item, action| Event {
        tick,
        user,
        item,
        action,
        category: None,
    };
    // A crowd sharing items 1..=5, and user 100 alone on items 900 and 901.
    let mut events = Vec::new();
    for user in 0..50 {
        for item in 1..=5 {
            if (user + item) % 3 != 0 {
                events.push(ev(1_000, user, item, Action::View));
            }
        }
    }
    events.push(ev(1_000, 100, 900, Action::View));
    events.push(ev(1_000, 100, 901, Action::Cart));
    let base: Vec<Arrival> = harness::arrivals_in_order(&settings, &events);
    let mut batches = harness::batches(&settings, &base, &[], 2_000);
    let extra = Arrival {
        event: ev(3_000, 100, 900, Action::Favorite),
        at: 3_000,
    };
    batches.push(dataflows::exec::Batch {
        arrivals: vec![extra],
        frontier: 4_000,
    });

    let mut before = None;
    let mut after = None;
    // Lockstep: a batch is handed over only once the previous frontier was delivered,
    // so the counters read at a frontier hold exactly the work below it.
    let (delivered, wait) = std::sync::mpsc::channel::<()>();
    let mut first = true;
    let mut source = batches.into_iter().map(move |b| {
        if !std::mem::take(&mut first) {
            let _ = wait.recv();
        }
        Ok(b)
    });
    let observe = dataflows::exec::Observe::default();
    dataflows::exec::run(
        &settings,
        2,
        observe,
        &mut source,
        &mut |event, counters| {
            if let dataflows::exec::SinkEvent::Frontier(f) = event {
                let _ = delivered.send(());
                let snapshot: Vec<u64> = Stage::ALL.iter().map(|s| counters.get(*s)).collect();
                if f == 2_000 {
                    before = Some(snapshot);
                } else if f == 4_000 {
                    after = Some(snapshot);
                }
            }
            Ok(())
        },
    )
    .expect("runs");
    let (before, after) = (
        before.expect("frontier 2000"),
        after.expect("frontier 4000"),
    );
    let delta = |stage: Stage| after[stage as usize] - before[stage as usize];
    assert!(
        before[Stage::Recs as usize] > 40,
        "the crowd was evaluated at first"
    );
    assert_eq!(delta(Stage::History), 1, "H re-evaluated for user 100 only");
    assert_eq!(delta(Stage::Recs), 1, "R re-evaluated for user 100 only");
    // sim(900, 901) stays 1.0 (one user holds both), so S(i) needs no work at all.
    assert!(
        delta(Stage::Similar) <= 2,
        "S re-evaluated at most for items 900 and 901"
    );
}
