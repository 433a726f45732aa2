//! Feature scaling fitted on training rows only, then applied unchanged to any other rows.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{short_number, DataError, Result};
use crate::Dataset;

/// How features are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScalingKind {
    /// `(x - min) / (max - min)`, the DAGMM paper's choice.
    #[default]
    MinMax,
    /// `(x - mean) / std` (population standard deviation).
    ZScore,
    /// Leave the features as they are.
    None,
}

/// A fitted scaler: `x' = (x - offset) / scale`, column by column. Columns that are constant on the
/// training rows get scale 1, so they map to 0 there and never divide by zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub kind: ScalingKind,
    pub offset: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits on `train` (rows are samples); errors name the columns `x0, x1, ...`
    /// ([`crate::Dataset::default_columns`]). Prefer [`Scaler::fit_named`] when the names are
    /// known.
    pub fn fit(kind: ScalingKind, train: ArrayView2<f64>) -> Result<Self> {
        Self::fit_named(kind, train, &Dataset::default_columns(train.ncols()))
    }

    /// Fits on `train` (rows are samples) whose columns are named `columns` (for messages).
    ///
    /// Errors ([`DataError::InvalidArgument`]) for zero rows, a name count that differs from the
    /// column count, or a NaN or infinite value; [`DataError::ColumnOverflow`] for a column
    /// whose spread does not fit in `f64`: its range (min-max scaling) or its sum or variance
    /// (z-score) overflows to infinity, e.g. a column holding -1 and 1e308. Such a column would
    /// otherwise scale to NaN, or not at all, and break every later step.
    pub fn fit_named(
        kind: ScalingKind,
        train: ArrayView2<f64>,
        columns: &[String],
    ) -> Result<Self> {
        if columns.len() != train.ncols() {
            return Err(DataError::InvalidArgument(format!(
                "{} column names for {} columns",
                columns.len(),
                train.ncols()
            )));
        }
        ScalerFit::run(kind, columns.to_vec(), |fit| {
            for row in train.rows() {
                match row.as_slice() {
                    Some(values) => fit.add(values)?,
                    None => fit.add(&row.to_vec())?,
                }
            }
            Ok(())
        })
    }

    /// Applies the fitted scaling to `x`, which must have the training column count.
    pub fn transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        let mut out = x.to_owned();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// [`transform`](Self::transform) without a copy: `x` is overwritten with its scaled values
    /// (on an error, `x` is partly scaled).
    pub fn transform_in_place(&self, x: &mut Array2<f64>) -> Result<()> {
        self.check_width(x.ncols())?;
        for (i, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
            match row.as_slice_mut() {
                Some(values) => self.transform_row(values, i + 1)?,
                None => {
                    let mut values = row.to_vec();
                    self.transform_row(&mut values, i + 1)?;
                    row.assign(&ndarray::ArrayView1::from(&values));
                }
            }
        }
        Ok(())
    }

    /// Errors unless the scaler was fitted on `width` columns.
    pub fn check_width(&self, width: usize) -> Result<()> {
        if width != self.offset.len() {
            return Err(DataError::InvalidArgument(format!(
                "the scaler was fitted on {} columns but the data have {width}",
                self.offset.len(),
            )));
        }
        Ok(())
    }

    /// Scales one row in place; errors name it as `row_number` (1-based). The row must have the
    /// training column count ([`check_width`](Self::check_width)).
    pub fn transform_row(&self, row: &mut [f64], row_number: usize) -> Result<()> {
        for (j, ((v, o), s)) in row
            .iter_mut()
            .zip(&self.offset)
            .zip(&self.scale)
            .enumerate()
        {
            let scaled = (*v - o) / s;
            // A value far outside the training rows' spread can overflow (or be NaN already).
            if !scaled.is_finite() {
                return Err(DataError::InvalidArgument(format!(
                    "row {row_number}, column {j} (0-based): {} scales to {scaled}; the value is \
                     not finite or too far outside the training rows' range for f64",
                    short_number(*v)
                )));
            }
            *v = scaled;
        }
        Ok(())
    }
}

/// A [`Scaler`] fitted on rows that arrive one at a time, so that the training rows need not be
/// one matrix: [`add`](Self::add) every row, then [`end_pass`](Self::end_pass); when it says
/// so (z-score: the variance after the mean), pass the same rows again, then
/// [`finish`](Self::finish). Column sums run in row order, so the fit is the same whatever
/// holds the rows.
#[derive(Debug, Clone)]
pub struct ScalerFit {
    kind: ScalingKind,
    columns: Vec<String>,
    /// 0: minimum, maximum and sum; 1 (z-score): the squared deviations from the mean.
    pass: u8,
    rows: usize,
    min: Vec<f64>,
    max: Vec<f64>,
    sum: Vec<f64>,
    mean: Vec<f64>,
    squares: Vec<f64>,
}

impl ScalerFit {
    /// A fit of `kind` on rows of `columns.len()` values (the names are for messages).
    pub fn new(kind: ScalingKind, columns: Vec<String>) -> Self {
        let d = columns.len();
        ScalerFit {
            kind,
            columns,
            pass: 0,
            rows: 0,
            min: vec![f64::INFINITY; d],
            max: vec![f64::NEG_INFINITY; d],
            sum: vec![0.0; d],
            mean: Vec::new(),
            squares: vec![0.0; d],
        }
    }

    /// The scaler of `kind` on the rows `pass` adds ([`add`](Self::add)) each time it is called:
    /// once, or twice for a z-score.
    pub fn run(
        kind: ScalingKind,
        columns: Vec<String>,
        mut pass: impl FnMut(&mut ScalerFit) -> Result<()>,
    ) -> Result<Scaler> {
        let mut fit = ScalerFit::new(kind, columns);
        loop {
            pass(&mut fit)?;
            if !fit.end_pass()? {
                return fit.finish();
            }
        }
    }

    /// One training row. Errors for a wrong width or a value that is not finite.
    pub fn add(&mut self, row: &[f64]) -> Result<()> {
        let d = self.columns.len();
        if row.len() != d {
            return Err(DataError::InvalidArgument(format!(
                "{} column names for {} columns",
                d,
                row.len()
            )));
        }
        if self.pass == 0 {
            self.rows += 1;
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return Err(DataError::InvalidArgument(format!(
                    "column `{}`, row {}: {} is not finite; scaling needs numbers",
                    self.columns[j], self.rows, row[j]
                )));
            }
            for (j, &v) in row.iter().enumerate() {
                self.min[j] = self.min[j].min(v);
                self.max[j] = self.max[j].max(v);
                self.sum[j] += v;
            }
        } else {
            for (j, &v) in row.iter().enumerate() {
                let deviation = v - self.mean[j];
                self.squares[j] += deviation * deviation;
            }
        }
        Ok(())
    }

    /// Ends a pass over the training rows; `true` when the fit needs the same rows once more.
    pub fn end_pass(&mut self) -> Result<bool> {
        if self.rows == 0 {
            return Err(DataError::InvalidArgument(
                "cannot fit a scaler on zero training rows".into(),
            ));
        }
        if self.pass > 0 || self.kind != ScalingKind::ZScore {
            return Ok(false);
        }
        for j in 0..self.columns.len() {
            if !self.sum[j].is_finite() {
                return Err(self.overflow(j, "sum"));
            }
        }
        let n = self.rows as f64;
        self.mean = self.sum.iter().map(|s| s / n).collect();
        self.pass = 1;
        Ok(true)
    }

    /// The fitted scaler, once [`end_pass`](Self::end_pass) has said `false`.
    pub fn finish(self) -> Result<Scaler> {
        let d = self.columns.len();
        let n = self.rows as f64;
        let mut offset = Vec::with_capacity(d);
        let mut scale = Vec::with_capacity(d);
        for j in 0..d {
            match self.kind {
                ScalingKind::None => {
                    offset.push(0.0);
                    scale.push(1.0);
                }
                ScalingKind::MinMax => {
                    let spread = self.max[j] - self.min[j];
                    if !spread.is_finite() {
                        return Err(self.overflow(j, "range"));
                    }
                    offset.push(self.min[j]);
                    scale.push(guard(spread));
                }
                ScalingKind::ZScore => {
                    let var = self.squares[j] / n;
                    if !var.is_finite() {
                        return Err(self.overflow(j, "variance"));
                    }
                    offset.push(self.mean[j]);
                    scale.push(guard(var.sqrt()));
                }
            }
        }
        Ok(Scaler {
            kind: self.kind,
            offset,
            scale,
        })
    }

    fn overflow(&self, j: usize, quantity: &'static str) -> DataError {
        DataError::ColumnOverflow {
            column: self.columns[j].clone(),
            min: short_number(self.min[j]),
            max: short_number(self.max[j]),
            quantity,
        }
    }
}

fn guard(spread: f64) -> f64 {
    if spread > 0.0 && spread.is_finite() {
        spread
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn min_max_maps_training_range_to_unit_interval() {
        let train = array![[0.0, 5.0, 2.0], [10.0, 5.0, 4.0]];
        let s = Scaler::fit(ScalingKind::MinMax, train.view()).unwrap();
        let t = s.transform(train.view()).unwrap();
        assert_eq!(t, array![[0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]);
        // Other rows use the training statistics: values outside the range leave [0, 1].
        let other = s.transform(array![[20.0, 6.0, 3.0]].view()).unwrap();
        assert_eq!(other, array![[2.0, 1.0, 0.5]]);
    }

    #[test]
    fn z_score_gives_zero_mean_unit_variance() {
        let train = array![[1.0], [3.0]];
        let s = Scaler::fit(ScalingKind::ZScore, train.view()).unwrap();
        assert_eq!(s.offset, vec![2.0]);
        assert_eq!(s.scale, vec![1.0]);
        assert_eq!(s.transform(train.view()).unwrap(), array![[-1.0], [1.0]]);
    }

    #[test]
    fn a_z_score_fit_asks_for_a_second_pass_and_min_max_for_one() {
        let rows = [[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]];
        let names = vec!["a".to_string(), "b".to_string()];
        let mut fit = ScalerFit::new(ScalingKind::ZScore, names.clone());
        let mut passes = 0;
        loop {
            passes += 1;
            rows.iter().try_for_each(|r| fit.add(r)).unwrap();
            if !fit.end_pass().unwrap() {
                break;
            }
        }
        assert_eq!(passes, 2);
        let s = fit.finish().unwrap();
        assert_eq!(s.offset, vec![3.0, 12.0]);
        // Population deviations: sqrt(8/3) and sqrt(24/3).
        assert_eq!(s.scale, vec![(8.0f64 / 3.0).sqrt(), 8.0f64.sqrt()]);
        let mut fit = ScalerFit::new(ScalingKind::MinMax, names);
        rows.iter().try_for_each(|r| fit.add(r)).unwrap();
        assert!(!fit.end_pass().unwrap());
        let s = fit.finish().unwrap();
        assert_eq!((s.offset, s.scale), (vec![1.0, 10.0], vec![4.0, 6.0]));
        let mut row = [5.0, 13.0];
        Scaler::fit(ScalingKind::MinMax, ndarray::arr2(&rows).view())
            .unwrap()
            .transform_row(&mut row, 1)
            .unwrap();
        assert_eq!(row, [1.0, 0.5]);
        let mut short = ScalerFit::new(ScalingKind::MinMax, vec!["a".into()]);
        assert!(short.add(&[1.0, 2.0]).is_err());
    }

    #[test]
    fn wrong_width_and_empty_training_are_errors() {
        let s = Scaler::fit(ScalingKind::MinMax, array![[0.0, 1.0]].view()).unwrap();
        assert!(s.transform(array![[0.0]].view()).is_err());
        assert!(Scaler::fit(ScalingKind::MinMax, Array2::<f64>::zeros((0, 2)).view()).is_err());
    }

    #[test]
    fn a_column_whose_spread_overflows_is_an_error_naming_it() {
        // Column `x1` holds -1 and 1e308: finite, but its variance overflows f64.
        let train = array![[0.0, -1.0], [1.0, 1e308], [2.0, 0.5]];
        let err = Scaler::fit(ScalingKind::ZScore, train.view()).unwrap_err();
        assert!(matches!(err, DataError::ColumnOverflow { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "column `x1`: values range from -1 to 1e308; their variance overflows f64 — rescale \
             this column"
        );
        let names = ["a".to_string(), "b".to_string()];
        let err = Scaler::fit_named(ScalingKind::ZScore, train.view(), &names).unwrap_err();
        assert!(err.to_string().starts_with("column `b`: "), "{err}");
        // Two huge values: the sum already overflows.
        let twice = array![[1.5e308], [1.5e308]];
        let err = Scaler::fit(ScalingKind::ZScore, twice.view()).unwrap_err();
        assert!(err.to_string().contains("their sum overflows"), "{err}");
        // Min-max: only a range beyond f64 is refused; a huge but representable one scales.
        let s = Scaler::fit(ScalingKind::MinMax, train.view()).unwrap();
        let t = s.transform(train.view()).unwrap();
        assert!(t.iter().all(|v| (0.0..=1.0).contains(v)), "{t}");
        let wide = array![[-1e308], [1e308]];
        let err = Scaler::fit(ScalingKind::MinMax, wide.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `x0`: values range from -1e308 to 1e308; their range overflows f64 — rescale \
             this column"
        );
        // No scaling fits anything finite.
        assert!(Scaler::fit(ScalingKind::None, wide.view()).is_ok());
    }

    #[test]
    fn non_finite_values_and_overflowing_transforms_are_errors() {
        let err = Scaler::fit(ScalingKind::ZScore, array![[1.0], [f64::NAN]].view()).unwrap_err();
        assert!(err.to_string().contains("column `x0`, row 2"), "{err}");
        let s = Scaler::fit(ScalingKind::MinMax, array![[0.0], [1e-300]].view()).unwrap();
        let err = s.transform(array![[1e300]].view()).unwrap_err();
        assert!(err.to_string().contains("row 1, column 0"), "{err}");
        let names = ["a".to_string()];
        assert!(Scaler::fit_named(ScalingKind::None, array![[1.0, 2.0]].view(), &names).is_err());
    }
}
