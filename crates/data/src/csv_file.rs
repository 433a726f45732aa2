//! CSV files with a header row: every column numeric, one optional 0/1 label column chosen by name.
//!
//! Reads only; quoting follows RFC 4180 (via the `csv` crate). Every error names the file and the
//! 1-based line of the file it comes from.

use std::path::Path;

use ndarray::Array2;

use crate::error::{DataError, Result};
use crate::Dataset;

/// Reads `path`; `label_column` names the 0/1 label column (1 = anomaly), or `None` for no labels.
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
