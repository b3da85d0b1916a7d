//! interestflow's integration tests: one crate, one binary (each test binary
//! recompiles differential-dataflow's generics).

mod cli;
mod harness;
mod oracle_props;
mod recompute;
