//! interestflow's dataflow: the model of `MODEL.md` as differential-dataflow stages
//! (pure: collections in, collections out), the runtime that drives them on timely
//! workers, and the oracle they are checked against.

pub mod changes;
pub mod embedding;
pub mod events;
pub mod exec;
pub mod graph;
pub mod model;
pub mod neighbours;
pub mod oracle;
pub mod pipeline;
pub mod profile;
pub mod recs;
pub mod similarity;
pub mod snapshot;
pub mod stats;
pub mod topk;
pub mod vector;

/// The collection type every stage works on: u64 ticks, isize multiplicities.
pub type Coll<'s, D> = differential_dataflow::VecCollection<'s, model::Time, D, isize>;
