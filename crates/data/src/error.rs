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
    #[error("{path}, line {line}, column `{column}`: `{}` is not a number", quoted(.value))]
    NotNumeric {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{path}, line {line}, column `{column}`: `{}` is not finite (NaN or infinity)", quoted(.value))]
    NotFinite {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{path}, line {line}: label `{}` is neither 0 nor 1", quoted(.value))]
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
    #[error("{path}, line {line}: column `{}` appears twice in the header (columns {first} and {second})", quoted(.name))]
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
    #[error("{path}: no label column named `{}` (the header has: {})", quoted(.name), quoted_list(.available))]
    MissingLabelColumn {
        path: PathBuf,
        name: String,
        available: String,
    },
    /// A KDDCUP99 file whose first line does not have the fields its names file lists.
    #[error("{path}, line {line}: {found} fields, where {names} lists {listed} columns and the label ({expected} fields); if {names} is cut short, restore it (KDDCUP99's lists 41 columns); if {path} is not a KDDCUP99 file (every `kddcup*` and `.gz` file is read as one), give it as .csv, .mat or .npz")]
    KddcupShape {
        path: PathBuf,
        names: PathBuf,
        line: u64,
        listed: usize,
        expected: usize,
        found: usize,
    },
    #[error("{path}: the compressed stream is corrupt ({message}); the garbled text it gave at line {line} is not data: download the file again")]
    Corrupt {
        path: PathBuf,
        line: u64,
        message: String,
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
    #[error("unknown data set `{0}` (known: kddcup99, odds, and adbench:NAME for ADBench's Classical sets, e.g. adbench:cardio; `dagmm data list` lists them all)")]
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

/// The most of a cell an error message quotes.
const QUOTED_CHARS: usize = 60;

/// A cell's text as an error message quotes it: control characters (a NUL byte, a tab) escaped
/// as `\0`, `\t`, and no more than 60 characters, the rest counted (`… (5000000 characters in
/// all)`), so a message stays one readable line whatever the file holds.
pub fn quoted(value: &str) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for c in value.chars() {
        if shown == QUOTED_CHARS {
            out.push_str(&format!("… ({} characters in all)", value.chars().count()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        shown += 1;
    }
    out
}

/// A list of names as a message quotes it: each name [`quoted`], and no more than 2,000
/// characters in all.
fn quoted_list(list: &str) -> String {
    let parts: Vec<String> = list.split(", ").map(quoted).collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if out.len() + p.len() > 2000 {
            out.push_str(&format!(", … ({} more)", parts.len() - i));
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(p);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_cell_is_short_and_shows_its_control_characters() {
        assert_eq!(quoted("1.5"), "1.5");
        assert_eq!(quoted("a\0b\tc"), "a\\u{0}b\\tc");
        let huge = "x".repeat(5_000_000);
        let q = quoted(&huge);
        assert_eq!(
            q,
            format!("{}… (5000000 characters in all)", "x".repeat(60))
        );
        let e = DataError::NotNumeric {
            path: "d.csv".into(),
            line: 3,
            column: "b".into(),
            value: huge,
        };
        assert!(e.to_string().len() < 150, "{e}");
    }
}
