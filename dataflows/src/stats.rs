//! Counters of the keys each reduce re-evaluates: the evidence that only changed
//! keys are recomputed. Shared by all workers of a process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The reduces whose re-evaluations are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    History,
    Similar,
    Recs,
    TrendingBucket,
    TrendingTop,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::History,
        Stage::Similar,
        Stage::Recs,
        Stage::TrendingBucket,
        Stage::TrendingTop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::History => "history H(u)",
            Stage::Similar => "similar S(i)",
            Stage::Recs => "recs R(u)",
            Stage::TrendingBucket => "trending buckets",
            Stage::TrendingTop => "trending top",
        }
    }
}

#[derive(Debug, Default)]
pub struct KeyCounters {
    counts: [AtomicU64; 5],
}

pub type SharedCounters = Arc<KeyCounters>;

impl KeyCounters {
    pub fn bump(&self, stage: Stage) {
        self.counts[stage as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, stage: Stage) -> u64 {
        self.counts[stage as usize].load(Ordering::Relaxed)
    }

    /// (stage, keys re-evaluated so far) for every stage.
    pub fn all(&self) -> Vec<(Stage, u64)> {
        Stage::ALL.iter().map(|s| (*s, self.get(*s))).collect()
    }
}
