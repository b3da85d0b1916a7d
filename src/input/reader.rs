//! One input read line by line as bytes: a file (plain, gzip or zstd, told by its
//! first bytes), stdin, or any reader; its position; its header; and, when followed,
//! growth, truncation and rotation.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;

use super::presets::{resolve, SchemaOptions};
use super::schema::Schema;
use super::InputError;

/// The longest line read as a record; longer ones are rejected (`too_long`).
pub(crate) const MAX_LINE: usize = 1 << 20;
/// At most this much of an overlong line is skipped as one record.
const MAX_SKIP: u64 = 1 << 28;

const BOM: &[u8] = b"\xEF\xBB\xBF";
const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BUF: usize = 1 << 16;

/// Where a source's bytes come from.
pub enum Origin {
    /// A file; `-` is stdin.
    Path(PathBuf),
    /// Any reader (tests, fuzzing), named for messages.
    Reader(String, Box<dyn Read + Send>),
}

/// What `next_line` found.
pub(crate) enum Next {
    /// A complete line (1-based number, byte offset), in `line()`.
    Line(u64, u64),
    /// The end of the input.
    Eof,
    /// A followed file has no complete line yet.
    Waiting,
}

/// Counts the bytes read from the underlying file (before decompression).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A followed stdin, read on a thread so that waiting for it never blocks: `read` gives
/// `WouldBlock` while nothing new is there and 0 once stdin closed. Until its first
/// newline it blocks (the first line sets the format).
struct LiveStdin {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    first_line: bool,
}

impl LiveStdin {
    fn spawn() -> LiveStdin {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(64);
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0; BUF];
            while let Ok(n) = stdin.read(&mut buf) {
                let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                    break;
                };
                if tx.send(chunk.to_vec()).is_err() {
                    break;
                }
            }
        });
        LiveStdin { rx, chunk: Vec::new(), pos: 0, first_line: false }
    }
}

impl Read for LiveStdin {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.chunk.len() {
            let next = if self.first_line {
                self.rx.try_recv().map_err(|e| e == TryRecvError::Empty)
            } else {
                self.rx.recv().map_err(|_| false)
            };
            match next {
                Ok(chunk) => {
                    self.first_line |= chunk.contains(&b'\n');
                    (self.chunk, self.pos) = (chunk, 0);
                }
                Err(true) => return Err(std::io::ErrorKind::WouldBlock.into()),
                Err(false) => return Ok(0),
            }
        }
        let rest = self.chunk.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// A followed file: its path and identity (device, inode) when opened.
struct Follow {
    path: PathBuf,
    id: (u64, u64),
}

pub(crate) struct Source {
    /// The path as given, for messages and the rejects file.
    pub name: String,
    reader: Box<dyn BufRead + Send>,
    /// The current line, terminator (LF or CRLF) and a leading BOM removed.
    buf: Vec<u8>,
    /// `buf` holds the start of a line whose newline has not been written yet.
    partial: bool,
    /// The line in `buf` was cut at `MAX_LINE` bytes; its rest was skipped.
    overlong: bool,
    skipped_bytes: u64,
    /// Physical lines consumed so far, and the byte offset of the next one.
    lines: u64,
    offset: u64,
    /// `buf` holds a line already read at open but not yet handed out.
    pending: Option<(u64, u64)>,
    /// After a followed file was replaced, its header is skipped again.
    skip_header: bool,
    pub schema: Schema,
    follow: Option<Follow>,
    ended: bool,
    /// Raw bytes read, and the file's size at open (files only).
    raw: Arc<AtomicU64>,
    pub size: Option<u64>,
}

pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A buffered reader over `inner`, decompressing gzip or zstd when its first bytes say so;
/// the second value names the compression, if any.
pub(crate) fn decoded(
    inner: impl Read + Send + 'static,
) -> std::io::Result<(Box<dyn BufRead + Send>, Option<&'static str>)> {
    let mut buffered = BufReader::with_capacity(BUF, inner);
    let head = buffered.fill_buf()?;
    Ok(if head.starts_with(GZIP) {
        let gz = flate2::bufread::MultiGzDecoder::new(buffered);
        (Box::new(BufReader::with_capacity(BUF, gz)), Some("gzip"))
    } else if head.starts_with(ZSTD) {
        let zst = zstd::stream::read::Decoder::with_buffer(buffered)?;
        (Box::new(BufReader::with_capacity(BUF, zst)), Some("zstd"))
    } else {
        (Box::new(buffered), None)
    })
}

/// An opened input: the decoded reader, its compression, and the file (not stdin).
pub(crate) struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub codec: Option<&'static str>,
    pub file: Option<File>,
}

/// Opens a file (not a directory) or stdin as a decoded reader.
pub(crate) fn open_path(path: &Path, raw: &Arc<AtomicU64>) -> Result<Opened, InputError> {
    let name = path.display().to_string();
    let open_err = |err| InputError::Open { file: name.clone(), err };
    if path == Path::new("-") {
        let counted = Counting { inner: std::io::stdin(), count: raw.clone() };
        let (reader, codec) = decoded(counted).map_err(open_err)?;
        return Ok(Opened { reader, codec, file: None });
    }
    let file = File::open(path).map_err(open_err)?;
    if file.metadata().map_err(open_err)?.is_dir() {
        return Err(InputError::NotAFile { file: name });
    }
    let keep = file.try_clone().map_err(open_err)?;
    let counted = Counting { inner: file, count: raw.clone() };
    let (reader, codec) = decoded(counted).map_err(open_err)?;
    Ok(Opened { reader, codec, file: Some(keep) })
}

impl Source {
    /// Opens `origin` and reads its first non-blank line, which picks or checks the
    /// schema; a header is consumed, a record kept for `next_line`. `Ok(None)`: the
    /// input is empty (a warning is logged).
    pub(crate) fn open(
        origin: Origin,
        opts: &SchemaOptions,
        follow: bool,
    ) -> Result<Option<Source>, InputError> {
        let raw = Arc::new(AtomicU64::new(0));
        let live = follow && matches!(&origin, Origin::Path(p) if p == Path::new("-"));
        let (name, reader, codec, file, path) = match origin {
            Origin::Path(path) if live => {
                let counted = Counting { inner: LiveStdin::spawn(), count: raw.clone() };
                let reader = Box::new(BufReader::with_capacity(BUF, counted));
                (path.display().to_string(), reader as Box<dyn BufRead + Send>, None, None, None)
            }
            Origin::Path(path) => {
                let o = open_path(&path, &raw)?;
                (path.display().to_string(), o.reader, o.codec, o.file, Some(path))
            }
            Origin::Reader(name, r) => {
                let counted = Counting { inner: r, count: raw.clone() };
                let (reader, codec) =
                    decoded(counted).map_err(|err| InputError::Open { file: name.clone(), err })?;
                (name, reader, codec, None, None)
            }
        };
        let meta = file.as_ref().and_then(|f| f.metadata().ok());
        let follow = match (follow, codec, &meta, path) {
            (true, None, Some(m), Some(path)) => Some(Follow { path, id: (m.dev(), m.ino()) }),
            (true, _, _, _) if live => None,
            (true, _, _, _) => {
                tracing::warn!(file = %name, "not a plain file: read to its end, not followed");
                None
            }
            _ => None,
        };
        if let Some(codec) = codec {
            tracing::debug!(file = %name, codec, "decompressing");
        }
        let src = Source {
            name,
            reader,
            buf: Vec::new(),
            partial: false,
            overlong: false,
            skipped_bytes: 0,
            lines: 0,
            offset: 0,
            pending: None,
            skip_header: false,
            schema: Schema::placeholder(),
            follow,
            ended: false,
            raw,
            size: meta.map(|m| m.len()),
        };
        src.read_schema(opts)
    }

    fn read_schema(mut self, opts: &SchemaOptions) -> Result<Option<Source>, InputError> {
        let pos = loop {
            match self.next_line()? {
                Next::Line(line, offset) if !is_blank(&self.buf) => break (line, offset),
                Next::Line(..) => continue,
                Next::Eof => {
                    tracing::warn!(file = %self.name, "empty input file");
                    return Ok(None);
                }
                Next::Waiting => return Err(InputError::EmptyFollow { file: self.name }),
            }
        };
        let first = String::from_utf8_lossy(&self.buf).into_owned();
        self.schema = resolve(opts, &self.name, &first)?;
        if self.schema.header_text.is_none() {
            self.pending = Some(pos);
        }
        tracing::debug!(file = %self.name, format = self.schema.name, "input opened");
        Ok(Some(self))
    }

    /// Reads the next physical line into `line()`. A last line without newline is a
    /// line, except in a followed file, where it waits for its newline.
    pub(crate) fn next_line(&mut self) -> Result<Next, InputError> {
        if let Some((line, offset)) = self.pending.take() {
            return Ok(Next::Line(line, offset));
        }
        loop {
            if self.ended {
                return Ok(Next::Eof);
            }
            if !self.partial {
                self.buf.clear();
                self.overlong = false;
            }
            // Bounded: a line without an end (e.g. /dev/zero) must not take all memory.
            let room = (MAX_LINE + 1).saturating_sub(self.buf.len()) as u64;
            match (&mut self.reader).take(room).read_until(b'\n', &mut self.buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.partial = !self.buf.is_empty();
                    return Ok(Next::Waiting);
                }
                Err(err) => {
                    return Err(InputError::Read { file: self.name.clone(), line: self.lines + 1, err })
                }
                Ok(_) => {}
            }
            if self.buf.len() > MAX_LINE && self.buf.last() != Some(&b'\n') {
                self.skip_rest_of_line()?;
            }
            let complete = self.buf.last() == Some(&b'\n') || self.overlong;
            if !complete && self.follow.is_some() {
                // Nothing new, or an unfinished line: wait, unless the file was
                // replaced (then an unfinished line of the old one is handed out as it is).
                if !self.replaced() {
                    self.partial = !self.buf.is_empty();
                    return Ok(Next::Waiting);
                }
                let unfinished = (!self.buf.is_empty()).then(|| self.finish_line());
                self.reopen()?;
                match unfinished {
                    Some((line, offset)) => return Ok(Next::Line(line, offset)),
                    None => continue,
                }
            }
            if self.buf.is_empty() {
                self.ended = true;
                return Ok(Next::Eof);
            }
            let pos = self.finish_line();
            if std::mem::take(&mut self.skip_header)
                && self.schema.header_text.as_deref().map(str::as_bytes) == Some(&self.buf[..])
            {
                continue;
            }
            return Ok(Next::Line(pos.0, pos.1));
        }
    }

    /// Cuts an overlong line to `MAX_LINE` bytes and reads past the rest of it, so
    /// that the next line starts where it should; the skipped bytes count in offsets.
    fn skip_rest_of_line(&mut self) -> Result<(), InputError> {
        self.overlong = true;
        self.buf.truncate(MAX_LINE);
        let mut skipped = 1; // the byte past the limit, already read
        loop {
            let (done, used) = {
                let chunk = match self.reader.fill_buf() {
                    Ok(chunk) => chunk,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(err) => {
                        return Err(InputError::Read { file: self.name.clone(), line: self.lines + 1, err })
                    }
                };
                match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => (true, i + 1),
                    None => (chunk.is_empty(), chunk.len()),
                }
            };
            self.reader.consume(used);
            skipped += used as u64;
            // A line without end (a device, say) is cut into records of MAX_SKIP bytes,
            // so the caller still sees lines and a stop signal.
            if done || skipped >= MAX_SKIP {
                break;
            }
        }
        self.skipped_bytes = skipped;
        Ok(())
    }

    /// True when the current line was longer than `MAX_LINE` bytes.
    pub(crate) fn overlong(&self) -> bool {
        self.overlong
    }

    /// Counts the line in `buf` and strips its terminator (and a BOM on line 1).
    fn finish_line(&mut self) -> (u64, u64) {
        self.partial = false;
        let pos = (self.lines + 1, self.offset);
        self.lines += 1;
        self.offset += self.buf.len() as u64 + std::mem::take(&mut self.skipped_bytes);
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if pos.0 == 1 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        pos
    }

    /// A followed file at its end: whether its path now names another file (rotation)
    /// or the file shrank (truncation).
    fn replaced(&self) -> bool {
        let Some(follow) = &self.follow else {
            return false;
        };
        let Ok(meta) = std::fs::metadata(&follow.path) else {
            return false;
        };
        let rotated = (meta.dev(), meta.ino()) != follow.id;
        let truncated = !rotated && meta.len() < self.raw.load(Ordering::Relaxed);
        if rotated || truncated {
            let what = if rotated { "rotated" } else { "truncated" };
            tracing::warn!(file = %self.name, "{what}: reading it again from its start");
        }
        rotated || truncated
    }

    /// Reopens a replaced followed file from its start; its header is skipped again.
    fn reopen(&mut self) -> Result<(), InputError> {
        let Some(follow) = self.follow.take() else {
            return Ok(());
        };
        self.raw.store(0, Ordering::Relaxed);
        let Opened { reader, file, .. } = open_path(&follow.path, &self.raw)?;
        let id = file.and_then(|f| f.metadata().ok()).map_or((0, 0), |m| (m.dev(), m.ino()));
        self.reader = reader;
        self.follow = Some(Follow { path: follow.path, id });
        self.lines = 0;
        self.offset = 0;
        self.skip_header = self.schema.header_text.is_some();
        Ok(())
    }

    pub(crate) fn line(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Raw (compressed) bytes read so far.
    pub(crate) fn raw_bytes(&self) -> u64 {
        self.raw.load(Ordering::Relaxed)
    }
}
