//! `interestflow bench ...`: the benchmark harness. `docs/performance.md` has the
//! protocol (`scripts/bench.sh` runs all of it) and the current figures.
//! - `latency` (alias `fanout`): freshness per batch size at steady state, and the
//!   keys each stage re-evaluates per event;
//! - `recompute`: the oracle's from-scratch time against one incremental update;
//! - `replay`: throughput and peak memory of `run` per file and worker count;
//! - `growth`: replay of generated streams of growing size, table and plot.
//!
//! Timings are reported, never asserted: machines are noisy.

mod common;
mod growth;
mod latency;
mod plot;
mod recompute;
mod replay;

pub use growth::{growth, GrowthArgs};
pub use latency::{latency, LatencyArgs};
pub use recompute::{recompute, RecomputeArgs};
pub use replay::{replay, ReplayArgs};
