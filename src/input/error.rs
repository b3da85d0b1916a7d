//! The errors that end a run before or while reading.

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
    #[error("{file}: header is `{found}`, expected {expected}")]
    Header { file: String, found: String, expected: String },
    #[error("{file}: looks like a header line; taobao files have none")]
    LooksLikeHeader { file: String },
    #[error("{file}: cannot tell the format from the first line `{first}`; name it with --format, or map the columns with --map")]
    Unrecognised { file: String, first: String },
    #[error("{file}: the header has no column `{column}` named by --map; it is `{header}`")]
    MissingColumn { file: String, column: String, header: String },
    #[error("{file}: {what}")]
    Option { file: String, what: String },
    #[error("{file}: empty; --follow needs its first line to tell the format and header")]
    EmptyFollow { file: String },
    #[error("{file}: item catalogue: {what}")]
    Catalogue { file: String, what: String },
    #[error("--sort yes cannot be used with --follow (a followed file never ends)")]
    SortFollow,
    #[error("writing rejected records: {0}")]
    Rejects(std::io::Error),
    #[error("invalid settings: {0}")]
    Settings(&'static str),
}
