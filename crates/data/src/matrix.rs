//! Feature matrices stored in `f64` or `f32`. The classic mixtures fit in `f64`; the networks
//! compute in `f32`, so a network's rows are scaled in `f64` and stored rounded to `f32` once
//! (the values its tensors would hold anyway), in half the memory.

use ndarray::{Array2, ArrayView2, CowArray, Ix2};

use crate::encoded::EncodedFeatures;
use crate::value::FeatureValue;

/// The number type a feature matrix is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F64,
    F32,
}

/// A feature matrix (rows are samples) in either precision, or scaled rows kept encoded in either
/// precision (expanded a row at a time).
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    F64(Array2<f64>),
    F32(Array2<f32>),
    Encoded(EncodedFeatures),
    EncodedF64(EncodedFeatures<f64>),
}

/// A borrowed [`Features`].
#[derive(Debug, Clone, Copy)]
pub enum FeaturesView<'a> {
    F64(ArrayView2<'a, f64>),
    F32(ArrayView2<'a, f32>),
    Encoded(&'a EncodedFeatures),
    EncodedF64(&'a EncodedFeatures<f64>),
}

impl Features {
    pub fn view(&self) -> FeaturesView<'_> {
        match self {
            Features::F64(x) => FeaturesView::F64(x.view()),
            Features::F32(x) => FeaturesView::F32(x.view()),
            Features::Encoded(x) => FeaturesView::Encoded(x),
            Features::EncodedF64(x) => FeaturesView::EncodedF64(x),
        }
    }

    pub fn nrows(&self) -> usize {
        self.view().nrows()
    }

    pub fn ncols(&self) -> usize {
        self.view().ncols()
    }

    pub fn precision(&self) -> Precision {
        self.view().precision()
    }
}

impl From<Array2<f64>> for Features {
    fn from(x: Array2<f64>) -> Self {
        Features::F64(x)
    }
}

impl From<Array2<f32>> for Features {
    fn from(x: Array2<f32>) -> Self {
        Features::F32(x)
    }
}

impl<'a> From<ArrayView2<'a, f64>> for FeaturesView<'a> {
    fn from(x: ArrayView2<'a, f64>) -> Self {
        FeaturesView::F64(x)
    }
}

impl<'a> From<ArrayView2<'a, f32>> for FeaturesView<'a> {
    fn from(x: ArrayView2<'a, f32>) -> Self {
        FeaturesView::F32(x)
    }
}

impl<'a> FeaturesView<'a> {
    pub fn nrows(&self) -> usize {
        match self {
            FeaturesView::F64(x) => x.nrows(),
            FeaturesView::F32(x) => x.nrows(),
            FeaturesView::Encoded(x) => x.nrows(),
            FeaturesView::EncodedF64(x) => x.nrows(),
        }
    }

    pub fn ncols(&self) -> usize {
        match self {
            FeaturesView::F64(x) => x.ncols(),
            FeaturesView::F32(x) => x.ncols(),
            FeaturesView::Encoded(x) => x.ncols(),
            FeaturesView::EncodedF64(x) => x.ncols(),
        }
    }

    pub fn precision(&self) -> Precision {
        match self {
            FeaturesView::F64(_) | FeaturesView::EncodedF64(_) => Precision::F64,
            FeaturesView::F32(_) | FeaturesView::Encoded(_) => Precision::F32,
        }
    }

    /// The values as `f64`: borrowed when they are `f64` already, widened (exactly) otherwise.
    pub fn to_f64(self) -> CowArray<'a, f64, Ix2> {
        match self {
            FeaturesView::F64(x) => CowArray::from(x),
            _ => CowArray::from(self.rows_f64(0..self.nrows())),
        }
    }

    /// The rows `rows` (in that order) as `f64`, widened exactly, one row at a time (encoded rows
    /// are expanded straight into the result, never as a whole f32 matrix first).
    pub fn rows_f64(&self, rows: impl ExactSizeIterator<Item = usize>) -> Array2<f64> {
        let mut out = Array2::<f64>::zeros((rows.len(), self.ncols()));
        for (mut row, i) in out.rows_mut().into_iter().zip(rows) {
            self.row_to_f64(
                i,
                row.as_slice_mut()
                    .expect("a fresh matrix's rows are contiguous"),
            );
        }
        out
    }
}

impl<'a> FeaturesView<'a> {
    /// The same view for a shorter borrow (views are invariant in their lifetime).
    pub fn reborrow(&self) -> FeaturesView<'_> {
        match self {
            FeaturesView::F64(x) => FeaturesView::F64(x.view()),
            FeaturesView::F32(x) => FeaturesView::F32(x.view()),
            FeaturesView::Encoded(x) => FeaturesView::Encoded(x),
            FeaturesView::EncodedF64(x) => FeaturesView::EncodedF64(x),
        }
    }

    /// The first `k` columns (at most all of them) as `f64`.
    pub fn leading_columns_f64(&self, k: usize) -> Array2<f64> {
        let k = k.min(self.ncols());
        match self {
            FeaturesView::F64(x) => x.slice(ndarray::s![.., ..k]).to_owned(),
            FeaturesView::F32(x) => x.slice(ndarray::s![.., ..k]).mapv(f64::from),
            _ => {
                let mut row = vec![0.0; self.ncols()];
                Array2::from_shape_fn((self.nrows(), k), |(i, j)| {
                    if j == 0 {
                        self.row_to_f64(i, &mut row);
                    }
                    row[j]
                })
            }
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Features {
        match self {
            FeaturesView::F64(x) => Features::F64(x.to_owned()),
            FeaturesView::F32(x) => Features::F32(x.to_owned()),
            FeaturesView::Encoded(x) => Features::Encoded((*x).clone()),
            FeaturesView::EncodedF64(x) => Features::EncodedF64((*x).clone()),
        }
    }

    /// Row `i` as `f32` into `out` (`ncols` values).
    pub fn row_to_f32(&self, i: usize, out: &mut [f32]) {
        match self {
            FeaturesView::F64(x) => out
                .iter_mut()
                .zip(x.row(i))
                .for_each(|(o, v)| *o = *v as f32),
            FeaturesView::F32(x) => match x.row(i).to_slice() {
                Some(row) => out.copy_from_slice(row),
                None => out.iter_mut().zip(x.row(i)).for_each(|(o, v)| *o = *v),
            },
            FeaturesView::Encoded(x) => x.row_into(i, out),
            FeaturesView::EncodedF64(x) => {
                let mut row = vec![0.0; x.ncols()];
                x.row_into(i, &mut row);
                out.iter_mut().zip(&row).for_each(|(o, v)| *o = *v as f32);
            }
        }
    }

    /// Row `i` as `f64` (widened exactly) into `out` (`ncols` values).
    pub fn row_to_f64(&self, i: usize, out: &mut [f64]) {
        match self {
            FeaturesView::F64(x) => out.iter_mut().zip(x.row(i)).for_each(|(o, v)| *o = *v),
            FeaturesView::F32(x) => out
                .iter_mut()
                .zip(x.row(i))
                .for_each(|(o, v)| *o = f64::from(*v)),
            FeaturesView::Encoded(x) => {
                let mut row = vec![0.0f32; x.ncols()];
                x.row_into(i, &mut row);
                out.iter_mut()
                    .zip(&row)
                    .for_each(|(o, v)| *o = f64::from(*v));
            }
            FeaturesView::EncodedF64(x) => x.row_into(i, out),
        }
    }

    /// The first value (row, column, value as `f64`) that is NaN or infinite, in row order.
    pub fn first_non_finite(&self) -> Option<(usize, usize, f64)> {
        fn find<E: FeatureValue>(x: &ArrayView2<'_, E>) -> Option<(usize, usize, f64)> {
            x.rows().into_iter().enumerate().find_map(|(i, row)| {
                let j = row.iter().position(|v| !v.to_f64().is_finite())?;
                Some((i, j, row[j].to_f64()))
            })
        }
        match self {
            FeaturesView::F64(x) => find(x),
            FeaturesView::F32(x) => find(x),
            _ => {
                let mut row = vec![0.0; self.ncols()];
                (0..self.nrows()).find_map(|i| {
                    self.row_to_f64(i, &mut row);
                    let j = row.iter().position(|v| !v.is_finite())?;
                    Some((i, j, row[j]))
                })
            }
        }
    }

    /// Calls `visit` with every value as `f64` (exactly), in row order.
    pub fn for_each_f64(&self, mut visit: impl FnMut(f64)) {
        match self {
            FeaturesView::F64(x) => x.iter().for_each(|v| visit(*v)),
            FeaturesView::F32(x) => x.iter().for_each(|v| visit(f64::from(*v))),
            _ => {
                let mut row = vec![0.0; self.ncols()];
                for i in 0..self.nrows() {
                    self.row_to_f64(i, &mut row);
                    row.iter().for_each(|v| visit(*v));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Picked rows widen to the rows of the whole widened matrix.
    #[test]
    fn picked_rows_widen_to_the_whole_matrix_rows() {
        let narrow = Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as f32 * 0.1);
        let view = FeaturesView::from(narrow.view());
        let whole = view.to_f64();
        let picked = view.rows_f64([5, 0, 5].into_iter());
        for (r, i) in [5, 0, 5].into_iter().enumerate() {
            assert_eq!(picked.row(r), whole.row(i));
        }
    }

    #[test]
    fn views_widen_exactly_and_find_the_first_non_finite_value() {
        let narrow = array![[0.1f32, 2.5], [f32::NAN, 1.0]];
        let view = FeaturesView::from(narrow.view());
        assert_eq!(view.precision(), Precision::F32);
        assert_eq!((view.nrows(), view.ncols()), (2, 2));
        let wide = view.to_f64();
        assert_eq!(wide[[0, 0]], f64::from(0.1f32));
        assert_eq!(
            view.first_non_finite().map(|(i, j, _)| (i, j)),
            Some((1, 0))
        );
        let mut row = [0.0f32; 2];
        FeaturesView::from(array![[1.5f64, -2.25]].view()).row_to_f32(0, &mut row);
        assert_eq!(row, [1.5, -2.25]);
        let f64s = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let v = FeaturesView::from(f64s.view());
        assert!(v.first_non_finite().is_none());
        assert_eq!(v.leading_columns_f64(2), array![[1.0, 2.0], [4.0, 5.0]]);
        let mut seen = Vec::new();
        v.for_each_f64(|x| seen.push(x));
        assert_eq!(seen, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(v.to_owned(), Features::F64(f64s.clone()));
    }
}
