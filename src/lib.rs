//! The interestflow application: command line, readers, writers and the summary,
//! around the pure dataflow in the `dataflows` crate.

pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod emit;
pub mod evaluate;
pub mod generate;
pub mod input;
pub mod run;
pub mod summary;
