//! One input file read line by line as bytes, with its position and header handling.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::formats::{looks_like_header, native_header, NATIVE_EXPECTED};
use super::{Format, InputError};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// How much of a bad header is quoted in the error.
const HEADER_QUOTE_MAX: usize = 200;

pub(crate) struct Source {
    /// The path as given, for messages and the rejects file.
    pub name: String,
    reader: BufReader<File>,
    /// The current line, terminator (LF or CRLF) and a leading BOM removed.
    buf: Vec<u8>,
    /// Physical lines consumed so far, and the byte offset of the next one.
    lines: u64,
    offset: u64,
    /// `buf` holds a line already read at open but not yet handed out.
    pending: Option<(u64, u64)>,
    /// Native: the column count the header declared.
    pub columns: usize,
}

pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

impl Source {
    /// Opens `path` and reads what precedes its first record: the native header, or
    /// (taobao) the first non-blank line, which is checked and kept for `next_line`.
    pub(crate) fn open(path: &Path, format: Format) -> Result<Source, InputError> {
        let name = path.display().to_string();
        let open_err = |err| InputError::Open { file: name.clone(), err };
        let file = File::open(path).map_err(open_err)?;
        if file.metadata().map_err(open_err)?.is_dir() {
            return Err(InputError::NotAFile { file: name });
        }
        let mut src = Source {
            name,
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::new(),
            lines: 0,
            offset: 0,
            pending: None,
            columns: 0,
        };
        match format {
            Format::Native => match src.next_line()? {
                None => tracing::warn!(file = %src.name, "empty input file (no header)"),
                Some(_) => {
                    let columns = std::str::from_utf8(&src.buf).ok().and_then(native_header);
                    match columns {
                        Some(n) => src.columns = n,
                        None => {
                            let cut = src.buf.get(..HEADER_QUOTE_MAX).unwrap_or(&src.buf);
                            return Err(InputError::Header {
                                file: src.name,
                                found: String::from_utf8_lossy(cut).into_owned(),
                                expected: NATIVE_EXPECTED,
                            });
                        }
                    }
                }
            },
            Format::Taobao => {
                while let Some(pos) = src.next_line()? {
                    if is_blank(&src.buf) {
                        continue;
                    }
                    if std::str::from_utf8(&src.buf).is_ok_and(looks_like_header) {
                        return Err(InputError::LooksLikeHeader { file: src.name });
                    }
                    src.pending = Some(pos);
                    break;
                }
            }
        }
        Ok(src)
    }

    /// Reads the next physical line into `line()`; returns its 1-based line number and
    /// byte offset, or `None` at end of file. A last line without newline is a line.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, u64)>, InputError> {
        if let Some(pos) = self.pending.take() {
            return Ok(Some(pos));
        }
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf).map_err(|err| InputError::Read {
            file: self.name.clone(),
            line: self.lines + 1,
            err,
        })?;
        if n == 0 {
            return Ok(None);
        }
        let pos = (self.lines + 1, self.offset);
        self.lines += 1;
        self.offset += n as u64;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if pos.0 == 1 && self.buf.starts_with(BOM) {
            self.buf.drain(..BOM.len());
        }
        Ok(Some(pos))
    }

    pub(crate) fn line(&self) -> &[u8] {
        &self.buf
    }
}
