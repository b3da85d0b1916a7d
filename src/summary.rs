//! The end-of-run summary: the accounting of every record, the graph's size, speed,
//! memory, and how many keys each reduce re-evaluated.

use std::collections::BTreeMap;
use std::time::Duration;

use dataflows::changes::State;
use dataflows::model::Time;
use dataflows::profile::Share;
use dataflows::stats::KeyCounters;
use serde::Serialize;

use crate::input::Accounting;

#[derive(Serialize)]
pub struct Summary {
    pub accounting: Accounting,
    pub final_tick: Time,
    pub ticks_with_changes: u64,
    pub edges: i64,
    pub users_with_recs: usize,
    pub users_on_trending: usize,
    pub output_lines: u64,
    pub wall_seconds: f64,
    pub events_per_second: f64,
    pub peak_rss_mib: Option<f64>,
    /// Keys each reduce re-evaluated, in total and per tick with changes.
    pub keys_reevaluated: BTreeMap<String, u64>,
    /// Per embedding stage: (changed sums received, changed vectors passed on).
    pub vector_updates: BTreeMap<String, (u64, u64)>,
    /// With `--profile`: per stage and per operator, time and arranged updates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile_stages: Vec<Share>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile_operators: Vec<Share>,
}

impl Summary {
    pub fn new(
        accounting: &Accounting,
        state: &State,
        output_lines: u64,
        ticks: u64,
        final_tick: Time,
        counters: &KeyCounters,
        wall: Duration,
    ) -> Self {
        let wall_seconds = wall.as_secs_f64();
        Summary {
            accounting: accounting.clone(),
            final_tick,
            ticks_with_changes: ticks,
            edges: state.edges,
            users_with_recs: state.personal.len(),
            users_on_trending: state.fallback.len(),
            output_lines,
            wall_seconds,
            events_per_second: (accounting.accepted - accounting.unprocessed) as f64 / wall_seconds.max(1e-9),
            peak_rss_mib: peak_rss_mib(),
            keys_reevaluated: counters.all().into_iter().map(|(s, n)| (s.name().to_string(), n)).collect(),
            vector_updates: counters
                .vectors()
                .into_iter()
                .map(|(s, i, o)| (s.name().to_string(), (i, o)))
                .collect(),
            profile_stages: counters.profile.stages(),
            profile_operators: counters.profile.operators(),
        }
    }

    /// `on` names the workers, e.g. "2 workers" or "2 processes x 2 workers".
    pub fn print(&self, on: &str) {
        let a = &self.accounting;
        eprintln!("summary:");
        print_accounting(a);
        eprintln!(
            "  graph     users {}  items {}  edges {} (at tick {})",
            a.users, a.items, self.edges, self.final_tick
        );
        eprintln!(
            "  recs      {} users with personal lists, {} on the trending list; {} output lines",
            self.users_with_recs, self.users_on_trending, self.output_lines
        );
        let rss = self.peak_rss_mib.map_or("n/a".to_string(), |m| format!("{m:.0} MiB"));
        eprintln!(
            "  speed     {:.2} s wall, {:.0} events/s on {}, peak RSS {}",
            self.wall_seconds, self.events_per_second, on, rss
        );
        let ticks = self.ticks_with_changes.max(1) as f64;
        for (stage, n) in &self.keys_reevaluated {
            eprintln!("  keys      {stage:<18} {n:>10} re-evaluated ({:.1} per tick)", *n as f64 / ticks);
        }
        for (stage, (received, passed)) in &self.vector_updates {
            let ratio = if *received > 0 { *passed as f64 / *received as f64 } else { 0.0 };
            eprintln!("  vectors   {stage:<18} {received:>10} sums changed -> {passed:>10} vectors moved ({ratio:.3})");
        }
        print_profile("stage", &self.profile_stages, usize::MAX);
        print_profile("operator", &self.profile_operators, 15);
    }
}

/// The profile table: busy time (summed over workers), its share, peak arranged updates.
fn print_profile(what: &str, shares: &[Share], rows: usize) {
    if shares.is_empty() {
        return;
    }
    eprintln!("  profile   {what:<40} {:>9} {:>6} {:>14}", "busy s", "share", "peak arranged");
    for s in shares.iter().take(rows) {
        eprintln!(
            "            {:<40} {:>9.2} {:>5.1}% {:>14}",
            s.name,
            s.busy_seconds,
            100.0 * s.busy_share,
            s.peak_arranged_records
        );
    }
}

/// The records line, the stop line and the rejects by reason, on stderr.
pub fn print_accounting(a: &Accounting) {
    let rejected: Vec<String> = a.rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
    eprintln!(
        "  records   read {} = accepted {} + rejected {} + duplicates {}   (late {})",
        a.read,
        a.accepted,
        a.rejected_total(),
        a.duplicates,
        a.late
    );
    if a.unprocessed > 0 {
        eprintln!(
            "  stopped   {} accepted events of the sorted input not processed (stop signal)",
            a.unprocessed
        );
    }
    if !rejected.is_empty() {
        eprintln!("  rejected  {}", rejected.join(", "));
    }
}

/// Peak resident memory of this process (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
