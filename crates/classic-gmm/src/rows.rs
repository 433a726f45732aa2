//! The rows EM reads: held whole as one row-major slice ([`DenseRows`]), or made a block at a
//! time by the caller ([`Rows`]), so that a large data set kept compact (the data crate's encoded
//! rows: KDDCUP's 118 columns are 38 numbers and 3 category codes) never exists expanded in full.
//!
//! Every pass of EM walks the rows in the same blocks whatever holds them, and adds the blocks'
//! partial sums in block order, so a fit is the same to the bit from either.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::errors::{GmmError, Result};

/// Rows of [`n_features`](Self::n_features) values, read a block at a time.
pub trait Rows: Sync {
    fn n_rows(&self) -> usize;
    fn n_features(&self) -> usize;
    /// Rows `start..end`, row-major: borrowed where they are held that way, else written into
    /// `buffer` (resized as needed) and borrowed from it.
    fn block<'a>(&'a self, start: usize, end: usize, buffer: &'a mut Vec<f64>) -> &'a [f64];
}

/// A row-major matrix held whole: `data` is `n × d`.
#[derive(Debug, Clone, Copy)]
pub struct DenseRows<'a> {
    data: &'a [f64],
    d: usize,
}

impl<'a> DenseRows<'a> {
    /// The rows of `data`, `d` values each (`data.len()` a multiple of `d`, `d > 0`).
    pub fn new(data: &'a [f64], d: usize) -> Self {
        assert!(
            d > 0 && data.chunks_exact(d).remainder().is_empty(),
            "whole rows of {d} values"
        );
        DenseRows { data, d }
    }
}

impl Rows for DenseRows<'_> {
    fn n_rows(&self) -> usize {
        self.data.len() / self.d
    }

    fn n_features(&self) -> usize {
        self.d
    }

    fn block<'a>(&'a self, start: usize, end: usize, _buffer: &'a mut Vec<f64>) -> &'a [f64] {
        &self.data[start * self.d..end * self.d]
    }
}

/// `f` of the rows of `x` as [`DenseRows`] (copied into row-major order if they are not), or
/// the error of an empty matrix.
pub(crate) fn with_dense_rows<T>(
    x: ArrayView2<'_, f64>,
    f: impl FnOnce(&DenseRows<'_>) -> Result<T>,
) -> Result<T> {
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Err(GmmError::EmptyData {
            rows: n,
            columns: d,
        });
    }
    let x = x.as_standard_layout();
    f(&DenseRows::new(x.as_slice().expect("standard layout"), d))
}

/// `f(first row, rows)` for each block of `block` rows of `x`, in parallel; the results in block
/// order.
pub(crate) fn map_blocks<T: Send>(
    x: &dyn Rows,
    block: usize,
    f: impl Fn(usize, &[f64]) -> T + Sync,
) -> Vec<T> {
    let n = x.n_rows();
    (0..n.div_ceil(block))
        .into_par_iter()
        .map(|b| {
            let (start, end) = (b * block, ((b + 1) * block).min(n));
            let mut buffer = Vec::new();
            f(start, x.block(start, end, &mut buffer))
        })
        .collect()
}

/// `f(rows, part)` for each block of `block` rows of `x` beside its part of `per_row` (`width`
/// values a row), in parallel; the results in block order.
pub(crate) fn map_blocks_mut<P: Send, T: Send>(
    x: &dyn Rows,
    block: usize,
    per_row: &mut [P],
    width: usize,
    f: impl Fn(&[f64], &mut [P]) -> T + Sync,
) -> Vec<T> {
    let n = x.n_rows();
    per_row
        .par_chunks_mut(block * width)
        .enumerate()
        .map(|(b, part)| {
            let (start, end) = (b * block, ((b + 1) * block).min(n));
            let mut buffer = Vec::new();
            f(x.block(start, end, &mut buffer), part)
        })
        .collect()
}

/// `f(rows)` for each block of `block` rows of `x` in order, on this thread.
pub(crate) fn for_each_block(x: &dyn Rows, block: usize, mut f: impl FnMut(&[f64])) {
    let n = x.n_rows();
    let mut buffer = Vec::new();
    for start in (0..n).step_by(block) {
        f(x.block(start, (start + block).min(n), &mut buffer));
    }
}

/// Row `i` of `x`.
pub(crate) fn row<'a>(x: &'a dyn Rows, i: usize, buffer: &'a mut Vec<f64>) -> &'a [f64] {
    x.block(i, i + 1, buffer)
}
