//! Reading progress: a bar on a terminal (bytes of the files, events/s, ETA), else a
//! log line every 5 s.

use std::time::{Duration, Instant};

use dataflows::model::Time;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Accounting;

const LOG_EVERY: Duration = Duration::from_secs(5);
const BAR_EVERY: Duration = Duration::from_millis(200);

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last: Instant,
}

impl Progress {
    /// `total`: the input files' size in bytes, when known (a bar needs it).
    pub(crate) fn new(bar: bool, total: Option<u64>) -> Progress {
        let bar = total.filter(|_| bar).map(|total| {
            let style = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style);
            bar
        });
        Progress { bar, started: Instant::now(), last: Instant::now() }
    }

    pub(crate) fn report(&mut self, bytes: u64, acc: &Accounting, newest: Option<Time>) {
        let every = if self.bar.is_some() { BAR_EVERY } else { LOG_EVERY };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let rate = acc.accepted as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{} events, {rate:.0}/s", acc.accepted));
            }
            None => tracing::info!(
                read = acc.read,
                accepted = acc.accepted,
                events_per_s = rate as u64,
                event_time_ms = newest.unwrap_or(0),
                "reading"
            ),
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
