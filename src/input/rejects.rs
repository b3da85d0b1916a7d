//! Where rejected records go: one JSON line each, with their source position.

use std::borrow::Cow;
use std::io::{BufWriter, Write};

use serde::Serialize;

/// How much of a rejected line is kept.
const RAW_MAX: usize = 512;

#[derive(Serialize)]
struct RejectLine<'a> {
    file: &'a str,
    line: u64,
    offset: u64,
    reason: &'a str,
    raw: Cow<'a, str>,
}

pub(crate) struct RejectSink {
    out: BufWriter<Box<dyn Write + Send>>,
    dirty: bool,
}

impl RejectSink {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> RejectSink {
        RejectSink {
            out: BufWriter::new(out),
            dirty: false,
        }
    }

    pub(crate) fn write(
        &mut self,
        file: &str,
        line: u64,
        offset: u64,
        reason: &str,
        raw: &[u8],
    ) -> std::io::Result<()> {
        let cut = raw.get(..RAW_MAX).unwrap_or(raw);
        let rec = RejectLine {
            file,
            line,
            offset,
            reason,
            raw: String::from_utf8_lossy(cut),
        };
        serde_json::to_writer(&mut self.out, &rec)?;
        self.out.write_all(b"\n")?;
        self.dirty = true;
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.out.flush()?;
            self.dirty = false;
        }
        Ok(())
    }
}

impl Drop for RejectSink {
    fn drop(&mut self) {
        // Best effort: `Ingest` flushes at the end of each batch and reports errors there.
        let _ = self.flush();
    }
}
