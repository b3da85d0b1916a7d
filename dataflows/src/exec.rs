//! The runtime: builds the pipeline on timely workers (threads of one process, or the
//! processes of a cluster over connections the caller made), feeds it batches of
//! arrivals, and hands the consolidated changes of each completed tick to a sink.
//! Pure with respect to the outside world: no files, no clocks.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::InputSession;
use differential_dataflow::operators::CountTotal;
use differential_dataflow::AsCollection;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks};
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::WorkerConfig;

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
    /// Another process's key counters, at the end of the run.
    Counters(Vec<u64>),
}

type Source<'a> = dyn Iterator<Item = Result<Batch, String>> + Send + 'a;

/// Where the workers run: one process, or this process's part of a cluster.
#[derive(Debug, Default)]
pub struct Topology {
    /// Worker threads in this process (every process of a cluster has the same number).
    pub workers: usize,
    /// This process's index in the cluster (0 for a single process).
    pub process: usize,
    /// One connected stream per process of the cluster, in process order, `None` at
    /// `process`; empty for a single process. The connections are made (and checked)
    /// by the caller; timely's networking then carries all traffic over them.
    pub peers: Vec<Option<TcpStream>>,
}

impl Topology {
    pub fn single(workers: usize) -> Self {
        Topology { workers, process: 0, peers: Vec::new() }
    }

    pub fn processes(&self) -> usize {
        self.peers.len().max(1)
    }
}

/// Runs the pipeline over `source` on `workers` threads of this process.
pub fn run(
    settings: &Settings,
    workers: usize,
    observe: Observe,
    source: &mut Source<'_>,
    sink: &mut dyn FnMut(SinkEvent<'_>, &KeyCounters) -> Result<(), String>,
) -> Result<SharedCounters, ExecError> {
    run_on(settings, Topology::single(workers), observe, source, sink)
}

/// Runs the pipeline over `source` on the workers of `topology` and returns the key
/// counters (on process 0 of a cluster, the sum over every process).
///
/// Only global worker 0 (on process 0) takes batches from `source`: it hands every
/// worker its share of each batch (the positions ≡ worker mod all workers) through a
/// timely exchange, so the arrivals are exactly those one process would see. Every
/// observed output update is exchanged to worker 0, whose collector delivers the ticks
/// to `sink`; on the other processes `source` is not read and `sink` is not called.
pub fn run_on(
    settings: &Settings,
    topology: Topology,
    observe: Observe,
    source: &mut Source<'_>,
    sink: &mut dyn FnMut(SinkEvent<'_>, &KeyCounters) -> Result<(), String>,
) -> Result<SharedCounters, ExecError> {
    let counters: SharedCounters = Arc::new(KeyCounters::default());
    let workers = topology.workers.max(1);
    let process = topology.process;
    let reads = process == 0;
    let (out_tx, out_rx) = mpsc::channel();
    let (feed_tx, feed_rx) = mpsc::sync_channel::<Batch>(2);
    let mut feed_rx = reads.then_some(feed_rx);
    let ends: Vec<_> = (0..workers).map(|_| Mutex::new(Some((feed_rx.take(), out_tx.clone())))).collect();
    drop(out_tx);
    let (builders, others) = communication(topology, workers)?;
    let (settings_w, counters_w) = (Arc::new(settings.clone()), counters.clone());
    let guards = timely::execute::execute_from(builders, others, WorkerConfig::default(), move |worker| {
        let local = worker.index() % workers;
        let end = ends.get(local).and_then(|e| e.lock().ok()).and_then(|mut e| e.take());
        if let Some((feed, tx)) = end {
            let place = Place { process, local };
            run_worker(worker, &settings_w, observe, counters_w.clone(), feed, tx, place);
        }
    })
    .map_err(ExecError::Setup)?;

    let outcome = std::thread::scope(|s| {
        let feeder = s.spawn(move || if reads { feed(source, feed_tx) } else { Ok(()) });
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

/// timely's allocators: threads of one process, or timely's TCP networking over the
/// given connections.
fn communication(
    topology: Topology,
    workers: usize,
) -> Result<(Vec<AllocatorBuilder>, Box<dyn Any + Send>), ExecError> {
    if topology.peers.len() <= 1 {
        return timely::CommunicationConfig::Process(workers).try_build().map_err(ExecError::Setup);
    }
    let hooks = Hooks::default();
    let local = ProcessBuilder::new_typed_vector(workers, hooks.refill.clone(), hooks.spill.clone());
    let (tcp, guard) =
        initialize_networking_from_sockets(local, topology.peers, topology.process, workers, hooks)
            .map_err(|e| ExecError::Setup(format!("cannot start the networking: {e}")))?;
    Ok((tcp.into_iter().map(AllocatorBuilder::Tcp).collect(), Box::new(guard)))
}

/// Hands every batch to worker 0; stops early if it has gone.
fn feed(source: &mut Source<'_>, tx: SyncSender<Batch>) -> Result<(), String> {
    for batch in source {
        if tx.send(batch?).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Gathers worker 0's updates and delivers each tick once the frontier passed it.
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
            Msg::Counters(values) => counters.absorb(&values),
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

/// Where a worker sits: its process and its index within the process.
#[derive(Clone, Copy)]
struct Place {
    process: usize,
    local: usize,
}

/// One worker's share of a batch: sequence number, target worker, frontier, arrivals.
type Share = (u64, u64, Time, Vec<Arrival>);

/// A worker's shares not yet taken, by sequence number: (frontier, arrivals).
type Shares = Rc<RefCell<BTreeMap<u64, (Time, Vec<Arrival>)>>>;

fn run_worker(
    worker: &mut timely::worker::Worker,
    settings: &Settings,
    observe: Observe,
    counters: SharedCounters,
    feed: Option<Receiver<Batch>>,
    tx: Sender<Msg>,
    place: Place,
) {
    let (index, peers) = (worker.index(), worker.peers());
    if observe.profile {
        counters.profile.install(worker);
    }
    let mut input = InputSession::<Time, Event, isize>::new();
    let out = tx.clone();
    let probe = worker.dataflow::<Time, _, _>(|scope| {
        let events = input.to_collection(scope);
        let outputs = pipeline::build(events, settings, counters.clone());
        let (probe, _) = observed(outputs, observe)
            .inner
            .exchange(|_| 0)
            .as_collection()
            .inspect_batch(move |_, data| {
                let _ = out.send(Msg::Updates(data.to_vec()));
            })
            .probe();
        probe
    });
    let main = worker.installed_dataflows();

    // The feed: worker 0 sends each worker its share of every batch, at time = the
    // batch's sequence number; each worker keeps its shares until it takes them.
    let shares: Shares = Rc::default();
    let (feed_input, feed_probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (handle, stream) = scope.new_input::<Vec<Share>>();
        let mine = shares.clone();
        let probe = stream
            .exchange(|share: &Share| share.1)
            .inspect(move |(seq, _, frontier, arrivals): &Share| {
                mine.borrow_mut().insert(*seq, (*frontier, arrivals.clone()));
            })
            .probe()
            .0;
        (handle, probe)
    });
    let mut feed_input = feed.as_ref().map(|_| feed_input);

    // Key counters of the other processes go to worker 0 at the end.
    let (stats_input, stats_probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (handle, stream) = scope.new_input::<Vec<Vec<u64>>>();
        let out = tx.clone();
        let probe = stream
            .exchange(|_| 0)
            .inspect(move |values: &Vec<u64>| {
                let _ = out.send(Msg::Counters(values.clone()));
            })
            .probe()
            .0;
        (handle, probe)
    });

    let mut seq = 0u64;
    loop {
        if let (Some(rx), Some(handle)) = (&feed, feed_input.as_mut()) {
            match rx.recv() {
                Ok(batch) => {
                    let mut parts: Vec<Vec<Arrival>> = vec![Vec::new(); peers];
                    for (n, arrival) in batch.arrivals.iter().enumerate() {
                        parts[n % peers].push(*arrival);
                    }
                    for (target, arrivals) in parts.into_iter().enumerate() {
                        handle.send((seq, target as u64, batch.frontier, arrivals));
                    }
                    handle.advance_to(seq + 1);
                    handle.flush();
                }
                // The input has ended: closing the feed ends every worker's loop.
                Err(_) => feed_input = None,
            }
        }
        let share = loop {
            if let Some(share) = shares.borrow_mut().remove(&seq) {
                break Some(share);
            }
            if feed_probe.done() {
                break None;
            }
            worker.step_or_park(Some(Duration::from_millis(5)));
        };
        let Some((frontier, arrivals)) = share else { break };
        seq += 1;
        for arrival in arrivals {
            // Arrivals are never before the previous frontier; the max only guards.
            let at = arrival.at.max(*input.time());
            input.update_at(arrival.event, at, 1);
        }
        let frontier = frontier.max(*input.time());
        input.advance_to(frontier);
        input.flush();
        worker.step_while(|| probe.less_than(&frontier));
        if index == 0 && tx.send(Msg::Frontier(frontier)).is_err() {
            break;
        }
    }
    // Updates already scheduled for later times (decay steps, window ends) are not
    // wanted past the end of the input: drop the dataflow rather than drain it.
    for id in main {
        worker.drop_dataflow(id);
    }
    drop(feed_input);
    let mut stats_input = stats_input;
    if place.local == 0 && place.process != 0 {
        stats_input.send(counters.snapshot());
    }
    drop(stats_input);
    while !stats_probe.done() {
        worker.step_or_park(Some(Duration::from_millis(5)));
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
