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
        if train.nrows() == 0 {
            return Err(DataError::InvalidArgument(
                "cannot fit a scaler on zero training rows".into(),
            ));
        }
        let d = train.ncols();
        if columns.len() != d {
            return Err(DataError::InvalidArgument(format!(
                "{} column names for {d} columns",
                columns.len()
            )));
        }
        let n = train.nrows() as f64;
        let mut offset = Vec::with_capacity(d);
        let mut scale = Vec::with_capacity(d);
        for (column, name) in train.axis_iter(Axis(1)).zip(columns) {
            if let Some((row, value)) = column.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(DataError::InvalidArgument(format!(
                    "column `{name}`, row {}: {value} is not finite; scaling needs numbers",
                    row + 1
                )));
            }
            let min = column.iter().copied().fold(f64::INFINITY, f64::min);
            let max = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let overflow = |quantity| DataError::ColumnOverflow {
                column: name.clone(),
                min: short_number(min),
                max: short_number(max),
                quantity,
            };
            match kind {
                ScalingKind::None => {
                    offset.push(0.0);
                    scale.push(1.0);
                }
                ScalingKind::MinMax => {
                    let spread = max - min;
                    if !spread.is_finite() {
                        return Err(overflow("range"));
                    }
                    offset.push(min);
                    scale.push(guard(spread));
                }
                ScalingKind::ZScore => {
                    let sum = column.sum();
                    if !sum.is_finite() {
                        return Err(overflow("sum"));
                    }
                    let mean = sum / n;
                    let var = column.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                    if !var.is_finite() {
                        return Err(overflow("variance"));
                    }
                    offset.push(mean);
                    scale.push(guard(var.sqrt()));
                }
            }
        }
        Ok(Scaler {
            kind,
            offset,
            scale,
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
        if x.ncols() != self.offset.len() {
            return Err(DataError::InvalidArgument(format!(
                "the scaler was fitted on {} columns but the data have {}",
                self.offset.len(),
                x.ncols()
            )));
        }
        for (i, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
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
                        "row {}, column {j} (0-based): {} scales to {scaled}; the value is \
                         not finite or too far outside the training rows' range for f64",
                        i + 1,
                        short_number(*v)
                    )));
                }
                *v = scaled;
            }
        }
        Ok(())
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
