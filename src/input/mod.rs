//! The input side (MODEL.md §1): reads event files, cleans and keys records, drops
//! duplicates, and assigns each accepted event its arrival time under the frontier.
//!
//! Records are handled strictly in file order (files in the order given), so the
//! accounting, the late count and every `Arrival::at` are the same however the caller
//! sizes its batches.

mod clean;
mod dictionary;
mod formats;
mod reader;
mod rejects;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use dataflows::model::{is_numeric_key, key_of, Action, Arrival, Event, Key, Settings, Time};

use clean::Reason;
pub use dictionary::Dictionary;
use reader::{is_blank, Source};
use rejects::RejectSink;

/// The input file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Taobao UserBehavior: no header, `user_id,item_id,category_id,behavior_type,timestamp`
    /// with the timestamp in Unix seconds and behaviour pv/fav/cart/buy.
    Taobao,
    /// Header `ts,user,item,action[,category,price,quantity,session]`, ts in ms, canonical
    /// action names.
    Native,
}

/// Record accounting; read == accepted + rejected_total() + duplicates always.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Accounting {
    /// Records seen (headers and blank lines are not records).
    pub read: u64,
    pub accepted: u64,
    /// Rejected records by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Exact repeats of accepted events, dropped.
    pub duplicates: u64,
    /// Accepted events whose tick was behind the frontier (entered at the frontier).
    pub late: u64,
    /// Distinct user / item keys among accepted events.
    pub users: u64,
    pub items: u64,
}

impl Accounting {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Errors that end a run. Each message is one line naming the file; the io error is
/// part of the message (not a `source`), so `{:#}` does not repeat it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("{file}: cannot open: {err}")]
    Open { file: String, err: std::io::Error },
    #[error("{file}: not a regular file")]
    NotAFile { file: String },
    #[error("{file}: read error at line {line}: {err}")]
    Read { file: String, line: u64, err: std::io::Error },
    #[error("{file}: header is `{found}`, expected `{expected}`")]
    Header { file: String, found: String, expected: &'static str },
    #[error("{file}: looks like a header line; taobao files have none")]
    LooksLikeHeader { file: String },
    #[error("writing rejected records: {0}")]
    Rejects(std::io::Error),
    #[error("invalid settings: {0}")]
    Settings(&'static str),
}

/// How often (in records) the wall clock for the `future` check is re-read.
const CLOCK_EVERY: u32 = 1024;

enum Outcome {
    Accepted(Arrival),
    Duplicate,
    Rejected(Reason),
}

/// The cleaning state shared by all files.
struct State {
    tick_ms: u64,
    lateness_ms: u64,
    max_clock_skew_ms: u64,
    settings: Settings,
    dictionary: Dictionary,
    seen: HashSet<(u64, Key, Key, Action)>,
    users: HashSet<Key>,
    items: HashSet<Key>,
    max_tick: Option<Time>,
    /// Events with ts above this are `future`; refreshed from the wall clock.
    limit_ms: u64,
    clock_countdown: u32,
    acc: Accounting,
}

/// Reads, cleans and keys events from a list of files; see the module docs.
pub struct Ingest {
    format: Format,
    sources: Vec<Source>,
    current: usize,
    state: State,
    rejects: Option<RejectSink>,
    finished: bool,
}

impl Ingest {
    /// Opens every file up front (a missing/unreadable file is an error naming it, before
    /// anything is read). Native headers are checked here, as is the first line of a
    /// taobao file.
    /// `rejects`: where each rejected record goes as a JSON line
    /// {"file","line","offset","reason","raw"} (raw cut to 512 bytes, lossy UTF-8).
    pub fn open(
        settings: &Settings,
        format: Format,
        files: &[PathBuf],
        rejects: Option<Box<dyn std::io::Write + Send>>,
    ) -> anyhow::Result<Ingest> {
        if settings.tick_ms == 0 {
            return Err(InputError::Settings("tick_ms must be positive").into());
        }
        let sources = files.iter().map(|path| Source::open(path, format)).collect::<Result<Vec<_>, _>>()?;
        tracing::debug!(files = sources.len(), ?format, "input opened");
        let mut state = State {
            tick_ms: settings.tick_ms,
            lateness_ms: settings.lateness_ms,
            max_clock_skew_ms: settings.max_clock_skew_ms,
            settings: settings.clone(),
            dictionary: Dictionary::default(),
            seen: HashSet::new(),
            users: HashSet::new(),
            items: HashSet::new(),
            max_tick: None,
            limit_ms: 0,
            clock_countdown: 0,
            acc: Accounting::default(),
        };
        state.refresh_clock();
        Ok(Ingest {
            format,
            sources,
            current: 0,
            state,
            rejects: rejects.map(RejectSink::new),
            finished: false,
        })
    }

    /// Reads up to `max` accepted events (fewer at end of input; `max` 0 counts as 1);
    /// Ok(None) once all files are exhausted and nothing was read.
    pub fn next_batch(&mut self, max: usize) -> anyhow::Result<Option<Vec<Arrival>>> {
        let max = max.max(1);
        let mut out = Vec::with_capacity(max.min(1 << 16));
        self.state.refresh_clock();
        while out.len() < max {
            let Some(src) = self.sources.get_mut(self.current) else {
                break;
            };
            let Some((line, offset)) = src.next_line()? else {
                self.current += 1;
                continue;
            };
            let bytes = src.line();
            if is_blank(bytes) {
                continue;
            }
            match self.state.handle(self.format, src.columns, bytes) {
                Outcome::Accepted(arrival) => out.push(arrival),
                Outcome::Duplicate => {}
                Outcome::Rejected(reason) => {
                    if let Some(sink) = &mut self.rejects {
                        sink.write(&src.name, line, offset, reason.as_str(), bytes)
                            .map_err(InputError::Rejects)?;
                    }
                }
            }
        }
        if let Some(sink) = &mut self.rejects {
            sink.flush().map_err(InputError::Rejects)?;
        }
        let exhausted = self.current >= self.sources.len();
        if exhausted && !self.finished {
            self.finished = true;
            let acc = &self.state.acc;
            tracing::info!(
                read = acc.read,
                accepted = acc.accepted,
                rejected = acc.rejected_total(),
                duplicates = acc.duplicates,
                late = acc.late,
                "input exhausted"
            );
        }
        Ok(if exhausted && out.is_empty() { None } else { Some(out) })
    }

    /// Current input frontier: (max tick seen so far) - lateness_ms, saturating; 0 before
    /// any event.
    pub fn frontier(&self) -> Time {
        self.state.frontier()
    }

    pub fn accounting(&self) -> &Accounting {
        &self.state.acc
    }

    /// The original id text of a key (for output): numeric keys print as their number,
    /// others via the dictionary.
    pub fn id_of(&self, key: Key) -> String {
        self.state.dictionary.id_of(key)
    }

    /// A cheap clone of the dictionary for another thread.
    pub fn dictionary(&self) -> Dictionary {
        self.state.dictionary.clone()
    }
}

impl State {
    fn refresh_clock(&mut self) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.limit_ms = now_ms.saturating_add(self.max_clock_skew_ms);
        self.clock_countdown = CLOCK_EVERY;
    }

    fn frontier(&self) -> Time {
        self.max_tick.map_or(0, |m| m.saturating_sub(self.lateness_ms))
    }

    fn handle(&mut self, format: Format, columns: usize, bytes: &[u8]) -> Outcome {
        self.clock_countdown = self.clock_countdown.saturating_sub(1);
        if self.clock_countdown == 0 {
            self.refresh_clock();
        }
        self.acc.read += 1;
        match self.clean(format, columns, bytes) {
            Ok(Some(arrival)) => {
                self.acc.accepted += 1;
                Outcome::Accepted(arrival)
            }
            Ok(None) => {
                self.acc.duplicates += 1;
                Outcome::Duplicate
            }
            Err(reason) => {
                match self.acc.rejected.get_mut(reason.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        self.acc.rejected.insert(reason.as_str().to_owned(), 1);
                    }
                }
                Outcome::Rejected(reason)
            }
        }
    }

    /// The accepted arrival, `None` for a duplicate, or why the record is rejected.
    fn clean(&mut self, format: Format, columns: usize, bytes: &[u8]) -> Result<Option<Arrival>, Reason> {
        let text = std::str::from_utf8(bytes).map_err(|_| Reason::NotUtf8)?;
        let raw = formats::parse(format, columns, text)?;
        if raw.ts_ms > self.limit_ms {
            return Err(Reason::Future);
        }
        // Only reachable when the skew limit is disabled: the tick would overflow.
        if raw.ts_ms.checked_add(self.tick_ms - 1).is_none() {
            return Err(Reason::Parse);
        }
        let mut new_ids: Vec<(Key, &str)> = Vec::new();
        let user = self.key(&raw.user, &mut new_ids)?;
        let item = self.key(&raw.item, &mut new_ids)?;
        let category = match raw.category.as_deref() {
            Some(c) => Some(self.key(c, &mut new_ids)?),
            None => None,
        };
        if !self.seen.insert((raw.ts_ms, user, item, raw.action)) {
            return Ok(None);
        }
        self.dictionary.insert_all(&new_ids);
        let tick = self.settings.tick_of(raw.ts_ms);
        let frontier = self.frontier();
        if tick < frontier {
            self.acc.late += 1;
        }
        self.max_tick = Some(self.max_tick.map_or(tick, |m| m.max(tick)));
        if self.users.insert(user) {
            self.acc.users += 1;
        }
        if self.items.insert(item) {
            self.acc.items += 1;
        }
        let event = Event { tick, user, item, action: raw.action, category };
        Ok(Some(Arrival { event, at: tick.max(frontier) }))
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
