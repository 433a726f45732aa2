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
    /// A CSV cell that is empty (or only blanks) where a number or a label is needed.
    #[error("{path}, line {line}, column `{column}`: the cell is empty")]
    EmptyCell {
        path: PathBuf,
        line: u64,
        column: String,
    },
    /// Bytes that are not UTF-8 text (e.g. a file saved as Latin-1 or Windows-1252).
    #[error("{path}, line {line}: not UTF-8 text ({detail}); save the file as UTF-8")]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    /// A header that names the same column twice.
    #[error("{path}, line {line}: column `{name}` appears twice in the header (columns {first} and {second})")]
    DuplicateColumn {
        path: PathBuf,
        line: u64,
        name: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the repeat.
        second: usize,
    },
    /// A data set with rows but no feature column, e.g. a CSV whose only column is the label.
    #[error("{path}: no feature columns{detail}")]
    NoFeatures { path: PathBuf, detail: String },
    /// The label column option given for a format whose labels come from elsewhere.
    #[error("{path}: {labels_from}; the label column option (`--label-column` / `data.label_column`) applies to CSV files only")]
    LabelColumnNotApplicable { path: PathBuf, labels_from: String },
    /// A column whose spread is too large for `f64` arithmetic (its range or variance
    /// overflows to infinity), found while fitting a scaler.
    #[error("column `{column}`: values range from {min} to {max}; their {quantity} overflows f64 — rescale this column")]
    ColumnOverflow {
        column: String,
        min: String,
        max: String,
        /// What overflows: `range` (min-max scaling) or `variance` (z-score).
        quantity: &'static str,
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

/// `value` as text that stays short for huge or tiny magnitudes (`1e308`, not 309 digits): how
/// every error message of the project quotes a value.
pub fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-4..1e15).contains(&magnitude) || !value.is_finite() {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

pub type Result<T> = std::result::Result<T, DataError>;
