//! MODEL.md §1–§2: events enter once, at their arrival time; their later changes
//! (decay steps, the end of a window) are emitted at once as updates at fixed future
//! times, so no timer ever scans the state. An update that would fall before the
//! arrival (a late event) is applied at the arrival instead.
//!
//! The future updates wait in `deferred` (a map by due time) rather than in the first
//! arrangement's batcher: a batcher re-reads everything it holds at every frontier
//! advance, which made the cost of one tick grow with the number of live events.

use std::collections::BTreeMap;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Capability;

use differential_dataflow::{AsCollection, Data};

use crate::model::{Action, Event, Key, Settings, Time, Weight};
use crate::Coll;

/// Decayed interest contributions: `(user, item)` whose multiplicity, accumulated at
/// time T, is `sum of a(action) * decay(T - tick)` over the pair's live events.
pub fn decayed_interest<'s>(events: Coll<'s, Event>, settings: &Settings) -> Coll<'s, (Key, Key)> {
    let weights = settings.weights.clone();
    let steps = step_changes(&settings.decay_steps);
    let interest = events
        .inner
        .flat_map(move |(ev, at, r)| {
            let a = weights.of(ev.action) as isize;
            let steps = steps.clone();
            steps.into_iter().filter(move |_| a != 0).map(move |(age, delta)| {
                ((ev.user, ev.item), clamp(ev.tick + age, at), r * a * delta as isize)
            })
        })
        .as_collection();
    deferred(interest)
}

/// The multiplier changes of a step function: `(age, new - old)`, from 0.
fn step_changes(steps: &[(u64, Weight)]) -> Vec<(u64, Weight)> {
    let mut previous = 0;
    let mut changes = Vec::with_capacity(steps.len());
    for (age, multiplier) in steps {
        changes.push((*age, multiplier - previous));
        previous = *multiplier;
    }
    changes.retain(|(_, delta)| *delta != 0);
    changes
}

/// The events selected by `keep` are live in a window `[tick, tick + length)`:
/// the record `(user, item)` is present once per such event.
pub fn windowed<'s>(
    events: Coll<'s, Event>,
    length: u64,
    keep: impl Fn(&Event) -> bool + 'static,
) -> Coll<'s, (Key, Key)> {
    let windows = events
        .inner
        .flat_map(move |(ev, at, r)| {
            let live = keep(&ev);
            let record = (ev.user, ev.item);
            let opened = (record, at, r);
            let closed = (record, clamp(ev.tick + length, at), -r);
            live.then_some([opened, closed]).into_iter().flatten()
        })
        .as_collection();
    deferred(windows)
}

/// Undecayed action weights over a window, per item (trending, §7): `item` with
/// multiplicity `sum of a(action)` over events of the last `length` ms.
pub fn windowed_item_weight<'s>(events: Coll<'s, Event>, settings: &Settings) -> Coll<'s, Key> {
    let weights = settings.weights.clone();
    let length = settings.trending_window_ms;
    let weights = events
        .inner
        .flat_map(move |(ev, at, r)| {
            let a = weights.of(ev.action) as isize;
            let opened = (ev.item, at, r * a);
            let closed = (ev.item, clamp(ev.tick + length, at), -r * a);
            (a != 0).then_some([opened, closed]).into_iter().flatten()
        })
        .as_collection();
    deferred(weights)
}

/// Purchases live for the purchase-exclusion window.
pub fn is_purchase(ev: &Event) -> bool {
    ev.action == Action::Purchase
}

/// Dismissals live for the dismiss-exclusion window.
pub fn is_dismiss(ev: &Event) -> bool {
    ev.action == Action::Dismiss
}

/// Passes each update on once the input frontier reaches its time, holding one
/// capability for the earliest update still waiting. Same collection, same times.
pub fn deferred<'s, D: Data>(updates: Coll<'s, D>) -> Coll<'s, D> {
    updates
        .inner
        .unary_frontier(Pipeline, "Deferred", |_, _| {
            let mut waiting: BTreeMap<Time, Vec<(D, Time, isize)>> = BTreeMap::new();
            let mut held: Option<Capability<Time>> = None;
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    for (d, t, r) in data.drain(..) {
                        if held.as_ref().is_none_or(|h| t < *h.time()) {
                            held = Some(cap.delayed(&t, 0));
                        }
                        waiting.entry(t).or_default().push((d, t, r));
                    }
                });
                while let Some(entry) = waiting.first_entry() {
                    let due = *entry.key();
                    let Some(cap) = held.as_ref().filter(|_| !frontier.less_than(&due)) else {
                        break;
                    };
                    output.session(&cap.delayed(&due)).give_iterator(entry.remove().into_iter());
                }
                match (waiting.keys().next(), held.as_mut()) {
                    (Some(next), Some(cap)) => cap.downgrade(next),
                    _ => held = None,
                }
            }
        })
        .as_collection()
}

/// An update due before the event arrived is applied at its arrival (late events).
fn clamp(due: Time, arrival: Time) -> Time {
    due.max(arrival)
}
