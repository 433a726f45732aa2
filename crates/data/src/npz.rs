//! NumPy `.npz` archives in the ADBench layout: arrays `X` (features) and `y` (0/1 labels).
//!
//! An `.npz` is a zip archive (stored or deflated) of `.npy` files, one per array, named
//! `<name>.npy`. This module opens `X.npy` and `y.npy` with the `zip` crate and parses the `.npy`
//! format itself: the magic string `\x93NUMPY`, versions 1.0 (16-bit header length) and 2.0/3.0
//! (32-bit), the header dict (`descr`, `fortran_order`, `shape`), C or Fortran order, and the
//! dtypes float64, float32, signed and unsigned integers of 1, 2, 4 and 8 bytes and bool, in
//! little- or big-endian byte order. Values become `f64`.
//!
//! `X` must be 2-D; `y` (optional) has shape `(n,)`, `(n, 1)` or `(1, n)` with n = the rows of
//! `X`, every value 0 or 1. Other arrays in the archive are ignored.
//!
//! Does not read: pickled object arrays, structured (record) dtypes, float16, complex, strings or
//! dates; a bare `.npy` file; encrypted archives. Every malformed or truncated layout gives a
//! [`DataError::Format`] error naming the file, the entry and what was wrong. As in
//! [`crate::mat`], the `line` of [`DataError::NotFinite`] and [`DataError::BadLabel`] is the
//! 1-based row (binary formats have no lines) and columns are named `x0, x1, ...`.

use std::io::Read;
use std::path::Path;

use ndarray::{Array2, ShapeBuilder};
use zip::result::ZipError;
use zip::ZipArchive;

use crate::error::{DataError, Result};
use crate::mat::checked_dataset;
use crate::Dataset;

/// Nesting depth beyond which the header dict is refused (a real header nests at most 3 deep).
const MAX_DEPTH: usize = 16;

/// Reads `X` (features) and, when present, `y` (0/1 labels, 1 = anomaly) from a NumPy `.npz`
/// archive. Columns are named `x0, x1, ...`.
///
/// Errors: [`DataError::Io`] when the file cannot be opened; [`DataError::Format`] for a file
/// that is not a zip archive, a corrupt or truncated entry or `.npy` layout, a missing `X.npy`,
/// an unsupported dtype, or an `X`/`y` of the wrong shape; [`DataError::Empty`] when `X` has no
/// rows; [`DataError::NoFeatures`] when it has no columns; [`DataError::NotFinite`] for NaN or infinity in `X`, with `line` = the 1-based row
/// (binary formats have no lines) and the column `x{j}`; [`DataError::BadLabel`] for a label
/// other than 0 or 1, `line` again the 1-based row.
pub fn load_npz(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut archive = ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        DataError::format(
            path,
            format!("not a readable zip archive (an .npz file is one): {e}"),
        )
    })?;
    let format = |message: String| DataError::format(path, message);

    let Some(x_bytes) = read_entry(&mut archive, "X.npy").map_err(format)? else {
        let names: Vec<&str> = archive.file_names().collect();
        let found = if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        };
        return Err(format(format!(
            "no array `X` (entry `X.npy`) in the archive (it holds: {found})"
        )));
    };
    let x = parse_npy(&x_bytes).map_err(|m| format(format!("entry `X.npy`: {m}")))?;
    let y = match read_entry(&mut archive, "y.npy").map_err(format)? {
        None => None,
        Some(bytes) => Some(parse_npy(&bytes).map_err(|m| format(format!("entry `y.npy`: {m}")))?),
    };

    let [rows, cols] = x.shape[..] else {
        return Err(format(format!(
            "`X` has shape {}; it must be 2-D",
            shape_text(&x.shape)
        )));
    };
    let features = if x.fortran_order {
        Array2::from_shape_vec((rows, cols).f(), x.values)
    } else {
        Array2::from_shape_vec((rows, cols), x.values)
    }
    .map_err(|e| format(format!("`X`: {e}")))?
    .as_standard_layout()
    .into_owned();

    let labels = match y {
        None => None,
        Some(y) => {
            let is_vector = match y.shape[..] {
                [_] => true,
                [a, b] => a == 1 || b == 1,
                _ => false,
            };
            if !is_vector {
                return Err(format(format!(
                    "`y` has shape {}; it must be (n,), (n, 1) or (1, n)",
                    shape_text(&y.shape)
                )));
            }
            Some(y.values)
        }
    };
    checked_dataset(path, features, labels.as_deref())
}

/// The bytes of entry `name`, `None` when the archive has no such entry.
fn read_entry<R: Read + std::io::Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let mut entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("entry `{name}` cannot be opened: {e}")),
    };
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).map_err(|e| {
        format!("entry `{name}` cannot be read (corrupt or truncated archive): {e}")
    })?;
    Ok(Some(bytes))
}

/// Python-style `(a, b)` text for a shape.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An array read from a `.npy` file: values as `f64` in stored order.
#[derive(Debug)]
struct NpyArray {
    shape: Vec<usize>,
    fortran_order: bool,
    values: Vec<f64>,
}

/// The element kinds this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

/// A parsed `descr`: kind, size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

/// Parses a `descr` string such as `<f8`, `|u1` or `>i4`.
fn parse_descr(descr: &str) -> std::result::Result<Dtype, String> {
    const SUPPORTED: &str = "<f8 <f4 <i8 <i4 <i2 |i1 |u1 <u2 <u4 <u8 |b1, and `>` variants";
    let unsupported = || format!("dtype `{descr}` is not supported (supported: {SUPPORTED})");
    let mut chars = descr.chars();
    let big_endian = match chars.next() {
        Some('<') | Some('|') => false,
        Some('>') => true,
        _ => return Err(unsupported()),
    };
    let (kind, size) = match chars.as_str() {
        "f8" => (Kind::Float, 8),
        "f4" => (Kind::Float, 4),
        "i8" => (Kind::Int, 8),
        "i4" => (Kind::Int, 4),
        "i2" => (Kind::Int, 2),
        "i1" => (Kind::Int, 1),
        "u8" => (Kind::Uint, 8),
        "u4" => (Kind::Uint, 4),
        "u2" => (Kind::Uint, 2),
        "u1" => (Kind::Uint, 1),
        "b1" => (Kind::Bool, 1),
        _ => return Err(unsupported()),
    };
    if descr.starts_with('|') && size > 1 {
        return Err(format!(
            "dtype `{descr}` has no byte order (`|`) but {size}-byte values"
        ));
    }
    Ok(Dtype {
        kind,
        size,
        big_endian,
    })
}

/// The first `N` bytes of `data`, or `None` when it is shorter.
fn array_at<const N: usize>(data: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(data.get(..N)?);
    Some(out)
}

/// Decodes `count` values of `dtype` from the start of `data` (whose length the caller checked).
fn decode(dtype: Dtype, data: &[u8]) -> Vec<f64> {
    fn each<const N: usize>(data: &[u8], big: bool, f: impl Fn([u8; N]) -> f64) -> Vec<f64> {
        data.chunks_exact(N)
            .filter_map(array_at::<N>)
            .map(|mut w| {
                if big {
                    w.reverse();
                }
                f(w) // `w` is now little-endian
            })
            .collect()
    }
    let big = dtype.big_endian;
    match (dtype.kind, dtype.size) {
        (Kind::Float, 8) => each::<8>(data, big, f64::from_le_bytes),
        (Kind::Float, _) => each::<4>(data, big, |w| f64::from(f32::from_le_bytes(w))),
        (Kind::Int, 8) => each::<8>(data, big, |w| i64::from_le_bytes(w) as f64),
        (Kind::Int, 4) => each::<4>(data, big, |w| f64::from(i32::from_le_bytes(w))),
        (Kind::Int, 2) => each::<2>(data, big, |w| f64::from(i16::from_le_bytes(w))),
        (Kind::Int, _) => data.iter().map(|&b| f64::from(b as i8)).collect(),
        (Kind::Uint, 8) => each::<8>(data, big, |w| u64::from_le_bytes(w) as f64),
        (Kind::Uint, 4) => each::<4>(data, big, |w| f64::from(u32::from_le_bytes(w))),
        (Kind::Uint, 2) => each::<2>(data, big, |w| f64::from(u16::from_le_bytes(w))),
        (Kind::Uint, _) | (Kind::Bool, _) => data.iter().map(|&b| f64::from(b)).collect(),
    }
}

/// Parses a whole `.npy` file; errors are messages without the path.
fn parse_npy(bytes: &[u8]) -> std::result::Result<NpyArray, String> {
    if bytes.get(..6) != Some(b"\x93NUMPY".as_slice()) {
        return Err("not a .npy array (the magic string `\\x93NUMPY` is missing)".to_string());
    }
    let (major, minor) = match (bytes.get(6), bytes.get(7)) {
        (Some(&major), Some(&minor)) => (major, minor),
        _ => return Err("truncated: the file ends inside the version bytes".to_string()),
    };
    let (header_len, header_start) = match major {
        1 => (
            bytes
                .get(8..10)
                .and_then(array_at::<2>)
                .map(|b| usize::from(u16::from_le_bytes(b))),
            10,
        ),
        2 | 3 => (
            bytes
                .get(8..12)
                .and_then(array_at::<4>)
                .map(|b| u32::from_le_bytes(b) as usize),
            12,
        ),
        _ => {
            return Err(format!(
                "unsupported .npy version {major}.{minor} (1.0, 2.0 and 3.0 are read)"
            ))
        }
    };
    let header_len =
        header_len.ok_or("truncated: the file ends inside the header length".to_string())?;
    let header_end = header_start + header_len;
    let Some(header) = bytes.get(header_start..header_end) else {
        return Err(format!(
            "truncated: the header says {header_len} bytes but the file has {} after the prefix",
            bytes.len().saturating_sub(header_start)
        ));
    };
    let header = std::str::from_utf8(header)
        .map_err(|_| "the header is not text (ASCII or UTF-8)".to_string())?;
    let (dtype, fortran_order, shape) = parse_header(header)?;

    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {} overflows", shape_text(&shape)))?;
    let needed = count
        .checked_mul(dtype.size)
        .ok_or_else(|| format!("shape {} overflows", shape_text(&shape)))?;
    let data = bytes.get(header_end..).unwrap_or(&[]);
    let Some(data) = data.get(..needed) else {
        return Err(format!(
            "truncated: shape {} of {}-byte values needs {needed} data bytes, the file has {}",
            shape_text(&shape),
            dtype.size,
            data.len()
        ));
    };
    Ok(NpyArray {
        shape,
        fortran_order,
        values: decode(dtype, data),
    })
}

/// A value of the Python literal syntax used by `.npy` headers.
#[derive(Debug, Clone, PartialEq)]
enum PyValue {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    Tuple(Vec<PyValue>),
    List(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

/// Parses the header dict and returns its dtype, order and shape.
fn parse_header(text: &str) -> std::result::Result<(Dtype, bool, Vec<usize>), String> {
    let mut parser = Literal {
        text: text.as_bytes(),
        pos: 0,
    };
    let value = parser
        .value(0)
        .map_err(|m| format!("header `{}`: {m}", text.trim_end()))?;
    parser.skip_space();
    if parser.pos != parser.text.len() {
        return Err(format!(
            "header `{}`: unexpected text after the dict",
            text.trim_end()
        ));
    }
    let PyValue::Dict(entries) = value else {
        return Err(format!("header `{}` is not a dict", text.trim_end()));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == PyValue::Str(key.to_string()))
            .map(|(_, v)| v)
    };
    let dtype = match get("descr") {
        Some(PyValue::Str(descr)) => parse_descr(descr)?,
        Some(_) => {
            return Err(
                "structured (record) dtypes are not supported; save plain numeric arrays"
                    .to_string(),
            )
        }
        None => return Err("the header has no `descr`".to_string()),
    };
    let fortran_order = match get("fortran_order") {
        Some(PyValue::Bool(b)) => *b,
        _ => return Err("the header has no `fortran_order` True/False".to_string()),
    };
    let shape = match get("shape") {
        Some(PyValue::Tuple(items)) => items
            .iter()
            .map(|item| match item {
                PyValue::Int(n) => {
                    usize::try_from(*n).map_err(|_| format!("dimension {n} too large"))
                }
                other => Err(format!("shape holds {other:?}, not a non-negative integer")),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        _ => return Err("the header has no `shape` tuple".to_string()),
    };
    Ok((dtype, fortran_order, shape))
}

/// A small recursive-descent parser for Python literals (strings, integers, True/False/None,
/// tuples, lists, dicts).
struct Literal<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Literal<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> std::result::Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "expected `{}` at character {}",
                byte as char, self.pos
            ))
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<PyValue, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".to_string());
        }
        match self.peek() {
            Some(quote @ (b'\'' | b'"')) => self.string(quote),
            Some(b'(') => self.sequence(b')', depth).map(PyValue::Tuple),
            Some(b'[') => self.sequence(b']', depth).map(PyValue::List),
            Some(b'{') => self.dict(depth),
            Some(b'0'..=b'9') => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .text
                    .get(self.pos)
                    .is_some_and(u8::is_ascii_alphanumeric)
                {
                    self.pos += 1;
                }
                match &self.text[start..self.pos] {
                    b"True" => Ok(PyValue::Bool(true)),
                    b"False" => Ok(PyValue::Bool(false)),
                    b"None" => Ok(PyValue::None),
                    other => Err(format!(
                        "unknown name `{}` at character {start}",
                        String::from_utf8_lossy(other)
                    )),
                }
            }
            Some(c) => Err(format!(
                "unexpected `{}` at character {}",
                c as char, self.pos
            )),
            None => Err("the header ends early".to_string()),
        }
    }

    fn string(&mut self, quote: u8) -> std::result::Result<PyValue, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.text.get(self.pos) {
                None => return Err(format!("unterminated string at character {start}")),
                Some(&c) if c == quote => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = self
                        .text
                        .get(self.pos + 1)
                        .ok_or(format!("unterminated string at character {start}"))?;
                    out.push(*escaped);
                    self.pos += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(PyValue::Str(String::from_utf8_lossy(&out).into_owned()))
    }

    fn int(&mut self) -> std::result::Result<PyValue, String> {
        let start = self.pos;
        while self.text.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let digits = String::from_utf8_lossy(&self.text[start..self.pos]).into_owned();
        // Python 2 wrote long integers with a trailing `L`.
        if self.text.get(self.pos) == Some(&b'L') {
            self.pos += 1;
        }
        digits
            .parse()
            .map(PyValue::Int)
            .map_err(|_| format!("integer `{digits}` too large"))
    }

    /// Comma-separated values up to `close` (a trailing comma allowed).
    fn sequence(&mut self, close: u8, depth: usize) -> std::result::Result<Vec<PyValue>, String> {
        self.pos += 1; // the opening bracket
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value(depth + 1)?);
            if self.peek() == Some(b',') {
                self.pos += 1;
            } else {
                self.expect(close)?;
                return Ok(items);
            }
        }
    }

    fn dict(&mut self, depth: usize) -> std::result::Result<PyValue, String> {
        self.pos += 1; // `{`
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(PyValue::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            if self.peek() == Some(b',') {
                self.pos += 1;
            } else {
                self.expect(b'}')?;
                return Ok(PyValue::Dict(entries));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    /// A `.npy` file: header padded (with spaces and a newline) so the data starts at a multiple
    /// of 64, as NumPy writes it.
    fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8], major: u8) -> Vec<u8> {
        let shape = shape_text(shape);
        let fortran = if fortran { "True" } else { "False" };
        let dict =
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
        npy_with_header(&dict, data, major)
    }

    /// A `.npy` file with the header dict `dict` written as given.
    fn npy_with_header(dict: &str, data: &[u8], major: u8) -> Vec<u8> {
        let prefix = if major == 1 { 10 } else { 12 };
        let padding = 63 - (prefix + dict.len()) % 64;
        let header = format!("{dict}{}\n", " ".repeat(padding));
        let mut out = b"\x93NUMPY".to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn write_npz(dir: &tempfile::TempDir, name: &str, entries: &[(&str, Vec<u8>)]) -> PathBuf {
        let path = dir.path().join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (entry, bytes) in entries {
            zip.start_file(*entry, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn le<T: Copy, const N: usize>(values: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(|&v| f(v)).collect()
    }

    /// X (3×2): every cell differs.
    const X_ROWS: [[f64; 2]; 3] = [[1.5, -4.0], [2.25, 5.0], [3.0, 6.125]];

    fn x_c_order_f8() -> Vec<u8> {
        let values: Vec<f64> = X_ROWS.iter().flatten().copied().collect();
        npy("<f8", false, &[3, 2], &le(&values, f64::to_le_bytes), 1)
    }

    fn y_i8(labels: &[i64]) -> Vec<u8> {
        npy(
            "<i8",
            false,
            &[labels.len()],
            &le(labels, i64::to_le_bytes),
            1,
        )
    }

    fn assert_x(ds: &Dataset) {
        assert_eq!(ds.features.dim(), (3, 2));
        for (i, row) in X_ROWS.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert_eq!(ds.features[[i, j]], v, "X[{i}, {j}]");
            }
        }
        assert_eq!(ds.columns, vec!["x0", "x1"]);
    }

    fn format_message(err: DataError) -> String {
        match err {
            DataError::Format { message, .. } => message,
            other => panic!("expected a Format error, got {other:?}"),
        }
    }

    #[test]
    fn reads_f8_c_order_x_and_i8_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_npz(
            &dir,
            "a.npz",
            &[("X.npy", x_c_order_f8()), ("y.npy", y_i8(&[0, 1, 1]))],
        );
        let ds = load_npz(&path).unwrap();
        assert_x(&ds);
        assert_eq!(ds.labels, Some(vec![0, 1, 1]));
    }

    #[test]
    fn reads_f4_fortran_order_and_version_2_headers() {
        // Column-major storage of X_ROWS: column 0 then column 1.
        let values: Vec<f32> = (0..2)
            .flat_map(|j| (0..3).map(move |i| X_ROWS[i][j] as f32))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for major in [1, 2, 3] {
            let x = npy("<f4", true, &[3, 2], &le(&values, f32::to_le_bytes), major);
            let y = npy("|u1", false, &[3, 1], &[1, 0, 0], major);
            let path = write_npz(&dir, "f.npz", &[("y.npy", y), ("X.npy", x)]);
            let ds = load_npz(&path).unwrap();
            assert_x(&ds);
            assert_eq!(ds.labels, Some(vec![1, 0, 0]));
        }
    }

    #[test]
    fn reads_every_supported_dtype_and_big_endian() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(&str, Vec<u8>, f64)> = vec![
            ("<f8", le(&[-1.5f64, 2.0], f64::to_le_bytes), -1.5),
            (">f8", le(&[-1.5f64, 2.0], f64::to_be_bytes), -1.5),
            ("<f4", le(&[-1.5f32, 2.0], f32::to_le_bytes), -1.5),
            (">f4", le(&[-1.5f32, 2.0], f32::to_be_bytes), -1.5),
            ("<i8", le(&[-7i64, 2], i64::to_le_bytes), -7.0),
            (">i8", le(&[-7i64, 2], i64::to_be_bytes), -7.0),
            ("<i4", le(&[-7i32, 2], i32::to_le_bytes), -7.0),
            (">i4", le(&[-7i32, 2], i32::to_be_bytes), -7.0),
            ("<i2", le(&[-7i16, 2], i16::to_le_bytes), -7.0),
            (">i2", le(&[-7i16, 2], i16::to_be_bytes), -7.0),
            ("|i1", vec![0xF9, 2], -7.0),
            ("|u1", vec![200, 2], 200.0),
            ("<u2", le(&[60000u16, 2], u16::to_le_bytes), 60000.0),
            (">u2", le(&[60000u16, 2], u16::to_be_bytes), 60000.0),
            ("<u4", le(&[4_000_000_000u32, 2], u32::to_le_bytes), 4e9),
            ("<u8", le(&[9u64, 2], u64::to_le_bytes), 9.0),
            (">u8", le(&[9u64, 2], u64::to_be_bytes), 9.0),
            ("|b1", vec![1, 2], 1.0),
        ];
        for (descr, data, first) in cases {
            let x = npy(descr, false, &[2, 1], &data, 1);
            let path = write_npz(&dir, "t.npz", &[("X.npy", x)]);
            let ds = load_npz(&path).unwrap();
            assert_eq!(ds.features, ndarray::array![[first], [2.0]], "{descr}");
            assert_eq!(ds.labels, None);
        }
        // Labels as bool.
        let y = npy("|b1", false, &[3], &[0, 1, 0], 1);
        let path = write_npz(&dir, "b.npz", &[("X.npy", x_c_order_f8()), ("y.npy", y)]);
        assert_eq!(load_npz(&path).unwrap().labels, Some(vec![0, 1, 0]));
    }

    #[test]
    fn truncated_and_garbage_files_are_format_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_npz(
            &dir,
            "good.npz",
            &[("X.npy", x_c_order_f8()), ("y.npy", y_i8(&[0, 1, 1]))],
        );
        let bytes = std::fs::read(&good).unwrap();
        for cut in 0..bytes.len() {
            let path = dir.path().join("cut.npz");
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = load_npz(&path).unwrap_err();
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
            assert!(matches!(err, DataError::Format { .. }), "cut {cut}: {err}");
        }

        let path = dir.path().join("garbage.npz");
        std::fs::write(&path, b"this is not a zip archive at all, just some text").unwrap();
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("zip"), "{message}");

        // A valid archive whose X.npy is cut short, or is not .npy at all.
        let x = x_c_order_f8();
        let path = write_npz(&dir, "short.npz", &[("X.npy", x[..x.len() - 3].to_vec())]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(
            message.contains("X.npy") && message.contains("truncated"),
            "{message}"
        );
        let path = write_npz(&dir, "short.npz", &[("X.npy", x[..40].to_vec())]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("truncated"), "{message}");
        let path = write_npz(&dir, "text.npz", &[("X.npy", b"1,2\n3,4\n".to_vec())]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("magic"), "{message}");

        let path = dir.path().join("absent.npz");
        assert!(matches!(load_npz(&path).unwrap_err(), DataError::Io { .. }));
    }

    #[test]
    fn corrupt_npy_bytes_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let good = x_c_order_f8();
        let mut state = 0x9E3779B97F4A7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let mut bytes = good.clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % 70;
                bytes[at] = next() as u8;
            }
            let _ = parse_npy(&bytes);
        }
        let path = write_npz(&dir, "ok.npz", &[("X.npy", good)]);
        assert!(load_npz(&path).is_ok());
    }

    #[test]
    fn missing_x_is_an_error_listing_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_npz(&dir, "nox.npz", &[("y.npy", y_i8(&[0, 1, 1]))]);
        let err = load_npz(&path).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()));
        let message = format_message(err);
        assert!(
            message.contains("X.npy") && message.contains("y.npy"),
            "{message}"
        );
    }

    #[test]
    fn unsupported_dtypes_and_headers_are_format_errors() {
        let dir = tempfile::tempdir().unwrap();
        for (descr, word) in [
            ("<c16", "<c16"),
            ("|O", "|O"),
            ("<f2", "<f2"),
            ("|f8", "byte order"),
        ] {
            let x = npy(descr, false, &[3, 2], &[0; 96], 1);
            let path = write_npz(&dir, "dt.npz", &[("X.npy", x)]);
            let message = format_message(load_npz(&path).unwrap_err());
            assert!(
                message.contains(word) && message.contains("X.npy"),
                "{message}"
            );
        }
        // A structured dtype.
        let dict = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }";
        let x = npy_with_header(dict, &[0; 24], 1);
        let path = write_npz(&dir, "rec.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("structured"), "{message}");
        // An unknown version.
        let mut x = x_c_order_f8();
        x[6] = 9;
        let path = write_npz(&dir, "v9.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("version 9.0"), "{message}");
    }

    #[test]
    fn shape_nan_and_label_errors() {
        let dir = tempfile::tempdir().unwrap();
        // 1-D X.
        let x = npy(
            "<f8",
            false,
            &[3],
            &le(&[1.0f64, 2.0, 3.0], f64::to_le_bytes),
            1,
        );
        let path = write_npz(&dir, "x1d.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("`X` has shape (3,)"), "{message}");

        // NaN at row 2 (1-based), column x1.
        let values = [1.0f64, 2.0, 3.0, f64::INFINITY, 5.0, 6.0];
        let x = npy("<f8", false, &[3, 2], &le(&values, f64::to_le_bytes), 1);
        let path = write_npz(&dir, "inf.npz", &[("X.npy", x)]);
        let err = load_npz(&path).unwrap_err();
        assert!(
            matches!(&err, DataError::NotFinite { line: 2, column, .. } if column == "x1"),
            "{err}"
        );

        // Label 2.
        let path = write_npz(
            &dir,
            "y2.npz",
            &[("X.npy", x_c_order_f8()), ("y.npy", y_i8(&[0, 1, 2]))],
        );
        let err = load_npz(&path).unwrap_err();
        assert!(
            matches!(&err, DataError::BadLabel { line: 3, value, .. } if value == "2"),
            "{err}"
        );

        // Wrong label count and shape.
        let path = write_npz(
            &dir,
            "ylen.npz",
            &[("X.npy", x_c_order_f8()), ("y.npy", y_i8(&[0, 1]))],
        );
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(
            message.contains("2 labels") && message.contains("3 rows"),
            "{message}"
        );
        let y = npy("<i8", false, &[3, 2], &le(&[0i64; 6], i64::to_le_bytes), 1);
        let path = write_npz(&dir, "y2d.npz", &[("X.npy", x_c_order_f8()), ("y.npy", y)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("`y` has shape (3, 2)"), "{message}");

        // No rows.
        let x = npy("<f8", false, &[0, 2], &[], 1);
        let path = write_npz(&dir, "empty.npz", &[("X.npy", x)]);
        assert!(matches!(
            load_npz(&path).unwrap_err(),
            DataError::Empty { .. }
        ));
    }

    #[test]
    fn string_and_date_dtypes_name_the_array_and_dtype() {
        let dir = tempfile::tempdir().unwrap();
        for descr in ["<U5", "|S3", "<M8[D]", "<c8"] {
            let x = npy(descr, false, &[3, 2], &[0; 120], 1);
            let path = write_npz(&dir, "s.npz", &[("X.npy", x)]);
            let err = load_npz(&path).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "{}: entry `X.npy`: dtype `{descr}` is not supported",
                    path.display()
                )),
                "{text}"
            );
            // The same for `y`.
            let y = npy(descr, false, &[3], &[0; 60], 1);
            let path = write_npz(&dir, "s.npz", &[("X.npy", x_c_order_f8()), ("y.npy", y)]);
            let message = format_message(load_npz(&path).unwrap_err());
            assert!(
                message.starts_with(&format!("entry `y.npy`: dtype `{descr}`")),
                "{message}"
            );
        }
    }

    #[test]
    fn three_d_x_no_columns_and_fractional_labels_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let x = npy(
            "<f8",
            false,
            &[1, 3, 2],
            &le(&[0.0f64; 6], f64::to_le_bytes),
            1,
        );
        let path = write_npz(&dir, "x3d.npz", &[("X.npy", x)]);
        assert_eq!(
            load_npz(&path).unwrap_err().to_string(),
            format!(
                "{}: `X` has shape (1, 3, 2); it must be 2-D",
                path.display()
            )
        );
        let x = npy("<f8", false, &[3, 0], &[], 1);
        let path = write_npz(&dir, "nocols.npz", &[("X.npy", x)]);
        assert_eq!(
            load_npz(&path).unwrap_err().to_string(),
            format!(
                "{}: no feature columns (`X` has 3 rows and 0 columns)",
                path.display()
            )
        );
        for (bad, text) in [(0.5f64, "0.5"), (-1.0, "-1")] {
            let y = npy(
                "<f8",
                false,
                &[3],
                &le(&[0.0, bad, 1.0], f64::to_le_bytes),
                1,
            );
            let path = write_npz(&dir, "yf.npz", &[("X.npy", x_c_order_f8()), ("y.npy", y)]);
            assert_eq!(
                load_npz(&path).unwrap_err().to_string(),
                format!(
                    "{}, line 2: label `{text}` is neither 0 nor 1",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn header_parser_reads_python_literals() {
        let (dtype, fortran, shape) =
            parse_header("{'descr': '<f8', 'fortran_order': True, 'shape': (3772L, 6L), }  \n")
                .unwrap();
        assert_eq!(dtype.kind, Kind::Float);
        assert!(fortran);
        assert_eq!(shape, vec![3772, 6]);
        let (_, _, shape) =
            parse_header("{\"shape\": (), \"fortran_order\": False, \"descr\": \"|u1\"}").unwrap();
        assert!(shape.is_empty());
        assert!(parse_header("{'descr': '<f8', 'fortran_order': False}").is_err());
        assert!(parse_header("{'descr': '<f8' 'shape': (1,)}").is_err());
        assert!(parse_header(&"(".repeat(100)).is_err());
    }

    #[test]
    fn real_thyroid_npz_matches_the_mat_file() {
        let Some(npz_path) = crate::test_support::shared_file("odds/thyroid.npz") else {
            return;
        };
        let npz = load_npz(&npz_path).unwrap();
        assert_eq!(npz.features.dim(), (3772, 6));
        assert_eq!(npz.n_anomalies(), Some(93));

        let Some(mat_path) = crate::test_support::shared_file("odds/thyroid.mat") else {
            return;
        };
        let mat = crate::mat::load_mat(&mat_path).unwrap();
        let max_diff = (&npz.features - &mat.features)
            .iter()
            .fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(max_diff <= 1e-12, "X differs by up to {max_diff}");
        assert_eq!(npz.labels, mat.labels);
    }
}
