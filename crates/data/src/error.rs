//! The one error type of the data crate: every variant names the file (and the line, where there is one).

use std::path::PathBuf;

/// Everything that can go wrong while reading, preparing or fetching a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file holds no data rows")]
    Empty { path: PathBuf },
    #[error("{path}, line {line}: expected {expected} fields, found {found}")]
    Ragged {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{path}, line {line}, column `{column}`: `{value}` is not a number")]
    NotNumeric {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{path}, line {line}, column `{column}`: `{value}` is not finite (NaN or infinity)")]
    NotFinite {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{path}, line {line}: label `{value}` is neither 0 nor 1")]
    BadLabel {
        path: PathBuf,
        line: u64,
        value: String,
    },
    #[error("{path}: no label column named `{name}` (the header has: {available})")]
    MissingLabelColumn {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error("{path}: the compressed stream ends early (truncated or corrupt .gz) after line {line}: {message}")]
    Truncated {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// A binary or structured file whose layout is not what its format requires.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: sha256 is {actual}, expected {expected}; the file was not kept")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },
    #[error("data set `{name}` not found; looked in: {searched}")]
    NotFound { name: String, searched: String },
    #[error("unknown data set `{0}` (known: kddcup99)")]
    UnknownDataset(String),
    #[error("{0}")]
    InvalidArgument(String),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, DataError>;
