//! `interestflow bench fanout`: how many keys each stage re-evaluates for one event at
//! steady state, and how long that event takes to reach the change stream.
//! Loads the first `--warm` events, then feeds `--probe` further events one at a time,
//! each alone at a tick of its own, waiting for each to be fully processed.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use dataflows::exec::{self, Batch, Observe, SinkEvent};
use dataflows::model::{Arrival, Settings};
use dataflows::stats::{KeyCounters, Stage, VectorStage};
use serde::Serialize;

use crate::input::{Format, Ingest};

#[derive(Args, Debug, Clone)]
pub struct FanoutArgs {
    /// The event file (default: the sample).
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "taobao")]
    pub format: Format,
    /// Events loaded before measuring.
    #[arg(long, default_value_t = 55_000)]
    pub warm: usize,
    /// Events measured one by one after the warm-up.
    #[arg(long, default_value_t = 1_000)]
    pub probe: usize,
    #[arg(long, default_value_t = 1)]
    pub workers: u16,
    /// Overrides one setting (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Writes the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Serialize)]
pub struct Distribution {
    pub name: String,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Serialize)]
pub struct FanoutReport {
    pub warm: usize,
    pub probe: usize,
    pub workers: u16,
    /// Keys re-evaluated per event, per reduce.
    pub keys: Vec<Distribution>,
    /// Per embedding stage: changed sums received and changed vectors passed on, per event.
    pub vectors_received: Vec<Distribution>,
    pub vectors_passed: Vec<Distribution>,
    /// Microseconds from handing the event over to its tick's changes being delivered.
    pub latency_us: Distribution,
}

pub fn fanout(args: &FanoutArgs) -> Result<()> {
    let settings = crate::config::load(None, &args.overrides)?;
    let file = args.file.clone().unwrap_or_else(|| PathBuf::from(crate::run::SAMPLE));
    let mut ingest = Ingest::open(&settings, args.format, std::slice::from_ref(&file), None)?;
    let mut arrivals = Vec::new();
    while let Some(batch) = ingest.next_batch(65_536)? {
        arrivals.extend(batch);
    }
    if arrivals.len() < args.warm + args.probe {
        bail!("{}: {} events, fewer than --warm + --probe", file.display(), arrivals.len());
    }
    let batches = probe_batches(&settings, &arrivals[..args.warm + args.probe], args.warm);
    let report = measure(&settings, args, batches)?;
    print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(())
}

/// The warm-up in batches, then each probe event alone at a tick of its own.
fn probe_batches(settings: &Settings, arrivals: &[Arrival], warm: usize) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    let mut newest = 0;
    for chunk in arrivals[..warm].chunks(4096) {
        newest = chunk.iter().map(|a| a.event.tick).fold(newest, u64::max);
        batches.push(Batch { arrivals: chunk.to_vec(), frontier: newest });
    }
    let mut tick = newest + settings.tick_ms;
    batches.push(Batch { arrivals: vec![], frontier: tick });
    for a in &arrivals[warm..] {
        let event = dataflows::model::Event { tick, ..a.event };
        batches
            .push(Batch { arrivals: vec![Arrival { event, at: tick }], frontier: tick + settings.tick_ms });
        tick += settings.tick_ms;
    }
    batches
}

/// One counter reading: keys per stage, then received and passed per vector stage.
fn reading(c: &KeyCounters) -> Vec<u64> {
    let mut r: Vec<u64> = Stage::ALL.iter().map(|s| c.get(*s)).collect();
    let vectors = c.vectors();
    r.extend(vectors.iter().map(|v| v.1));
    r.extend(vectors.iter().map(|v| v.2));
    r
}

fn measure(settings: &Settings, args: &FanoutArgs, batches: Vec<Batch>) -> Result<FanoutReport> {
    let first_probe = batches.len() - args.probe;
    let handed: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let (delivered, wait) = mpsc::channel::<()>();
    let handed_src = handed.clone();
    let mut source = batches.into_iter().enumerate().map(move |(n, b)| {
        if n >= first_probe {
            let _ = wait.recv(); // lockstep: one probe event in flight at a time
        }
        if let Ok(mut h) = handed_src.lock() {
            h.push(Instant::now());
        }
        Ok(b)
    });
    let (mut readings, mut latencies) = (Vec::new(), Vec::new());
    let mut frontiers = 0usize;
    exec::run(settings, args.workers as usize, Observe::default(), &mut source, &mut |event, counters| {
        if let SinkEvent::Frontier(_) = event {
            frontiers += 1;
            if frontiers > first_probe {
                let since = handed.lock().ok().and_then(|h| h.get(frontiers - 1).copied());
                latencies.push(since.map_or(0, |t| t.elapsed().as_micros() as u64));
            }
            if frontiers >= first_probe {
                readings.push(reading(counters));
                let _ = delivered.send(());
            }
        }
        Ok(())
    })?;
    let deltas: Vec<Vec<u64>> =
        readings.windows(2).map(|w| w[1].iter().zip(&w[0]).map(|(a, b)| a - b).collect()).collect();
    let column = |k: usize, name: &str| distribution(name, deltas.iter().map(|d| d[k]).collect());
    let n = Stage::ALL.len();
    let v = VectorStage::ALL.len();
    Ok(FanoutReport {
        warm: args.warm,
        probe: args.probe,
        workers: args.workers,
        keys: Stage::ALL.iter().enumerate().map(|(k, s)| column(k, s.name())).collect(),
        vectors_received: VectorStage::ALL.iter().enumerate().map(|(k, s)| column(n + k, s.name())).collect(),
        vectors_passed: VectorStage::ALL
            .iter()
            .enumerate()
            .map(|(k, s)| column(n + v + k, s.name()))
            .collect(),
        latency_us: distribution("latency (us)", latencies),
    })
}

fn distribution(name: &str, mut values: Vec<u64>) -> Distribution {
    values.sort_unstable();
    let at = |q: f64| values.get(((values.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
    let mean = values.iter().sum::<u64>() as f64 / values.len().max(1) as f64;
    Distribution { name: name.to_string(), p50: at(0.5), p99: at(0.99), max: at(1.0), mean }
}

fn print(r: &FanoutReport) {
    println!(
        "fan-out per event: {} events measured after {} loaded, {} worker(s)",
        r.probe, r.warm, r.workers
    );
    println!("{:<26} {:>8} {:>8} {:>8} {:>9}", "stage", "p50", "p99", "max", "mean");
    let row = |d: &Distribution, prefix: &str| {
        println!(
            "{:<26} {:>8} {:>8} {:>8} {:>9.2}",
            format!("{prefix}{}", d.name),
            d.p50,
            d.p99,
            d.max,
            d.mean
        )
    };
    r.keys.iter().for_each(|d| row(d, "keys "));
    r.vectors_received.iter().for_each(|d| row(d, "sums in "));
    r.vectors_passed.iter().for_each(|d| row(d, "vectors out "));
    row(&r.latency_us, "");
}
