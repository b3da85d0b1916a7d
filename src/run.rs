//! `interestflow run`: files -> cleaning -> dataflow -> change stream + summary.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dataflows::exec::{self, Batch, Observe, SinkEvent};
use dataflows::model::{Settings, Time};

use crate::cli::RunArgs;
use crate::emit::Emitter;
use crate::input::Ingest;
use crate::summary::Summary;

/// The sample the main job runs on when no file is given.
pub const SAMPLE: &str = "inputs/UserBehavior_time-slice_110k.csv";

pub fn run(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let settings = crate::config::load(args.config.as_deref(), &args.overrides)?;
    let files = input_files(args)?;
    let rejects = match &args.rejects {
        Some(path) => Some(Box::new(BufWriter::new(create(path)?)) as Box<dyn Write + Send>),
        None => None,
    };
    let mut ingest = Ingest::open(&settings, args.format, &files, rejects)?;
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(create(path)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut emitter = Emitter::new(out, ingest.dictionary(), &settings, args.emit);
    let streams = args.emit;
    let observe = Observe {
        history: false,
        similar: streams.similar,
        neighbours: streams.neighbours,
        embeddings: streams.embeddings,
    };
    let mut ticks = 0u64;
    let mut final_tick = 0;
    let counters = {
        let mut source = Batches::new(&mut ingest, &settings, args.batch);
        let mut sink = |event: SinkEvent<'_>, _: &_| -> Result<(), String> {
            match event {
                SinkEvent::Tick(changes) => {
                    ticks += 1;
                    final_tick = changes.tick;
                    emitter.tick(changes).map_err(|e| e.to_string())
                }
                SinkEvent::Frontier(_) => Ok(()),
            }
        };
        exec::run(&settings, args.workers as usize, observe, &mut source, &mut sink)?
    };
    let lines = emitter.lines;
    let (_, state) = emitter.finish().context("cannot flush the change stream")?;
    let summary =
        Summary::new(ingest.accounting(), &state, lines, ticks, final_tick, &counters, started.elapsed());
    summary.print(args.workers);
    if let Some(path) = &args.stats {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n").with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

fn input_files(args: &RunArgs) -> Result<Vec<PathBuf>> {
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

/// The reader as a stream of batches, each closed by the frontier; at the end, one
/// empty batch that completes the last tick.
struct Batches<'a> {
    ingest: &'a mut Ingest,
    tick_ms: u64,
    batch: usize,
    newest: Option<Time>,
    done: bool,
    progress: Progress,
}

impl<'a> Batches<'a> {
    fn new(ingest: &'a mut Ingest, settings: &Settings, batch: usize) -> Self {
        Batches {
            ingest,
            tick_ms: settings.tick_ms,
            batch: batch.max(1),
            newest: None,
            done: false,
            progress: Progress::new(),
        }
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<Batch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.ingest.next_batch(self.batch) {
            Ok(Some(arrivals)) => {
                let newest = arrivals.iter().map(|a| a.event.tick).max();
                self.newest = self.newest.max(newest);
                self.progress.report(self.ingest.accounting().read, self.newest);
                Some(Ok(Batch { arrivals, frontier: self.ingest.frontier() }))
            }
            Ok(None) => {
                self.done = true;
                let last = self.newest.map_or(0, |t| t + self.tick_ms);
                Some(Ok(Batch { arrivals: Vec::new(), frontier: last }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(format!("{e:#}")))
            }
        }
    }
}

/// A log line every few seconds on long runs.
struct Progress {
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress { last: Instant::now() }
    }

    fn report(&mut self, read: u64, newest: Option<Time>) {
        if self.last.elapsed() >= Duration::from_secs(5) {
            self.last = Instant::now();
            tracing::info!(read, event_time_ms = newest.unwrap_or(0), "reading");
        }
    }
}
