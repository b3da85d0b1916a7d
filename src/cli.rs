//! The command line. Every failure ends in one line on stderr and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::input::{ActionTable, ColumnMap, Format, SortMode, TsUnit};

#[derive(Parser, Debug)]
#[command(name = "interestflow", version, about = "Real-time user-interest graph and recommendations")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Replays event files through the engine and writes the change stream.
    Run(RunArgs),
    /// Reads and cleans event files without the engine; prints the accounting.
    Check(CheckArgs),
    /// Quality on a log: MODEL.md §9's prequential protocol (EVALUATION.md), HR/MRR/NDCG@10
    /// for the engine and its baselines.
    Evaluate(crate::evaluate::EvaluateArgs),
    /// Writes a seeded synthetic Taobao-format event stream (or, with --fit, the
    /// shape statistics of a file).
    Generate(crate::generate::GenerateArgs),
    /// Measurements of the engine itself.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Keys re-evaluated and latency per event, one event at a time at steady state.
    Fanout(crate::bench::FanoutArgs),
}

/// What is read and how: shared by `run` and `check`.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Event files, read in order (plain, .gz or .zst); `-` is stdin; none means the
    /// sample in `inputs/`.
    pub files: Vec<PathBuf>,
    /// Input format; `auto` recognises it from each file's first line.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Format,
    /// Generic column mapping for other CSV (by header name) or JSON-lines (by key) logs,
    /// e.g. `ts=event_time,user=uid,item=sku,action=type[,category=..,price=..,quantity=..,session=..]`.
    #[arg(long, value_name = "ROLE=COLUMN,...")]
    pub map: Option<ColumnMap>,
    /// How integer timestamps are written (native, jsonl and --map; default ms).
    #[arg(long, value_enum)]
    pub ts_unit: Option<TsUnit>,
    /// Source action names, e.g. `clicks=view,carts=cart,orders=purchase`.
    #[arg(long, value_name = "NAME=ACTION,...")]
    pub actions: Option<ActionTable>,
    /// Item catalogue (CSV with header: item, category), filling missing categories.
    #[arg(long, value_name = "FILE")]
    pub items: Option<PathBuf>,
    /// Sort files by time before streaming them (auto: for taobao, movielens and
    /// retailrocket, never when following).
    #[arg(long, value_enum, default_value = "auto")]
    pub sort: SortMode,
    /// Keep reading files that grow; the frontier also follows the wall clock while
    /// the input is quiet. Ends on SIGINT/SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// How often a followed input is polled, in ms.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub poll_ms: u64,
    /// Where rejected records go (JSON lines).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Where the change stream goes (JSON lines); stdout by default.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (per process, in a cluster).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// A TOML file of model settings (MODEL.md defaults for anything missing).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Overrides one setting, e.g. `--set top_k=20` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Writes the run's summary and per-stage key counts as JSON here.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Change streams to write, comma-separated: recs, neighbours, similar, embeddings.
    #[arg(long, default_value = "recs", value_parser = crate::emit::Streams::parse)]
    pub emit: crate::emit::Streams,
    /// Accepted events per batch handed to the workers.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// Adds to the summary where the time and the arranged updates go, per model stage
    /// and per operator (timely and differential logging; costs a few percent).
    #[arg(long)]
    pub profile: bool,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// A TOML file of model settings (tick, lateness and clock skew matter here).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Overrides one setting (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

pub fn main() -> ExitCode {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("interestflow: a command is required, e.g. `interestflow run` (see --help)");
            return ExitCode::from(2);
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("interestflow: {} (see --help)", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => crate::run::run(&args),
        Command::Check(args) => crate::run::check(&args),
        Command::Evaluate(args) => crate::evaluate::evaluate(&args),
        Command::Bench(BenchCommand::Fanout(args)) => crate::bench::fanout(&args),
        Command::Generate(args) => crate::generate::generate(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interestflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INTERESTFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
