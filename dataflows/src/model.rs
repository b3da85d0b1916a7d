//! The model's vocabulary (MODEL.md §1–§2): keys, actions, events, settings.
//! Shared by the dataflow stages and the oracle; no I/O here.

use serde::{Deserialize, Serialize};

/// Every id is keyed as a u64 (MODEL.md §1).
pub type Key = u64;
/// Dataflow time: event time in ms, rounded up to a tick.
pub type Time = u64;
/// Integer weights and scores (edge weights, similarity steps, scores).
pub type Weight = i64;

pub const MS_PER_DAY: u64 = 86_400_000;

/// The behaviour kinds of MODEL.md §1. `Rating` holds the rating in half stars (1..=10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    View,
    Favorite,
    Cart,
    RemoveCart,
    Purchase,
    Dismiss,
    Rating(u8),
}

impl Action {
    /// The canonical name used in the native formats and in output.
    pub fn name(&self) -> String {
        match self {
            Action::View => "view".into(),
            Action::Favorite => "favorite".into(),
            Action::Cart => "cart".into(),
            Action::RemoveCart => "remove_cart".into(),
            Action::Purchase => "purchase".into(),
            Action::Dismiss => "dismiss".into(),
            Action::Rating(h) => format!("rating:{}", *h as f64 / 2.0),
        }
    }

    /// Parses a canonical action name (`rating:4.5` for ratings).
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "view" => Action::View,
            "favorite" => Action::Favorite,
            "cart" => Action::Cart,
            "remove_cart" => Action::RemoveCart,
            "purchase" => Action::Purchase,
            "dismiss" => Action::Dismiss,
            _ => {
                let r: f64 = s.strip_prefix("rating:")?.parse().ok()?;
                let halves = r * 2.0;
                if !(1.0..=10.0).contains(&halves) || halves.fract() != 0.0 {
                    return None;
                }
                Action::Rating(halves as u8)
            }
        })
    }
}

/// One cleaned event, its time already rounded up to its tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Event {
    pub tick: Time,
    pub user: Key,
    pub item: Key,
    pub action: Action,
    /// Category key, when the source carries one (used by §6 in a later stage).
    pub category: Option<Key>,
}

/// An event together with the dataflow time at which it entered: `max(tick, frontier)`
/// where the frontier is the one in force when it was read (MODEL.md §1, late events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Arrival {
    pub event: Event,
    pub at: Time,
}

/// Weights `a(action)` of MODEL.md §1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionWeights {
    pub view: Weight,
    pub favorite: Weight,
    pub cart: Weight,
    pub remove_cart: Weight,
    pub purchase: Weight,
}

impl Default for ActionWeights {
    fn default() -> Self {
        ActionWeights {
            view: 1,
            favorite: 3,
            cart: 4,
            remove_cart: -4,
            purchase: 8,
        }
    }
}

impl ActionWeights {
    /// `a(action)`; a dismiss carries no interest (it only excludes, §7).
    pub fn of(&self, action: Action) -> Weight {
        match action {
            Action::View => self.view,
            Action::Favorite => self.favorite,
            Action::Cart => self.cart,
            Action::RemoveCart => self.remove_cart,
            Action::Purchase => self.purchase,
            Action::Dismiss => 0,
            // 2r-5 for r >= 3, else 0; r = halves/2, so 2r-5 = halves-5, floored.
            Action::Rating(halves) if halves >= 6 => (halves as Weight - 5).max(0),
            Action::Rating(_) => 0,
        }
    }
}

/// Every default of MODEL.md, as a setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Tick length in ms (§1).
    pub tick_ms: u64,
    /// Allowed lateness in ms (§1).
    pub lateness_ms: u64,
    /// Reject events more than this far ahead of the wall clock (§1).
    pub max_clock_skew_ms: u64,
    pub weights: ActionWeights,
    /// Decay steps `(age_ms, multiplier)`, ages ascending from 0 (§2).
    pub decay_steps: Vec<(u64, Weight)>,
    /// |H(u)| (§3).
    pub history_len: usize,
    /// Similarity steps per unit: 1000 means steps of 1/1000 (§4).
    pub sim_scale: u64,
    /// |S(i)| (§4).
    pub similar_len: usize,
    /// Blend weights in hundredths (§7). Parts B and G are not built yet.
    pub blend_a: Weight,
    pub blend_b: Weight,
    pub blend_g: Weight,
    /// |R(u)| (§7).
    pub top_k: usize,
    /// Purchases exclude an item for this long (§7).
    pub purchase_exclusion_ms: u64,
    /// Dismissals exclude an item for this long (§7).
    pub dismiss_exclusion_ms: u64,
    /// Exclude every item the user has an edge to (§7, on request).
    pub exclude_seen: bool,
    /// Trending counts events of this window, undecayed (§7).
    pub trending_window_ms: u64,
    /// How deep the shared trending list is kept; a user's fallback is the first
    /// `top_k` of it they did not purchase (see ARCHITECTURE.md, "choices").
    pub trending_depth: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tick_ms: 1000,
            lateness_ms: 0,
            max_clock_skew_ms: MS_PER_DAY,
            weights: ActionWeights::default(),
            decay_steps: vec![
                (0, 4),
                (MS_PER_DAY, 2),
                (7 * MS_PER_DAY, 1),
                (30 * MS_PER_DAY, 0),
            ],
            history_len: 100,
            sim_scale: 1000,
            similar_len: 20,
            blend_a: 100,
            blend_b: 50,
            blend_g: 25,
            top_k: 10,
            purchase_exclusion_ms: 90 * MS_PER_DAY,
            dismiss_exclusion_ms: 7 * MS_PER_DAY,
            exclude_seen: false,
            trending_window_ms: MS_PER_DAY,
            trending_depth: 20,
        }
    }
}

impl Settings {
    /// Rounds an event time up to its tick: `ceil(ts / tick) * tick`.
    pub fn tick_of(&self, ts_ms: u64) -> Time {
        ts_ms.div_ceil(self.tick_ms) * self.tick_ms
    }

    /// Decay multiplier for an event of age `age_ms` (§2); 0 past the last step.
    pub fn decay(&self, age_ms: u64) -> Weight {
        self.decay_steps
            .iter()
            .rev()
            .find(|(age, _)| *age <= age_ms)
            .map_or(0, |(_, m)| *m)
    }

    /// Checks the settings a user can get wrong; returns the reason.
    pub fn validate(&self) -> Result<(), String> {
        if self.tick_ms == 0 {
            return Err("tick_ms must be positive".into());
        }
        let steps = &self.decay_steps;
        if steps.first().map(|s| s.0) != Some(0) {
            return Err("decay_steps must start at age 0".into());
        }
        if steps.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("decay_steps ages must be strictly ascending".into());
        }
        if steps.iter().any(|s| s.1 < 0) {
            return Err("decay_steps multipliers must be >= 0".into());
        }
        if self.sim_scale == 0 || self.top_k == 0 || self.history_len == 0 || self.similar_len == 0
        {
            return Err("sim_scale, top_k, history_len and similar_len must be positive".into());
        }
        if self.trending_depth < self.top_k {
            return Err("trending_depth must be >= top_k".into());
        }
        Ok(())
    }
}

/// The key of an id (MODEL.md §1): a canonical decimal below 2^63 is its own number,
/// anything else is 2^63 + (FNV-1a 64 of its bytes mod 2^63).
pub fn key_of(id: &str) -> Key {
    const HIGH: u64 = 1 << 63;
    let canonical = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    if canonical {
        if let Ok(n) = id.parse::<u64>() {
            if n < HIGH {
                return n;
            }
        }
    }
    HIGH + (fnv1a64(id.as_bytes()) % HIGH)
}

/// True when `key` is a plain number that prints as itself.
pub fn is_numeric_key(key: Key) -> bool {
    key < (1 << 63)
}

pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
