//! Where the time and the memory go: timely's schedule events and differential's
//! arrangement events, gathered per operator and summed per model stage. A stage is a
//! timely region of `pipeline::build`, so the profile speaks the model's words.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use serde::Serialize;
use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};

/// One operator of one worker.
#[derive(Clone, Debug, Default)]
struct Operator {
    name: String,
    addr: Vec<usize>,
    busy: Duration,
    /// Updates in its arrangement now, and at most (arranging operators only).
    records: i64,
    peak_records: i64,
}

/// Per stage (or per operator kind within a stage): time and arranged updates.
#[derive(Clone, Debug, Serialize)]
pub struct Share {
    pub name: String,
    pub busy_seconds: f64,
    pub busy_share: f64,
    /// Sum over its arrangements of each one's peak number of updates (the dataflow is
    /// dropped at the end, so the peak is what tells the memory).
    pub peak_arranged_records: i64,
}

/// The profile of a run, filled by the workers' loggers.
#[derive(Debug, Default)]
pub struct Profile {
    operators: Mutex<HashMap<(usize, usize), Operator>>,
}

pub type SharedProfile = Arc<Profile>;

impl Profile {
    /// Installs the loggers on `worker`; must run before the dataflow is built.
    pub fn install(self: &Arc<Self>, worker: &mut timely::worker::Worker) {
        let index = worker.index();
        let Some(mut registry) = worker.log_register() else { return };
        let (timely, arrange) = (self.clone(), self.clone());
        let mut started: HashMap<usize, Duration> = HashMap::new();
        registry.insert::<TimelyEventBuilder, _>("timely", move |_, data| {
            if let Some(data) = data {
                timely.timely_events(index, data, &mut started);
            }
        });
        registry.insert::<DifferentialEventBuilder, _>("differential/arrange", move |_, data| {
            if let Some(data) = data {
                arrange.arrange_events(index, data);
            }
        });
    }

    fn timely_events(
        &self,
        worker: usize,
        events: &[(Duration, TimelyEvent)],
        started: &mut HashMap<usize, Duration>,
    ) {
        let Ok(mut operators) = self.operators.lock() else { return };
        for (at, event) in events {
            match event {
                TimelyEvent::Operates(op) => {
                    let entry = operators.entry((worker, op.id)).or_default();
                    entry.name.clone_from(&op.name);
                    entry.addr.clone_from(&op.addr);
                }
                TimelyEvent::Schedule(s) => match s.start_stop {
                    StartStop::Start => {
                        started.insert(s.id, *at);
                    }
                    StartStop::Stop => {
                        if let Some(start) = started.remove(&s.id) {
                            operators.entry((worker, s.id)).or_default().busy += at.saturating_sub(start);
                        }
                    }
                },
                _ => {}
            }
        }
    }

    fn arrange_events(&self, worker: usize, events: &[(Duration, DifferentialEvent)]) {
        let Ok(mut operators) = self.operators.lock() else { return };
        for (_, event) in events {
            let (id, change) = match event {
                DifferentialEvent::Batch(b) => (b.operator, b.length as i64),
                DifferentialEvent::Merge(m) => match m.complete {
                    Some(done) => (m.operator, done as i64 - m.length1 as i64 - m.length2 as i64),
                    None => continue,
                },
                DifferentialEvent::Drop(d) => (d.operator, -(d.length as i64)),
                _ => continue,
            };
            let entry = operators.entry((worker, id)).or_default();
            entry.records += change;
            entry.peak_records = entry.peak_records.max(entry.records);
        }
    }

    /// Per stage, in order of time spent: the stage of an operator is the region it sits
    /// in (the second element of its address); operators outside every region are
    /// "runtime". Regions themselves are not counted (their time is their children's).
    pub fn stages(&self) -> Vec<Share> {
        self.grouped(|op, names| names.get(&op.addr[..2.min(op.addr.len())]).cloned())
    }

    /// Per stage and operator name ("§4 similarity / Join"), in order of time spent.
    pub fn operators(&self) -> Vec<Share> {
        self.grouped(|op, names| {
            names.get(&op.addr[..2.min(op.addr.len())]).map(|stage| format!("{stage} / {}", op.name))
        })
    }

    fn grouped(
        &self,
        group: impl Fn(&Operator, &HashMap<Vec<usize>, String>) -> Option<String>,
    ) -> Vec<Share> {
        let Ok(operators) = self.operators.lock() else { return Vec::new() };
        let regions: Vec<&Vec<usize>> = operators
            .values()
            .filter(|op| op.addr.len() == 2 && is_region(op, &operators))
            .map(|op| &op.addr)
            .collect();
        let names: HashMap<Vec<usize>, String> = operators
            .values()
            .filter(|op| regions.contains(&&op.addr))
            .map(|op| (op.addr.clone(), op.name.clone()))
            .collect();
        let leaves = operators.values().filter(|op| !op.addr.is_empty() && !is_region(op, &operators));
        let mut sums: BTreeMap<String, Share> = BTreeMap::new();
        let mut total = Duration::ZERO;
        for op in leaves {
            let name = group(op, &names).unwrap_or_else(|| "runtime".to_string());
            let share = sums.entry(name.clone()).or_insert(Share {
                name,
                busy_seconds: 0.0,
                busy_share: 0.0,
                peak_arranged_records: 0,
            });
            share.busy_seconds += op.busy.as_secs_f64();
            share.peak_arranged_records += op.peak_records;
            total += op.busy;
        }
        let mut shares: Vec<Share> = sums.into_values().collect();
        for share in &mut shares {
            share.busy_share = share.busy_seconds / total.as_secs_f64().max(1e-9);
        }
        shares.sort_by(|a, b| b.busy_seconds.total_cmp(&a.busy_seconds));
        shares
    }
}

/// An operator is a region (a subgraph) when another operator of its worker lies inside it.
fn is_region(op: &Operator, all: &HashMap<(usize, usize), Operator>) -> bool {
    all.values().any(|other| other.addr.len() > op.addr.len() && other.addr.starts_with(&op.addr))
}
