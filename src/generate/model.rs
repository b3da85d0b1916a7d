//! The generator's parameters (fitted to the Taobao files, see docs/generator.md),
//! the catalogue (categories and their items) and the time profile.

use super::rng::Rng;

/// Behaviour names in Taobao's order of the fitted shares.
pub const ACTIONS: [&str; 4] = ["pv", "fav", "cart", "buy"];

/// The shape, fitted by `interestflow generate --fit` on the user-prefix file.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Mean events per user (real: 103.5 over the 9 days).
    pub events_per_user: f64,
    /// Events per user at quantiles (min, p10, p25, p50, p75, p90, p99, max): the
    /// real quantile function, interpolated in log space, is each user's activity.
    /// (A lognormal fits the middle but its top tail is too heavy: p99 564 vs 431.)
    pub activity: [(f64, f64); 8],
    /// Share of each action, in `ACTIONS` order.
    pub action_mix: [f64; 4],
    /// P(the event's item is one seen earlier in the session), per action.
    pub repeat: [f64; 4],
    /// P(a fresh item in a session is from the previous event's category).
    pub same_category: f64,
    /// Session length L = ceil(exp(N(mu, sigma))), fitted to P(L=1) and mean L.
    pub session_mu: f64,
    pub session_sigma: f64,
    /// Mean session length (real: 5.99), to spread the remaining sessions.
    pub session_mean: f64,
    /// A gap over this many seconds starts a new session.
    pub session_gap_s: u64,
    /// ln(gap within a session, s) ~ N(mu, sigma), clamped to [1, session_gap_s].
    pub gap_mu: f64,
    pub gap_sigma: f64,
    /// Zipf exponents: category popularity, item popularity within a category.
    pub category_zipf: f64,
    pub item_zipf: f64,
    /// Session starts per hour of the day, Beijing time (UTC+8); sessions then run on,
    /// so the events' cycle comes out as the real one.
    pub hours: [f64; 24],
    /// Session length factor by the Beijing hour it starts in: events / session starts
    /// per hour (evening sessions are longer).
    pub hour_length: [f64; 24],
    /// Relative activity per day from the start, cycled past the last.
    pub days: Vec<f64>,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            events_per_user: 103.5,
            activity: [
                (0.0, 3.0),
                (0.10, 19.0),
                (0.25, 39.0),
                (0.50, 78.0),
                (0.75, 137.0),
                (0.90, 226.0),
                (0.99, 431.0),
                (1.0, 539.0),
            ],
            action_mix: [0.8980, 0.0279, 0.0533, 0.0208],
            repeat: [0.131, 0.047, 0.110, 0.50],
            same_category: 0.475,
            session_mu: 0.75,
            session_sigma: 1.45,
            session_mean: 5.99,
            session_gap_s: 1800,
            gap_mu: 4.01,
            gap_sigma: 1.38,
            category_zipf: 1.05,
            item_zipf: 0.7,
            hours: [
                0.60, 0.29, 0.14, 0.12, 0.09, 0.18, 0.42, 0.70, 0.98, 1.14, 1.31, 1.34, 1.30, 1.42, 1.25,
                1.40, 1.30, 1.30, 1.29, 1.52, 1.71, 1.71, 1.44, 1.06,
            ],
            hour_length: [
                1.42, 1.31, 1.36, 0.92, 1.44, 1.00, 0.90, 0.90, 0.80, 0.84, 0.82, 0.82, 0.75, 0.86, 0.96,
                0.95, 1.00, 0.85, 0.91, 1.03, 1.10, 1.24, 1.32, 1.38,
            ],
            days: vec![8697.0, 8786.0, 8281.0, 8855.0, 8772.0, 8614.0, 9413.0, 11479.0, 11355.0],
        }
    }
}

/// A draw from the activity quantile function, log-linear between the knots.
pub fn activity(rng: &mut Rng, knots: &[(f64, f64)]) -> f64 {
    let u = rng.unit();
    let k = knots.partition_point(|&(q, _)| q <= u).clamp(1, knots.len() - 1);
    let ((q0, v0), (q1, v1)) = (knots[k - 1], knots[k]);
    let t = if q1 > q0 { (u - q0) / (q1 - q0) } else { 0.0 };
    (v0.ln() + t * (v1.ln() - v0.ln())).exp()
}

/// Zipf-like ranks in [0, n) by the continuous inverse CDF of x^-s on [1, n+1);
/// the constants are computed once per distribution.
#[derive(Clone, Copy)]
pub struct Zipf {
    n: u64,
    /// 1 - s, or 0 for s = 1 (then x = (n+1)^u).
    e: f64,
    /// (n+1)^(1-s) - 1, or ln(n+1) for s = 1.
    span: f64,
}

impl Zipf {
    pub fn new(n: u64, s: f64) -> Self {
        let top = (n.max(1) + 1) as f64;
        let e = if (s - 1.0).abs() < 1e-9 { 0.0 } else { 1.0 - s };
        let span = if e == 0.0 { top.ln() } else { top.powf(e) - 1.0 };
        Zipf { n: n.max(1), e, span }
    }

    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.unit();
        let x = if self.e == 0.0 { (u * self.span).exp() } else { (1.0 + u * self.span).powf(1.0 / self.e) };
        (x as u64).saturating_sub(1).min(self.n - 1)
    }
}

/// Categories by popularity rank, each with a contiguous block of item indices whose
/// size follows the category's share: popular categories have many items.
pub struct Catalogue {
    offsets: Vec<u64>,
    pub items: u64,
    popularity: Zipf,
    /// Item popularity within each category.
    within: Vec<Zipf>,
}

impl Catalogue {
    pub fn new(categories: u64, items: u64, category_zipf: f64, item_zipf: f64) -> Self {
        let w: Vec<f64> = (1..=categories).map(|c| (c as f64).powf(-category_zipf)).collect();
        let total: f64 = w.iter().sum();
        let mut offsets = Vec::with_capacity(w.len() + 1);
        let mut within = Vec::with_capacity(w.len());
        let mut at = 0u64;
        for wc in &w {
            let size = ((items as f64 * wc / total).round() as u64).max(1);
            offsets.push(at);
            within.push(Zipf::new(size, item_zipf));
            at += size;
        }
        offsets.push(at);
        Catalogue { offsets, items: at, popularity: Zipf::new(categories, category_zipf), within }
    }

    /// A category by popularity.
    pub fn category(&self, rng: &mut Rng) -> u64 {
        self.popularity.sample(rng)
    }

    /// An item of `category` by popularity.
    pub fn item_in(&self, category: u64, rng: &mut Rng) -> u64 {
        self.offsets[category as usize] + self.within[category as usize].sample(rng)
    }

    pub fn categories(&self) -> u64 {
        self.offsets.len() as u64 - 1
    }

    /// The category holding item index `item`.
    pub fn category_of(&self, item: u64) -> u64 {
        (self.offsets.partition_point(|&o| o <= item) - 1) as u64
    }
}

/// Hour-by-hour activity over the span, mapping a position in [0, 1) of the
/// cumulative activity to seconds from the start: uniform positions become the
/// daily cycle.
pub struct TimeProfile {
    cumulative: Vec<f64>,
}

impl TimeProfile {
    pub fn new(shape: &Shape, days: u64) -> Self {
        let mut cumulative = vec![0.0];
        let mut at = 0.0;
        for h in 0..days * 24 {
            let day = shape.days[(h / 24) as usize % shape.days.len()];
            at += day * shape.hours[(h % 24) as usize];
            cumulative.push(at);
        }
        TimeProfile { cumulative }
    }

    pub fn seconds(&self, position: f64) -> u64 {
        let total = self.cumulative[self.cumulative.len() - 1];
        let target = position.clamp(0.0, 1.0) * total;
        let h = (self.cumulative.partition_point(|&c| c <= target) - 1).min(self.cumulative.len() - 2);
        let width = self.cumulative[h + 1] - self.cumulative[h];
        let frac = if width > 0.0 { (target - self.cumulative[h]) / width } else { 0.0 };
        h as u64 * 3600 + (frac.min(1.0) * 3599.0) as u64
    }
}
