//! One user's events: sessions whose starts are spread over the span by the time
//! profile, events within a session a short gap apart, items re-visited within it.

use super::model::{Catalogue, Shape, TimeProfile};
use super::rng::Rng;

const RECENT: usize = 8;

/// What the generator needs to draw a user's next event.
pub struct World<'a> {
    pub shape: &'a Shape,
    pub catalogue: &'a Catalogue,
    pub profile: &'a TimeProfile,
    pub start: u64,
    pub end: u64,
}

pub struct User {
    remaining: u64,
    /// Where the last session started, in [0, 1) of the span's cumulative activity.
    position: f64,
    /// Events left in the current session, the next one included.
    in_session: u64,
    pub next_ts: u64,
    recent: [u64; RECENT],
    recent_len: usize,
}

impl User {
    /// A user with `events` > 0 events, its first one scheduled.
    pub fn new(events: u64, world: &World, rng: &mut Rng) -> Self {
        let mut u = User {
            remaining: events,
            position: 0.0,
            in_session: 0,
            next_ts: 0,
            recent: [0; RECENT],
            recent_len: 0,
        };
        u.open_session(world, rng, None);
        u
    }

    /// Starts a session: its start is the earliest of the sessions still to come,
    /// placed as the minimum of that many uniform positions after the last one.
    fn open_session(&mut self, world: &World, rng: &mut Rng, last_ts: Option<u64>) {
        let shape = world.shape;
        let sessions_left = (self.remaining as f64 / shape.session_mean).ceil().max(1.0);
        self.position += (1.0 - self.position) * (1.0 - rng.open_unit().powf(1.0 / sessions_left));
        let at = world.start + world.profile.seconds(self.position);
        let factor = shape.hour_length[(((at + 8 * 3600) / 3600) % 24) as usize];
        let length = (rng.lognormal(shape.session_mu, shape.session_sigma) * factor).ceil().max(1.0) as u64;
        self.in_session = length.min(self.remaining);
        // After a session gap, so the sessions stay apart when read back.
        let at = last_ts.map_or(at, |t| at.max(t + shape.session_gap_s + 1));
        self.next_ts = self.within_span(at, last_ts, world);
        self.recent_len = 0;
    }

    /// Draws the scheduled event as (item index, action index) and schedules the next;
    /// false when the user has no events left.
    pub fn emit(&mut self, world: &World, rng: &mut Rng) -> (u64, usize, bool) {
        let action = pick_action(&world.shape.action_mix, rng);
        let item = self.pick_item(world, rng, action);
        let ts = self.next_ts;
        self.remaining -= 1;
        self.in_session -= 1;
        if self.remaining == 0 {
            return (item, action, false);
        }
        if self.in_session > 0 {
            let shape = world.shape;
            let gap = rng.lognormal(shape.gap_mu, shape.gap_sigma).round();
            let at = ts + gap.clamp(1.0, shape.session_gap_s as f64) as u64;
            self.next_ts = self.within_span(at, Some(ts), world);
        } else {
            self.open_session(world, rng, Some(ts));
        }
        (item, action, true)
    }

    /// Leaves a second for each remaining event before the end of the span, and keeps
    /// the user's times strictly increasing (so no event can repeat another exactly).
    fn within_span(&self, at: u64, last_ts: Option<u64>, world: &World) -> u64 {
        let latest = world.end.saturating_sub(self.remaining);
        let earliest = last_ts.map_or(world.start, |t| t + 1);
        at.min(latest).max(earliest)
    }

    fn pick_item(&mut self, world: &World, rng: &mut Rng, action: usize) -> u64 {
        let (shape, cat) = (world.shape, world.catalogue);
        if self.recent_len > 0 && rng.unit() < shape.repeat[action] {
            return self.recent[rng.below(self.recent_len as u64) as usize];
        }
        let category = match self.last() {
            Some(last) if rng.unit() < shape.same_category => cat.category_of(last),
            _ => cat.category(rng),
        };
        let item = cat.item_in(category, rng);
        self.remember(item);
        item
    }

    fn last(&self) -> Option<u64> {
        self.recent_len.checked_sub(1).map(|i| self.recent[i])
    }

    fn remember(&mut self, item: u64) {
        if self.recent_len == RECENT {
            self.recent.copy_within(1.., 0);
            self.recent_len -= 1;
        }
        self.recent[self.recent_len] = item;
        self.recent_len += 1;
    }
}

fn pick_action(mix: &[f64; 4], rng: &mut Rng) -> usize {
    let mut u = rng.unit() * mix.iter().sum::<f64>();
    for (i, share) in mix.iter().enumerate() {
        if u < *share {
            return i;
        }
        u -= share;
    }
    0
}
