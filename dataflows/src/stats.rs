//! Counters shared by all workers of a process: the keys each reduce re-evaluates
//! (the evidence that only changed keys are recomputed) and, per embedding stage, the
//! vector updates it receives and passes on (what the quantisation suppresses).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::profile::Profile;

/// The reduces whose re-evaluations are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    History,
    Similar,
    Neighbours,
    Recs,
    TrendingBucket,
    TrendingTop,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::History,
        Stage::Similar,
        Stage::Neighbours,
        Stage::Recs,
        Stage::TrendingBucket,
        Stage::TrendingTop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::History => "history H(u)",
            Stage::Similar => "similar S(i)",
            Stage::Neighbours => "neighbours N(u)",
            Stage::Recs => "recs R(u)",
            Stage::TrendingBucket => "trending buckets",
            Stage::TrendingTop => "trending top",
        }
    }
}

/// The vector stages of §6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorStage {
    Z,
    Y,
    H,
    E,
}

impl VectorStage {
    pub const ALL: [VectorStage; 4] = [VectorStage::Z, VectorStage::Y, VectorStage::H, VectorStage::E];

    pub fn name(self) -> &'static str {
        match self {
            VectorStage::Z => "z(u)",
            VectorStage::Y => "y(i)",
            VectorStage::H => "h(u)",
            VectorStage::E => "e(i)",
        }
    }
}

#[derive(Debug, Default)]
pub struct KeyCounters {
    keys: [AtomicU64; 6],
    received: [AtomicU64; 4],
    passed: [AtomicU64; 4],
    /// Filled only when the run was asked to profile (`Observe::profile`).
    pub profile: Arc<Profile>,
}

pub type SharedCounters = Arc<KeyCounters>;

impl KeyCounters {
    pub fn bump(&self, stage: Stage) {
        self.keys[stage as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, stage: Stage) -> u64 {
        self.keys[stage as usize].load(Ordering::Relaxed)
    }

    /// (stage, keys re-evaluated so far) for every stage.
    pub fn all(&self) -> Vec<(Stage, u64)> {
        Stage::ALL.iter().map(|s| (*s, self.get(*s))).collect()
    }

    /// One changed unquantised sum arrived at a vector stage.
    pub fn received(&self, stage: VectorStage, n: u64) {
        self.received[stage as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// One changed stored vector left a vector stage.
    pub fn passed(&self, stage: VectorStage, n: u64) {
        self.passed[stage as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// (stage, updates received, updates passed on) for every vector stage.
    pub fn vectors(&self) -> Vec<(VectorStage, u64, u64)> {
        VectorStage::ALL
            .iter()
            .map(|s| {
                let i = *s as usize;
                (*s, self.received[i].load(Ordering::Relaxed), self.passed[i].load(Ordering::Relaxed))
            })
            .collect()
    }

    /// Every counter, in a fixed order (for sending to another process).
    pub fn snapshot(&self) -> Vec<u64> {
        self.keys
            .iter()
            .chain(&self.received)
            .chain(&self.passed)
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Adds a `snapshot` of another process's counters to these.
    pub fn absorb(&self, values: &[u64]) {
        for (c, v) in self.keys.iter().chain(&self.received).chain(&self.passed).zip(values) {
            c.fetch_add(*v, Ordering::Relaxed);
        }
    }
}
