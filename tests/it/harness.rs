//! Drives the dataflow in-process and records its accumulated state at every tick.

use dataflows::changes::State;
use dataflows::exec::{self, Batch, Observe, SinkEvent};
use dataflows::model::{Arrival, Settings, Time};
use dataflows::snapshot::Snapshot;
use dataflows::stats::SharedCounters;

/// The arrivals as the reader would time them: `at = max(tick, max earlier tick - lateness)`.
pub fn arrivals_in_order(settings: &Settings, events: &[dataflows::model::Event]) -> Vec<Arrival> {
    let mut newest: Option<Time> = None;
    events
        .iter()
        .map(|ev| {
            let frontier = newest.map_or(0, |n| n.saturating_sub(settings.lateness_ms));
            newest = Some(newest.map_or(ev.tick, |n| n.max(ev.tick)));
            Arrival {
                event: *ev,
                at: ev.tick.max(frontier),
            }
        })
        .collect()
}

/// Splits arrivals at `cuts` into batches, each closed by the frontier the reader
/// would report after it, then adds empty batches one tick apart up to `end`.
pub fn batches(settings: &Settings, arrivals: &[Arrival], cuts: &[usize], end: Time) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut newest = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(arrivals.len())).collect();
    bounds.push(arrivals.len());
    bounds.sort_unstable();
    for stop in bounds {
        let part = arrivals[start..stop].to_vec();
        newest = part.iter().map(|a| a.event.tick).fold(newest, Time::max);
        out.push(Batch {
            arrivals: part,
            frontier: newest.saturating_sub(settings.lateness_ms),
        });
        start = stop;
    }
    let mut t = newest + settings.tick_ms;
    while t <= end {
        out.push(Batch {
            arrivals: vec![],
            frontier: t,
        });
        t += settings.tick_ms;
    }
    out
}

/// Runs the dataflow and returns the snapshot at every tick below the last frontier.
pub fn snapshots(
    settings: &Settings,
    workers: usize,
    batches: Vec<Batch>,
) -> (Vec<(Time, Snapshot)>, SharedCounters) {
    let mut state = State::default();
    let mut pending = Vec::new();
    let mut out = Vec::new();
    let mut covered = 0;
    let mut source = batches.into_iter().map(Ok);
    let observe = Observe {
        history: true,
        similar: true,
    };
    let counters = exec::run(settings, workers, observe, &mut source, &mut |event, _| {
        match event {
            SinkEvent::Tick(changes) => pending.push(changes.clone()),
            SinkEvent::Frontier(frontier) => {
                let mut t = covered;
                while t < frontier {
                    for changes in pending.iter().filter(|c| c.tick == t) {
                        state.apply(changes);
                    }
                    out.push((t, state.snapshot(settings)));
                    t += settings.tick_ms;
                }
                pending.retain(|c| c.tick >= frontier);
                covered = covered.max(t);
            }
        }
        Ok(())
    })
    .expect("the dataflow runs");
    assert_eq!(
        state.anomalies, 0,
        "every observed update has multiplicity ±1"
    );
    (out, counters)
}
