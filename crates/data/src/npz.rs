//! NumPy `.npz` archives in the ADBench layout: arrays `X` (features) and `y` (0/1 labels).
//!
//! An `.npz` is a zip archive (stored or deflated) of `.npy` files, one per array, named
//! `<name>.npy`. The entries are opened with the `zip` crate and read with [`ndarray_npy`]:
//! `.npy` versions 1.0 to 3.0, C or Fortran order, the dtypes float64 and float32, signed and
//! unsigned integers of 1, 2, 4 and 8 bytes and bool, little- or big-endian. Values become
//! `f64`.
//!
//! `X` must be 2-D; `y` (optional) has shape `(n,)`, `(n, 1)` or `(1, n)` with n = the rows of
//! `X`, every value 0 or 1. Other arrays in the archive are ignored; data bytes beyond the array
//! are ignored too, as NumPy does.
//!
//! Does not read: pickled object arrays, structured (record) dtypes, float16, complex, strings or
//! dates; Python 2's `3772L` integers in a header; a bare `.npy` file; encrypted archives. Every
//! malformed or truncated layout gives a [`DataError::Format`] error naming the file, the entry
//! and what was wrong. As in [`crate::mat`], the `line` of [`DataError::NotFinite`] and
//! [`DataError::BadLabel`] is the 1-based row (binary formats have no lines) and columns are
//! named `x0, x1, ...`.

use std::io::{Read, Seek};
use std::path::Path;

use ndarray::{ArrayD, Ix2};
use ndarray_npy::{ReadDataError, ReadNpyError, ReadNpyExt, ReadableElement};
use py_literal::Value as PyValue;
use zip::result::ZipError;
use zip::ZipArchive;

use crate::error::{DataError, Result};
use crate::mat::checked_dataset;
use crate::Dataset;

/// The dtypes [`Number`] reads, for error messages.
const SUPPORTED: &str = "<f8 <f4 <i8 <i4 <i2 |i1 |u1 <u2 <u4 <u8 |b1, and `>` variants";

/// The most brackets a `.npy` header may hold; a plain array's holds 2 or 3 (the dict, the
/// shape, a date unit). The header parser (py_literal, on pest) backtracks, and its time doubles
/// with each level of nesting (16 levels: about 0.4 s; 30: hours), so a corrupt header is refused
/// before it reaches the parser.
const MAX_HEADER_BRACKETS: usize = 16;

/// Reads `X` (features) and, when present, `y` (0/1 labels, 1 = anomaly) from a NumPy `.npz`
/// archive. Columns are named `x0, x1, ...`.
///
/// Errors: [`DataError::Io`] when the file cannot be opened; [`DataError::Format`] for a file
/// that is not a zip archive, a corrupt or truncated entry or `.npy` layout, a missing `X.npy`,
/// an unsupported dtype, or an `X`/`y` of the wrong shape; [`DataError::Empty`] when `X` has no
/// rows; [`DataError::NoFeatures`] when it has no columns; [`DataError::NotFinite`] for NaN or
/// infinity in `X`, with `line` = the 1-based row (binary formats have no lines) and the column
/// `x{j}`; [`DataError::BadLabel`] for a label other than 0 or 1, `line` again the 1-based row.
pub fn load_npz(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut archive = ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        DataError::format(
            path,
            format!("not a readable zip archive (an .npz file is one): {e}"),
        )
    })?;
    let format = |message: String| DataError::format(path, message);

    let Some(x) = read_array(&mut archive, "X.npy").map_err(format)? else {
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
    let y = read_array(&mut archive, "y.npy").map_err(format)?;

    if x.ndim() != 2 {
        return Err(format(format!(
            "`X` has shape {}; it must be 2-D",
            shape_text(x.shape())
        )));
    }
    let features = x
        .into_dimensionality::<Ix2>()
        .map_err(|e| format(format!("`X`: {e}")))?
        .map(|v| v.0)
        .as_standard_layout()
        .into_owned();
    let labels = match y {
        None => None,
        Some(y) => {
            let is_vector = match y.shape() {
                [_] => true,
                [a, b] => *a == 1 || *b == 1,
                _ => false,
            };
            if !is_vector {
                return Err(format(format!(
                    "`y` has shape {}; it must be (n,), (n, 1) or (1, n)",
                    shape_text(y.shape())
                )));
            }
            Some(y.iter().map(|v| v.0).collect::<Vec<f64>>())
        }
    };
    checked_dataset(path, features, labels.as_deref())
}

/// The array `name` (entry `<name>.npy`) of an `.npz` archive as `f64`, whatever its numeric
/// dtype; `None` when the archive has no such array.
pub fn read_npz_array(path: &Path, name: &str) -> Result<Option<ArrayD<f64>>> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut archive = ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| DataError::format(path, format!("not a readable zip archive: {e}")))?;
    let array = read_array(&mut archive, &format!("{name}.npy"))
        .map_err(|message| DataError::format(path, message))?;
    Ok(array.map(|a| a.mapv(|v| v.0)))
}

/// The array in entry `name`, `None` when the archive has no such entry; errors are messages
/// naming the entry, without the path.
fn read_array<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
) -> std::result::Result<Option<ArrayD<Number>>, String> {
    let mut entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("entry `{name}` cannot be opened: {e}")),
    };
    let in_entry = |message: String| format!("entry `{name}`: {message}");
    let prefix = header_prefix(&mut entry).map_err(|e| in_entry(describe(ReadNpyError::Io(e))))?;
    let brackets = prefix
        .iter()
        .skip(10)
        .filter(|b| matches!(b, b'(' | b'[' | b'{'))
        .count();
    if brackets > MAX_HEADER_BRACKETS {
        return Err(in_entry(format!(
            "the .npy header holds {brackets} brackets, more than the {MAX_HEADER_BRACKETS} \
             read (a plain numeric array's holds 2 or 3): a structured dtype or a corrupt header"
        )));
    }
    ArrayD::<Number>::read_npy(prefix.as_slice().chain(entry))
        .map(Some)
        .map_err(|e| in_entry(describe(e)))
}

/// The start of a `.npy` file up to the end of its header (less where the file is shorter):
/// magic string, version, header length, header.
fn header_prefix(reader: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut prefix = Vec::new();
    reader.by_ref().take(12).read_to_end(&mut prefix)?;
    let header_end = match (prefix.get(6), prefix.get(8..12)) {
        (Some(1), Some(b)) => 10 + usize::from(u16::from_le_bytes([b[0], b[1]])),
        (Some(_), Some(b)) => 12 + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
        _ => return Ok(prefix),
    };
    let rest = header_end.saturating_sub(prefix.len()) as u64;
    reader.by_ref().take(rest).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// What went wrong reading one `.npy` entry, without the path and entry name.
fn describe(e: ReadNpyError) -> String {
    match e {
        ReadNpyError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated: the entry ends inside the .npy header".to_string()
        }
        ReadNpyError::Io(e) => format!("cannot be read (corrupt or truncated archive): {e}"),
        ReadNpyError::ParseHeader(e) => format!("not a readable .npy header: {e}"),
        // `Number` reports its own problems (dtype, truncation) as `ParseData`.
        ReadNpyError::ParseData(e) => e.to_string(),
        ReadNpyError::LengthOverflow => "the shape in the header overflows".to_string(),
        other => other.to_string(),
    }
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

/// One value of an array, as `f64`, whatever numeric dtype the file stores: ndarray-npy reads
/// each dtype into the Rust type of that dtype, and this element picks the type from the
/// header's `descr`.
#[derive(Debug, Clone, Copy)]
struct Number(f64);

/// A message for [`ReadDataError::ParseData`], which [`describe`] shows as it is.
fn problem(message: String) -> ReadDataError {
    ReadDataError::ParseData(message.into())
}

impl ReadableElement for Number {
    fn read_to_end_exact_vec<R: Read>(
        mut reader: R,
        type_desc: &PyValue,
        len: usize,
    ) -> std::result::Result<Vec<Self>, ReadDataError> {
        let descr = match type_desc {
            PyValue::String(descr) => descr.as_str(),
            PyValue::List(_) => {
                return Err(problem(
                    "structured (record) dtypes are not supported; save plain numeric arrays"
                        .to_string(),
                ))
            }
            other => {
                return Err(problem(format!(
                    "dtype {other} is not supported (supported: {SUPPORTED})"
                )))
            }
        };
        // NumPy writes `|` for one-byte types; `<` or `>` there is read the same.
        let one_byte = match descr.get(1..) {
            Some(code @ ("i1" | "u1" | "b1")) if descr.starts_with(['<', '>']) => {
                Some(PyValue::String(format!("|{code}")))
            }
            _ => None,
        };
        let type_desc = one_byte.as_ref().unwrap_or(type_desc);
        let (size, read_values): (usize, Decode) = match descr {
            "<f8" | ">f8" => (8, decode::<f64>),
            "<f4" | ">f4" => (4, decode::<f32>),
            "<i8" | ">i8" => (8, decode::<i64>),
            "<i4" | ">i4" => (4, decode::<i32>),
            "<i2" | ">i2" => (2, decode::<i16>),
            "|i1" | "<i1" | ">i1" => (1, decode::<i8>),
            "<u8" | ">u8" => (8, decode::<u64>),
            "<u4" | ">u4" => (4, decode::<u32>),
            "<u2" | ">u2" => (2, decode::<u16>),
            "|u1" | "<u1" | ">u1" => (1, decode::<u8>),
            "|b1" | "<b1" | ">b1" => (1, decode::<bool>),
            _ => {
                return Err(problem(format!(
                    "dtype `{descr}` is not supported (supported: {SUPPORTED})"
                )))
            }
        };
        // Read what the entry holds before allocating what the header claims, so a corrupt
        // shape is an error rather than a huge allocation.
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        let needed = len.checked_mul(size).ok_or_else(|| {
            problem(format!(
                "{len} values of {size} bytes overflow the address space"
            ))
        })?;
        let Some(data) = bytes.get(..needed) else {
            return Err(problem(format!(
                "truncated: {len} values of `{descr}` need {needed} data bytes, the entry has {}",
                bytes.len()
            )));
        };
        read_values(data, type_desc, len).map_err(|e| match e {
            ReadDataError::ParseData(e) => problem(format!("`{descr}` data: {e}")),
            other => other,
        })
    }
}

/// Reads `len` values of one dtype from `data` (exactly their bytes) as [`Number`]s.
type Decode = fn(&[u8], &PyValue, usize) -> std::result::Result<Vec<Number>, ReadDataError>;

fn decode<T: ReadableElement + ToF64>(
    data: &[u8],
    type_desc: &PyValue,
    len: usize,
) -> std::result::Result<Vec<Number>, ReadDataError> {
    Ok(T::read_to_end_exact_vec(data, type_desc, len)?
        .into_iter()
        .map(|v| Number(v.to_f64()))
        .collect())
}

/// The value as `f64` (64-bit integers beyond 2^53 round, as NumPy's `astype(float)` does).
trait ToF64 {
    fn to_f64(self) -> f64;
}

macro_rules! to_f64_by_cast {
    ($($t:ty),*) => {
        $(impl ToF64 for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
        })*
    };
}

to_f64_by_cast!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8);

impl ToF64 for bool {
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
}

/// Writes a NumPy `.npz` archive at `path`, whole or not at all ([`crate::atomic`]): `fill`
/// adds the arrays ([`NpzWriter::array`]), each stored uncompressed as `<name>.npy` (what
/// `numpy.savez` writes; `numpy.load` reads it back with the names, shapes and dtypes given).
pub fn write_npz(path: &Path, fill: impl FnOnce(&mut NpzWriter<'_>) -> Result<()>) -> Result<()> {
    crate::atomic::write_atomically(path, |tmp| {
        let file = tmp
            .as_file()
            .try_clone()
            .map_err(|e| DataError::io(path, e))?;
        let mut writer = NpzWriter {
            zip: zip::ZipWriter::new(std::io::BufWriter::new(file)),
            path,
        };
        fill(&mut writer)?;
        let mut file = writer
            .zip
            .finish()
            .map_err(|e| DataError::format(path, format!("cannot finish the archive: {e}")))?;
        std::io::Write::flush(&mut file).map_err(|e| DataError::io(path, e))
    })
    .map_err(|e| e.into_error(|io| DataError::io(path, io)))
}

/// Adds arrays to the archive [`write_npz`] is writing.
pub struct NpzWriter<'a> {
    zip: zip::ZipWriter<std::io::BufWriter<std::fs::File>>,
    path: &'a Path,
}

impl NpzWriter<'_> {
    /// Adds `array` as `<name>.npy` (C order; f64, f32, integers and bool keep their dtype).
    pub fn array<A, S, D>(&mut self, name: &str, array: &ndarray::ArrayBase<S, D>) -> Result<()>
    where
        A: ndarray_npy::WritableElement,
        S: ndarray::Data<Elem = A>,
        D: ndarray::Dimension,
    {
        use ndarray_npy::WriteNpyExt;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        let entry = format!("{name}.npy");
        self.zip
            .start_file(entry.as_str(), options)
            .map_err(|e| DataError::format(self.path, format!("entry `{entry}`: {e}")))?;
        array
            .write_npy(&mut self.zip)
            .map_err(|e| DataError::format(self.path, format!("entry `{entry}`: {e}")))
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
    fn written_archives_read_back_with_their_values_and_dtypes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.npz");
        let x = ndarray::arr2(&[[1.5f32, -4.0], [2.25, 5.0], [3.0, 6.125]]);
        let y = ndarray::arr1(&[0u8, 1, 1]);
        let extra = ndarray::arr1(&[7i64, -2]);
        super::write_npz(&path, |w| {
            w.array("X", &x)?;
            w.array("y", &y)?;
            w.array("extra", &extra)
        })
        .unwrap();
        let ds = load_npz(&path).unwrap();
        assert_x(&ds);
        assert_eq!(ds.labels, Some(vec![0, 1, 1]));
        let mut archive = ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let names: Vec<&str> = archive.file_names().collect();
        assert_eq!(names.len(), 3);
        let extra_back = read_array(&mut archive, "extra.npy").unwrap().unwrap();
        assert_eq!(
            extra_back.iter().map(|v| v.0).collect::<Vec<_>>(),
            [7.0, -2.0]
        );
        // A failed fill leaves no file and no temporary file behind.
        let failed = dir.path().join("failed.npz");
        let err = super::write_npz(&failed, |w| {
            w.array("X", &x)?;
            Err(DataError::format(&failed, "stop"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
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
            ("<i1", vec![0xF9, 2], -7.0),
        ];
        for (descr, data, first) in cases {
            let x = npy(descr, false, &[2, 1], &data, 1);
            let path = write_npz(&dir, "t.npz", &[("X.npy", x)]);
            let ds = load_npz(&path).unwrap();
            assert_eq!(ds.features, ndarray::array![[first], [2.0]], "{descr}");
            assert_eq!(ds.labels, None);
        }
        // Bool features and labels.
        let x = npy("|b1", false, &[2, 1], &[1, 0], 1);
        let path = write_npz(&dir, "b.npz", &[("X.npy", x)]);
        assert_eq!(
            load_npz(&path).unwrap().features,
            ndarray::array![[1.0], [0.0]]
        );
        let y = npy("|b1", false, &[3], &[0, 1, 0], 1);
        let path = write_npz(&dir, "b.npz", &[("X.npy", x_c_order_f8()), ("y.npy", y)]);
        assert_eq!(load_npz(&path).unwrap().labels, Some(vec![0, 1, 0]));
        // A bool byte other than 0 or 1 is corrupt data.
        let x = npy("|b1", false, &[2, 1], &[1, 2], 1);
        let path = write_npz(&dir, "b.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(
            message.starts_with("entry `X.npy`: `|b1` data:") && message.contains("0x02"),
            "{message}"
        );
    }

    #[test]
    fn trailing_bytes_are_ignored_and_a_shape_larger_than_the_data_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut x = x_c_order_f8();
        x.extend_from_slice(&[0; 5]);
        let path = write_npz(&dir, "tail.npz", &[("X.npy", x)]);
        assert_x(&load_npz(&path).unwrap());
        // A header claiming 10^15 rows over 48 bytes of data: an error, not an allocation.
        let values: Vec<f64> = X_ROWS.iter().flatten().copied().collect();
        let x = npy(
            "<f8",
            false,
            &[1_000_000_000_000_000, 2],
            &le(&values, f64::to_le_bytes),
            1,
        );
        let path = write_npz(&dir, "huge.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(
            message.starts_with("entry `X.npy`: truncated:")
                && message.contains("the entry has 48"),
            "{message}"
        );
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
            let path = write_npz(&dir, "fuzz.npz", &[("X.npy", bytes)]);
            let _ = load_npz(&path);
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
        assert_eq!(
            message,
            "no array `X` (entry `X.npy`) in the archive (it holds: y.npy)"
        );
    }

    #[test]
    fn unsupported_dtypes_and_headers_are_format_errors() {
        let dir = tempfile::tempdir().unwrap();
        for (descr, word) in [
            ("<c16", "<c16"),
            ("|O", "|O"),
            ("<f2", "<f2"),
            ("|f8", "|f8"),
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
        assert!(message.contains("version number: 9.0"), "{message}");
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
    fn headers_in_other_spellings_and_malformed_headers() {
        let dir = tempfile::tempdir().unwrap();
        // Double quotes, keys in another order, no trailing comma.
        let values: Vec<f64> = X_ROWS.iter().flatten().copied().collect();
        let dict = r#"{"shape": (3, 2), "fortran_order": False, "descr": "<f8"}"#;
        let x = npy_with_header(dict, &le(&values, f64::to_le_bytes), 1);
        let path = write_npz(&dir, "dq.npz", &[("X.npy", x)]);
        assert_x(&load_npz(&path).unwrap());
        // A 0-D array.
        let x = npy("<f8", false, &[], &le(&[1.0f64], f64::to_le_bytes), 1);
        let path = write_npz(&dir, "x0d.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert_eq!(message, "`X` has shape (); it must be 2-D");
        // Malformed dicts (Python 2's `3772L` longs included).
        for dict in [
            "{'descr': '<f8', 'fortran_order': True, 'shape': (3L, 2L), }",
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8' 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': 'no', 'shape': (3, 2)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, -2)}",
            "[1, 2]",
        ] {
            let x = npy_with_header(dict, &[0; 48], 1);
            let path = write_npz(&dir, "h.npz", &[("X.npy", x)]);
            let err = load_npz(&path).unwrap_err();
            assert!(err.to_string().contains(&path.display().to_string()));
            let message = format_message(err);
            assert!(
                message.starts_with("entry `X.npy`: not a readable .npy header:"),
                "{dict}: {message}"
            );
        }
        // Deep nesting is refused before the parser, whose time doubles with each level.
        for deep in [
            format!(
                "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': (3, 2)}}",
                "[".repeat(40),
                "]".repeat(40)
            ),
            format!(
                "{{'descr': '<f8', 'fortran_order': False, 'shape': {}3,{}}}",
                "(".repeat(2000),
                ")".repeat(2000)
            ),
        ] {
            for major in [1, 2] {
                let x = npy_with_header(&deep, &[0; 48], major);
                let path = write_npz(&dir, "deep.npz", &[("X.npy", x)]);
                let message = format_message(load_npz(&path).unwrap_err());
                assert!(
                    message.starts_with("entry `X.npy`: the .npy header holds")
                        && message.contains("brackets"),
                    "{message}"
                );
            }
        }
        // Up to the limit it is parsed (and found to be a structured dtype).
        let x = npy_with_header(
            &format!(
                "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': (3, 2)}}",
                "[".repeat(14),
                "]".repeat(14)
            ),
            &[0; 48],
            1,
        );
        let path = write_npz(&dir, "deep.npz", &[("X.npy", x)]);
        let message = format_message(load_npz(&path).unwrap_err());
        assert!(message.contains("structured"), "{message}");
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
