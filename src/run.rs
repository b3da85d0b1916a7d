//! `interestflow run`: files -> cleaning -> dataflow -> change stream + summary.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dataflows::exec::{self, Batch, Observe, SinkEvent};
use dataflows::model::{Settings, Time};

use crate::cli::{CheckArgs, InputArgs, RunArgs};
use crate::cluster::{fingerprint, Plan};
use crate::emit::Emitter;
use crate::input::{Ingest, InputOptions, Origin, SchemaOptions};
use crate::summary::Summary;

/// The sample the main job runs on when no file is given.
pub const SAMPLE: &str = "inputs/UserBehavior_time-slice_110k.csv";

pub fn run(args: &RunArgs) -> Result<()> {
    if let Some(n) = args.cluster.local_cluster {
        return crate::cluster::launch_local(n as usize);
    }
    let started = Instant::now();
    let plan = Plan::new(&args.cluster, args.workers as usize)?;
    let settings = crate::config::load(args.config.as_deref(), &args.overrides)?;
    let stop = stop_on_signals()?;
    let observe = observe(args);
    if plan.process > 0 {
        return run_peer(&plan, &settings, observe, &stop, started);
    }
    let outputs: Vec<&Path> = [&args.out, &args.stats].into_iter().flatten().map(|p| p.as_path()).collect();
    refuse_overwriting_inputs(&args.input, &outputs)?;
    let mut ingest = open_input(&args.input, &settings, stop.clone())?;
    let stats_file = args.stats.as_deref().map(create).transpose()?;
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(create(path)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut emitter = Emitter::new(out, ingest.dictionary(), &settings, args.emit);
    // Every input is open and every output created before the peers are waited for.
    let topology = plan.connect(fingerprint(&settings, observe, &plan), &stop)?;
    let mut ticks = 0u64;
    let mut final_tick = 0;
    let follow = args.input.follow;
    let counters = {
        let poll = Duration::from_millis(args.input.poll_ms);
        let mut source = Batches::new(&mut ingest, &settings, args.batch, follow, poll, stop);
        let mut sink = |event: SinkEvent<'_>, _: &_| -> Result<(), String> {
            match event {
                SinkEvent::Tick(changes) => {
                    ticks += 1;
                    final_tick = changes.tick;
                    emitter.tick(changes).map_err(|e| e.to_string())
                }
                SinkEvent::Frontier(_) if follow => emitter.flush().map_err(|e| e.to_string()),
                SinkEvent::Frontier(_) => Ok(()),
            }
        };
        exec::run_on(&settings, topology, observe, &mut source, &mut sink)?
    };
    let lines = emitter.lines;
    let (_, state) = emitter.finish().context("cannot flush the change stream")?;
    let summary =
        Summary::new(ingest.accounting(), &state, lines, ticks, final_tick, &counters, started.elapsed());
    summary.print(&plan.describe());
    if let (Some(mut file), Some(path)) = (stats_file, &args.stats) {
        let text = serde_json::to_string_pretty(&summary)?;
        file.write_all((text + "\n").as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let accounting = ingest.accounting();
    if accounting.accepted == 0 && !follow {
        bail!(
            "no event was accepted ({} records read, {} rejected): is this the right file and format?",
            accounting.read,
            accounting.rejected_total()
        );
    }
    Ok(())
}

fn observe(args: &RunArgs) -> Observe {
    Observe {
        history: false,
        similar: args.emit.similar,
        neighbours: args.emit.neighbours,
        embeddings: args.emit.embeddings,
        profile: args.profile,
    }
}

/// A process other than 0 of a cluster: it reads no input and writes no output (process
/// 0 does both); it runs its workers until process 0 ends the run.
fn run_peer(
    plan: &Plan,
    settings: &Settings,
    observe: Observe,
    stop: &AtomicBool,
    started: Instant,
) -> Result<()> {
    tracing::info!(
        "process {} of {}: process 0 reads the input and writes the outputs (FILES, --out, --rejects and --stats are not used here)",
        plan.process,
        plan.processes()
    );
    let topology = plan.connect(fingerprint(settings, observe, plan), stop)?;
    let mut source = std::iter::empty();
    exec::run_on(settings, topology, observe, &mut source, &mut |_, _| Ok(()))?;
    let rss = crate::summary::peak_rss_mib().map_or("n/a".to_string(), |m| format!("{m:.0} MiB"));
    eprintln!(
        "summary (process {} of {}): {} worker(s) for {:.2} s, peak RSS {rss}; process 0 prints the records, graph, output and the keys of every process",
        plan.process,
        plan.processes(),
        plan.workers,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An output path that names an input file would destroy it: refuse, before anything is opened.
pub(crate) fn refuse_overwriting_inputs(input: &InputArgs, outputs: &[&Path]) -> Result<()> {
    let rejects = input.rejects.as_deref();
    let inputs: Vec<PathBuf> = input.files.iter().filter_map(|f| std::fs::canonicalize(f).ok()).collect();
    for out in outputs.iter().copied().chain(rejects) {
        if let Ok(target) = std::fs::canonicalize(out) {
            if inputs.contains(&target) {
                bail!("{}: is also an input file; refusing to overwrite it", out.display());
            }
        }
    }
    Ok(())
}

/// `interestflow check`: the input read and cleaned, the accounting printed.
pub fn check(args: &CheckArgs) -> Result<()> {
    let settings = crate::config::load(args.config.as_deref(), &args.overrides)?;
    let stop = stop_on_signals()?;
    refuse_overwriting_inputs(&args.input, &[])?;
    let mut ingest = open_input(&args.input, &settings, stop.clone())?;
    let poll = Duration::from_millis(args.input.poll_ms);
    while !stop.load(Ordering::Relaxed) {
        match ingest.next_batch(1 << 16)? {
            None => break,
            Some(batch) if batch.is_empty() && args.input.follow => std::thread::sleep(poll),
            Some(_) => {}
        }
    }
    crate::summary::print_accounting(ingest.accounting());
    Ok(())
}

fn open_input(args: &InputArgs, settings: &Settings, stop: Arc<AtomicBool>) -> Result<Ingest> {
    let files = input_files(args)?;
    let opts = input_options(args, stop);
    let origins = files.into_iter().map(Origin::Path).collect();
    // Every input is opened and checked before the rejects file is created.
    let mut ingest = Ingest::open_with(settings, &opts, origins, None)?;
    if let Some(path) = &args.rejects {
        ingest.set_rejects(Box::new(BufWriter::new(create(path)?)));
    }
    Ok(ingest)
}

fn input_options(args: &InputArgs, stop: Arc<AtomicBool>) -> InputOptions {
    InputOptions {
        schema: SchemaOptions {
            format: Some(args.format),
            map: args.map.clone(),
            ts_unit: args.ts_unit,
            actions: args.actions.clone(),
        },
        items: args.items.clone(),
        sort: args.sort,
        follow: args.follow,
        progress_bar: !args.follow && std::io::stderr().is_terminal(),
        stop: Some(stop),
    }
}

/// SIGINT and SIGTERM set the flag (stop reading, finish the tick, flush, summary);
/// a second one ends the process at once.
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        flag::register_conditional_shutdown(sig, 1, stop.clone())
            .and_then(|_| flag::register(sig, stop.clone()))
            .context("cannot install the signal handlers")?;
    }
    Ok(stop)
}

pub(crate) fn input_files(args: &InputArgs) -> Result<Vec<PathBuf>> {
    if !args.files.is_empty() {
        return Ok(args.files.clone());
    }
    let local = PathBuf::from(SAMPLE);
    if local.exists() {
        return Ok(vec![local]);
    }
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    if bundled.exists() {
        return Ok(vec![bundled]);
    }
    bail!("{SAMPLE}: no input files given and the sample is not there (run from the project root)")
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("{}: cannot create", path.display()))
}

/// The reader as a stream of batches, each closed by the frontier; at the end (of the
/// input, or on a stop signal), one empty batch that completes the last tick. When
/// following, a quiet input yields empty batches whose frontier follows the wall clock.
struct Batches<'a> {
    ingest: &'a mut Ingest,
    tick_ms: u64,
    batch: usize,
    follow: bool,
    poll: Duration,
    stop: Arc<AtomicBool>,
    frontier: Time,
    done: bool,
}

impl<'a> Batches<'a> {
    fn new(
        ingest: &'a mut Ingest,
        settings: &Settings,
        batch: usize,
        follow: bool,
        poll: Duration,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Batches {
            ingest,
            tick_ms: settings.tick_ms,
            batch: batch.max(1),
            follow,
            poll,
            stop,
            frontier: 0,
            done: false,
        }
    }

    /// The batch that completes the newest tick.
    fn last(&mut self, arrivals: Vec<dataflows::model::Arrival>) -> Batch {
        self.done = true;
        let end = self.ingest.newest().map_or(0, |t| t + self.tick_ms);
        Batch { arrivals, frontier: end.max(self.ingest.frontier()) }
    }

    fn batch(&mut self, arrivals: Vec<dataflows::model::Arrival>) -> Batch {
        self.frontier = self.ingest.frontier();
        Batch { arrivals, frontier: self.frontier }
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<Batch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if self.stop.load(Ordering::Relaxed) {
                tracing::info!("stop signal: finishing the current tick");
                let rest = self.ingest.finish_tick();
                return Some(Ok(self.last(rest)));
            }
            match self.ingest.next_batch(self.batch) {
                Ok(Some(arrivals)) if !arrivals.is_empty() || !self.follow => {
                    return Some(Ok(self.batch(arrivals)));
                }
                Ok(Some(_)) => {
                    std::thread::sleep(self.poll);
                    if self.ingest.advance_quiet() > self.frontier {
                        return Some(Ok(self.batch(Vec::new())));
                    }
                }
                Ok(None) => return Some(Ok(self.last(Vec::new()))),
                Err(e) => {
                    self.done = true;
                    return Some(Err(format!("{e:#}")));
                }
            }
        }
    }
}
