//! interestflow's integration tests: one crate, one binary (each test binary
//! recompiles differential-dataflow's generics).

mod cli;
mod cluster;
mod evaluate;
mod follow;
mod generate;
mod harness;
mod inputs;
mod oracle_props;
mod recompute;
