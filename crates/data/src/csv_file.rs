//! CSV files with a header row: every column numeric, one optional 0/1 label column chosen by name.
//!
//! Reads only; quoting follows RFC 4180 (via the `csv` crate). Every error names the file and the
//! 1-based line of the file it comes from.

use std::path::Path;

use ndarray::Array2;

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
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let csv_error = |e: csv::Error| match e.kind() {
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
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
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

    let mut values = Vec::new();
    let mut labels = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut n_rows = 0usize;
    loop {
        let more = reader.read_record(&mut record).map_err(csv_error)?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        // A blank line reads as a single empty field: skip it as pandas does.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if record.len() != header.len() {
            return Err(DataError::Ragged {
                path: path.to_path_buf(),
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        for (i, field) in record.iter().enumerate() {
            if field.is_empty() {
                return Err(DataError::EmptyCell {
                    path: path.to_path_buf(),
                    line,
                    column: header[i].clone(),
                });
            }
            if Some(i) == label_index {
                labels.push(parse_label(path, line, field)?);
            } else {
                values.push(parse_number(path, line, &header[i], field)?);
            }
        }
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let features = Array2::from_shape_vec((n_rows, columns.len()), values)
        .map_err(|e| DataError::format(path, e.to_string()))?;
    Dataset::new(features, label_index.map(|_| labels), columns)
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
