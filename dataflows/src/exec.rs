//! The runtime: builds the pipeline on `workers` timely threads, feeds it batches of
//! arrivals, and hands the consolidated changes of each completed tick to a sink.
//! Pure with respect to the outside world: no files, no clocks.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::InputSession;
use differential_dataflow::operators::CountTotal;

use crate::changes::{Change, TickChanges};
use crate::model::{Arrival, Event, Settings, Time};
use crate::pipeline::{self, Outputs};
use crate::stats::{KeyCounters, SharedCounters};
use crate::Coll;

/// A batch of arrivals, then the frontier: every tick below it is complete.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub arrivals: Vec<Arrival>,
    pub frontier: Time,
}

/// Which of the large collections to observe (recs and trending always are).
#[derive(Clone, Copy, Debug, Default)]
pub struct Observe {
    pub history: bool,
    pub similar: bool,
    pub neighbours: bool,
    /// z(u), h(u) and e(i).
    pub embeddings: bool,
    /// Time and arranged updates per stage, into `KeyCounters::profile`.
    pub profile: bool,
}

impl Observe {
    /// Everything, for tests.
    pub fn all() -> Self {
        Observe { history: true, similar: true, neighbours: true, embeddings: true, profile: false }
    }
}

/// What the sink is told, in time order.
pub enum SinkEvent<'a> {
    /// The consolidated, non-empty changes of one completed tick.
    Tick(&'a TickChanges),
    /// All ticks below this time are complete and were delivered.
    Frontier(Time),
}

#[derive(Debug)]
pub enum ExecError {
    Setup(String),
    Source(String),
    Sink(String),
    Worker(String),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Setup(e) => write!(f, "cannot start the workers: {e}"),
            ExecError::Source(e) => write!(f, "{e}"),
            ExecError::Sink(e) => write!(f, "cannot write the output: {e}"),
            ExecError::Worker(e) => write!(f, "a worker failed: {e}"),
        }
    }
}

impl std::error::Error for ExecError {}

enum Msg {
    Updates(Vec<(Change, Time, isize)>),
    Frontier(Time),
}

type Source<'a> = dyn Iterator<Item = Result<Batch, String>> + Send + 'a;

/// Runs the pipeline over `source` and returns the key counters.
pub fn run(
    settings: &Settings,
    workers: usize,
    observe: Observe,
    source: &mut Source<'_>,
    sink: &mut dyn FnMut(SinkEvent<'_>, &KeyCounters) -> Result<(), String>,
) -> Result<SharedCounters, ExecError> {
    let counters: SharedCounters = Arc::new(KeyCounters::default());
    let mut feeds = Vec::new();
    let mut ends = Vec::new();
    let (out_tx, out_rx) = mpsc::channel();
    for _ in 0..workers.max(1) {
        let (tx, rx) = mpsc::sync_channel::<Arc<Batch>>(2);
        feeds.push(tx);
        ends.push(Mutex::new(Some((rx, out_tx.clone()))));
    }
    drop(out_tx);
    let config = timely::Config::process(workers.max(1));
    let (settings_w, counters_w) = (Arc::new(settings.clone()), counters.clone());
    let guards = timely::execute(config, move |worker| {
        let end = ends[worker.index()].lock().ok().and_then(|mut e| e.take());
        if let Some((rx, tx)) = end {
            run_worker(worker, &settings_w, observe, counters_w.clone(), rx, tx);
        }
    })
    .map_err(ExecError::Setup)?;

    let outcome = std::thread::scope(|s| {
        let feeder = s.spawn(move || feed(source, feeds));
        let collected = collect(out_rx, &counters, sink);
        let fed = feeder.join().unwrap_or_else(|_| Err("the input reader panicked".into()));
        (fed, collected)
    });
    let joined = guards.join();
    let (fed, collected) = outcome;
    if let Some(Err(e)) = joined.into_iter().find(|r| r.is_err()) {
        return Err(ExecError::Worker(e));
    }
    fed.map_err(ExecError::Source)?;
    collected.map_err(ExecError::Sink)?;
    Ok(counters)
}

/// Sends every batch to every worker; stops early if a worker has gone.
fn feed(source: &mut Source<'_>, feeds: Vec<SyncSender<Arc<Batch>>>) -> Result<(), String> {
    for batch in source {
        let batch = Arc::new(batch?);
        for tx in &feeds {
            if tx.send(batch.clone()).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Gathers the workers' updates and delivers each tick once the frontier passed it.
fn collect(
    rx: Receiver<Msg>,
    counters: &KeyCounters,
    sink: &mut dyn FnMut(SinkEvent<'_>, &KeyCounters) -> Result<(), String>,
) -> Result<(), String> {
    let mut pending: BTreeMap<Time, Vec<(Change, isize)>> = BTreeMap::new();
    let mut failed = None;
    for msg in rx {
        match msg {
            Msg::Updates(updates) => {
                for (change, time, diff) in updates {
                    pending.entry(time).or_default().push((change, diff));
                }
            }
            Msg::Frontier(frontier) if failed.is_none() => {
                let later = pending.split_off(&frontier);
                let done = std::mem::replace(&mut pending, later);
                if let Err(e) = deliver(done, frontier, counters, sink) {
                    failed = Some(e);
                }
            }
            Msg::Frontier(_) => {}
        }
    }
    failed.map_or(Ok(()), Err)
}

fn deliver(
    done: BTreeMap<Time, Vec<(Change, isize)>>,
    frontier: Time,
    counters: &KeyCounters,
    sink: &mut dyn FnMut(SinkEvent<'_>, &KeyCounters) -> Result<(), String>,
) -> Result<(), String> {
    for (tick, mut updates) in done {
        consolidate(&mut updates);
        if !updates.is_empty() {
            sink(SinkEvent::Tick(&TickChanges { tick, updates }), counters)?;
        }
    }
    sink(SinkEvent::Frontier(frontier), counters)
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    settings: &Settings,
    observe: Observe,
    counters: SharedCounters,
    rx: Receiver<Arc<Batch>>,
    tx: Sender<Msg>,
) {
    let (index, peers) = (worker.index(), worker.peers());
    if observe.profile {
        counters.profile.install(worker);
    }
    let mut input = InputSession::<Time, Event, isize>::new();
    let out = tx.clone();
    let probe = worker.dataflow::<Time, _, _>(|scope| {
        let events = input.to_collection(scope);
        let outputs = pipeline::build(events, settings, counters);
        let (probe, _) = observed(outputs, observe)
            .inspect_batch(move |_, data| {
                let _ = out.send(Msg::Updates(data.to_vec()));
            })
            .probe();
        probe
    });
    while let Ok(batch) = rx.recv() {
        for (n, arrival) in batch.arrivals.iter().enumerate() {
            if n % peers == index {
                // Arrivals are never before the previous frontier; the max only guards.
                let at = arrival.at.max(*input.time());
                input.update_at(arrival.event, at, 1);
            }
        }
        let frontier = batch.frontier.max(*input.time());
        input.advance_to(frontier);
        input.flush();
        worker.step_while(|| probe.less_than(&frontier));
        if index == 0 && tx.send(Msg::Frontier(frontier)).is_err() {
            break;
        }
    }
    // Updates already scheduled for later times (decay steps, window ends) are not
    // wanted past the end of the input: drop the dataflow rather than drain it.
    for id in worker.installed_dataflows() {
        worker.drop_dataflow(id);
    }
}

/// All observed outputs as one collection of `Change` records.
fn observed<'s>(out: Outputs<'s>, observe: Observe) -> Coll<'s, Change> {
    let mut all = out
        .personal
        .map(|(user, (item, score))| Change::Personal { user, item, score })
        .concat(out.fallback.map(|user| Change::Fallback { user }))
        .concat(out.skips.map(|(user, item)| Change::Skip { user, item }))
        .concat(out.trending.map(|(item, sum)| Change::Trending { item, sum }))
        .concat(out.edge_count.count_total().map(|((), n)| Change::EdgeCount { edges: n as i64 }));
    if observe.history {
        all = all.concat(out.history.map(|(user, (item, weight))| Change::History { user, item, weight }));
    }
    if observe.neighbours {
        all =
            all.concat(out.neighbours.map(|(user, (other, steps))| Change::Neighbour { user, other, steps }));
    }
    if observe.embeddings {
        all =
            all.concat(out.z.map(|(user, vector)| Change::Z { user, vector: vector.to_vec() }))
                .concat(out.h.map(|(user, vector)| Change::H {
                    user,
                    vector: vector.iter().map(|x| *x as i64).collect(),
                }))
                .concat(out.e.map(|(item, vector)| Change::E {
                    item,
                    vector: vector.iter().map(|x| *x as i64).collect(),
                }));
    }
    if observe.similar {
        all = all.concat(out.similar.map(|(item, (other, steps))| Change::Similar { item, other, steps }));
    }
    all
}
