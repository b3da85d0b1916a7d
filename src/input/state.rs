//! The cleaning state shared by all files: keys, duplicates, the catalogue, the
//! frontier, and the accounting (MODEL.md §1).

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dataflows::model::{is_numeric_key, key_of, Action, Arrival, Event, Key, Settings, Time};

use super::catalogue::Catalogue;
use super::clean::Reason;
use super::formats;
use super::schema::Schema;
use super::{Accounting, Dictionary};

/// How often (in records) the wall clock for the `future` check is re-read.
const CLOCK_EVERY: u32 = 1024;

pub(crate) enum Outcome {
    Accepted(Event),
    Duplicate,
    Rejected(Reason),
}

pub(crate) struct State {
    pub settings: Settings,
    pub dictionary: Dictionary,
    pub catalogue: Option<Catalogue>,
    seen: HashSet<(u64, Key, Key, Action)>,
    users: HashSet<Key>,
    items: HashSet<Key>,
    max_tick: Option<Time>,
    /// When `max_tick` last grew, for the quiet-input frontier.
    newest_at: Option<Instant>,
    /// The frontier the wall clock moved while the input was quiet (`--follow`).
    floor: Time,
    /// Events with ts above this are `future`; refreshed from the wall clock.
    limit_ms: u64,
    clock_countdown: u32,
    pub acc: Accounting,
}

impl State {
    pub(crate) fn new(settings: &Settings, catalogue: Option<Catalogue>) -> State {
        let mut state = State {
            settings: settings.clone(),
            dictionary: Dictionary::default(),
            catalogue,
            seen: HashSet::new(),
            users: HashSet::new(),
            items: HashSet::new(),
            max_tick: None,
            newest_at: None,
            floor: 0,
            limit_ms: 0,
            clock_countdown: 0,
            acc: Accounting::default(),
        };
        state.refresh_clock();
        state
    }

    pub(crate) fn refresh_clock(&mut self) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.limit_ms = now_ms.saturating_add(self.settings.max_clock_skew_ms);
        self.clock_countdown = CLOCK_EVERY;
    }

    /// (max tick seen) - lateness, saturating, or the quiet-input floor if later; 0
    /// before any event.
    pub(crate) fn frontier(&self) -> Time {
        let by_events = self.max_tick.map_or(0, |m| m.saturating_sub(self.settings.lateness_ms));
        by_events.max(self.floor)
    }

    pub(crate) fn newest(&self) -> Option<Time> {
        self.max_tick
    }

    /// While the input is quiet, the frontier moves on by the wall time elapsed since
    /// the newest event was read, in whole ticks. Returns the frontier.
    pub(crate) fn advance_quiet(&mut self) -> Time {
        if let (Some(max), Some(at)) = (self.max_tick, self.newest_at) {
            let base = max.saturating_sub(self.settings.lateness_ms);
            let elapsed = u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX);
            let tick = self.settings.tick_ms;
            let moved = base.saturating_add(elapsed) / tick * tick;
            self.floor = self.floor.max(moved);
        }
        self.frontier()
    }

    /// Counts a record rejected before it could be parsed (e.g. a line too long).
    pub(crate) fn reject(&mut self, reason: Reason) -> Outcome {
        self.acc.read += 1;
        *self.acc.rejected.entry(reason.as_str().to_owned()).or_default() += 1;
        Outcome::Rejected(reason)
    }

    /// Cleans one record and counts it.
    pub(crate) fn handle(&mut self, schema: &Schema, bytes: &[u8]) -> Outcome {
        self.clock_countdown = self.clock_countdown.saturating_sub(1);
        if self.clock_countdown == 0 {
            self.refresh_clock();
        }
        self.acc.read += 1;
        match self.admit(schema, bytes) {
            Ok(Some(event)) => {
                self.acc.accepted += 1;
                Outcome::Accepted(event)
            }
            Ok(None) => {
                self.acc.duplicates += 1;
                Outcome::Duplicate
            }
            Err(reason) => {
                *self.acc.rejected.entry(reason.as_str().to_owned()).or_default() += 1;
                Outcome::Rejected(reason)
            }
        }
    }

    /// The event, `None` for a duplicate, or why the record is rejected. Nothing here
    /// depends on the order of records but which of two colliding ids wins.
    fn admit(&mut self, schema: &Schema, bytes: &[u8]) -> Result<Option<Event>, Reason> {
        let text = std::str::from_utf8(bytes).map_err(|_| Reason::NotUtf8)?;
        let mut raw = formats::parse(schema, text)?;
        if raw.ts_ms > self.limit_ms {
            return Err(Reason::Future);
        }
        // Only reachable when the skew limit is disabled: the tick would overflow.
        if raw.ts_ms.checked_add(self.settings.tick_ms - 1).is_none() {
            return Err(Reason::Parse);
        }
        let mut new_ids: Vec<(Key, &str)> = Vec::new();
        let user = self.key(&raw.user, &mut new_ids)?;
        let item = self.key(&raw.item, &mut new_ids)?;
        if raw.category.is_none() {
            let known = self.catalogue.as_ref().and_then(|c| c.category(item));
            raw.category = known.map(|c| Cow::Owned(c.to_owned()));
        }
        let category = match raw.category.as_deref() {
            Some(c) => Some(self.key(c, &mut new_ids)?),
            None => None,
        };
        if !self.seen.insert((raw.ts_ms, user, item, raw.action)) {
            return Ok(None);
        }
        self.dictionary.insert_all(&new_ids);
        if self.users.insert(user) {
            self.acc.users += 1;
        }
        if self.items.insert(item) {
            self.acc.items += 1;
        }
        Ok(Some(Event { tick: self.settings.tick_of(raw.ts_ms), user, item, action: raw.action, category }))
    }

    /// The event's arrival time under the frontier of the events before it; counts it
    /// late if it is behind.
    pub(crate) fn arrive(&mut self, event: Event) -> Arrival {
        let frontier = self.frontier();
        if event.tick < frontier {
            self.acc.late += 1;
        }
        if self.max_tick.is_none_or(|m| event.tick > m) {
            self.max_tick = Some(event.tick);
            self.newest_at = Some(Instant::now());
        }
        Arrival { event, at: event.tick.max(frontier) }
    }

    /// The key of `id`, checking that a non-numeric key is not already another id's
    /// (in the dictionary or earlier in this record); new ids are collected in `new_ids`.
    fn key<'a>(&self, id: &'a str, new_ids: &mut Vec<(Key, &'a str)>) -> Result<Key, Reason> {
        let key = key_of(id);
        if is_numeric_key(key) {
            return Ok(key);
        }
        if let Some((_, other)) = new_ids.iter().find(|(k, _)| *k == key) {
            return if *other == id { Ok(key) } else { Err(Reason::KeyCollision) };
        }
        match self.dictionary.holds(key, id) {
            Some(true) => Ok(key),
            Some(false) => Err(Reason::KeyCollision),
            None => {
                new_ids.push((key, id));
                Ok(key)
            }
        }
    }
}
