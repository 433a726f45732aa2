//! MATLAB level-5 `.mat` files in the ODDS layout: a feature matrix `X` and 0/1 labels `y`.
//!
//! Reads, with its own parser (no MAT-file crate):
//! - the 128-byte header, in either byte order (endian indicator `IM`: little-endian, `MI`:
//!   big-endian);
//! - top-level `miMATRIX` elements, plain or wrapped in `miCOMPRESSED` (a zlib stream);
//! - data elements with the normal 8-byte tag and in the small-data-element format (a 4-byte tag
//!   whose upper 16 bits hold the byte count), with the 8-byte padding of the format;
//! - real, dense numeric arrays of every class (double, single, 8- to 64-bit integers, logical)
//!   whose real part may be stored in another type than the class says (MATLAB stores a double
//!   array of small integers as `miUINT8`); values become `f64`, read in column-major order.
//!
//! `X` must be 2-D; `y` (optional) is n×1 or 1×n with n = the rows of `X`, every value 0 or 1.
//! Other variables are skipped without reading their data.
//!
//! Does not read: MATLAB v4 files, v7.3 files (HDF5 inside), and complex, sparse, char, cell,
//! struct, object or function-handle arrays as `X` or `y` (a [`DataError::Format`] error names the
//! variable). Every malformed or truncated layout gives a `Format` error naming the file and what
//! was wrong.
//!
//! Binary formats have no lines: in the [`DataError::NotFinite`] and [`DataError::BadLabel`]
//! errors of this module (and of [`crate::npz`]), `line` is the 1-based row of the matrix and the
//! column is named `x{j}` with `j` 0-based, as in [`Dataset::default_columns`].

use std::io::Read;
use std::path::Path;

use flate2::read::ZlibDecoder;
use ndarray::{Array2, ShapeBuilder};

use crate::error::{DataError, Result};
use crate::Dataset;

/// Length of the text header, subsystem offset, version and endian indicator.
const HEADER_LEN: usize = 128;

// Data types of elements (the `mi*` constants of the MAT-file format).
const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MI_UTF8: u32 = 16;

// Array classes (the `mx*` constants), the low byte of the array flags.
const MX_CELL: u32 = 1;
const MX_STRUCT: u32 = 2;
const MX_OBJECT: u32 = 3;
const MX_CHAR: u32 = 4;
const MX_SPARSE: u32 = 5;
const MX_DOUBLE: u32 = 6;
const MX_UINT64: u32 = 15;
const MX_FUNCTION: u32 = 16;
const MX_OPAQUE: u32 = 17;

/// The complex bit of the array flags.
const FLAG_COMPLEX: u32 = 0x0800;

/// Reads `X` (features) and, when present, `y` (0/1 labels, 1 = anomaly) from a MATLAB level-5
/// file. Columns are named `x0, x1, ...`.
///
/// Errors: [`DataError::Io`] when the file cannot be read; [`DataError::Format`] for a file that
/// is not a level-5 MAT file, is truncated or malformed, has no `X`, or whose `X`/`y` has an
/// unsupported kind or shape; [`DataError::Empty`] when `X` has no rows;
/// [`DataError::NoFeatures`] when it has no columns;
/// [`DataError::NotFinite`] for NaN or infinity in `X`, with `line` = the 1-based row (binary
/// formats have no lines) and the column `x{j}`; [`DataError::BadLabel`] for a label other than
/// 0 or 1, `line` again the 1-based row.
pub fn load_mat(path: &Path) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let vars = parse_mat(&bytes).map_err(|message| DataError::format(path, message))?;
    let x = vars.x.ok_or_else(|| {
        let found = if vars.names.is_empty() {
            "none".to_string()
        } else {
            vars.names.join(", ")
        };
        DataError::format(
            path,
            format!("no variable named `X` (the file holds: {found})"),
        )
    })?;
    let [rows, cols] = x.dims[..] else {
        return Err(DataError::format(
            path,
            format!(
                "`X` has {} dimensions ({}); it must be 2-D",
                x.dims.len(),
                shape_text(&x.dims)
            ),
        ));
    };
    let features = Array2::from_shape_vec((rows, cols).f(), x.values)
        .map_err(|e| DataError::format(path, format!("`X`: {e}")))?
        .as_standard_layout()
        .into_owned();
    let labels = match vars.y {
        None => None,
        Some(y) => {
            let is_vector = y.dims.len() == 2 && (y.dims[0] == 1 || y.dims[1] == 1);
            if !is_vector {
                return Err(DataError::format(
                    path,
                    format!(
                        "`y` has shape {}; it must be n×1 or 1×n",
                        shape_text(&y.dims)
                    ),
                ));
            }
            Some(y.values)
        }
    };
    checked_dataset(path, features, labels.as_deref())
}

/// Checks `X` and `y` as read from a binary file (at least one row and one column, finite
/// features, as many labels as rows, every label 0 or 1) and builds the data set with columns
/// `x0, x1, ...`. Shared with [`crate::npz`]. Errors use the 1-based row as their `line`.
pub(crate) fn checked_dataset(
    path: &Path,
    features: Array2<f64>,
    labels: Option<&[f64]>,
) -> Result<Dataset> {
    if features.nrows() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    if features.ncols() == 0 {
        return Err(DataError::NoFeatures {
            path: path.to_path_buf(),
            detail: format!(" (`X` has {} rows and 0 columns)", features.nrows()),
        });
    }
    for ((row, col), &value) in features.indexed_iter() {
        if !value.is_finite() {
            return Err(DataError::NotFinite {
                path: path.to_path_buf(),
                line: row as u64 + 1,
                column: format!("x{col}"),
                value: value.to_string(),
            });
        }
    }
    let labels = match labels {
        None => None,
        Some(values) => {
            if values.len() != features.nrows() {
                return Err(DataError::format(
                    path,
                    format!(
                        "`y` holds {} labels but `X` has {} rows",
                        values.len(),
                        features.nrows()
                    ),
                ));
            }
            let mut labels = Vec::with_capacity(values.len());
            for (row, &value) in values.iter().enumerate() {
                labels.push(if value == 0.0 {
                    0
                } else if value == 1.0 {
                    1
                } else {
                    return Err(DataError::BadLabel {
                        path: path.to_path_buf(),
                        line: row as u64 + 1,
                        value: value.to_string(),
                    });
                });
            }
            Some(labels)
        }
    };
    let columns = Dataset::default_columns(features.ncols());
    Dataset::new(features, labels, columns)
}

/// `a×b×c`, or `scalar` for no dimensions.
fn shape_text(dims: &[usize]) -> String {
    if dims.is_empty() {
        return "scalar".to_string();
    }
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// Byte order of the file, from its endian indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        }
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        }
    }

    fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Order::Little => u64::from_le_bytes(b),
            Order::Big => u64::from_be_bytes(b),
        }
    }
}

/// The first `N` bytes of `data`, or `None` when it is shorter.
fn array_at<const N: usize>(data: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(data.get(..N)?);
    Some(out)
}

/// Successive `N`-byte words of `data` (a trailing partial word is ignored; callers check the
/// length first).
fn words<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    data.chunks_exact(N).filter_map(array_at::<N>)
}

/// A numeric array found in the file: its dimensions and its values in column-major order.
#[derive(Debug)]
struct NumericArray {
    dims: Vec<usize>,
    values: Vec<f64>,
}

/// What the parser keeps of a file: `X`, `y`, and the names of every variable (for messages).
#[derive(Debug, Default)]
struct Variables {
    x: Option<NumericArray>,
    y: Option<NumericArray>,
    names: Vec<String>,
}

/// One data element: its type and its bytes, without tag or padding.
struct Element<'a> {
    ty: u32,
    data: &'a [u8],
}

/// Reads the data element that starts at `*pos` in `buf` and moves `*pos` past it: past its
/// padding to a multiple of 8 bytes (counted from the start of `buf`, which is 8-aligned in the
/// file), except after `miCOMPRESSED`, which is not padded. Padding missing at the very end of
/// `buf` is tolerated.
fn read_element<'a>(
    buf: &'a [u8],
    pos: &mut usize,
    order: Order,
) -> std::result::Result<Element<'a>, String> {
    let start = *pos;
    let rest = buf.get(start..).unwrap_or(&[]);
    let (Some(first), Some(second)) = (array_at::<4>(rest), rest.get(4..8).and_then(array_at::<4>))
    else {
        return Err(format!(
            "byte {start}: {} bytes left, too few for an 8-byte element tag (truncated?)",
            rest.len()
        ));
    };
    let first = order.u32(first);
    let small_len = (first >> 16) as usize;
    if small_len != 0 {
        // Small data element: type in the low 16 bits, byte count in the high 16, data in the
        // 4 bytes that follow.
        let ty = first & 0xFFFF;
        if small_len > 4 {
            return Err(format!(
                "byte {start}: small data element of type {} claims {small_len} bytes (at most 4 fit)",
                type_name(ty)
            ));
        }
        let data = rest.get(4..4 + small_len).unwrap_or(&[]);
        *pos = start + 8;
        return Ok(Element { ty, data });
    }
    let ty = first;
    let len = order.u32(second) as usize;
    let Some(data) = rest.get(8..).and_then(|body| body.get(..len)) else {
        return Err(format!(
            "byte {start}: element of type {} says it holds {len} bytes but only {} remain \
             (truncated file?)",
            type_name(ty),
            rest.len() - 8
        ));
    };
    let end = start + 8 + len;
    *pos = if ty == MI_COMPRESSED {
        end
    } else {
        end.next_multiple_of(8).min(buf.len())
    };
    Ok(Element { ty, data })
}

/// A readable name for an element type, for messages.
fn type_name(ty: u32) -> String {
    let name = match ty {
        MI_INT8 => "miINT8",
        MI_UINT8 => "miUINT8",
        MI_INT16 => "miINT16",
        MI_UINT16 => "miUINT16",
        MI_INT32 => "miINT32",
        MI_UINT32 => "miUINT32",
        MI_SINGLE => "miSINGLE",
        MI_DOUBLE => "miDOUBLE",
        MI_INT64 => "miINT64",
        MI_UINT64 => "miUINT64",
        MI_MATRIX => "miMATRIX",
        MI_COMPRESSED => "miCOMPRESSED",
        MI_UTF8 => "miUTF8",
        _ => return format!("{ty} (unknown)"),
    };
    name.to_string()
}

/// The values of a numeric element as `f64`, or `None` when `ty` is not a numeric type. The
/// caller checks that the length is a multiple of the type's size.
fn numeric_values(order: Order, ty: u32, data: &[u8]) -> Option<Vec<f64>> {
    let values = match ty {
        MI_INT8 => data.iter().map(|&b| f64::from(b as i8)).collect(),
        MI_UINT8 => data.iter().map(|&b| f64::from(b)).collect(),
        MI_INT16 => words::<2>(data)
            .map(|w| f64::from(order.u16(w) as i16))
            .collect(),
        MI_UINT16 => words::<2>(data).map(|w| f64::from(order.u16(w))).collect(),
        MI_INT32 => words::<4>(data)
            .map(|w| f64::from(order.u32(w) as i32))
            .collect(),
        MI_UINT32 => words::<4>(data).map(|w| f64::from(order.u32(w))).collect(),
        MI_SINGLE => words::<4>(data)
            .map(|w| f64::from(f32::from_bits(order.u32(w))))
            .collect(),
        MI_DOUBLE => words::<8>(data)
            .map(|w| f64::from_bits(order.u64(w)))
            .collect(),
        MI_INT64 => words::<8>(data)
            .map(|w| order.u64(w) as i64 as f64)
            .collect(),
        MI_UINT64 => words::<8>(data).map(|w| order.u64(w) as f64).collect(),
        _ => return None,
    };
    Some(values)
}

/// Size in bytes of one value of a numeric element type.
fn numeric_size(ty: u32) -> Option<usize> {
    match ty {
        MI_INT8 | MI_UINT8 => Some(1),
        MI_INT16 | MI_UINT16 => Some(2),
        MI_INT32 | MI_UINT32 | MI_SINGLE => Some(4),
        MI_DOUBLE | MI_INT64 | MI_UINT64 => Some(8),
        _ => None,
    }
}

/// Parses a whole file into the variables `X` and `y`; errors are messages without the path.
fn parse_mat(bytes: &[u8]) -> std::result::Result<Variables, String> {
    let order = parse_header(bytes)?;
    let mut vars = Variables::default();
    let mut pos = HEADER_LEN;
    let mut index = 0;
    while pos < bytes.len() {
        let rest = bytes.get(pos..).unwrap_or(&[]);
        if rest.len() < 8 && rest.iter().all(|&b| b == 0) {
            break; // zero padding at the very end
        }
        index += 1;
        let offset = pos;
        let element = read_element(bytes, &mut pos, order)
            .map_err(|m| format!("top-level element #{index}: {m}"))?;
        match element.ty {
            MI_MATRIX => {
                let context = format!("variable #{index} (miMATRIX at byte {offset})");
                parse_matrix(element.data, order, &mut vars)
                    .map_err(|m| format!("{context}: {m}"))?;
            }
            MI_COMPRESSED => {
                let context = format!("variable #{index} (miCOMPRESSED at byte {offset})");
                let mut inflated = Vec::new();
                ZlibDecoder::new(element.data)
                    .read_to_end(&mut inflated)
                    .map_err(|e| format!("{context}: corrupt or truncated zlib stream: {e}"))?;
                parse_compressed(&inflated, order, &mut vars)
                    .map_err(|m| format!("{context}: {m}"))?;
            }
            other => {
                return Err(format!(
                    "top-level element #{index} at byte {offset} has type {} (expected miMATRIX \
                     or miCOMPRESSED); the file is corrupt or not a level-5 MAT file",
                    type_name(other)
                ))
            }
        }
    }
    Ok(vars)
}

/// Checks the 128-byte header and returns the byte order.
fn parse_header(bytes: &[u8]) -> std::result::Result<Order, String> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(format!(
            "the file is {} bytes long, shorter than the {HEADER_LEN}-byte header of a MATLAB \
             level-5 MAT file",
            bytes.len()
        ));
    };
    let order = match header.get(126..128) {
        Some(b"IM") => Order::Little,
        Some(b"MI") => Order::Big,
        _ => {
            return Err(
                "not a MATLAB level-5 MAT file: bytes 126-127 of the header should be the \
                 endian indicator `IM` or `MI`"
                    .to_string(),
            )
        }
    };
    let version = header
        .get(124..126)
        .and_then(array_at::<2>)
        .map(|v| order.u16(v))
        .unwrap_or(0);
    match version {
        0x0100 => Ok(order),
        0x0200 => Err(
            "MATLAB v7.3 file (HDF5 inside): not supported; save it with `save -v7` (or \
             scipy.io.savemat) as a level-5 file"
                .to_string(),
        ),
        other => Err(format!(
            "unknown MAT-file version 0x{other:04x} in the header (expected 0x0100, level 5)"
        )),
    }
}

/// Parses the decompressed contents of an `miCOMPRESSED` element: one or more `miMATRIX`.
fn parse_compressed(
    inflated: &[u8],
    order: Order,
    vars: &mut Variables,
) -> std::result::Result<(), String> {
    if inflated.is_empty() {
        return Err("the zlib stream decompresses to nothing".to_string());
    }
    let mut pos = 0;
    while pos < inflated.len() {
        let element = read_element(inflated, &mut pos, order)
            .map_err(|m| format!("decompressed data, {m}"))?;
        if element.ty != MI_MATRIX {
            return Err(format!(
                "decompressed data holds an element of type {} (expected miMATRIX)",
                type_name(element.ty)
            ));
        }
        parse_matrix(element.data, order, vars)?;
    }
    Ok(())
}

/// Parses the contents of one `miMATRIX` element (array flags, dimensions, name, real part) and
/// keeps it in `vars` when it is `X` or `y`; other variables are skipped after their name.
fn parse_matrix(
    data: &[u8],
    order: Order,
    vars: &mut Variables,
) -> std::result::Result<(), String> {
    let mut pos = 0;

    // Array flags: two uint32, the first holding the class (low byte) and the flag bits.
    let flags = read_element(data, &mut pos, order).map_err(|m| format!("array flags: {m}"))?;
    let flag_word = match (flags.ty, flags.data.get(..4).and_then(array_at::<4>)) {
        (MI_UINT32, Some(word)) if flags.data.len() == 8 => order.u32(word),
        _ => {
            return Err(format!(
                "array flags should be an miUINT32 element of 8 bytes, found {} of {} bytes",
                type_name(flags.ty),
                flags.data.len()
            ))
        }
    };
    let class = flag_word & 0xFF;
    let complex = flag_word & FLAG_COMPLEX != 0;

    if class == MX_OPAQUE {
        // Objects of the MATLAB class system have no dimensions; their name comes next.
        if let Ok(name) = read_element(data, &mut pos, order) {
            if name.ty == MI_INT8 {
                let name = String::from_utf8_lossy(name.data).into_owned();
                if name == "X" || name == "y" {
                    return Err(format!(
                        "variable `{name}` is a MATLAB object (opaque class); only real, dense \
                         numeric arrays can be read"
                    ));
                }
                vars.names.push(name);
            }
        }
        return Ok(());
    }

    // Dimensions: at least two int32, none negative.
    let dims_element =
        read_element(data, &mut pos, order).map_err(|m| format!("dimensions: {m}"))?;
    if dims_element.ty != MI_INT32
        || dims_element.data.len() % 4 != 0
        || dims_element.data.len() < 8
    {
        return Err(format!(
            "dimensions should be an miINT32 element of at least 2 values, found {} of {} bytes",
            type_name(dims_element.ty),
            dims_element.data.len()
        ));
    }
    let mut dims = Vec::new();
    for word in words::<4>(dims_element.data) {
        let dim = order.u32(word) as i32;
        let dim = usize::try_from(dim).map_err(|_| format!("negative dimension {dim}"))?;
        dims.push(dim);
    }

    // Name: miINT8 (ASCII) text, often in the small-element format.
    let name_element = read_element(data, &mut pos, order).map_err(|m| format!("name: {m}"))?;
    if name_element.ty != MI_INT8 && name_element.ty != MI_UTF8 {
        return Err(format!(
            "the array name should be an miINT8 element, found {}",
            type_name(name_element.ty)
        ));
    }
    let name = String::from_utf8_lossy(name_element.data).into_owned();
    let is_x = name == "X";
    if !is_x && name != "y" {
        vars.names.push(name);
        return Ok(());
    }
    if (is_x && vars.x.is_some()) || (!is_x && vars.y.is_some()) {
        return Err(format!("a second variable named `{name}`"));
    }

    let kind = match class {
        MX_DOUBLE..=MX_UINT64 => None,
        MX_CELL => Some("a cell array"),
        MX_STRUCT => Some("a struct array"),
        MX_OBJECT => Some("an object"),
        MX_CHAR => Some("a char array (text)"),
        MX_SPARSE => Some("a sparse matrix"),
        MX_FUNCTION => Some("a function handle"),
        _ => Some("an array of unknown class"),
    };
    if let Some(kind) = kind {
        return Err(format!(
            "variable `{name}` is {kind} (class {class}); only real, dense numeric arrays can be \
             read"
        ));
    }
    if complex {
        return Err(format!(
            "variable `{name}` is complex; only real, dense numeric arrays can be read"
        ));
    }

    // Real part: any numeric type, as many values as the dimensions say.
    let real = read_element(data, &mut pos, order)
        .map_err(|m| format!("variable `{name}`, real part: {m}"))?;
    let Some(size) = numeric_size(real.ty) else {
        return Err(format!(
            "variable `{name}`: the real part has type {}, not a numeric type",
            type_name(real.ty)
        ));
    };
    if real.data.len() % size != 0 {
        return Err(format!(
            "variable `{name}`: the real part holds {} bytes, not a whole number of {} values",
            real.data.len(),
            type_name(real.ty)
        ));
    }
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            format!(
                "variable `{name}`: dimensions {} overflow",
                shape_text(&dims)
            )
        })?;
    if real.data.len() / size != count {
        return Err(format!(
            "variable `{name}`: the real part holds {} values but the dimensions {} need {count}",
            real.data.len() / size,
            shape_text(&dims)
        ));
    }
    let values = numeric_values(order, real.ty, real.data).unwrap_or_default();
    let array = NumericArray { dims, values };
    vars.names.push(name);
    if is_x {
        vars.x = Some(array);
    } else {
        vars.y = Some(array);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    // --- A small MAT-file writer, enough for the cases below. ---

    fn u32_bytes(v: u32, big: bool) -> [u8; 4] {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn header(big: bool) -> Vec<u8> {
        let mut h = b"MATLAB 5.0 MAT-file, written by the dagmm-data tests".to_vec();
        h.resize(116, b' ');
        h.extend_from_slice(&[0u8; 8]);
        if big {
            h.extend_from_slice(&[0x01, 0x00]);
            h.extend_from_slice(b"MI");
        } else {
            h.extend_from_slice(&[0x00, 0x01]);
            h.extend_from_slice(b"IM");
        }
        assert_eq!(h.len(), HEADER_LEN);
        h
    }

    /// An element with the normal 8-byte tag, padded to 8 bytes.
    fn element(ty: u32, data: &[u8], big: bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&u32_bytes(ty, big));
        out.extend_from_slice(&u32_bytes(data.len() as u32, big));
        out.extend_from_slice(data);
        while out.len() % 8 != 0 {
            out.push(0);
        }
        out
    }

    /// An element in the small-data-element format (at most 4 bytes of data).
    fn small_element(ty: u32, data: &[u8], big: bool) -> Vec<u8> {
        assert!(data.len() <= 4);
        let mut out = u32_bytes(((data.len() as u32) << 16) | ty, big).to_vec();
        out.extend_from_slice(data);
        out.resize(8, 0);
        out
    }

    fn f64_bytes(values: &[f64], big: bool) -> Vec<u8> {
        values
            .iter()
            .flat_map(|v| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            })
            .collect()
    }

    struct Matrix<'a> {
        name: &'a str,
        class: u32,
        complex: bool,
        dims: &'a [i32],
        real_type: u32,
        real: Vec<u8>,
        small_real: bool,
    }

    impl<'a> Matrix<'a> {
        fn double(name: &'a str, dims: &'a [i32], values: &[f64]) -> Self {
            Matrix {
                name,
                class: MX_DOUBLE,
                complex: false,
                dims,
                real_type: MI_DOUBLE,
                real: f64_bytes(values, false),
                small_real: false,
            }
        }

        /// The whole `miMATRIX` element.
        fn bytes(&self, big: bool) -> Vec<u8> {
            let flags = self.class | if self.complex { FLAG_COMPLEX } else { 0 };
            let mut flag_data = u32_bytes(flags, big).to_vec();
            flag_data.extend_from_slice(&[0; 4]);
            let dims: Vec<u8> = self
                .dims
                .iter()
                .flat_map(|&d| u32_bytes(d as u32, big))
                .collect();
            let mut body = element(MI_UINT32, &flag_data, big);
            body.extend(element(MI_INT32, &dims, big));
            if self.name.len() <= 4 {
                body.extend(small_element(MI_INT8, self.name.as_bytes(), big));
            } else {
                body.extend(element(MI_INT8, self.name.as_bytes(), big));
            }
            if self.small_real {
                body.extend(small_element(self.real_type, &self.real, big));
            } else {
                body.extend(element(self.real_type, &self.real, big));
            }
            element(MI_MATRIX, &body, big)
        }
    }

    /// `element` wrapped in `miCOMPRESSED` (no padding after it, as MATLAB writes it).
    fn compressed(element: &[u8], big: bool) -> Vec<u8> {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(element).unwrap();
        let z = encoder.finish().unwrap();
        let mut out = u32_bytes(MI_COMPRESSED, big).to_vec();
        out.extend_from_slice(&u32_bytes(z.len() as u32, big));
        out.extend(z);
        out
    }

    fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// X (3×2, values chosen so every cell differs), stored column-major.
    const X_ROWS: [[f64; 2]; 3] = [[1.5, -4.0], [2.25, 5.0], [3.0, 6.125]];

    fn x_column_major() -> Vec<f64> {
        (0..2)
            .flat_map(|j| (0..3).map(move |i| X_ROWS[i][j]))
            .collect()
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

    fn uint8_y(labels: &[u8]) -> Matrix<'static> {
        Matrix {
            name: "y",
            class: 9, // mxUINT8_CLASS
            complex: false,
            dims: if labels.len() == 3 { &[3, 1] } else { &[1, 1] },
            real_type: MI_UINT8,
            real: labels.to_vec(),
            small_real: false,
        }
    }

    fn simple_file(big: bool, compress: bool, y: &[u8]) -> Vec<u8> {
        let mut x = Matrix::double("X", &[3, 2], &x_column_major());
        x.real = f64_bytes(&x_column_major(), big);
        let y = uint8_y(y);
        let mut bytes = header(big);
        for m in [x.bytes(big), y.bytes(big)] {
            if compress {
                bytes.extend(compressed(&m, big));
            } else {
                bytes.extend(m);
            }
        }
        bytes
    }

    fn format_message(err: DataError) -> String {
        match err {
            DataError::Format { message, .. } => message,
            other => panic!("expected a Format error, got {other:?}"),
        }
    }

    #[test]
    fn reads_uncompressed_double_x_in_column_major_order_and_uint8_y() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "plain.mat", &simple_file(false, false, &[0, 1, 0]));
        let ds = load_mat(&path).unwrap();
        assert_x(&ds);
        assert_eq!(ds.labels, Some(vec![0, 1, 0]));
        assert_eq!(ds.n_anomalies(), Some(1));
    }

    #[test]
    fn reads_x_and_y_inside_mi_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "z.mat", &simple_file(false, true, &[1, 1, 0]));
        let ds = load_mat(&path).unwrap();
        assert_x(&ds);
        assert_eq!(ds.labels, Some(vec![1, 1, 0]));
    }

    #[test]
    fn reads_big_endian_files() {
        let dir = tempfile::tempdir().unwrap();
        for compress in [false, true] {
            let path = write_file(&dir, "be.mat", &simple_file(true, compress, &[0, 0, 1]));
            let ds = load_mat(&path).unwrap();
            assert_x(&ds);
            assert_eq!(ds.labels, Some(vec![0, 0, 1]));
        }
    }

    #[test]
    fn reads_small_data_elements_and_a_double_array_stored_as_uint8() {
        // X is a 2×2 double array whose values MATLAB stored as miUINT8 in a small element (4
        // bytes); y is a double 1×2 array stored as miUINT8 (2 bytes), also small, as in
        // arrhythmia.mat. Names are small elements too.
        let x = Matrix {
            name: "X",
            class: MX_DOUBLE,
            complex: false,
            dims: &[2, 2],
            real_type: MI_UINT8,
            real: vec![10, 20, 30, 40], // column-major: [[10, 30], [20, 40]]
            small_real: true,
        };
        let y = Matrix {
            name: "y",
            class: MX_DOUBLE,
            complex: false,
            dims: &[1, 2],
            real_type: MI_UINT8,
            real: vec![1, 0],
            small_real: true,
        };
        let mut bytes = header(false);
        bytes.extend(x.bytes(false));
        bytes.extend(compressed(&y.bytes(false), false));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "small.mat", &bytes);
        let ds = load_mat(&path).unwrap();
        assert_eq!(ds.features, ndarray::array![[10.0, 30.0], [20.0, 40.0]]);
        assert_eq!(ds.labels, Some(vec![1, 0]));
    }

    #[test]
    fn converts_every_numeric_storage_type() {
        let cases: Vec<(u32, Vec<u8>)> = vec![
            (MI_INT8, vec![0xFF, 2]),
            (
                MI_INT16,
                [-1i16, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            (
                MI_UINT16,
                [65535u16, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            (
                MI_INT32,
                [-1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            (
                MI_UINT32,
                [7u32, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            (
                MI_SINGLE,
                [-1.5f32, 2.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
            (
                MI_INT64,
                [-1i64, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            (
                MI_UINT64,
                [9u64, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        ];
        let expected_first = [-1.0, -1.0, 65535.0, -1.0, 7.0, -1.5, -1.0, 9.0];
        let dir = tempfile::tempdir().unwrap();
        for ((ty, real), first) in cases.into_iter().zip(expected_first) {
            let x = Matrix {
                name: "X",
                class: MX_DOUBLE,
                complex: false,
                dims: &[2, 1],
                real_type: ty,
                real,
                small_real: false,
            };
            let mut bytes = header(false);
            bytes.extend(x.bytes(false));
            let path = write_file(&dir, "types.mat", &bytes);
            let ds = load_mat(&path).unwrap();
            assert_eq!(
                ds.features,
                ndarray::array![[first], [2.0]],
                "{}",
                type_name(ty)
            );
            assert_eq!(ds.labels, None);
        }
    }

    #[test]
    fn other_variables_are_skipped_and_missing_y_means_no_labels() {
        let mut other = Matrix::double("notes", &[1, 1], &[0.0]);
        other.class = MX_CELL;
        let mut bytes = header(false);
        bytes.extend(other.bytes(false));
        bytes.extend(Matrix::double("X", &[3, 2], &x_column_major()).bytes(false));
        bytes.extend(Matrix::double("Xtra", &[1, 1], &[f64::NAN]).bytes(false));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "noy.mat", &bytes);
        let ds = load_mat(&path).unwrap();
        assert_x(&ds);
        assert_eq!(ds.labels, None);
    }

    #[test]
    fn truncated_files_give_a_format_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        for compress in [false, true] {
            let full = simple_file(false, compress, &[0, 1, 0]);
            // The one valid cut: right after X (a file with no `y`).
            let x_end = HEADER_LEN
                + if compress {
                    compressed(
                        &Matrix::double("X", &[3, 2], &x_column_major()).bytes(false),
                        false,
                    )
                    .len()
                } else {
                    Matrix::double("X", &[3, 2], &x_column_major())
                        .bytes(false)
                        .len()
                };
            for cut in 0..full.len() {
                let path = write_file(&dir, "cut.mat", &full[..cut]);
                match load_mat(&path) {
                    Ok(ds) => {
                        assert_eq!(cut, x_end, "cut at {cut} should fail");
                        assert_eq!(ds.labels, None);
                    }
                    Err(err) => {
                        let text = err.to_string();
                        assert!(text.contains(&path.display().to_string()), "{text}");
                        assert!(matches!(err, DataError::Format { .. }), "cut {cut}: {text}");
                    }
                }
            }
        }
        // A cut in the middle of X's data says the element is short.
        let full = simple_file(false, false, &[0, 1, 0]);
        let path = write_file(&dir, "cut.mat", &full[..HEADER_LEN + 60]);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("remain"), "{message}");
        // A cut inside the header.
        let path = write_file(&dir, "cut.mat", &full[..100]);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("header"), "{message}");
    }

    #[test]
    fn corrupt_bytes_never_panic() {
        // A cheap fuzz: flip bytes of valid files at pseudo-random places; every outcome must be
        // a value or an error, never a panic.
        let dir = tempfile::tempdir().unwrap();
        let mut state = 0x2545F4914F6CDD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for compress in [false, true] {
            let full = simple_file(false, compress, &[0, 1, 0]);
            for _ in 0..300 {
                let mut bytes = full.clone();
                for _ in 0..1 + next() % 3 {
                    let at = HEADER_LEN + (next() as usize) % (bytes.len() - HEADER_LEN);
                    bytes[at] = next() as u8;
                }
                let path = write_file(&dir, "fuzz.mat", &bytes);
                let _ = load_mat(&path);
            }
        }
    }

    #[test]
    fn not_a_mat_file_or_v73_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "text.mat", &[b'a'; 300]);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("not a MATLAB level-5"), "{message}");

        let mut v73 = header(false);
        v73[124..126].copy_from_slice(&[0x00, 0x02]);
        let path = write_file(&dir, "v73.mat", &v73);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("v7.3"), "{message}");

        let path = dir.path().join("absent.mat");
        assert!(matches!(load_mat(&path).unwrap_err(), DataError::Io { .. }));
    }

    #[test]
    fn missing_x_is_an_error() {
        let mut bytes = header(false);
        bytes.extend(uint8_y(&[0, 1, 0]).bytes(false));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "nox.mat", &bytes);
        let err = load_mat(&path).unwrap_err();
        assert!(err.to_string().contains(&path.display().to_string()));
        let message = format_message(err);
        assert!(
            message.contains("no variable named `X`") && message.contains("y"),
            "{message}"
        );
    }

    #[test]
    fn nan_in_x_names_the_row_and_column() {
        let mut values = x_column_major();
        values[4] = f64::NAN; // column 1, row 1 (0-based) → line 2, column x1
        let mut bytes = header(false);
        bytes.extend(Matrix::double("X", &[3, 2], &values).bytes(false));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "nan.mat", &bytes);
        let err = load_mat(&path).unwrap_err();
        assert!(
            matches!(&err, DataError::NotFinite { line: 2, column, path: p, .. } if column == "x1" && *p == path),
            "{err}"
        );
    }

    #[test]
    fn label_two_is_a_bad_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "y2.mat", &simple_file(false, true, &[0, 2, 1]));
        let err = load_mat(&path).unwrap_err();
        assert!(
            matches!(&err, DataError::BadLabel { line: 2, value, .. } if value == "2"),
            "{err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn wrong_shapes_and_kinds_are_format_errors_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let x = || Matrix::double("X", &[3, 2], &x_column_major()).bytes(false);

        // y with 1 label for 3 rows.
        let mut bytes = header(false);
        bytes.extend(x());
        bytes.extend(uint8_y(&[1]).bytes(false));
        let path = write_file(&dir, "len.mat", &bytes);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(
            message.contains("1 labels") && message.contains("3 rows"),
            "{message}"
        );

        // y of shape 3×2.
        let mut bytes = header(false);
        bytes.extend(x());
        bytes.extend(Matrix::double("y", &[3, 2], &[0.0; 6]).bytes(false));
        let path = write_file(&dir, "ymat.mat", &bytes);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("`y` has shape 3×2"), "{message}");

        // 3-D X.
        let mut bytes = header(false);
        bytes.extend(Matrix::double("X", &[3, 1, 2], &x_column_major()).bytes(false));
        let path = write_file(&dir, "x3d.mat", &bytes);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("`X` has 3 dimensions"), "{message}");

        // Dimensions that disagree with the data.
        let mut bytes = header(false);
        bytes.extend(Matrix::double("X", &[4, 2], &x_column_major()).bytes(false));
        let path = write_file(&dir, "dims.mat", &bytes);
        let message = format_message(load_mat(&path).unwrap_err());
        assert!(message.contains("need 8"), "{message}");

        // Complex, sparse, cell, struct, char.
        for (class, complex, word) in [
            (MX_DOUBLE, true, "complex"),
            (MX_SPARSE, false, "sparse"),
            (MX_CELL, false, "cell"),
            (MX_STRUCT, false, "struct"),
            (MX_CHAR, false, "char"),
        ] {
            let mut m = Matrix::double("X", &[3, 2], &x_column_major());
            m.class = class;
            m.complex = complex;
            let mut bytes = header(false);
            bytes.extend(compressed(&m.bytes(false), false));
            let path = write_file(&dir, "kind.mat", &bytes);
            let message = format_message(load_mat(&path).unwrap_err());
            assert!(
                message.contains("`X`") && message.contains(word),
                "{message}"
            );
        }
    }

    #[test]
    fn x_without_columns_is_a_no_features_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = header(false);
        bytes.extend(Matrix::double("X", &[3, 0], &[]).bytes(false));
        let path = write_file(&dir, "nocols.mat", &bytes);
        let err = load_mat(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: no feature columns (`X` has 3 rows and 0 columns)",
                path.display()
            )
        );
        // No rows: empty.
        let mut bytes = header(false);
        bytes.extend(Matrix::double("X", &[0, 2], &[]).bytes(false));
        let path = write_file(&dir, "norows.mat", &bytes);
        assert!(matches!(
            load_mat(&path).unwrap_err(),
            DataError::Empty { .. }
        ));
    }

    #[test]
    fn labels_that_are_not_0_or_1_name_the_row() {
        let dir = tempfile::tempdir().unwrap();
        for (bad, text) in [(0.5, "0.5"), (-1.0, "-1")] {
            let mut bytes = header(false);
            bytes.extend(Matrix::double("X", &[3, 2], &x_column_major()).bytes(false));
            bytes.extend(Matrix::double("y", &[3, 1], &[0.0, 1.0, bad]).bytes(false));
            let path = write_file(&dir, "bad.mat", &bytes);
            assert_eq!(
                load_mat(&path).unwrap_err().to_string(),
                format!(
                    "{}, line 3: label `{text}` is neither 0 nor 1",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn real_odds_files() {
        let Some(path) = crate::test_support::shared_file("odds/thyroid.mat") else {
            return;
        };
        let ds = load_mat(&path).unwrap();
        assert_eq!(ds.features.dim(), (3772, 6));
        assert_eq!(ds.n_anomalies(), Some(93));

        let Some(path) = crate::test_support::shared_file("odds/arrhythmia.mat") else {
            return;
        };
        let ds = load_mat(&path).unwrap();
        assert_eq!(ds.features.dim(), (452, 274));
        assert_eq!(ds.n_anomalies(), Some(66));
    }
}
