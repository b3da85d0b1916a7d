//! `interestflow bench latency` (alias `fanout`): freshness at steady state. Loads the
//! first `--warm` events, then feeds, for each `--batch-sizes` entry, `--rounds`
//! batches of that many further events, each batch alone at a tick of its own and in
//! lockstep (the next is handed over once the previous one's changes were delivered).
//! Latency is the time from handing the batch to the runtime to the collector
//! delivering the frontier past its tick: every changed R(u) has then been emitted.
//! For single events it also reports the keys each stage re-evaluated (the fan-out).

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use dataflows::exec::{self, Batch, Observe, SinkEvent};
use dataflows::model::{Arrival, Event, Settings};
use dataflows::stats::{KeyCounters, Stage, VectorStage};
use serde::Serialize;

use super::common::{self, Distribution, Machine, Sizes};
use crate::input::Format;

#[derive(Args, Debug, Clone)]
pub struct LatencyArgs {
    /// The event file (default: the sample).
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "taobao")]
    pub format: Format,
    /// Events loaded before measuring (the live events).
    #[arg(long, default_value_t = 55_000)]
    pub warm: usize,
    /// Events per measured batch, comma-separated.
    #[arg(long, default_value = "1,10,100,1000")]
    pub batch_sizes: Sizes,
    /// Batches measured per size (fewer when that would exceed --max-events).
    #[arg(long, alias = "probe", default_value_t = 200)]
    pub rounds: usize,
    /// At most this many events measured per batch size.
    #[arg(long, default_value_t = 20_000)]
    pub max_events: usize,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Stops the warm-up (with an error) when the process's RSS passes this.
    #[arg(long, default_value_t = 6144)]
    pub max_rss_mib: u64,
    /// Overrides one setting (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Writes the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The latencies of one batch size.
#[derive(Clone, Debug, Serialize)]
pub struct SizeLatency {
    pub batch: usize,
    pub rounds: usize,
    /// Microseconds from handing the batch over to its changes being delivered.
    pub latency_us: Distribution,
    /// Events of this size's batches over the time they took, back to back.
    pub events_per_second: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Fanout {
    /// Keys re-evaluated per single event, per reduce.
    pub keys: Vec<Distribution>,
    /// Per embedding stage: changed sums received and changed vectors passed on.
    pub vectors_received: Vec<Distribution>,
    pub vectors_passed: Vec<Distribution>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LatencyReport {
    pub file: String,
    pub warm: usize,
    pub workers: u16,
    pub machine_before: Machine,
    pub machine_after: Machine,
    /// Loading the warm events through the dataflow from empty.
    pub warm_seconds: f64,
    pub warm_events_per_second: f64,
    pub rss_after_warm_mib: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub sizes: Vec<SizeLatency>,
    /// Of the single-event rounds, if any.
    pub fanout: Option<Fanout>,
}

/// What `measure` needs besides the events.
pub struct Plan<'a> {
    pub settings: &'a Settings,
    pub warm: usize,
    /// (batch size, rounds).
    pub sizes: Vec<(usize, usize)>,
    pub workers: u16,
    pub max_rss_mib: u64,
}

impl Plan<'_> {
    pub fn events_needed(&self) -> usize {
        self.warm + self.sizes.iter().map(|(s, r)| s * r).sum::<usize>()
    }
}

pub fn latency(args: &LatencyArgs) -> Result<()> {
    common::check_positive("--rounds", args.rounds)?;
    let settings = crate::config::load(None, &args.overrides)?;
    let (file, arrivals) = common::load_arrivals(&settings, &args.file, args.format)?;
    let mut sizes = Vec::new();
    for &size in &args.batch_sizes.0 {
        let size = size as usize;
        sizes.push((size, args.rounds.min(args.max_events / size).max(1)));
    }
    let plan = Plan {
        settings: &settings,
        warm: args.warm,
        sizes,
        workers: args.workers,
        max_rss_mib: args.max_rss_mib,
    };
    if arrivals.len() < plan.events_needed() {
        bail!(
            "{}: {} events, fewer than the {} needed (--warm {} and the measured batches); lower --rounds or --max-events",
            file.display(),
            arrivals.len(),
            plan.events_needed(),
            args.warm
        );
    }
    let report = measure(&plan, &file, &arrivals)?;
    print(&report);
    common::write_json(&args.json, &report)
}

/// One batch of the plan, in order: what it is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Warm,
    /// The empty batch closing the warm-up.
    Gap,
    /// A measured batch of the plan's size number `k`.
    Probe(usize),
}

/// The warm-up in batches of 4096, then every measured batch alone at a tick of its own.
fn batches(plan: &Plan<'_>, arrivals: &[Arrival]) -> (Vec<Batch>, Vec<Role>) {
    let (mut out, mut roles) = (Vec::new(), Vec::new());
    let mut newest = 0;
    for chunk in arrivals[..plan.warm].chunks(4096) {
        newest = chunk.iter().map(|a| a.event.tick).fold(newest, u64::max);
        out.push(Batch { arrivals: chunk.to_vec(), frontier: newest });
        roles.push(Role::Warm);
    }
    let tick_ms = plan.settings.tick_ms;
    let mut tick = newest + tick_ms;
    out.push(Batch { arrivals: vec![], frontier: tick });
    roles.push(Role::Gap);
    let mut next = plan.warm;
    for (k, &(size, rounds)) in plan.sizes.iter().enumerate() {
        for _ in 0..rounds {
            let events = arrivals[next..next + size]
                .iter()
                .map(|a| Arrival { event: Event { tick, ..a.event }, at: tick })
                .collect();
            next += size;
            out.push(Batch { arrivals: events, frontier: tick + tick_ms });
            roles.push(Role::Probe(k));
            tick += tick_ms;
        }
    }
    (out, roles)
}

/// Keys per stage, then received and passed per vector stage.
fn reading(c: &KeyCounters) -> Vec<u64> {
    let mut r: Vec<u64> = Stage::ALL.iter().map(|s| c.get(*s)).collect();
    let vectors = c.vectors();
    r.extend(vectors.iter().map(|v| v.1));
    r.extend(vectors.iter().map(|v| v.2));
    r
}

/// Runs the plan; `arrivals` must hold `plan.events_needed()` events.
pub fn measure(plan: &Plan<'_>, file: &std::path::Path, arrivals: &[Arrival]) -> Result<LatencyReport> {
    let machine_before = common::machine();
    let (batches, roles) = batches(plan, arrivals);
    let first_probe = roles.iter().position(|r| matches!(r, Role::Probe(_))).unwrap_or(roles.len());
    let handed: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let (delivered, wait) = mpsc::channel::<()>();
    let handed_src = handed.clone();
    let (warm, max_rss) = (plan.warm, plan.max_rss_mib as f64);
    let mut loaded = 0usize;
    let mut last_log = Instant::now();
    let mut source = batches.into_iter().zip(roles.clone()).map(move |(b, role)| {
        if let Role::Probe(_) = role {
            let _ = wait.recv(); // lockstep: one measured batch in flight at a time
        } else {
            loaded += b.arrivals.len();
            if last_log.elapsed() > Duration::from_secs(5) {
                last_log = Instant::now();
                let rss = common::status_mib(None, "VmRSS").unwrap_or(0.0);
                tracing::info!("warm-up: {loaded} of {warm} events handed over, RSS {rss:.0} MiB");
                if rss > max_rss {
                    return Err(format!(
                        "RSS {rss:.0} MiB passed --max-rss-mib {max_rss:.0} during the warm-up"
                    ));
                }
            }
        }
        if let Ok(mut h) = handed_src.lock() {
            h.push(Instant::now());
        }
        Ok(b)
    });
    let mut delivered_at: Vec<Instant> = Vec::new();
    let mut readings = Vec::new();
    let mut rss_after_warm = None;
    exec::run(
        plan.settings,
        plan.workers as usize,
        Observe::default(),
        &mut source,
        &mut |event, counters| {
            if let SinkEvent::Frontier(_) = event {
                delivered_at.push(Instant::now());
                let n = delivered_at.len(); // frontiers delivered = batches completed
                if n == first_probe {
                    rss_after_warm = common::status_mib(None, "VmRSS");
                }
                if n >= first_probe {
                    readings.push(reading(counters));
                    let _ = delivered.send(());
                }
            }
            Ok(())
        },
    )?;
    let handed = handed.lock().map(|h| h.clone()).unwrap_or_default();
    if delivered_at.len() < roles.len() || handed.len() < roles.len() {
        bail!("the run ended after {} of {} batches", delivered_at.len(), roles.len());
    }
    let warm_seconds = (delivered_at[first_probe - 1] - handed[0]).as_secs_f64();
    let sizes = plan
        .sizes
        .iter()
        .enumerate()
        .map(|(k, &(size, rounds))| {
            let idx: Vec<usize> = (0..roles.len()).filter(|&n| roles[n] == Role::Probe(k)).collect();
            let lat: Vec<u64> =
                idx.iter().map(|&n| (delivered_at[n] - handed[n]).as_micros() as u64).collect();
            let total: f64 = lat.iter().sum::<u64>() as f64 / 1e6;
            SizeLatency {
                batch: size,
                rounds,
                latency_us: common::distribution(&format!("batch {size}"), lat),
                events_per_second: (size * rounds) as f64 / total.max(1e-9),
            }
        })
        .collect();
    Ok(LatencyReport {
        file: file.display().to_string(),
        warm: plan.warm,
        workers: plan.workers,
        machine_before,
        machine_after: common::machine(),
        warm_seconds,
        warm_events_per_second: plan.warm as f64 / warm_seconds.max(1e-9),
        rss_after_warm_mib: rss_after_warm,
        peak_rss_mib: common::status_mib(None, "VmHWM"),
        sizes,
        fanout: fanout(plan, &roles[first_probe..], &readings),
    })
}

/// The counter deltas of the single-event rounds. `readings[0]` is taken after the
/// warm-up, `readings[j + 1]` after probe batch j.
fn fanout(plan: &Plan<'_>, probe_roles: &[Role], readings: &[Vec<u64>]) -> Option<Fanout> {
    let single = plan.sizes.iter().position(|&(size, _)| size == 1)?;
    let deltas: Vec<Vec<u64>> = probe_roles
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == Role::Probe(single))
        .filter_map(|(j, _)| {
            let (before, after) = (readings.get(j)?, readings.get(j + 1)?);
            Some(after.iter().zip(before).map(|(a, b)| a.saturating_sub(*b)).collect())
        })
        .collect();
    let column = |k: usize, name: &str| common::distribution(name, deltas.iter().map(|d| d[k]).collect());
    let (n, v) = (Stage::ALL.len(), VectorStage::ALL.len());
    let names = |offset: usize| -> Vec<Distribution> {
        VectorStage::ALL.iter().enumerate().map(|(k, s)| column(offset + k, s.name())).collect()
    };
    Some(Fanout {
        keys: Stage::ALL.iter().enumerate().map(|(k, s)| column(k, s.name())).collect(),
        vectors_received: names(n),
        vectors_passed: names(n + v),
    })
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

pub fn print(r: &LatencyReport) {
    common::print_machine(&r.machine_before);
    let rss = r.rss_after_warm_mib.map_or("n/a".into(), |m| format!("{m:.0} MiB"));
    println!(
        "freshness: {} live events of {} loaded in {:.2} s ({:.0} events/s from empty, RSS then {rss}), {} worker(s)\n",
        r.warm, r.file, r.warm_seconds, r.warm_events_per_second, r.workers
    );
    let rows: Vec<Vec<String>> = r
        .sizes
        .iter()
        .map(|s| {
            let d = &s.latency_us;
            vec![
                s.batch.to_string(),
                s.rounds.to_string(),
                ms(d.p50),
                ms(d.p95),
                ms(d.p99),
                ms(d.max),
                format!("{:.2}", d.mean / 1000.0),
                format!("{:.0}", s.events_per_second),
            ]
        })
        .collect();
    common::print_table(
        &["batch", "rounds", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms", "events/s"],
        &rows,
    );
    if let Some(f) = &r.fanout {
        println!("\nfan-out per single event (keys re-evaluated, vector updates):\n");
        let row = |d: &Distribution, prefix: &str| {
            vec![
                format!("{prefix}{}", d.name),
                d.p50.to_string(),
                d.p99.to_string(),
                d.max.to_string(),
                format!("{:.2}", d.mean),
            ]
        };
        let mut rows: Vec<Vec<String>> = f.keys.iter().map(|d| row(d, "keys ")).collect();
        rows.extend(f.vectors_received.iter().map(|d| row(d, "sums in ")));
        rows.extend(f.vectors_passed.iter().map(|d| row(d, "vectors out ")));
        common::print_table(&["stage", "p50", "p99", "max", "mean"], &rows);
    }
    println!();
    common::print_machine(&r.machine_after);
}
