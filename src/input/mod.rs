//! The input side (MODEL.md §1): reads event files, cleans and keys records, drops
//! duplicates, and assigns each accepted event its arrival time under the frontier.
//!
//! Records are handled strictly in file order (files in the order given), or, when the
//! input is sorted first, in time order with file order breaking ties; either way the
//! accounting, the late count and every `Arrival::at` are the same however the caller
//! sizes its batches.

mod catalogue;
mod clean;
mod dictionary;
mod error;
mod formats;
mod presets;
mod progress;
mod reader;
mod rejects;
mod schema;
mod state;
mod time;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataflows::model::{Arrival, Event, Key, Settings, Time};

pub use dictionary::Dictionary;
pub use error::InputError;
pub use presets::SchemaOptions;
pub use reader::Origin;
pub use schema::{ActionTable, ColumnMap, Format, SortMode, TsUnit};

use catalogue::Catalogue;
use clean::Reason;
use progress::Progress;
use reader::{is_blank, Next, Source};
use rejects::RejectSink;
use state::{Outcome, State};

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
    /// Accepted events of a sorted input left unprocessed by a stop signal (they are
    /// part of `accepted`).
    pub unprocessed: u64,
    /// Distinct user / item keys among accepted events.
    pub users: u64,
    pub items: u64,
}

impl Accounting {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// How the input is read, beyond the model's settings.
#[derive(Clone, Debug, Default)]
pub struct InputOptions {
    pub schema: SchemaOptions,
    /// `--items`: item -> category catalogue.
    pub items: Option<PathBuf>,
    pub sort: SortMode,
    /// Keep reading files that grow.
    pub follow: bool,
    /// Draw a progress bar (else log lines every 5 s).
    pub progress_bar: bool,
    /// Set by SIGINT/SIGTERM: stop reading.
    pub stop: Option<Arc<AtomicBool>>,
}

/// Lines between progress reports and stop checks.
const REPORT_EVERY: u64 = 4096;

/// Reads, cleans and keys events from a list of inputs; see the module docs.
pub struct Ingest {
    sources: Vec<Source>,
    current: usize,
    state: State,
    rejects: Option<RejectSink>,
    finished: bool,
    follow: bool,
    sort: bool,
    /// The sorted events, once the pre-pass read them all.
    sorted: Option<std::vec::IntoIter<Event>>,
    stop: Option<Arc<AtomicBool>>,
    progress: Progress,
    lines: u64,
}

impl Ingest {
    /// `open_with` for files of one format and the default options.
    pub fn open(
        settings: &Settings,
        format: Format,
        files: &[PathBuf],
        rejects: Option<Box<dyn std::io::Write + Send>>,
    ) -> anyhow::Result<Ingest> {
        let mut opts = InputOptions::default();
        opts.schema.format = Some(format);
        let origins = files.iter().cloned().map(Origin::Path).collect();
        Ingest::open_with(settings, &opts, origins, rejects)
    }

    /// Opens every input up front (a missing/unreadable file or a bad header is an
    /// error naming it, before anything is read) and picks or checks each one's format.
    /// `rejects`: where each rejected record goes as a JSON line
    /// {"file","line","offset","reason","raw"} (raw cut to 512 bytes, lossy UTF-8).
    pub fn open_with(
        settings: &Settings,
        opts: &InputOptions,
        origins: Vec<Origin>,
        rejects: Option<Box<dyn std::io::Write + Send>>,
    ) -> anyhow::Result<Ingest> {
        if settings.tick_ms == 0 {
            return Err(InputError::Settings("tick_ms must be positive").into());
        }
        if opts.follow && opts.sort == SortMode::Yes {
            return Err(InputError::SortFollow.into());
        }
        let mut sources = Vec::new();
        for origin in origins {
            sources.extend(Source::open(origin, &opts.schema, opts.follow)?);
        }
        let catalogue = opts.items.as_deref().map(Catalogue::load).transpose()?;
        let sort = match opts.sort {
            SortMode::Yes => true,
            SortMode::No => false,
            SortMode::Auto => !opts.follow && sources.iter().any(|s| s.schema.unsorted),
        };
        let total = sources.iter().map(|s| s.size).sum::<Option<u64>>();
        tracing::debug!(files = sources.len(), sort, "input opened");
        Ok(Ingest {
            sources,
            current: 0,
            state: State::new(settings, catalogue),
            rejects: rejects.map(RejectSink::new),
            finished: false,
            follow: opts.follow,
            sort,
            sorted: None,
            stop: opts.stop.clone(),
            progress: Progress::new(opts.progress_bar, total),
            lines: 0,
        })
    }

    /// Reads up to `max` accepted events (fewer at end of input; `max` 0 counts as 1);
    /// Ok(None) once all input is exhausted and nothing was read. When following, an
    /// empty batch means every followed file is waiting for more.
    pub fn next_batch(&mut self, max: usize) -> anyhow::Result<Option<Vec<Arrival>>> {
        let max = max.max(1);
        self.state.refresh_clock();
        if self.sort && self.sorted.is_none() {
            self.prepass()?;
        }
        let out = match &mut self.sorted {
            Some(events) => events.take(max).map(|e| self.state.arrive(e)).collect(),
            None => self.read(max)?,
        };
        if let Some(sink) = &mut self.rejects {
            sink.flush().map_err(InputError::Rejects)?;
        }
        let exhausted = match &self.sorted {
            Some(events) => events.len() == 0,
            None => self.sources.iter().all(Source::ended),
        };
        if exhausted && !self.finished {
            self.finished = true;
            self.progress.finish();
            self.log_end();
        }
        Ok(if exhausted && out.is_empty() { None } else { Some(out) })
    }

    /// Reads the sources in order (round robin when following) up to `max` events, or
    /// until a whole round found no line.
    fn read(&mut self, max: usize) -> Result<Vec<Arrival>, InputError> {
        let mut out = Vec::new();
        let mut idle = 0;
        while out.len() < max && idle < self.sources.len() {
            if self.current >= self.sources.len() {
                if !self.follow {
                    break;
                }
                self.current = 0;
            }
            let Some(src) = self.sources.get_mut(self.current) else {
                break;
            };
            let Next::Line(line, offset) = src.next_line()? else {
                idle += 1;
                self.current += 1;
                continue;
            };
            idle = 0;
            if let Some(event) = take_line(&mut self.state, &mut self.rejects, src, line, offset)? {
                out.push(self.state.arrive(event));
            }
            self.count_line();
        }
        Ok(out)
    }

    /// Reads everything (until a stop signal), then sorts by tick, stably.
    fn prepass(&mut self) -> Result<(), InputError> {
        let mut events = Vec::new();
        for i in 0..self.sources.len() {
            while !self.stopped() {
                let Some(src) = self.sources.get_mut(i) else {
                    break;
                };
                let Next::Line(line, offset) = src.next_line()? else {
                    break;
                };
                events.extend(take_line(&mut self.state, &mut self.rejects, src, line, offset)?);
                self.count_line();
            }
        }
        tracing::debug!(events = events.len(), "sorting the input by time");
        events.sort_by_key(|e| e.tick);
        self.sorted = Some(events.into_iter());
        Ok(())
    }

    fn count_line(&mut self) {
        self.lines += 1;
        if self.lines.is_multiple_of(REPORT_EVERY) {
            let bytes = self.sources.iter().map(Source::raw_bytes).sum();
            self.progress.report(bytes, &self.state.acc, self.state.newest());
        }
    }

    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
    }

    fn log_end(&self) {
        let acc = &self.state.acc;
        tracing::info!(
            read = acc.read,
            accepted = acc.accepted,
            rejected = acc.rejected_total(),
            duplicates = acc.duplicates,
            late = acc.late,
            "input exhausted"
        );
        if acc.late > 0 && !self.sort {
            tracing::warn!(
                late = acc.late,
                "events behind the frontier entered late (the input is not in time order); \
                 --sort yes sorts files first, --set lateness_ms=N allows for it"
            );
        }
    }

    /// Where rejected records go from now on (see `open_with`).
    pub fn set_rejects(&mut self, out: Box<dyn std::io::Write + Send>) {
        self.rejects = Some(RejectSink::new(out));
    }

    /// On a stop signal: the sorted events left of the newest tick handed out, so that
    /// it completes. The sorted events after it are not processed; they stay counted as
    /// accepted and are counted in `unprocessed`. Unsorted input: nothing (reading stops).
    pub fn finish_tick(&mut self) -> Vec<Arrival> {
        let Some(events) = &mut self.sorted else {
            return Vec::new();
        };
        let newest = self.state.newest();
        let (now, rest): (Vec<Event>, Vec<Event>) = events.partition(|e| newest.is_some_and(|n| e.tick <= n));
        self.state.acc.unprocessed += rest.len() as u64;
        now.into_iter().map(|e| self.state.arrive(e)).collect()
    }

    /// Whether the input is sorted before it is streamed.
    pub fn sorted(&self) -> bool {
        self.sort
    }

    /// Current input frontier: (max tick seen so far) - lateness_ms, saturating (or
    /// later, see `advance_quiet`); 0 before any event.
    pub fn frontier(&self) -> Time {
        self.state.frontier()
    }

    /// While following quiet input: moves the frontier on by the wall time elapsed
    /// since the newest event was read (whole ticks); returns it.
    pub fn advance_quiet(&mut self) -> Time {
        self.state.advance_quiet()
    }

    /// The newest tick read so far.
    pub fn newest(&self) -> Option<Time> {
        self.state.newest()
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

/// Reads `data` as one input with `opts` to its end and returns the accounting (an
/// error: the input could not be opened, e.g. a bad header); for the fuzz target and
/// the property tests.
#[doc(hidden)]
pub fn read_all(settings: &Settings, opts: &InputOptions, data: Vec<u8>) -> anyhow::Result<Accounting> {
    let origin = Origin::Reader("data".into(), Box::new(std::io::Cursor::new(data)));
    let mut ingest = Ingest::open_with(settings, opts, vec![origin], None)?;
    while ingest.next_batch(1024)?.is_some() {}
    Ok(ingest.accounting().clone())
}

/// Cleans the line `src` holds; a rejected one goes to the rejects file.
fn take_line(
    state: &mut State,
    rejects: &mut Option<RejectSink>,
    src: &Source,
    line: u64,
    offset: u64,
) -> Result<Option<Event>, InputError> {
    let bytes = src.line();
    if is_blank(bytes) {
        return Ok(None);
    }
    let outcome =
        if src.overlong() { state.reject(Reason::TooLong) } else { state.handle(&src.schema, bytes) };
    match outcome {
        Outcome::Accepted(event) => Ok(Some(event)),
        Outcome::Duplicate => Ok(None),
        Outcome::Rejected(reason) => {
            if let Some(sink) = rejects {
                sink.write(&src.name, line, offset, reason.as_str(), bytes).map_err(InputError::Rejects)?;
            }
            Ok(None)
        }
    }
}
