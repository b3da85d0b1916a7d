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
        ActionWeights { view: 1, favorite: 3, cart: 4, remove_cart: -4, purchase: 8 }
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
    /// Blend weights in hundredths (§7).
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
    /// Items with more users than this are hubs, skipped by the user-user graph (§5).
    pub hub_degree: usize,
    /// |N(u)| (§5).
    pub neighbours_len: usize,
    /// Embedding dimension (§6).
    pub dim: usize,
    /// Embedding units per 1.0: vectors are integers in units of 1/`embedding_unit` (§6).
    pub embedding_unit: i64,
    /// One base-vector entry in `sparsity` is non-zero (§6).
    pub sparsity: u64,
    /// Seed of the base vectors (§6).
    pub seed: u64,
    /// Weight 1/lambda of the neighbours' mean in h(u) (§6).
    pub lambda: i64,
    /// Part G reads h(u) and e(i) as of the last multiple of this many ms (0: every
    /// tick). Bounds the fan-out of vector changes into the candidates; see
    /// ARCHITECTURE.md, "choices".
    pub embedding_refresh_ms: u64,
    /// The refreshed baseline (EVALUATION.md 9): candidate scores as of the last
    /// multiple of this many ms (0: continuous), built from the ticks before that
    /// boundary; exclusions and the trending fallback stay live. See ARCHITECTURE.md.
    pub model_refresh_ms: u64,
    /// Exclude every item the user has any accepted event with, of any action and age
    /// (EVALUATION.md 6 on MovieLens: every item rated before), also from the fallback.
    pub exclude_interacted: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tick_ms: 1000,
            lateness_ms: 0,
            max_clock_skew_ms: MS_PER_DAY,
            weights: ActionWeights::default(),
            decay_steps: vec![(0, 4), (MS_PER_DAY, 2), (7 * MS_PER_DAY, 1), (30 * MS_PER_DAY, 0)],
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
            hub_degree: 500,
            neighbours_len: 20,
            dim: 32,
            embedding_unit: 4096,
            sparsity: 8,
            seed: 0,
            lambda: 2,
            embedding_refresh_ms: 0,
            model_refresh_ms: 0,
            exclude_interacted: false,
        }
    }
}

impl Settings {
    /// Rounds an event time up to its tick: `ceil(ts / tick) * tick`.
    pub fn tick_of(&self, ts_ms: u64) -> Time {
        ts_ms.div_ceil(self.tick_ms) * self.tick_ms
    }

    /// Decay multiplier for an event of age `age_ms` (§2); 0 past the last step.
    /// The time whose h(u) and e(i) part G reads at `t`: the last refresh boundary.
    pub fn embedding_time(&self, t: Time) -> Time {
        match self.embedding_refresh_ms {
            0 => t,
            p => t / p * p,
        }
    }

    /// The time whose candidate scores R(u) is ranked from at `t` (`model_refresh_ms`):
    /// with a period R, the boundary `B = floor((t + tick) / R) * R` is the last one at or
    /// before the next tick, and the scores are those of the ticks before it, i.e. as of
    /// `B - tick`. So a target at a boundary tick B, scored at `B - tick`, sees the
    /// ticks before B, not its own. `None`: before the first boundary, no model yet.
    pub fn model_time(&self, t: Time) -> Option<Time> {
        match self.model_refresh_ms {
            0 => Some(t),
            r => {
                let boundary = (t + self.tick_ms) / r * r;
                boundary.checked_sub(self.tick_ms).filter(|_| boundary > 0)
            }
        }
    }

    /// Where an update of the scores at time `s` becomes visible under
    /// `model_refresh_ms` (the inverse of `model_time`): `(floor(s / R) + 1) * R - tick`.
    pub fn model_visible_at(&self, s: Time) -> Time {
        match self.model_refresh_ms {
            0 => s,
            r => ((s / r + 1) * r - self.tick_ms).max(s),
        }
    }

    pub fn decay(&self, age_ms: u64) -> Weight {
        self.decay_steps.iter().rev().find(|(age, _)| *age <= age_ms).map_or(0, |(_, m)| *m)
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
        if self.sim_scale == 0 || self.top_k == 0 || self.history_len == 0 || self.similar_len == 0 {
            return Err("sim_scale, top_k, history_len and similar_len must be positive".into());
        }
        if self.dim == 0 || self.embedding_unit <= 0 || self.sparsity == 0 || self.lambda <= 0 {
            return Err("dim, embedding_unit, sparsity and lambda must be positive".into());
        }
        if self.neighbours_len == 0 {
            return Err("neighbours_len must be positive".into());
        }
        // Bounds that keep every intermediate sum well inside i64/i128.
        const BIG: i64 = 1_000_000;
        let w = &self.weights;
        if [w.view, w.favorite, w.cart, w.remove_cart, w.purchase].iter().any(|x| x.abs() > BIG) {
            return Err(format!("action weights must be within ±{BIG}"));
        }
        if steps.iter().any(|s| s.1 > BIG) || self.lambda > BIG || self.sim_scale > BIG as u64 {
            return Err(format!("decay multipliers, lambda and sim_scale must be at most {BIG}"));
        }
        if self.embedding_unit > 1 << 20 || self.dim > 1024 {
            return Err("embedding_unit must be at most 1048576 and dim at most 1024".into());
        }
        if [self.blend_a, self.blend_b, self.blend_g].iter().any(|x| x.abs() > BIG) {
            return Err(format!("blend weights must be within ±{BIG}"));
        }
        if !self.model_refresh_ms.is_multiple_of(self.tick_ms) {
            return Err("model_refresh_ms must be a multiple of tick_ms".into());
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
    let canonical =
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && (id == "0" || !id.starts_with('0'));
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

/// Salt of item base vectors and of category base vectors (§6).
pub const ITEM_SALT: u64 = 0;
pub const CATEGORY_SALT: u64 = 1;

/// A base vector (§6): entries in {-unit, 0, +unit}, about one in `sparsity` non-zero,
/// a pure function of the key, the salt and the seed.
pub fn base_vector(key: Key, salt: u64, settings: &Settings) -> Vec<i64> {
    let root = splitmix64(splitmix64(settings.seed ^ salt.wrapping_mul(0xA24B_AED4_963E_E407)) ^ key);
    (0..settings.dim as u64)
        .map(|k| {
            let r = splitmix64(root ^ k);
            match (r.is_multiple_of(settings.sparsity), (r >> 32) & 1 == 1) {
                (false, _) => 0,
                (true, true) => settings.embedding_unit,
                (true, false) => -settings.embedding_unit,
            }
        })
        .collect()
}

/// x(i): the item's base vector plus its category's base vector when known (§6).
pub fn item_base_vector(item: Key, category: Option<Key>, settings: &Settings) -> Vec<i64> {
    let mut x = base_vector(item, ITEM_SALT, settings);
    if let Some(c) = category {
        for (a, b) in x.iter_mut().zip(base_vector(c, CATEGORY_SALT, settings)) {
            *a += b;
        }
    }
    x
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash step.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Integer floor square root of a non-negative i128.
pub fn isqrt_i128(n: i128) -> i128 {
    if n < 2 {
        return n.max(0);
    }
    let mut x = (n as f64).sqrt() as i128;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

/// `normalise(v)` (§6): each component `v_k * unit div isqrt(sum v^2)`, rounding down;
/// a zero vector stays zero.
pub fn normalise(v: &[i64], unit: i64) -> Vec<i64> {
    let norm = isqrt_i128(v.iter().map(|x| (*x as i128) * (*x as i128)).sum());
    if norm == 0 {
        return vec![0; v.len()];
    }
    v.iter().map(|x| ((*x as i128) * unit as i128).div_euclid(norm) as i64).collect()
}

/// `cos(h, e)` in steps (§6): `(scale * (h . e)) div unit^2`, rounding down.
pub fn cosine_steps<T: Copy + Into<i128>>(h: &[T], e: &[T], unit: i64, scale: u64) -> Weight {
    let dot: i128 = h.iter().zip(e).map(|(a, b)| (*a).into() * (*b).into()).sum();
    (dot * scale as i128).div_euclid((unit as i128) * (unit as i128)) as Weight
}
