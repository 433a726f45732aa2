//! CSV files with a header row: every column numeric, one optional 0/1 label column chosen by name.
//!
//! Reads only; quoting follows RFC 4180 (via the `csv` crate). Every error names the file and the
//! 1-based line of the file it comes from.

use std::path::Path;

use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::Dataset;

/// Reads `path`; `label_column` names the 0/1 label column (1 = anomaly), or `None` for no labels.
///
/// Accepted: a UTF-8 byte-order mark before the header (dropped), quoted cells, blanks around
/// cells, blank lines (skipped) and labels written as numbers equal to 0 or 1 (`1.0`).
///
/// Errors, each naming the file (and the line and column where there is one):
/// [`DataError::Empty`] for no header or no data row; [`DataError::DuplicateColumn`] for a
/// header that repeats a name; [`DataError::MissingLabelColumn`]; [`DataError::NoFeatures`]
/// when the label is the only column; [`DataError::Ragged`]; [`DataError::EmptyCell`];
/// [`DataError::NotNumeric`]; [`DataError::NotFinite`]; [`DataError::BadLabel`];
/// [`DataError::NotUtf8`] for bytes that are not UTF-8 text.
pub fn load_csv(path: &Path, label_column: Option<&str>) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    read_csv(path, &bytes, label_column, true)
}

/// [`load_csv`] of the file's `bytes`; a plain body ([`is_plain`]) is parsed in parallel when
/// `parallel_when_plain`, else everything goes through the `csv` crate.
fn read_csv(
    path: &Path,
    bytes: &[u8],
    label_column: Option<&str>,
    parallel_when_plain: bool,
) -> Result<Dataset> {
    let mut reader = csv_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let header_line = reader
        .headers()
        .ok()
        .and_then(|h| h.position())
        .map_or(1, csv::Position::line);
    for (second, name) in header.iter().enumerate() {
        if let Some(first) = header[..second].iter().position(|h| h == name) {
            return Err(DataError::DuplicateColumn {
                path: path.to_path_buf(),
                line: header_line,
                name: name.clone(),
                first: first + 1,
                second: second + 1,
            });
        }
    }
    let label_index = match label_column {
        None => None,
        Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
            DataError::MissingLabelColumn {
                path: path.to_path_buf(),
                name: name.to_string(),
                available: header.join(", "),
            }
        })?),
    };
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != label_index)
        .map(|(_, h)| h.clone())
        .collect();
    if columns.is_empty() {
        return Err(DataError::NoFeatures {
            path: path.to_path_buf(),
            detail: format!(
                " (the only column is the label `{}`)",
                label_column.unwrap_or_default()
            ),
        });
    }

    let rows = Rows {
        path,
        bytes,
        header: &header,
        label_index,
    };
    let body_start = reader.position().clone();
    let body = &bytes[body_start.byte() as usize..];
    let part = if parallel_when_plain && is_plain(body) {
        rows.read_plain(body, body_start.line())?
    } else {
        rows.read_with(&mut reader)?
    };
    if part.rows == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let features = Array2::from_shape_vec((part.rows, columns.len()), part.values)
        .map_err(|e| DataError::format(path, e.to_string()))?;
    Dataset::new(features, label_index.map(|_| part.labels), columns)
}

/// The `csv` crate's reader of a whole file in memory: RFC 4180 quoting, blanks trimmed.
fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes)
}

/// A `csv` crate error as ours, naming `path`.
fn csv_error(path: &Path, e: csv::Error) -> DataError {
    match e.kind() {
        csv::ErrorKind::Io(_) => DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        },
        csv::ErrorKind::Utf8 { pos, err } => DataError::NotUtf8 {
            path: path.to_path_buf(),
            // No position: taken as the header, line 1.
            line: pos.as_ref().map_or(1, csv::Position::line),
            detail: format!(
                "field {}, byte {} of the field",
                err.field() + 1,
                err.valid_up_to() + 1
            ),
        },
        _ => DataError::format(path, e.to_string()),
    }
}

/// Whether the rows after the header can be cut at their line ends and their cells at commas:
/// ASCII without quotes, every carriage return the first half of a CRLF. Such a body reads the
/// same cut into pieces, in parallel, as through the `csv` crate (a test checks both on the
/// same files).
fn is_plain(body: &[u8]) -> bool {
    body.iter()
        .enumerate()
        .all(|(i, &b)| b.is_ascii() && b != b'"' && (b != b'\r' || body.get(i + 1) == Some(&b'\n')))
}

/// Bytes per piece of a plain body parsed in parallel.
const PIECE_BYTES: usize = 1 << 20;

/// The data rows of a file with its header read.
struct Rows<'a> {
    path: &'a Path,
    /// The whole file.
    bytes: &'a [u8],
    header: &'a [String],
    label_index: Option<usize>,
}

/// Parsed rows: the feature values row by row, the labels (when there is a label column).
#[derive(Default)]
struct ParsedRows {
    values: Vec<f64>,
    labels: Vec<u8>,
    rows: usize,
}

impl Rows<'_> {
    /// Checks and parses one record (cells trimmed) that starts on `line`; blank records are
    /// skipped as pandas does (a blank line reads as a single empty field).
    /// `line()` is the record's line in the file, asked for only to name it in an error.
    fn add(&self, line: &dyn Fn() -> u64, cells: &[&str], out: &mut ParsedRows) -> Result<()> {
        let found = cells.len();
        if found == 1 && cells[0].is_empty() {
            return Ok(());
        }
        let mut line_number = None;
        let mut line = || *line_number.get_or_insert_with(line);
        if found != self.header.len() {
            return Err(DataError::Ragged {
                path: self.path.to_path_buf(),
                line: line(),
                expected: self.header.len(),
                found,
            });
        }
        for (i, &field) in cells.iter().enumerate() {
            if field.is_empty() {
                return Err(DataError::EmptyCell {
                    path: self.path.to_path_buf(),
                    line: line(),
                    column: self.header[i].clone(),
                });
            }
            // Parsed without the line first: it is counted only for an error's message.
            if Some(i) == self.label_index {
                match parse_label(self.path, 0, field) {
                    Ok(label) => out.labels.push(label),
                    Err(_) => return parse_label(self.path, line(), field).map(drop),
                }
            } else {
                match parse_number(self.path, 0, &self.header[i], field) {
                    Ok(value) => out.values.push(value),
                    Err(_) => {
                        return parse_number(self.path, line(), &self.header[i], field).map(drop)
                    }
                }
            }
        }
        out.rows += 1;
        Ok(())
    }

    /// Every record through the `csv` crate (quotes, any line ends), one after another.
    fn read_with(&self, reader: &mut csv::Reader<&[u8]>) -> Result<ParsedRows> {
        let mut out = ParsedRows::default();
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| csv_error(self.path, e))?
        {
            // The csv crate's record positions include the empty lines before the record, and
            // its line numbers skip them: count the line ends before the record's first byte.
            let at = record.position().map_or(0, |p| p.byte()) as usize;
            let line = || {
                let empty = self.bytes[at..]
                    .iter()
                    .take_while(|&&b| b == b'\n' || b == b'\r')
                    .count();
                let before = &self.bytes[..at + empty];
                1 + before.iter().filter(|&&b| b == b'\n').count() as u64
            };
            let cells: Vec<&str> = record.iter().collect();
            self.add(&line, &cells, &mut out)?;
        }
        Ok(out)
    }

    /// A plain body ([`is_plain`]) whose first line is `first_line`, cut into pieces of whole
    /// lines parsed in parallel; the first error in file order is the one reported.
    fn read_plain(&self, body: &[u8], first_line: u64) -> Result<ParsedRows> {
        let mut pieces: Vec<(&[u8], u64)> = Vec::new();
        let (mut rest, mut line) = (body, first_line);
        while !rest.is_empty() {
            let cut = match rest
                .get(PIECE_BYTES..)
                .and_then(|t| t.iter().position(|&b| b == b'\n'))
            {
                Some(at) => PIECE_BYTES + at + 1,
                None => rest.len(),
            };
            let (piece, tail) = rest.split_at(cut);
            pieces.push((piece, line));
            line += piece.iter().filter(|&&b| b == b'\n').count() as u64;
            rest = tail;
        }
        let parsed: Vec<Result<ParsedRows>> = pieces
            .into_par_iter()
            .map(|(piece, first)| {
                let mut out = ParsedRows::default();
                let mut cells: Vec<&str> = Vec::with_capacity(self.header.len());
                // ASCII only: every piece is valid UTF-8.
                let text = std::str::from_utf8(piece).expect("checked ASCII");
                for (k, raw) in text.split_terminator('\n').enumerate() {
                    let raw = raw.strip_suffix('\r').unwrap_or(raw);
                    let line = first + k as u64;
                    if raw.trim().is_empty() {
                        continue;
                    }
                    cells.clear();
                    cells.extend(raw.split(',').map(str::trim));
                    self.add(&|| line, &cells, &mut out)?;
                }
                Ok(out)
            })
            .collect();
        let mut all = ParsedRows::default();
        for piece in parsed {
            let piece = piece?;
            all.values.extend_from_slice(&piece.values);
            all.labels.extend_from_slice(&piece.labels);
            all.rows += piece.rows;
        }
        Ok(all)
    }
}

/// Parses one numeric cell, rejecting text, NaN and infinities with the cell's position.
pub(crate) fn parse_number(path: &Path, line: u64, column: &str, field: &str) -> Result<f64> {
    let value: f64 = field.parse().map_err(|_| DataError::NotNumeric {
        path: path.to_path_buf(),
        line,
        column: column.to_string(),
        value: field.to_string(),
    })?;
    if !value.is_finite() {
        return Err(DataError::NotFinite {
            path: path.to_path_buf(),
            line,
            column: column.to_string(),
            value: field.to_string(),
        });
    }
    Ok(value)
}

fn parse_label(path: &Path, line: u64, field: &str) -> Result<u8> {
    match field.parse::<f64>() {
        Ok(v) if v == 0.0 => Ok(0),
        Ok(v) if v == 1.0 => Ok(1),
        _ => Err(DataError::BadLabel {
            path: path.to_path_buf(),
            line,
            value: field.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let path = dir.path().join("data.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Both parsers on the same bytes: the same data set or the same error.
    fn both_ways(text: &str, label: Option<&str>) -> std::result::Result<Dataset, String> {
        let path = Path::new("data.csv");
        let bytes = text.as_bytes();
        assert!(is_plain(
            &bytes[bytes.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1)..]
        ));
        let plain = read_csv(path, bytes, label, true).map_err(|e| e.to_string());
        let crate_csv = read_csv(path, bytes, label, false).map_err(|e| e.to_string());
        assert_eq!(plain, crate_csv, "{text:?}");
        plain
    }

    #[test]
    fn the_parallel_reader_gives_what_the_csv_crate_gives() {
        assert!(both_ways("a,b,label\n1,2,0\n\n  \n3 , 4e-3,1\r\n5,6,0", Some("label")).is_ok());
        assert!(both_ways("a,b\n1,2\n3\n", None)
            .unwrap_err()
            .contains("line 3"));
        assert!(both_ways("a,b\n1,2\n3,x\n", None)
            .unwrap_err()
            .contains("line 3"));
        assert!(both_ways("a,b\n1,2\n\n,4\n", None)
            .unwrap_err()
            .contains("line 4"));
        assert!(both_ways("a,b\n1,NaN\n", None).is_err());
        assert!(both_ways("a,label\n1,2\n", Some("label")).is_err());
        assert!(both_ways("\u{feff}a,b\r\n1,2\r\n", None).is_ok());
        assert!(both_ways("a,b\n\n\n", None).is_err());
        // Pieces of a megabyte: rows across several, an error in the last one names its line.
        let mut text = String::from("x,y,label\n");
        for i in 0..120_000 {
            text.push_str(&format!("{}.25,{},{}\n", i, -(i as i64) * 3, i % 2));
        }
        let ds = both_ways(&text, Some("label")).unwrap();
        assert_eq!(ds.n_rows(), 120_000);
        assert_eq!(ds.features[[119_999, 1]], -359_997.0);
        text.push_str("1,2,3\n");
        assert!(both_ways(&text, Some("label"))
            .unwrap_err()
            .contains("line 120002"));
        // Quotes and lone carriage returns go through the csv crate alone.
        assert!(!is_plain(b"\"1\",2\n"));
        assert!(!is_plain(b"1,2\r3,4\n"));
    }

    #[test]
    fn reads_features_labels_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a,label,b\n1.5,0,2\n-3,1,4e1\n");
        let ds = load_csv(&path, Some("label")).unwrap();
        assert_eq!(ds.columns, vec!["a", "b"]);
        assert_eq!(ds.features, ndarray::array![[1.5, 2.0], [-3.0, 40.0]]);
        assert_eq!(ds.labels, Some(vec![0, 1]));
        let unlabelled = load_csv(&path, None).unwrap();
        assert_eq!(unlabelled.n_features(), 3);
        assert!(unlabelled.labels.is_none());
    }

    #[test]
    fn ragged_row_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a,b\n1,2\n3\n");
        let err = load_csv(&path, None).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Ragged {
                    line: 3,
                    expected: 2,
                    found: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("data.csv, line 3"), "{err}");
    }

    #[test]
    fn non_numeric_and_non_finite_cells_name_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a,b\n1,2\n3,x\n");
        let err = load_csv(&path, None).unwrap_err();
        assert!(
            matches!(&err, DataError::NotNumeric { line: 3, column, .. } if column == "b"),
            "{err}"
        );
        let path = write(&dir, "a,b\n1,NaN\n");
        let err = load_csv(&path, None).unwrap_err();
        assert!(
            matches!(&err, DataError::NotFinite { line: 2, column, .. } if column == "b"),
            "{err}"
        );
        let path = write(&dir, "a,b\ninf,1\n");
        assert!(matches!(
            load_csv(&path, None).unwrap_err(),
            DataError::NotFinite { .. }
        ));
    }

    #[test]
    fn empty_files_and_missing_or_bad_labels_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "");
        assert!(matches!(
            load_csv(&path, None).unwrap_err(),
            DataError::Empty { .. }
        ));
        let path = write(&dir, "a,b\n");
        assert!(matches!(
            load_csv(&path, None).unwrap_err(),
            DataError::Empty { .. }
        ));
        let path = write(&dir, "a,b\n1,2\n");
        let err = load_csv(&path, Some("label")).unwrap_err();
        assert!(matches!(err, DataError::MissingLabelColumn { .. }));
        assert!(err.to_string().contains("a, b"), "{err}");
        let path = write(&dir, "a,label\n1,2\n");
        assert!(matches!(
            load_csv(&path, Some("label")).unwrap_err(),
            DataError::BadLabel { line: 2, .. }
        ));
        let missing = dir.path().join("nope.csv");
        let err = load_csv(&missing, None).unwrap_err();
        assert!(err.to_string().contains("nope.csv"), "{err}");
    }

    fn write_bytes(dir: &tempfile::TempDir, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join("data.csv");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn label_as_the_only_column_is_a_no_features_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "label\n0\n1\n");
        let err = load_csv(&path, Some("label")).unwrap_err();
        assert!(matches!(err, DataError::NoFeatures { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: no feature columns (the only column is the label `label`)",
                path.display()
            )
        );
        // Without a label column the same file is one feature.
        assert_eq!(load_csv(&path, None).unwrap().n_features(), 1);
    }

    #[test]
    fn duplicate_header_names_are_an_error_naming_line_1_and_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a,a,label\n1,2,0\n");
        let err = load_csv(&path, Some("label")).unwrap_err();
        assert!(
            matches!(&err, DataError::DuplicateColumn { line: 1, name, first: 1, second: 2, .. } if name == "a"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{}, line 1: column `a` appears twice in the header (columns 1 and 2)",
                path.display()
            )
        );
        // Blanks around names are trimmed, so ` b` repeats `b`.
        let path = write(&dir, "b,c, b\n1,2,3\n");
        assert!(matches!(
            load_csv(&path, None).unwrap_err(),
            DataError::DuplicateColumn { second: 3, .. }
        ));
    }

    #[test]
    fn latin_1_bytes_are_a_not_utf8_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        // `é` in Latin-1 is the single byte 0xE9.
        let path = write_bytes(&dir, b"a,label\n1,0\n2\xe9,1\n");
        let err = load_csv(&path, Some("label")).unwrap_err();
        assert!(matches!(err, DataError::NotUtf8 { line: 3, .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}, line 3: not UTF-8 text (field 1, byte 2 of the field); save the file as UTF-8",
                path.display()
            )
        );
        // In the header.
        let path = write_bytes(&dir, b"caf\xe9,label\n1,0\n");
        let err = load_csv(&path, Some("label")).unwrap_err();
        assert!(matches!(err, DataError::NotUtf8 { line: 1, .. }), "{err}");
    }

    #[test]
    fn a_utf8_bom_before_the_header_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_bytes(&dir, b"\xef\xbb\xbflabel,a\n0,1.5\n1,2\n");
        let ds = load_csv(&path, Some("label")).unwrap();
        assert_eq!(ds.columns, vec!["a"]);
        assert_eq!(ds.labels, Some(vec![0, 1]));
    }

    #[test]
    fn empty_cells_name_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "a,label\n1.0,\n");
        let err = load_csv(&path, Some("label")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}, line 2, column `label`: the cell is empty",
                path.display()
            )
        );
        let path = write(&dir, "a,b\n1,2\n , 3\n");
        let err = load_csv(&path, None).unwrap_err();
        assert!(
            matches!(&err, DataError::EmptyCell { line: 3, column, .. } if column == "a"),
            "{err}"
        );
    }

    #[test]
    fn labels_other_than_0_and_1_are_bad_labels() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["0.5", "2", "-1", "yes", "true", "NaN"] {
            let path = write(&dir, &format!("a,label\n1,0\n2,{bad}\n"));
            let err = load_csv(&path, Some("label")).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}, line 3: label `{bad}` is neither 0 nor 1",
                    path.display()
                ),
            );
        }
        // Numbers equal to 0 or 1 are labels.
        let path = write(&dir, "a,label\n1,0.0\n2,1.0\n3,1e0\n");
        assert_eq!(
            load_csv(&path, Some("label")).unwrap().labels,
            Some(vec![0, 1, 1])
        );
    }

    #[test]
    fn header_only_empty_and_blank_files_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        for text in ["a,label\n", "", "\n\n\n", "\r\n  \r\n"] {
            let path = write(&dir, text);
            let err = load_csv(&path, None).unwrap_err();
            assert!(matches!(err, DataError::Empty { .. }), "{text:?}: {err}");
            assert_eq!(
                err.to_string(),
                format!("{}: the file holds no data rows", path.display())
            );
        }
    }

    #[test]
    fn quoted_numbers_and_blank_lines_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "\"a\",\"label\"\n\"1.5\",\"1\"\n\n\" 2 \",0\n");
        let ds = load_csv(&path, Some("label")).unwrap();
        assert_eq!(ds.features, ndarray::array![[1.5], [2.0]]);
        assert_eq!(ds.labels, Some(vec![1, 0]));
        // A row longer than the header is ragged too.
        let path = write(&dir, "a,b\n1,2,3\n");
        assert_eq!(
            load_csv(&path, None).unwrap_err().to_string(),
            format!("{}, line 2: expected 2 fields, found 3", path.display())
        );
    }

    #[test]
    fn seed_blobs_file_when_present() {
        let Some(path) = crate::test_support::shared_file("seeds/blobs.csv") else {
            return;
        };
        let ds = load_csv(&path, Some("label")).unwrap();
        assert_eq!((ds.n_rows(), ds.n_features()), (520, 2));
        assert_eq!(ds.n_anomalies(), Some(20));
    }
}
