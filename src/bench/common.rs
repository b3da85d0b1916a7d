//! What every bench shares: loading a file's arrivals, percentiles, the machine's
//! state (load, memory), size lists, and the markdown/JSON output.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use dataflows::model::{Arrival, Settings};
use serde::Serialize;

use crate::input::{Format, Ingest};

/// A comma-separated list of counts, `k`/`M` suffixes allowed: `125k,1M,2.5M`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sizes(pub Vec<u64>);

impl FromStr for Sizes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parse = |part: &str| -> Option<u64> {
            let part = part.trim();
            let (digits, scale) = match part.char_indices().last()? {
                (i, 'k' | 'K') => (&part[..i], 1e3),
                (i, 'm' | 'M') => (&part[..i], 1e6),
                _ => (part, 1.0),
            };
            let value: f64 = digits.parse().ok()?;
            (value.is_finite() && value >= 1.0).then(|| (value * scale).round() as u64)
        };
        let sizes: Option<Vec<u64>> = s.split(',').map(parse).collect();
        match sizes {
            Some(v) if !v.is_empty() => Ok(Sizes(v)),
            _ => Err(format!("`{s}`: expected a comma-separated list of counts such as 1,10,125k,1M")),
        }
    }
}

/// The loaded, cleaned and timed events of one file, in stream order.
pub fn load_arrivals(
    settings: &Settings,
    file: &Option<PathBuf>,
    format: Format,
) -> Result<(PathBuf, Vec<Arrival>)> {
    let file = file.clone().unwrap_or_else(default_file);
    let mut ingest = Ingest::open(settings, format, std::slice::from_ref(&file), None)?;
    let mut arrivals = Vec::new();
    while let Some(batch) = ingest.next_batch(65_536)? {
        arrivals.extend(batch);
    }
    tracing::debug!(file = %file.display(), events = arrivals.len(), "loaded");
    Ok((file, arrivals))
}

/// The sample, from the project root or from the build's source tree.
pub fn default_file() -> PathBuf {
    let local = PathBuf::from(crate::run::SAMPLE);
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::run::SAMPLE)
}

/// p50/p95/p99/max/mean of a sample.
#[derive(Clone, Debug, Serialize)]
pub struct Distribution {
    pub name: String,
    pub count: usize,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

pub fn distribution(name: &str, mut values: Vec<u64>) -> Distribution {
    values.sort_unstable();
    // Nearest rank: the smallest value with at least q of the sample at or below it.
    let at = |q: f64| {
        let rank = ((values.len() as f64) * q).ceil() as usize;
        values.get(rank.saturating_sub(1)).copied().unwrap_or(0)
    };
    let mean = values.iter().sum::<u64>() as f64 / values.len().max(1) as f64;
    Distribution {
        name: name.to_string(),
        count: values.len(),
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
        mean,
    }
}

/// A field of /proc/PID/status in MiB (`VmRSS`, `VmHWM`); `None` off Linux.
pub fn status_mib(pid: Option<u32>, field: &str) -> Option<f64> {
    let path = pid.map_or("/proc/self/status".to_string(), |p| format!("/proc/{p}/status"));
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The machine while a bench runs: cores, CPU, and the load average (1, 5, 15 min).
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub load: [f64; 3],
}

pub fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).map(|l| l.to_string()))
        .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown".to_string());
    let mut load = [0.0; 3];
    if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
        for (slot, v) in load.iter_mut().zip(text.split_whitespace()) {
            *slot = v.parse().unwrap_or(0.0);
        }
    }
    Machine { cores, cpu, load }
}

pub fn print_machine(m: &Machine) {
    println!(
        "machine: {} core(s), {}, load average {:.2} {:.2} {:.2}",
        m.cores, m.cpu, m.load[0], m.load[1], m.load[2]
    );
}

pub fn write_json<T: Serialize>(path: &Option<PathBuf>, value: &T) -> Result<()> {
    if let Some(path) = path {
        let text = serde_json::to_string_pretty(value)? + "\n";
        std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

/// A markdown table: header, alignment row, rows.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    println!("| {} |", header.join(" | "));
    // The first column (names) left-aligned, the figures right-aligned.
    let align: Vec<&str> = (0..header.len()).map(|i| if i == 0 { ":---" } else { "---:" }).collect();
    println!("|{}|", align.join("|"));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

/// `1234567` as `1.23M`, `125000` as `125k`.
pub fn short_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

pub fn check_positive(name: &str, n: usize) -> Result<()> {
    if n == 0 {
        bail!("{name} must be at least 1");
    }
    Ok(())
}
