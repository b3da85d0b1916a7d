//! Scoring targets from the change stream (EVALUATION.md 4–8): before a delivered tick's
//! changes are applied, every pending target of that tick or earlier is looked up in
//! the state a consumer holds, i.e. the state built from the ticks before it.

use std::collections::{HashMap, HashSet};

use dataflows::changes::State;
use dataflows::exec::SinkEvent;
use dataflows::model::{Action, Arrival, Key, Settings, Time};

/// The cut-off of every metric: @10.
pub const AT: usize = 10;

/// One target (EVALUATION.md 3, 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub tick: Time,
    pub user: Key,
    pub item: Key,
    pub warm: bool,
}

/// What one list served for a target gave: the rank of the item (1-based), if in the
/// first `AT`.
pub type Rank = Option<u8>;

/// The ranks of one engine run's lists, and of the trending-only lists of the same pass.
#[derive(Clone, Debug, Default)]
pub struct Scored {
    pub engine: Vec<Rank>,
    pub trending: Vec<Rank>,
    /// Distinct items in any list served for a target.
    pub engine_items: HashSet<Key>,
    pub trending_items: HashSet<Key>,
    /// Warm targets by what was served: a personal list, the trending fallback of a
    /// user with an edge, trending to a user with no edge (all weights 0 or decayed).
    pub personal: u64,
    pub fallback: u64,
    pub no_edge: u64,
    /// Targets whose user had an earlier event with the same item ("repeats"), and how
    /// many of them the engine's list hit.
    pub repeats: u64,
    pub repeat_hits: u64,
}

/// Consumes the change stream of one run and scores `targets` (in tick order) as it goes.
pub struct Scorer<'a> {
    settings: &'a Settings,
    targets: &'a [Target],
    /// Every accepted event in time order: the exclusions of the trending lists.
    arrivals: &'a [Arrival],
    next: usize,
    absorbed: usize,
    state: State,
    purchases: HashMap<(Key, Key), Time>,
    interacted: HashSet<(Key, Key)>,
    /// Every (user, item) with an earlier event (for the repeat counts).
    seen: HashSet<(Key, Key)>,
    pub scored: Scored,
}

impl<'a> Scorer<'a> {
    pub fn new(settings: &'a Settings, targets: &'a [Target], arrivals: &'a [Arrival]) -> Self {
        Scorer {
            settings,
            targets,
            arrivals,
            next: 0,
            absorbed: 0,
            state: State::default(),
            purchases: HashMap::new(),
            interacted: HashSet::new(),
            seen: HashSet::new(),
            scored: Scored::default(),
        }
    }

    /// A sink event: a tick's changes (score the targets up to it, then apply), or a
    /// frontier (score the targets up to it: no tick between changed the state).
    pub fn on(&mut self, event: SinkEvent<'_>) {
        match event {
            SinkEvent::Tick(changes) => {
                self.score_until(changes.tick);
                self.state.apply(changes);
            }
            SinkEvent::Frontier(frontier) => self.score_until(frontier),
        }
    }

    /// Scores the targets not scored yet (call at the end: the state is final).
    pub fn finish(mut self) -> Scored {
        self.score_until(Time::MAX);
        self.scored
    }

    fn score_until(&mut self, tick: Time) {
        while let Some(target) = self.targets.get(self.next).copied() {
            if target.tick > tick {
                break;
            }
            self.absorb_before(target.tick);
            self.score(target);
            self.next += 1;
        }
    }

    /// The events before `tick`, for the trending lists' exclusions.
    fn absorb_before(&mut self, tick: Time) {
        while let Some(a) = self.arrivals.get(self.absorbed) {
            if a.event.tick >= tick {
                break;
            }
            let pair = (a.event.user, a.event.item);
            if a.event.action == Action::Purchase {
                self.purchases.insert(pair, a.event.tick);
            }
            if self.settings.exclude_interacted {
                self.interacted.insert(pair);
            }
            self.seen.insert(pair);
            self.absorbed += 1;
        }
    }

    fn score(&mut self, target: Target) {
        let trending = self.trending_for(target);
        let engine = if target.warm {
            match self.state.recs_of(target.user, self.settings) {
                Some(list) => {
                    if list.fallback {
                        self.scored.fallback += 1;
                    } else {
                        self.scored.personal += 1;
                    }
                    list.items.into_iter().map(|(i, _)| i).collect()
                }
                None => {
                    self.scored.no_edge += 1;
                    trending.clone()
                }
            }
        } else {
            trending.clone()
        };
        let hit = rank(&engine, target.item);
        if self.seen.contains(&(target.user, target.item)) {
            self.scored.repeats += 1;
            self.scored.repeat_hits += u64::from(hit.is_some());
        }
        self.scored.engine.push(hit);
        self.scored.trending.push(rank(&trending, target.item));
        self.scored.engine_items.extend(engine);
        self.scored.trending_items.extend(trending);
    }

    /// The trending list as of the ticks before the target, less what §7 excludes for
    /// this user (purchases in the window; with `exclude_interacted`, every item).
    fn trending_for(&self, target: Target) -> Vec<Key> {
        let now = target.tick.saturating_sub(self.settings.tick_ms);
        let window = self.settings.purchase_exclusion_ms;
        let excluded = |item: Key| {
            let pair = (target.user, item);
            let bought = self.purchases.get(&pair).is_some_and(|&p| p <= now && now - p < window);
            bought || self.interacted.contains(&pair)
        };
        self.state
            .trending
            .iter()
            .map(|(_, i)| *i)
            .filter(|i| !target.warm || !excluded(*i))
            .take(self.settings.top_k)
            .collect()
    }
}

fn rank(list: &[Key], item: Key) -> Rank {
    list.iter().take(AT).position(|i| *i == item).map(|p| p as u8 + 1)
}

/// HR, MRR and NDCG @10 over some targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub targets: u64,
    pub hits: u64,
    pub hr: f64,
    pub mrr: f64,
    pub ndcg: f64,
}

impl Metrics {
    pub fn of<'r>(ranks: impl IntoIterator<Item = &'r Rank>) -> Metrics {
        let (mut n, mut hits, mut rr, mut dcg) = (0u64, 0u64, 0.0, 0.0);
        for r in ranks {
            n += 1;
            if let Some(r) = r {
                hits += 1;
                rr += 1.0 / *r as f64;
                dcg += 1.0 / (*r as f64 + 1.0).log2();
            }
        }
        let mean = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
        Metrics { targets: n, hits, hr: mean(hits as f64), mrr: mean(rr), ndcg: mean(dcg) }
    }
}
