//! `interestflow evaluate`: MODEL.md §9's prequential protocol, exactly as
//! `EVALUATION.md` says. The input is read and sorted once; each engine run (the model,
//! and with `--baselines` the refreshed model and the ablations) replays it and its
//! change stream is scored as it is delivered (`score.rs`); the trending-only baseline
//! is scored in the engine's own pass from the trending list it emits.

mod plot;
mod score;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dataflows::exec::{self, Batch, Observe};
use dataflows::model::{fnv1a64, Action, Arrival, Settings, Time, MS_PER_DAY};
use serde::Serialize;

use crate::cli::InputArgs;
use crate::input::{Ingest, InputOptions, Origin, SchemaOptions, SortMode};
pub use score::{Metrics, Rank, Target, AT};

#[derive(Args, Debug, Clone)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Worker threads of each engine run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// A TOML file of model settings (MODEL.md defaults for anything missing).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Overrides one setting, e.g. `--set blend_g=0` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Also run the refreshed model and the ablations A only, B only, G only (one
    /// engine run each; trending only is always scored).
    #[arg(long)]
    pub baselines: bool,
    /// The refreshed baseline's period R in ms (default a day: refreshed at UTC
    /// midnight); repeatable, one run each.
    #[arg(long, default_values_t = [MS_PER_DAY], value_parser = clap::value_parser!(u64).range(1..))]
    pub refresh_ms: Vec<u64>,
    /// Which targets are scored: all, or those before (`first`) or at/after (`second`)
    /// the split; everything is replayed either way.
    #[arg(long, value_enum, default_value = "all")]
    pub score: Half,
    /// The split tick in ms (default: the tick of the median accepted event).
    #[arg(long)]
    pub split_ms: Option<u64>,
    /// Which events are targets (auto: ratings >= 4 if the input has ratings, else carts
    /// and purchases if it has any, else every event).
    #[arg(long, value_enum, default_value = "auto")]
    pub targets: TargetKind,
    /// Replay only the first N accepted events in time order (a documented prefix).
    #[arg(long)]
    pub max_events: Option<usize>,
    /// The results as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// HR@10 of warm targets over event time, per run, as SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// A title for the table and the plot (default: the file names).
    #[arg(long)]
    pub name: Option<String>,
    /// Accepted events per batch handed to the workers.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Half {
    All,
    First,
    Second,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Auto,
    Carts,
    Ratings,
    All,
}

/// One run's results (a row of the table).
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub name: String,
    pub warm: Metrics,
    pub cold: Metrics,
    pub all: Metrics,
    /// Distinct items in any list served for a scored target / distinct items among
    /// the accepted (replayed) events.
    pub coverage: f64,
    /// Warm targets served a personal list / the trending fallback / trending to a user
    /// with no edge.
    pub served_personal: u64,
    pub served_fallback: u64,
    pub served_no_edge: u64,
    /// Targets whose user had an earlier event with the item, and the hits among them.
    pub repeat_targets: u64,
    pub repeat_hits: u64,
    /// Wall time of the engine pass (0 for trending only: it is scored in the engine's).
    pub wall_s: f64,
    #[serde(skip)]
    pub warm_ranks: Vec<Option<Rank>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub name: String,
    pub files: Vec<String>,
    pub events: usize,
    pub users: usize,
    pub items: usize,
    pub first_tick: Time,
    pub last_tick: Time,
    pub targets: TargetKind,
    pub score: Half,
    pub split_ms: Time,
    /// Targets scored (warm + cold) and FNV-1a 64 of their `tick,user,item,warm` lines.
    pub scored_targets: usize,
    pub target_hash_fnv1a64: String,
    pub settings: Settings,
    pub refresh_ms: Vec<u64>,
    pub runs: Vec<RunResult>,
    /// Reading and sorting the input, once.
    pub read_s: f64,
    pub total_s: f64,
}

pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let started = Instant::now();
    let settings = crate::config::load(args.config.as_deref(), &args.overrides)?;
    if args.input.follow {
        bail!("--follow: evaluate replays a finished log; it cannot follow one");
    }
    if args.input.sort == SortMode::No {
        bail!("--sort no: evaluate always replays in time order (EVALUATION.md 2)");
    }
    if let Some(r) = args.refresh_ms.iter().find(|r| !r.is_multiple_of(settings.tick_ms)) {
        bail!("--refresh-ms {r}: must be a multiple of tick_ms ({})", settings.tick_ms);
    }
    let outputs: Vec<&std::path::Path> =
        [&args.json, &args.plot].into_iter().flatten().map(|p| p.as_path()).collect();
    crate::run::refuse_overwriting_inputs(&args.input, &outputs)?;
    let (mut arrivals, ids) = read_sorted(&args.input, &settings)?;
    if let Some(n) = args.max_events {
        arrivals.truncate(n);
    }
    if arrivals.is_empty() {
        bail!("no event was accepted: is this the right file and format?");
    }
    let read_s = started.elapsed().as_secs_f64();
    let kind = target_kind(args.targets, &arrivals);
    let split = args.split_ms.unwrap_or_else(|| arrivals[arrivals.len() / 2].event.tick);
    if args.score == Half::First {
        // Nothing at or after the split can change a first-half score: not replayed.
        arrivals.retain(|a| a.event.tick < split);
    }
    let targets = targets(&arrivals, kind, args.score, split);
    let lines: String = targets
        .iter()
        .map(|t| format!("{},{},{},{}\n", t.tick, ids.id_of(t.user), ids.id_of(t.item), u8::from(t.warm)))
        .collect();
    let hash = format!("{:016x}", fnv1a64(lines.as_bytes()));
    let items: HashSet<_> = arrivals.iter().map(|a| a.event.item).collect();
    let users: HashSet<_> = arrivals.iter().map(|a| a.event.user).collect();
    tracing::info!(events = arrivals.len(), targets = targets.len(), ?kind, split, "evaluating");

    let mut runs = Vec::new();
    let mut variants = vec![("engine".to_string(), settings.clone())];
    if args.baselines {
        for &refresh in &args.refresh_ms {
            let period = match refresh {
                r if r.is_multiple_of(3_600_000) => format!("{}h", r / 3_600_000),
                r if r.is_multiple_of(1000) => format!("{}s", r / 1000),
                r => format!("{r}ms"),
            };
            variants.push((
                format!("refreshed {period}"),
                Settings { model_refresh_ms: refresh, ..settings.clone() },
            ));
        }
        for (name, a, b, g) in [("A only", 100, 0, 0), ("B only", 0, 100, 0), ("G only", 0, 0, 100)] {
            variants.push((
                name.to_string(),
                Settings { blend_a: a, blend_b: b, blend_g: g, ..settings.clone() },
            ));
        }
    }
    for (n, (name, variant)) in variants.iter().enumerate() {
        let t0 = Instant::now();
        let scored = replay(variant, args, &arrivals, &targets)?;
        let wall_s = t0.elapsed().as_secs_f64();
        tracing::info!(run = %name, wall_s, "run scored");
        runs.push(result(name, &targets, &scored.engine, &scored.engine_items, items.len(), wall_s, &scored));
        if n == 0 {
            let mut trending = result(
                "trending",
                &targets,
                &scored.trending,
                &scored.trending_items,
                items.len(),
                0.0,
                &scored,
            );
            // Only the engine's lists are classified.
            (trending.served_personal, trending.served_fallback, trending.served_no_edge) = (0, 0, 0);
            (trending.repeat_targets, trending.repeat_hits) = (0, 0);
            runs.push(trending);
        }
    }
    let name = args.name.clone().unwrap_or_else(|| {
        args.input
            .files
            .iter()
            .map(|f| f.file_name().map_or(f.display().to_string(), |n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let report = Report {
        name,
        files: args.input.files.iter().map(|f| f.display().to_string()).collect(),
        events: arrivals.len(),
        users: users.len(),
        items: items.len(),
        first_tick: arrivals.first().map_or(0, |a| a.event.tick),
        last_tick: arrivals.last().map_or(0, |a| a.event.tick),
        targets: kind,
        score: args.score,
        split_ms: split,
        scored_targets: targets.len(),
        target_hash_fnv1a64: hash,
        settings,
        refresh_ms: args.refresh_ms.clone(),
        runs,
        read_s,
        total_s: started.elapsed().as_secs_f64(),
    };
    print_table(&report);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if let Some(path) = &args.plot {
        let svg = plot::svg(&report, &targets);
        std::fs::write(path, svg).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

/// Every accepted event, in time order (file order breaking ties), and the id dictionary.
fn read_sorted(input: &InputArgs, settings: &Settings) -> Result<(Vec<Arrival>, crate::input::Dictionary)> {
    let files = crate::run::input_files(input)?;
    let opts = InputOptions {
        schema: SchemaOptions {
            format: Some(input.format),
            map: input.map.clone(),
            ts_unit: input.ts_unit,
            actions: input.actions.clone(),
        },
        items: input.items.clone(),
        sort: SortMode::Yes,
        follow: false,
        progress_bar: false,
        stop: Some(Arc::new(AtomicBool::new(false))),
    };
    let origins = files.into_iter().map(Origin::Path).collect();
    let mut ingest = Ingest::open_with(settings, &opts, origins, None)?;
    if let Some(path) = &input.rejects {
        let file =
            std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        ingest.set_rejects(Box::new(std::io::BufWriter::new(file)));
    }
    let mut arrivals = Vec::new();
    while let Some(batch) = ingest.next_batch(1 << 16)? {
        arrivals.extend(batch);
    }
    crate::summary::print_accounting(ingest.accounting());
    Ok((arrivals, ingest.dictionary()))
}

fn target_kind(kind: TargetKind, arrivals: &[Arrival]) -> TargetKind {
    if kind != TargetKind::Auto {
        return kind;
    }
    let has = |f: fn(Action) -> bool| arrivals.iter().any(|a| f(a.event.action));
    if has(|a| matches!(a, Action::Rating(_))) {
        TargetKind::Ratings
    } else if has(|a| matches!(a, Action::Cart | Action::Purchase)) {
        TargetKind::Carts
    } else {
        TargetKind::All
    }
}

/// The targets (EVALUATION.md 3, 5), in time order, of the half that is scored.
pub fn targets(arrivals: &[Arrival], kind: TargetKind, half: Half, split: Time) -> Vec<Target> {
    let mut first: HashMap<u64, Time> = HashMap::new();
    let mut out = Vec::new();
    for a in arrivals {
        let ev = a.event;
        let first_tick = *first.entry(ev.user).or_insert(ev.tick);
        let is_target = match kind {
            TargetKind::Ratings => matches!(ev.action, Action::Rating(h) if h >= 8),
            TargetKind::Carts | TargetKind::Auto => matches!(ev.action, Action::Cart | Action::Purchase),
            TargetKind::All => true,
        };
        let in_half = match half {
            Half::All => true,
            Half::First => ev.tick < split,
            Half::Second => ev.tick >= split,
        };
        if is_target && in_half {
            out.push(Target { tick: ev.tick, user: ev.user, item: ev.item, warm: first_tick < ev.tick });
        }
    }
    out
}

/// One engine run over the arrivals, its change stream scored as it is delivered.
fn replay(
    settings: &Settings,
    args: &EvaluateArgs,
    arrivals: &[Arrival],
    targets: &[Target],
) -> Result<score::Scored> {
    let mut scorer = score::Scorer::new(settings, targets, arrivals);
    let batch = args.batch.max(1);
    let tick = settings.tick_ms;
    let mut source = arrivals
        .chunks(batch)
        .map(|chunk| {
            // Sorted input: the newest tick so far is the frontier (nothing is late).
            let frontier = chunk.last().map_or(0, |a| a.event.tick);
            Ok(Batch { arrivals: chunk.to_vec(), frontier })
        })
        .chain(std::iter::once_with(|| {
            let end = arrivals.last().map_or(0, |a| a.event.tick) + tick;
            Ok(Batch { arrivals: Vec::new(), frontier: end })
        }));
    let mut sink = |event: exec::SinkEvent<'_>, _: &_| -> Result<(), String> {
        scorer.on(event);
        Ok(())
    };
    exec::run(settings, args.workers as usize, Observe::default(), &mut source, &mut sink)?;
    Ok(scorer.finish())
}

fn result(
    name: &str,
    targets: &[Target],
    ranks: &[Rank],
    served: &HashSet<u64>,
    items: usize,
    wall_s: f64,
    scored: &score::Scored,
) -> RunResult {
    let pick = |warm: bool| targets.iter().zip(ranks).filter(move |(t, _)| t.warm == warm).map(|(_, r)| r);
    RunResult {
        name: name.to_string(),
        warm: Metrics::of(pick(true)),
        cold: Metrics::of(pick(false)),
        all: Metrics::of(ranks),
        coverage: served.len() as f64 / items.max(1) as f64,
        served_personal: scored.personal,
        served_fallback: scored.fallback,
        served_no_edge: scored.no_edge,
        repeat_targets: scored.repeats,
        repeat_hits: scored.repeat_hits,
        wall_s,
        warm_ranks: targets.iter().zip(ranks).map(|(t, r)| t.warm.then_some(*r)).collect(),
    }
}

fn print_table(r: &Report) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: {} events, {} users, {} items; targets {:?}, scored {:?} (split at tick {}): {} targets, FNV-1a 64 {}",
        r.name, r.events, r.users, r.items, r.targets, r.score, r.split_ms, r.scored_targets, r.target_hash_fnv1a64
    );
    let _ = writeln!(
        out,
        "{:<16} {:>7} {:>7} {:>7} {:>6} | {:>7} {:>7} {:>7} {:>6} | {:>7} {:>7} {:>7} | {:>8} {:>7}",
        "run",
        "warm HR",
        "MRR",
        "NDCG",
        "n",
        "cold HR",
        "MRR",
        "NDCG",
        "n",
        "all HR",
        "MRR",
        "NDCG",
        "coverage",
        "wall s"
    );
    for run in &r.runs {
        let _ = writeln!(
            out,
            "{:<16} {:>7.4} {:>7.4} {:>7.4} {:>6} | {:>7.4} {:>7.4} {:>7.4} {:>6} | {:>7.4} {:>7.4} {:>7.4} | {:>8.4} {:>7.1}",
            run.name,
            run.warm.hr,
            run.warm.mrr,
            run.warm.ndcg,
            run.warm.targets,
            run.cold.hr,
            run.cold.mrr,
            run.cold.ndcg,
            run.cold.targets,
            run.all.hr,
            run.all.mrr,
            run.all.ndcg,
            run.coverage,
            run.wall_s
        );
    }
    let _ = writeln!(out, "read {:.1} s, total {:.1} s", r.read_s, r.total_s);
}
