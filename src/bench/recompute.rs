//! `interestflow bench recompute`: what a from-scratch computation costs against the
//! incremental update of one event, at several numbers of live events. Per size N:
//! the oracle (`oracle::snapshot_at`, maps and sorts, no dataflow) on the first N
//! events; the dataflow loading those N events from empty; and the mean time of one
//! event fed at steady state after them (`bench latency`'s single-event rounds).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use super::common::{self, Machine, Sizes};
use super::latency::{self, Plan};
use crate::input::Format;

#[derive(Args, Debug, Clone)]
pub struct RecomputeArgs {
    /// The event file (default: the sample).
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "taobao")]
    pub format: Format,
    /// Numbers of live events, comma-separated.
    #[arg(long, default_value = "10k,20k,40k,80k")]
    pub live: Sizes,
    /// Single events measured after each warm-up.
    #[arg(long, default_value_t = 200)]
    pub probe: usize,
    /// The oracle is skipped above this many live events (it is quadratic in places).
    #[arg(long, default_value_t = 200_000)]
    pub oracle_max: u64,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    #[arg(long, default_value_t = 6144)]
    pub max_rss_mib: u64,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecomputeRow {
    pub live: usize,
    pub oracle_seconds: Option<f64>,
    pub reload_seconds: f64,
    pub incremental_mean_us: f64,
    pub incremental_p99_us: u64,
    /// oracle time / mean incremental time of one event.
    pub oracle_ratio: Option<f64>,
    /// dataflow reload time / mean incremental time of one event.
    pub reload_ratio: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecomputeReport {
    pub file: String,
    pub workers: u16,
    pub machine_before: Machine,
    pub machine_after: Machine,
    pub rows: Vec<RecomputeRow>,
    /// The oracle's time grows as live^exponent (fitted on the first and last measured sizes).
    pub oracle_exponent: Option<f64>,
}

pub fn recompute(args: &RecomputeArgs) -> Result<()> {
    common::check_positive("--probe", args.probe)?;
    let settings = crate::config::load(None, &args.overrides)?;
    let (file, arrivals) = common::load_arrivals(&settings, &args.file, args.format)?;
    let machine_before = common::machine();
    let mut rows = Vec::new();
    for &live in &args.live.0 {
        let live = live as usize;
        let plan = Plan {
            settings: &settings,
            warm: live,
            sizes: vec![(1, args.probe)],
            workers: args.workers,
            max_rss_mib: args.max_rss_mib,
        };
        if arrivals.len() < plan.events_needed() {
            bail!(
                "{}: {} events, fewer than --live {live} + --probe {}",
                file.display(),
                arrivals.len(),
                args.probe
            );
        }
        let measured = latency::measure(&plan, &file, &arrivals)?;
        let single = &measured.sizes[0].latency_us;
        let oracle_seconds = (live as u64 <= args.oracle_max).then(|| {
            let t = arrivals[..live].iter().map(|a| a.at).max().unwrap_or(0);
            let started = Instant::now();
            let snapshot = dataflows::oracle::snapshot_at(&settings, &arrivals[..live], t);
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(live, seconds, users = snapshot.recs.len(), "oracle done");
            seconds
        });
        let mean_s = single.mean / 1e6;
        let row = RecomputeRow {
            live,
            oracle_seconds,
            reload_seconds: measured.warm_seconds,
            incremental_mean_us: single.mean,
            incremental_p99_us: single.p99,
            oracle_ratio: oracle_seconds.map(|o| o / mean_s.max(1e-9)),
            reload_ratio: measured.warm_seconds / mean_s.max(1e-9),
        };
        tracing::info!(?row, "recompute size done");
        rows.push(row);
    }
    let report = RecomputeReport {
        file: file.display().to_string(),
        workers: args.workers,
        machine_before,
        machine_after: common::machine(),
        oracle_exponent: exponent(&rows),
        rows,
    };
    print(&report);
    common::write_json(&args.json, &report)
}

/// log(t2/t1) / log(n2/n1) over the smallest and largest sizes the oracle ran on.
fn exponent(rows: &[RecomputeRow]) -> Option<f64> {
    let timed: Vec<(f64, f64)> =
        rows.iter().filter_map(|r| r.oracle_seconds.map(|s| (r.live as f64, s))).collect();
    let (first, last) = (timed.first()?, timed.last()?);
    (last.0 > first.0 && first.1 > 0.0).then(|| (last.1 / first.1).ln() / (last.0 / first.0).ln())
}

fn print(r: &RecomputeReport) {
    common::print_machine(&r.machine_before);
    println!("recomputation vs one incremental update, {} worker(s), {}\n", r.workers, r.file);
    let opt = |v: Option<f64>, digits: usize| v.map_or("skipped".to_string(), |v| format!("{v:.digits$}"));
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            vec![
                common::short_count(row.live as u64),
                opt(row.oracle_seconds, 3),
                format!("{:.3}", row.reload_seconds),
                format!("{:.3}", row.incremental_mean_us / 1000.0),
                format!("{:.3}", row.incremental_p99_us as f64 / 1000.0),
                opt(row.oracle_ratio, 0),
                format!("{:.0}", row.reload_ratio),
            ]
        })
        .collect();
    common::print_table(
        &[
            "live events",
            "oracle s",
            "dataflow reload s",
            "1 event mean ms",
            "1 event p99 ms",
            "oracle / 1 event",
            "reload / 1 event",
        ],
        &rows,
    );
    if let Some(k) = r.oracle_exponent {
        println!("\noracle time grows as live^{k:.2} over the sizes measured");
    }
    println!();
    common::print_machine(&r.machine_after);
}
