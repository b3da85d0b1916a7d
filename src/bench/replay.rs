//! `interestflow bench replay`: throughput and memory of the full pipeline (`run`:
//! read, clean, dataflow, change stream to /dev/null) per file and worker count. Each
//! replay is a child process, so its peak RSS (`VmHWM`, from its `--stats`) is its own;
//! a guard kills it when its RSS or wall time passes a limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::{self, Machine, Sizes};
use crate::input::{Format, SortMode};

/// How each replay is run and guarded; shared with `bench growth`.
#[derive(Args, Debug, Clone)]
pub struct ReplayOptions {
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Format,
    /// `run --sort`; `no` streams a file that is already in time order without the
    /// sort buffer (a generated stream is).
    #[arg(long, value_enum, default_value = "auto")]
    pub sort: SortMode,
    /// Kills a replay whose RSS passes this.
    #[arg(long, default_value_t = 6144)]
    pub max_rss_mib: u64,
    /// Kills a replay that runs longer than this.
    #[arg(long, default_value_t = 1800)]
    pub timeout_s: u64,
    /// Also runs with `--profile` (a few percent slower) and keeps the stage table.
    #[arg(long)]
    pub profile: bool,
    /// Passed on to `run --set` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// Event files, each replayed on its own (default: the sample).
    pub files: Vec<PathBuf>,
    /// Worker counts, comma-separated.
    #[arg(long, default_value = "1,2")]
    pub workers: Sizes,
    #[command(flatten)]
    pub opts: ReplayOptions,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplayRow {
    pub file: String,
    pub workers: u64,
    /// Accepted events.
    pub events: u64,
    pub wall_seconds: f64,
    pub events_per_second: f64,
    pub peak_rss_mib: f64,
    pub bytes_per_event: f64,
    /// `ok`, or why the replay stopped.
    pub status: String,
    /// The `--profile` stage table, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_stages: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    pub machine_before: Machine,
    pub machine_after: Machine,
    pub rows: Vec<ReplayRow>,
}

pub fn replay(args: &ReplayArgs) -> Result<()> {
    let files = if args.files.is_empty() { vec![common::default_file()] } else { args.files.clone() };
    let machine_before = common::machine();
    let mut rows = Vec::new();
    for file in &files {
        for &w in &args.workers.0 {
            rows.push(replay_one(file, w, &args.opts)?);
        }
    }
    let report = ReplayReport { machine_before, machine_after: common::machine(), rows };
    common::print_machine(&report.machine_before);
    println!();
    print_rows(&report.rows);
    println!();
    common::print_machine(&report.machine_after);
    common::write_json(&args.json, &report)
}

fn value_name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value().map_or_else(String::new, |p| p.get_name().to_string())
}

/// Runs `interestflow run FILE --workers W` as a child and reads its `--stats`.
pub fn replay_one(file: &Path, workers: u64, opts: &ReplayOptions) -> Result<ReplayRow> {
    let exe = std::env::current_exe().context("cannot find the interestflow executable")?;
    let dir = std::env::temp_dir().join(format!("interestflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let stats = dir.join(format!("stats-{workers}.json"));
    let log = dir.join(format!("run-{workers}.log"));
    let _ = std::fs::remove_file(&stats);
    let mut cmd = Command::new(exe);
    cmd.arg("run").arg(file).args(["--out", "/dev/null", "--workers", &workers.to_string()]);
    cmd.args(["--format", &value_name(&opts.format), "--sort", &value_name(&opts.sort)]);
    cmd.arg("--stats").arg(&stats);
    if opts.profile {
        cmd.arg("--profile");
    }
    for o in &opts.overrides {
        cmd.args(["--set", o]);
    }
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("{}: cannot create", log.display()))?;
    cmd.stdout(Stdio::null()).stderr(log_file);
    tracing::info!(file = %file.display(), workers, "replay starts");
    let mut child = cmd.spawn().context("cannot start the replay")?;
    let (status, polled_peak, wall) = watch(&mut child, opts)?;
    let mut row = ReplayRow {
        file: file.display().to_string(),
        workers,
        events: 0,
        wall_seconds: wall,
        events_per_second: 0.0,
        peak_rss_mib: polled_peak,
        bytes_per_event: 0.0,
        status,
        profile_stages: None,
    };
    if row.status == "ok" {
        read_stats(&stats, &mut row)?;
    } else {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let last = tail.lines().last().unwrap_or("").to_string();
        tracing::warn!(status = %row.status, last, "replay did not finish");
    }
    tracing::info!(?row.events_per_second, ?row.peak_rss_mib, status = %row.status, "replay done");
    Ok(row)
}

/// Waits for the child, polling its RSS; kills it past the guard. Returns the status,
/// the largest RSS seen and the wall seconds.
fn watch(child: &mut std::process::Child, opts: &ReplayOptions) -> Result<(String, f64, f64)> {
    let started = Instant::now();
    let (mut peak, mut last_log) = (0.0f64, Instant::now());
    loop {
        if let Some(exit) = child.try_wait()? {
            let status = if exit.success() { "ok".to_string() } else { format!("failed ({exit})") };
            return Ok((status, peak, started.elapsed().as_secs_f64()));
        }
        let rss = common::status_mib(Some(child.id()), "VmRSS").unwrap_or(0.0);
        peak = peak.max(rss);
        let over = if rss > opts.max_rss_mib as f64 {
            Some(format!("killed: RSS over {} MiB", opts.max_rss_mib))
        } else if started.elapsed() > Duration::from_secs(opts.timeout_s) {
            Some(format!("killed: over {} s", opts.timeout_s))
        } else {
            None
        };
        if let Some(why) = over {
            let _ = child.kill();
            let _ = child.wait();
            return Ok((why, peak, started.elapsed().as_secs_f64()));
        }
        if last_log.elapsed() > Duration::from_secs(10) {
            last_log = Instant::now();
            tracing::info!("replay running: {:.0} s, RSS {rss:.0} MiB", started.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_stats(path: &Path, row: &mut ReplayRow) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let num = |key: &str| v.get(key).and_then(|x| x.as_f64());
    row.events = v.pointer("/accounting/accepted").and_then(|x| x.as_u64()).unwrap_or(0);
    row.wall_seconds = num("wall_seconds").unwrap_or(row.wall_seconds);
    row.events_per_second = num("events_per_second").unwrap_or(0.0);
    row.peak_rss_mib = num("peak_rss_mib").unwrap_or(row.peak_rss_mib);
    row.bytes_per_event = row.peak_rss_mib * 1048576.0 / (row.events.max(1) as f64);
    row.profile_stages = v.get("profile_stages").cloned();
    Ok(())
}

pub fn print_rows(rows: &[ReplayRow]) {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            // Speed-up over the same file's first row (its baseline in this run).
            let base = rows.iter().find(|b| b.file == r.file && b.events_per_second > 0.0);
            let ratio = base
                .map_or("-".to_string(), |b| format!("{:.2}x", r.events_per_second / b.events_per_second));
            let name =
                Path::new(&r.file).file_name().map_or(r.file.clone(), |n| n.to_string_lossy().into_owned());
            vec![
                name,
                r.workers.to_string(),
                r.events.to_string(),
                format!("{:.2}", r.wall_seconds),
                format!("{:.0}", r.events_per_second),
                ratio,
                format!("{:.0}", r.peak_rss_mib),
                format!("{:.0}", r.bytes_per_event),
                r.status.clone(),
            ]
        })
        .collect();
    common::print_table(
        &[
            "file",
            "workers",
            "events",
            "wall s",
            "events/s",
            "vs first",
            "peak RSS MiB",
            "bytes/event",
            "status",
        ],
        &table,
    );
}
