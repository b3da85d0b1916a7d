//! `interestflow bench growth`: throughput and memory as the stream grows. For each
//! size, a seeded synthetic Taobao-shaped stream (`interestflow generate`, cached in
//! `--data-dir`) is replayed by `bench replay`'s guarded child; the table, JSON and an
//! SVG plot come out. After the first size that hits the guard, larger ones are not run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use super::common::{self, Machine, Sizes};
use super::plot::{self, Series};
use super::replay::{self, ReplayOptions, ReplayRow};

#[derive(Args, Debug, Clone)]
pub struct GrowthArgs {
    /// Stream sizes in events, comma-separated.
    #[arg(long, default_value = "125k,250k,500k,1M")]
    pub sizes: Sizes,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub workers: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Instead of generated streams: the first SIZE lines of this file (a time-ordered
    /// one, e.g. the sample), written to --data-dir.
    #[arg(long)]
    pub prefixes_of: Option<PathBuf>,
    /// Where the generated streams are kept (and reused).
    #[arg(long, default_value = "target/bench-data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub opts: ReplayOptions,
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Writes the plot (SVG) here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Earlier growth JSON files whose series the plot also draws (repeatable).
    #[arg(long, value_name = "JSON")]
    pub plot_with: Vec<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GrowthRow {
    pub size: u64,
    #[serde(flatten)]
    pub replay: ReplayRow,
    /// Throughput over the smallest size's (the baseline of this run).
    pub throughput_vs_smallest: Option<f64>,
    /// Extra RSS per extra event over the previous size.
    pub marginal_bytes_per_event: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GrowthReport {
    /// The file whose prefixes were replayed; none: generated streams.
    pub source: Option<String>,
    pub workers: u64,
    pub seed: u64,
    pub machine_before: Machine,
    pub machine_after: Machine,
    pub rows: Vec<GrowthRow>,
    /// Sizes not run because a smaller one hit the guard.
    pub not_run: Vec<u64>,
}

pub fn growth(args: &GrowthArgs) -> Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("{}: cannot create", args.data_dir.display()))?;
    let machine_before = common::machine();
    let mut rows: Vec<GrowthRow> = Vec::new();
    let mut not_run = Vec::new();
    for &size in &args.sizes.0 {
        if rows.last().is_some_and(|r| r.replay.status != "ok") {
            not_run.push(size);
            continue;
        }
        let file = match &args.prefixes_of {
            Some(source) => prefix(source, &args.data_dir, size)?,
            None => generated(&args.data_dir, size, args.seed)?,
        };
        let replay = replay::replay_one(&file, args.workers, &args.opts)?;
        rows.push(row(size, replay, &rows));
    }
    let report = GrowthReport {
        source: args.prefixes_of.as_ref().map(|p| p.display().to_string()),
        workers: args.workers,
        seed: args.seed,
        machine_before,
        machine_after: common::machine(),
        rows,
        not_run,
    };
    print(&report);
    common::write_json(&args.json, &report)?;
    if let Some(path) = &args.plot {
        let mut series: Vec<Series> = args.plot_with.iter().map(plot::series_of).collect::<Result<_>>()?;
        series.push(Series {
            label: plot::label_of(&serde_json::to_value(&report)?),
            points: report
                .rows
                .iter()
                .filter(|r| r.replay.status == "ok")
                .map(|r| (r.replay.events as f64, r.replay.events_per_second, r.replay.bytes_per_event))
                .collect(),
        });
        plot::growth(path, &series)?;
    }
    Ok(())
}

fn row(size: u64, replay: ReplayRow, before: &[GrowthRow]) -> GrowthRow {
    let ok = replay.status == "ok";
    let first = before.first().filter(|f| f.replay.status == "ok");
    let prev = before.last().filter(|p| p.replay.status == "ok");
    let throughput_vs_smallest =
        first.filter(|_| ok).map(|f| replay.events_per_second / f.replay.events_per_second.max(1e-9));
    let marginal_bytes_per_event = prev.filter(|p| ok && replay.events > p.replay.events).map(|p| {
        (replay.peak_rss_mib - p.replay.peak_rss_mib) * 1048576.0 / (replay.events - p.replay.events) as f64
    });
    GrowthRow { size, replay, throughput_vs_smallest, marginal_bytes_per_event }
}

/// The stream of `size` events for `seed`, generated unless already there.
fn generated(dir: &Path, size: u64, seed: u64) -> Result<PathBuf> {
    let path = dir.join(format!("taobao-synth-{}-seed{seed}.csv", common::short_count(size)));
    if path.exists() {
        return Ok(path);
    }
    let partial = path.with_extension("csv.partial");
    tracing::info!(size, seed, file = %path.display(), "generating");
    let exe = std::env::current_exe().context("cannot find the interestflow executable")?;
    let status = Command::new(exe)
        .args(["generate", "--events", &size.to_string(), "--seed", &seed.to_string(), "--out"])
        .arg(&partial)
        .stdout(Stdio::null())
        .status()
        .context("cannot start `interestflow generate`")?;
    if !status.success() {
        bail!("interestflow generate --events {size} failed ({status})");
    }
    std::fs::rename(&partial, &path).with_context(|| format!("{}: cannot rename", partial.display()))?;
    Ok(path)
}

/// The first `size` lines of `source` as a file of their own.
fn prefix(source: &Path, dir: &Path, size: u64) -> Result<PathBuf> {
    let stem = source.file_stem().map_or("input".into(), |s| s.to_string_lossy().into_owned());
    let path = dir.join(format!("{stem}-head{}.csv", common::short_count(size)));
    let text =
        std::fs::read_to_string(source).with_context(|| format!("{}: cannot read", source.display()))?;
    let lines: Vec<&str> = text.lines().take(size as usize).collect();
    if (lines.len() as u64) < size {
        bail!("{}: {} lines, fewer than --sizes {size}", source.display(), lines.len());
    }
    std::fs::write(&path, lines.join("\n") + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

fn print(r: &GrowthReport) {
    common::print_machine(&r.machine_before);
    let what = r
        .source
        .clone()
        .map_or(format!("synthetic Taobao-shaped streams (seed {})", r.seed), |s| format!("prefixes of {s}"));
    println!("growth: {what}, {} worker(s)\n", r.workers);
    let opt = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.2}{unit}"));
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|g| {
            let p = &g.replay;
            vec![
                common::short_count(g.size),
                format!("{:.1}", p.wall_seconds),
                format!("{:.0}", p.events_per_second),
                opt(g.throughput_vs_smallest, "x"),
                format!("{:.0}", p.peak_rss_mib),
                format!("{:.0}", p.bytes_per_event),
                g.marginal_bytes_per_event.map_or("-".into(), |b| format!("{b:.0}")),
                p.status.clone(),
            ]
        })
        .collect();
    common::print_table(
        &[
            "events",
            "wall s",
            "events/s",
            "vs smallest",
            "peak RSS MiB",
            "bytes/event",
            "marginal bytes/event",
            "status",
        ],
        &rows,
    );
    if !r.not_run.is_empty() {
        let sizes: Vec<String> = r.not_run.iter().map(|s| common::short_count(*s)).collect();
        println!("\nnot run (a smaller size hit the guard): {}", sizes.join(", "));
    }
    if let Some(last) = r.rows.iter().rev().find(|g| g.replay.status == "ok") {
        let per = last.marginal_bytes_per_event.unwrap_or(last.replay.bytes_per_event);
        for target in [4_000_000u64, 16_000_000] {
            let mib = last.replay.peak_rss_mib
                + per * (target.saturating_sub(last.replay.events)) as f64 / 1048576.0;
            println!(
                "projected peak RSS at {}: {:.1} GiB (linear from the largest size run)",
                common::short_count(target),
                mib / 1024.0
            );
        }
    }
    println!();
    common::print_machine(&r.machine_after);
}
