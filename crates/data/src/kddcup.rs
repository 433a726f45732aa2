//! The raw KDD Cup 1999 file (UCI layout) and the paper's KDDCUP-Rev variant.
//!
//! [`load_kddcup`] reads `kddcup.data_10_percent.gz` (or any file of the same layout, gzip-compressed
//! or plain: detected by the magic bytes, not by the extension) together with `kddcup.names`. The
//! symbolic columns `protocol_type`, `service` and `flag` are one-hot encoded in place (categories in
//! sorted order, columns named like `service=http`); every other column, including the 0/1 symbolic
//! flags (`land`, `logged_in`, `is_host_login`, `is_guest_login`), is kept as a number. The label
//! follows the DAGMM convention: `normal.` is the anomaly class (1), every attack is 0.
//!
//! [`kddcup_rev`] builds the paper's KDDCUP-Rev set from a loaded data set.
//!
//! This module does not scale, split or download anything, and it keeps no attack-type strings:
//! only the 0/1 label survives loading. Errors name the file and the 1-based line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::encoded::{EncodedField, EncodedLayout};
use crate::error::{DataError, Result};
use crate::rows::{EncodedRowsBuilder, LoadedRows};
use crate::Dataset;

/// The symbolic columns that are one-hot encoded; other symbolic columns must hold numbers (0/1).
pub const ONE_HOT_COLUMNS: [&str; 3] = ["protocol_type", "service", "flag"];

/// The label (without its trailing `.`) that the DAGMM convention treats as the anomaly class.
pub const ANOMALY_LABEL: &str = "normal";

/// One attribute line of `kddcup.names`.
#[derive(Debug, Clone, PartialEq)]
struct Attribute {
    name: String,
    symbolic: bool,
}

/// Reads `kddcup.names`: a first line listing the classes, then one `name: continuous.` or
/// `name: symbolic.` line per feature (blank lines are skipped).
fn read_names(path: &Path) -> Result<Vec<Attribute>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if !first.trim().is_empty() => {}
        _ => {
            return Err(DataError::format(
                path,
                "line 1: expected the list of classes, found nothing",
            ))
        }
    }
    let mut attributes: Vec<Attribute> = Vec::new();
    for (index, raw) in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let malformed = || {
            DataError::format(
                path,
                format!(
                    "line {}: expected `name: continuous.` or `name: symbolic.`, found `{line}`",
                    index + 1
                ),
            )
        };
        let (name, kind) = line.split_once(':').ok_or_else(malformed)?;
        let name = name.trim();
        let kind = kind.trim();
        let kind = kind.strip_suffix('.').unwrap_or(kind).trim();
        let symbolic = match kind {
            "continuous" => false,
            "symbolic" => true,
            _ => return Err(malformed()),
        };
        if name.is_empty() || name.contains(',') {
            return Err(malformed());
        }
        if attributes.iter().any(|a| a.name == name) {
            return Err(DataError::format(
                path,
                format!("line {}: column `{name}` is declared twice", index + 1),
            ));
        }
        attributes.push(Attribute {
            name: name.to_string(),
            symbolic,
        });
    }
    if attributes.is_empty() {
        return Err(DataError::format(
            path,
            "no `name: type.` lines after the class list",
        ));
    }
    Ok(attributes)
}

/// Whether the file starts with the gzip magic bytes `1f 8b`; the file is rewound afterwards.
fn is_gzip(file: &mut File, path: &Path) -> Result<bool> {
    let mut magic = Vec::with_capacity(2);
    file.by_ref()
        .take(2)
        .read_to_end(&mut magic)
        .map_err(|e| DataError::io(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::io(path, e))?;
    Ok(magic == [0x1f, 0x8b])
}

/// Where one input attribute goes: a numeric slot, or a one-hot group.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Numeric(usize),
    OneHot(usize),
}

/// The categories of one one-hot column, numbered in order of first appearance while reading.
#[derive(Debug, Default)]
struct Group {
    codes: HashMap<String, u32>,
    values: Vec<String>,
}

impl Group {
    fn code(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value) {
            return code;
        }
        let code = self.values.len() as u32;
        self.values.push(value.to_string());
        self.codes.insert(value.to_string(), code);
        code
    }
}

/// Reads the raw KDDCUP99 file `data` (gzip or plain) with the column list of `names`.
///
/// Columns come in the file's order with each one-hot group expanded in place. Labels: 1 for
/// `normal.` (the anomaly class of the DAGMM protocol), 0 for every other label; a label's trailing
/// `.` is optional. Blank lines are skipped.
pub fn load_kddcup(data: &Path, names: &Path) -> Result<Dataset> {
    read_kddcup(data, names)?.into_dataset()
}

/// [`load_kddcup`]'s rows as the file holds them: numbers and category codes, expanded one row
/// at a time (38 numbers and 3 codes per row of the 10% file instead of 118 numbers).
pub fn read_kddcup(data: &Path, names: &Path) -> Result<LoadedRows> {
    read_kddcup_rows(data, names).map_err(|e| blame_corruption(data, e))
}

/// A gzip file whose text does not parse may be garbled by a corrupt stream (the CRC is checked
/// only at its end): when decompressing the rest fails, the corruption is the error.
fn blame_corruption(data: &Path, e: DataError) -> DataError {
    let line = match &e {
        DataError::Ragged { line, .. }
        | DataError::NotNumeric { line, .. }
        | DataError::NotFinite { line, .. }
        | DataError::NotUtf8 { line, .. }
        | DataError::KddcupShape { line, .. } => *line,
        _ => return e,
    };
    let Ok(mut file) = File::open(data) else {
        return e;
    };
    if !matches!(is_gzip(&mut file, data), Ok(true)) {
        return e;
    }
    let mut decoder = MultiGzDecoder::new(BufReader::new(file));
    match std::io::copy(&mut decoder, &mut std::io::sink()) {
        Ok(_) => e,
        Err(io) => DataError::Corrupt {
            path: data.to_path_buf(),
            line,
            message: io.to_string(),
        },
    }
}

fn read_kddcup_rows(data: &Path, names: &Path) -> Result<LoadedRows> {
    let attributes = read_names(names)?;
    let expected_fields = attributes.len() + 1;

    let mut slots = Vec::with_capacity(attributes.len());
    let mut n_numeric = 0usize;
    let mut n_groups = 0usize;
    for attribute in &attributes {
        if attribute.symbolic && ONE_HOT_COLUMNS.contains(&attribute.name.as_str()) {
            slots.push(Slot::OneHot(n_groups));
            n_groups += 1;
        } else {
            slots.push(Slot::Numeric(n_numeric));
            n_numeric += 1;
        }
    }
    let mut groups: Vec<Group> = (0..n_groups).map(|_| Group::default()).collect();

    let mut file = File::open(data).map_err(|e| DataError::io(data, e))?;
    let gzip = is_gzip(&mut file, data)?;
    let mut reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    };

    // One pass: numeric values and category codes row by row; the one-hot width is known only
    // at the end, when the categories can be sorted.
    let mut rows = EncodedRowsBuilder::new(n_numeric, n_groups);
    let mut numeric: Vec<f64> = Vec::with_capacity(n_numeric);
    let mut codes: Vec<u32> = Vec::with_capacity(n_groups);
    let mut labels: Vec<u8> = Vec::new();
    let mut buffer: Vec<u8> = Vec::with_capacity(1024);
    let mut line_no: u64 = 0;
    loop {
        buffer.clear();
        let read = match reader.read_until(b'\n', &mut buffer) {
            Ok(n) => n,
            Err(e)
                if gzip
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::InvalidData
                            | std::io::ErrorKind::InvalidInput
                    ) =>
            {
                return Err(DataError::Truncated {
                    path: data.to_path_buf(),
                    line: line_no,
                    message: e.to_string(),
                });
            }
            Err(e) => return Err(DataError::io(data, e)),
        };
        if read == 0 {
            break;
        }
        line_no += 1;
        let line = std::str::from_utf8(&buffer)
            .map_err(|e| DataError::NotUtf8 {
                path: data.to_path_buf(),
                line: line_no,
                detail: format!("byte {} of the line", e.valid_up_to() + 1),
            })?
            .trim();
        if line.is_empty() {
            continue;
        }
        let found = line.bytes().filter(|&b| b == b',').count() + 1;
        if found != expected_fields && labels.is_empty() {
            // The first line: the file and the names file disagree on the layout itself.
            return Err(DataError::KddcupShape {
                path: data.to_path_buf(),
                names: names.to_path_buf(),
                line: line_no,
                listed: attributes.len(),
                expected: expected_fields,
                found,
            });
        }
        if found != expected_fields {
            return Err(DataError::Ragged {
                path: data.to_path_buf(),
                line: line_no,
                expected: expected_fields,
                found,
            });
        }
        let mut fields = line.split(',');
        numeric.clear();
        codes.clear();
        for (attribute, slot) in attributes.iter().zip(&slots) {
            let field = fields.next().unwrap_or("").trim();
            match *slot {
                Slot::Numeric(_) => {
                    let value: f64 = field.parse().map_err(|_| DataError::NotNumeric {
                        path: data.to_path_buf(),
                        line: line_no,
                        column: attribute.name.clone(),
                        value: field.to_string(),
                    })?;
                    if !value.is_finite() {
                        return Err(DataError::NotFinite {
                            path: data.to_path_buf(),
                            line: line_no,
                            column: attribute.name.clone(),
                            value: field.to_string(),
                        });
                    }
                    numeric.push(value);
                }
                Slot::OneHot(g) => {
                    if field.is_empty() {
                        return Err(DataError::format(
                            data,
                            format!(
                                "line {line_no}, column `{}`: empty category",
                                attribute.name
                            ),
                        ));
                    }
                    codes.push(groups[g].code(field));
                }
            }
        }
        let label = fields.next().unwrap_or("").trim();
        if label.is_empty() {
            return Err(DataError::format(
                data,
                format!("line {line_no}: empty label"),
            ));
        }
        let label = label.strip_suffix('.').unwrap_or(label);
        labels.push(u8::from(label == ANOMALY_LABEL));
        rows.push(&numeric, &codes)
            .map_err(|e| DataError::io(data, e))?;
    }
    drop(reader);

    let n_rows = labels.len();
    if n_rows == 0 {
        return Err(DataError::Empty {
            path: data.to_path_buf(),
        });
    }

    // Sorted categories: rank[g][code] is the category's position among the sorted values.
    let mut ranks: Vec<Vec<usize>> = Vec::with_capacity(n_groups);
    let mut sorted_values: Vec<Vec<&str>> = Vec::with_capacity(n_groups);
    for group in &groups {
        let mut order: Vec<usize> = (0..group.values.len()).collect();
        order.sort_by(|&a, &b| group.values[a].cmp(&group.values[b]));
        let mut rank = vec![0usize; group.values.len()];
        for (position, &code) in order.iter().enumerate() {
            rank[code] = position;
        }
        ranks.push(rank);
        sorted_values.push(order.iter().map(|&c| group.values[c].as_str()).collect());
    }

    // Output layout: each attribute's first output column.
    let mut columns = Vec::new();
    let mut fields = Vec::with_capacity(attributes.len());
    for (attribute, slot) in attributes.iter().zip(&slots) {
        let first_column = columns.len();
        match *slot {
            Slot::Numeric(slot) => {
                fields.push(EncodedField::Number {
                    slot,
                    column: first_column,
                });
                columns.push(attribute.name.clone());
            }
            Slot::OneHot(group) => {
                fields.push(EncodedField::Category {
                    group,
                    first_column,
                });
                for value in &sorted_values[group] {
                    columns.push(format!("{}={value}", attribute.name));
                }
            }
        }
    }
    let rows = rows.finish(EncodedLayout::new(fields, ranks, columns.len(), n_numeric)?)?;
    LoadedRows::encoded(rows, Some(labels), columns)
}

/// The paper's KDDCUP-Rev: every row labelled 1 in `ds` (the `normal.` traffic) becomes the
/// normal class (label 0), and attack rows (label 0 in `ds`) drawn at random without replacement,
/// seeded by `seed` (ChaCha8), become the anomalies (label 1), so that they make 20% of the result:
/// `n_attack = floor(n_normal * 0.2 / 0.8)` (97,278 normal rows give 24,319 attacks, 121,597 rows).
///
/// Rows keep the order they have in `ds`. Errors when `ds` has no labels, no row labelled 1, or
/// fewer attack rows than needed.
pub fn kddcup_rev(ds: &Dataset, seed: u64) -> Result<Dataset> {
    let labels = ds.labels.as_ref().ok_or_else(|| {
        DataError::InvalidArgument("KDDCUP-Rev needs a labelled data set".to_string())
    })?;
    let (rows, labels) = kddcup_rev_rows(labels, seed)?;
    let mut rev = ds.select_rows(&rows);
    rev.labels = Some(labels);
    Ok(rev)
}

/// [`kddcup_rev`] by row numbers: the rows it keeps (ascending) and their new labels.
pub fn kddcup_rev_rows(labels: &[u8], seed: u64) -> Result<(Vec<usize>, Vec<u8>)> {
    let normal: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 1).collect();
    let attacks: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 0).collect();
    if normal.is_empty() {
        return Err(DataError::InvalidArgument(
            "KDDCUP-Rev: no row is labelled 1 (`normal.`)".to_string(),
        ));
    }
    // floor(n * 0.2 / 0.8) = floor(n / 4), computed exactly in integers.
    let n_attack = normal.len() / 4;
    if attacks.len() < n_attack {
        return Err(DataError::InvalidArgument(format!(
            "KDDCUP-Rev needs {n_attack} attack rows for {} normal rows, the data set has {}",
            normal.len(),
            attacks.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen: Vec<usize> = rand::seq::index::sample(&mut rng, attacks.len(), n_attack)
        .into_iter()
        .map(|k| attacks[k])
        .collect();
    chosen.extend_from_slice(&normal);
    chosen.sort_unstable();
    let rev_labels = chosen.iter().map(|&i| 1 - labels[i]).collect();
    Ok((chosen, rev_labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    const NAMES: &str = "back,normal,smurf.\n\
duration: continuous.\n\
protocol_type: symbolic.\n\
service: symbolic.\n\
flag: symbolic.\n\
src_bytes: continuous.\n\
land: symbolic.\n\
rate: continuous.\n";

    /// Seven rows in the real layout (7 features + label): 3 protocols, 4 services, 2 flags.
    const ROWS: &str = "0,tcp,http,SF,181,0,0.50,normal.\n\
2,udp,private,SF,105,0,0.00,smurf.\n\
0,icmp,ecr_i,REJ,1032,1,1.00,smurf.\n\
0,tcp,ftp_data,SF,0,0,0.25,back.\n\
7,tcp,http,REJ,239,0,0.10,normal.\n\
0,udp,private,SF,44,0,0.00,normal.\n\
1,icmp,ecr_i,SF,520,0,0.75,neptune.\n";

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).expect("gzip");
        encoder.finish().expect("gzip finish")
    }

    fn setup(rows: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = write(dir.path(), "kddcup.names", NAMES.as_bytes());
        let data = write(dir.path(), "data.txt", rows.as_bytes());
        (dir, names, data)
    }

    fn expected_columns() -> Vec<String> {
        [
            "duration",
            "protocol_type=icmp",
            "protocol_type=tcp",
            "protocol_type=udp",
            "service=ecr_i",
            "service=ftp_data",
            "service=http",
            "service=private",
            "flag=REJ",
            "flag=SF",
            "src_bytes",
            "land",
            "rate",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn check_small(ds: &Dataset) {
        assert_eq!(ds.columns, expected_columns());
        assert_eq!(ds.n_rows(), 7);
        #[rustfmt::skip]
        let expected: [[f64; 13]; 7] = [
            [0.0, 0., 1., 0., 0., 0., 1., 0., 0., 1., 181.0, 0.0, 0.50],
            [2.0, 0., 0., 1., 0., 0., 0., 1., 0., 1., 105.0, 0.0, 0.00],
            [0.0, 1., 0., 0., 1., 0., 0., 0., 1., 0., 1032.0, 1.0, 1.00],
            [0.0, 0., 1., 0., 0., 1., 0., 0., 0., 1., 0.0, 0.0, 0.25],
            [7.0, 0., 1., 0., 0., 0., 1., 0., 1., 0., 239.0, 0.0, 0.10],
            [0.0, 0., 0., 1., 0., 0., 0., 1., 0., 1., 44.0, 0.0, 0.00],
            [1.0, 1., 0., 0., 1., 0., 0., 0., 0., 1., 520.0, 0.0, 0.75],
        ];
        for (r, row) in expected.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                assert_eq!(ds.features[[r, c]], v, "row {r} column {}", ds.columns[c]);
            }
        }
        assert_eq!(ds.labels, Some(vec![1, 0, 0, 0, 1, 1, 0]));
    }

    #[test]
    fn plain_file_one_hot_and_labels() {
        let (_dir, names, data) = setup(ROWS);
        check_small(&load_kddcup(&data, &names).expect("load"));
    }

    #[test]
    fn gzip_detected_by_magic_not_extension() {
        let (dir, names, _) = setup(ROWS);
        // A gzip file without `.gz`, and a plain file named `.gz`: both read right.
        let gz = write(dir.path(), "data.bin", &gzip(ROWS.as_bytes()));
        check_small(&load_kddcup(&gz, &names).expect("gzip load"));
        let plain = write(dir.path(), "plain.gz", ROWS.as_bytes());
        check_small(&load_kddcup(&plain, &names).expect("plain load"));
        // Two concatenated gzip members (as `cat a.gz b.gz`) form one stream.
        let (first, second) = ROWS.split_at(ROWS.find("0,tcp,ftp_data").expect("row 4"));
        let mut multi = gzip(first.as_bytes());
        multi.extend(gzip(second.as_bytes()));
        let multi = write(dir.path(), "multi.gz", &multi);
        check_small(&load_kddcup(&multi, &names).expect("multi-member load"));
    }

    #[test]
    fn crlf_blank_lines_and_missing_final_newline() {
        let rows = ROWS.replace('\n', "\r\n");
        let rows = format!("\r\n{}", rows.trim_end());
        let (_dir, names, data) = setup(&rows);
        check_small(&load_kddcup(&data, &names).expect("load"));
    }

    #[test]
    fn ragged_row_names_line() {
        let rows = ROWS.replace(
            "0,tcp,ftp_data,SF,0,0,0.25,back.",
            "0,tcp,ftp_data,SF,0,0,back.",
        );
        let (_dir, names, data) = setup(&rows);
        match load_kddcup(&data, &names) {
            Err(DataError::Ragged {
                path,
                line,
                expected,
                found,
            }) => {
                assert_eq!((line, expected, found), (4, 8, 7));
                assert_eq!(path, data);
            }
            other => panic!("expected Ragged, got {other:?}"),
        }
    }

    #[test]
    fn latin_1_line_is_a_not_utf8_error() {
        let (dir, names, _) = setup(ROWS);
        let mut rows = ROWS.as_bytes().to_vec();
        rows.extend_from_slice(b"0,tcp,caf\xe9,SF,1,0,0.5,normal.\n");
        let data = write(dir.path(), "latin1.txt", &rows);
        let err = load_kddcup(&data, &names).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}, line 8: not UTF-8 text (byte 10 of the line); save the file as UTF-8",
                data.display()
            )
        );
    }

    #[test]
    fn wrong_field_count_names_line_and_counts() {
        // The first line: the file and its names file disagree on the layout.
        let (_dir, names, data) = setup("0,tcp,http,SF,181,0,normal.\n");
        let err = load_kddcup(&data, &names).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{}, line 1: 7 fields, where {} lists 7 columns and the label (8 fields)",
                data.display(),
                names.display()
            )),
            "{err}"
        );
        // A later line: that line is ragged.
        let (_dir, names, data) =
            setup("0,tcp,http,SF,181,0,0.5,normal.\n0,tcp,http,SF,181,0,normal.\n");
        let err = load_kddcup(&data, &names).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}, line 2: expected 8 fields, found 7", data.display())
        );
    }

    #[test]
    fn non_numeric_value_names_column() {
        let rows = ROWS.replace("2,udp,private,SF,105,", "2,udp,private,SF,1o5,");
        let (_dir, names, data) = setup(&rows);
        match load_kddcup(&data, &names) {
            Err(DataError::NotNumeric {
                line,
                column,
                value,
                ..
            }) => assert_eq!(
                (line, column.as_str(), value.as_str()),
                (2, "src_bytes", "1o5")
            ),
            other => panic!("expected NotNumeric, got {other:?}"),
        }
        // A 0/1 symbolic column is numeric too.
        let rows = ROWS.replace("0,icmp,ecr_i,REJ,1032,1,", "0,icmp,ecr_i,REJ,1032,yes,");
        let (_dir, names, data) = setup(&rows);
        let err = load_kddcup(&data, &names).expect_err("non-numeric flag");
        assert!(
            matches!(&err, DataError::NotNumeric { line: 3, column, .. } if column == "land"),
            "{err:?}"
        );
    }

    #[test]
    fn nan_and_infinity_rejected() {
        for bad in ["NaN", "inf", "-infinity"] {
            let rows = ROWS.replace(
                "7,tcp,http,REJ,239,0,0.10",
                &format!("7,tcp,http,REJ,239,0,{bad}"),
            );
            let (_dir, names, data) = setup(&rows);
            match load_kddcup(&data, &names) {
                Err(DataError::NotFinite {
                    line,
                    column,
                    value,
                    ..
                }) => assert_eq!((line, column.as_str(), value.as_str()), (5, "rate", bad)),
                other => panic!("expected NotFinite for {bad}, got {other:?}"),
            }
        }
    }

    #[test]
    fn empty_file_plain_and_gzip() {
        let (dir, names, _) = setup("");
        let plain = write(dir.path(), "empty.txt", b"");
        assert!(matches!(
            load_kddcup(&plain, &names),
            Err(DataError::Empty { .. })
        ));
        let blank = write(dir.path(), "blank.txt", b"\n\n");
        assert!(matches!(
            load_kddcup(&blank, &names),
            Err(DataError::Empty { .. })
        ));
        let gz = write(dir.path(), "empty.gz", &gzip(b""));
        assert!(matches!(
            load_kddcup(&gz, &names),
            Err(DataError::Empty { .. })
        ));
    }

    #[test]
    fn truncated_gzip_reports_last_complete_line() {
        // Enough rows that half of the compressed stream holds some complete lines.
        let many: String = ROWS.repeat(200);
        let (dir, names, _) = setup("");
        let full = gzip(many.as_bytes());
        let cut = write(dir.path(), "cut.gz", &full[..full.len() / 2]);
        match load_kddcup(&cut, &names) {
            Err(DataError::Truncated {
                path,
                line,
                message,
            }) => {
                assert_eq!(path, cut);
                // The lines that decompress completely from the first half, counted apart.
                let mut prefix = Vec::new();
                let mut decoder = MultiGzDecoder::new(&full[..full.len() / 2]);
                assert!(decoder.read_to_end(&mut prefix).is_err());
                let complete = prefix.iter().filter(|&&b| b == b'\n').count() as u64;
                assert!(complete > 0 && complete < 1400, "{complete} complete lines");
                assert_eq!(line, complete);
                assert!(!message.is_empty());
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        // Cut inside the 10-byte header, and just before the 8-byte trailer.
        for (len, complete) in [(5, 0), (full.len() - 4, 1400)] {
            let cut = write(dir.path(), "cut2.gz", &full[..len]);
            let err = load_kddcup(&cut, &names).expect_err("truncated");
            assert!(
                matches!(err, DataError::Truncated { line, .. } if line == complete),
                "cut at {len}: {err:?}"
            );
        }
    }

    #[test]
    fn malformed_names_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = write(dir.path(), "data.txt", ROWS.as_bytes());
        for (names, line) in [
            (
                NAMES.replace("src_bytes: continuous.", "src_bytes continuous."),
                6,
            ),
            (NAMES.replace("land: symbolic.", "land: categorical."), 7),
            (NAMES.replace("rate: continuous.", ": continuous."), 8),
        ] {
            let names_path = write(dir.path(), "bad.names", names.as_bytes());
            match load_kddcup(&data, &names_path) {
                Err(DataError::Format { path, message }) => {
                    assert_eq!(path, names_path);
                    assert!(message.starts_with(&format!("line {line}:")), "{message}");
                }
                other => panic!("expected Format, got {other:?}"),
            }
        }
        let empty = write(dir.path(), "empty.names", b"");
        assert!(matches!(
            load_kddcup(&data, &empty),
            Err(DataError::Format { .. })
        ));
        let only_classes = write(dir.path(), "classes.names", b"a,b.\n");
        assert!(matches!(
            load_kddcup(&data, &only_classes),
            Err(DataError::Format { .. })
        ));
        let missing = dir.path().join("missing.names");
        assert!(matches!(
            load_kddcup(&data, &missing),
            Err(DataError::Io { .. })
        ));
    }

    #[test]
    fn rev_small() {
        // 9 `normal.` rows (label 1) and 12 attacks: floor(9 / 4) = 2 attacks are drawn.
        let rows = ROWS.repeat(3);
        let (_dir, names, data) = setup(&rows);
        let ds = load_kddcup(&data, &names).expect("load");
        assert_eq!(ds.n_anomalies(), Some(9));
        let rev = kddcup_rev(&ds, 7).expect("rev");
        assert_eq!(rev.n_rows(), 9 + 2);
        assert_eq!(rev.n_anomalies(), Some(2));
        assert_eq!(rev.columns, ds.columns);
        // Every anomaly of the result is an attack row of the input, every normal a `normal.` row.
        for (r, &label) in rev.labels.as_ref().expect("labels").iter().enumerate() {
            let row = rev.features.row(r);
            let source = (0..ds.n_rows())
                .find(|&i| ds.features.row(i) == row)
                .expect("row comes from the input");
            assert_eq!(label, 1 - ds.labels.as_ref().expect("labels")[source]);
        }
        assert_eq!(
            kddcup_rev(&ds, 7).expect("rev"),
            rev,
            "same seed, same rows"
        );

        // Not enough attacks: 6 normal rows need 1 attack, there are none.
        let only_normal: String = ROWS
            .lines()
            .filter(|l| l.ends_with("normal."))
            .map(|l| format!("{l}\n"))
            .collect();
        let (_dir, names, data) = setup(&only_normal.repeat(2));
        let ds = load_kddcup(&data, &names).expect("load");
        assert!(matches!(
            kddcup_rev(&ds, 0),
            Err(DataError::InvalidArgument(_))
        ));
        let unlabelled = Dataset { labels: None, ..ds };
        assert!(matches!(
            kddcup_rev(&unlabelled, 0),
            Err(DataError::InvalidArgument(_))
        ));
    }

    #[test]
    fn real_file_when_present() {
        let (Some(data), Some(names)) = (
            crate::test_support::shared_file("kddcup99/kddcup.data_10_percent.gz"),
            crate::test_support::shared_file("kddcup99/kddcup.names"),
        ) else {
            eprintln!("skipped: the real KDDCUP99 file is not available");
            return;
        };
        let start = std::time::Instant::now();
        let ds = load_kddcup(&data, &names).expect("load the real file");
        eprintln!(
            "KDDCUP99: {} rows x {} columns loaded in {:.2?}",
            ds.n_rows(),
            ds.n_features(),
            start.elapsed()
        );
        assert_eq!(ds.n_rows(), 494_021);
        assert_eq!(ds.n_anomalies(), Some(97_278));
        // 38 numeric columns (34 continuous + 4 binary symbolic) + 3 protocol_type + 66 service
        // + 11 flag categories, counted by hand with `zcat ... | cut -d, -f2|3|4 | sort -u | wc -l`.
        assert_eq!(ds.n_features(), 38 + 3 + 66 + 11);
        assert_eq!(
            &ds.columns[..4],
            [
                "duration",
                "protocol_type=icmp",
                "protocol_type=tcp",
                "protocol_type=udp"
            ]
        );
        assert!(ds.columns.iter().any(|c| c == "service=http"));
        assert!(ds.columns.iter().any(|c| c == "flag=SF"));
        assert_eq!(
            ds.columns.last().map(String::as_str),
            Some("dst_host_srv_rerror_rate")
        );
        // First row: 0,tcp,http,SF,181,5450,... normal.
        let col = |name: &str| ds.columns.iter().position(|c| c == name).expect("column");
        assert_eq!(ds.features[[0, col("protocol_type=tcp")]], 1.0);
        assert_eq!(ds.features[[0, col("service=http")]], 1.0);
        assert_eq!(ds.features[[0, col("src_bytes")]], 181.0);
        assert_eq!(ds.features[[0, col("dst_bytes")]], 5450.0);
        assert_eq!(ds.features[[0, col("logged_in")]], 1.0);
        // Each row has exactly one category set in each of the three groups.
        let one_hot: Vec<usize> = (0..ds.n_features())
            .filter(|&c| ds.columns[c].contains('='))
            .collect();
        assert_eq!(one_hot.len(), 80);
        for row in ds.features.rows() {
            let sum: f64 = one_hot.iter().map(|&c| row[c]).sum();
            assert_eq!(sum, 3.0);
        }

        let rev = kddcup_rev(&ds, 0).expect("KDDCUP-Rev");
        assert_eq!(rev.n_rows(), 121_597);
        assert_eq!(rev.n_anomalies(), Some(24_319));
    }
}
