//! Feature scaling fitted on training rows only, then applied unchanged to any other rows.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

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
    /// Fits on `train` (rows are samples).
    pub fn fit(kind: ScalingKind, train: ArrayView2<f64>) -> Result<Self> {
        if train.nrows() == 0 {
            return Err(DataError::InvalidArgument(
                "cannot fit a scaler on zero training rows".into(),
            ));
        }
        let d = train.ncols();
        let (offset, scale) = match kind {
            ScalingKind::None => (vec![0.0; d], vec![1.0; d]),
            ScalingKind::MinMax => {
                let mut offset = Vec::with_capacity(d);
                let mut scale = Vec::with_capacity(d);
                for column in train.axis_iter(Axis(1)) {
                    let min = column.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    offset.push(min);
                    scale.push(guard(max - min));
                }
                (offset, scale)
            }
            ScalingKind::ZScore => {
                let n = train.nrows() as f64;
                let mut offset = Vec::with_capacity(d);
                let mut scale = Vec::with_capacity(d);
                for column in train.axis_iter(Axis(1)) {
                    let mean = column.sum() / n;
                    let var = column.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                    offset.push(mean);
                    scale.push(guard(var.sqrt()));
                }
                (offset, scale)
            }
        };
        Ok(Scaler {
            kind,
            offset,
            scale,
        })
    }

    /// Applies the fitted scaling to `x`, which must have the training column count.
    pub fn transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        if x.ncols() != self.offset.len() {
            return Err(DataError::InvalidArgument(format!(
                "the scaler was fitted on {} columns but the data have {}",
                self.offset.len(),
                x.ncols()
            )));
        }
        let mut out = x.to_owned();
        for mut row in out.axis_iter_mut(Axis(0)) {
            for ((v, o), s) in row.iter_mut().zip(&self.offset).zip(&self.scale) {
                *v = (*v - o) / s;
            }
        }
        Ok(out)
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
}
