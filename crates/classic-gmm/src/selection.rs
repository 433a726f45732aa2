//! Choosing the number of components by the Bayesian information criterion.

use ndarray::ArrayView2;

use crate::algorithm::GaussianMixture;
use crate::errors::{GmmError, Result};
use crate::hyperparams::GmmParams;
use crate::rows::{with_dense_rows, Rows};

/// The mixture with the lowest BIC and the BIC of every count tried.
#[derive(Debug, Clone)]
pub struct BicSelection {
    pub best: GaussianMixture,
    /// `(n_components, bic)` for each count tried, in order.
    pub bics: Vec<(usize, f64)>,
}

/// Fits `params` with each component count in `min..=max` and keeps the lowest BIC.
pub fn select_by_bic(
    params: &GmmParams,
    x: ArrayView2<f64>,
    min: usize,
    max: usize,
) -> Result<BicSelection> {
    if min == 0 || min > max {
        return Err(GmmError::EmptyRange { min, max });
    }
    with_dense_rows(x, |rows| select_by_bic_of_rows(params, rows, min, max))
}

/// [`select_by_bic`] of rows read a block at a time.
pub fn select_by_bic_of_rows(
    params: &GmmParams,
    x: &dyn Rows,
    min: usize,
    max: usize,
) -> Result<BicSelection> {
    if min == 0 || min > max {
        return Err(GmmError::EmptyRange { min, max });
    }
    let mut best: Option<(f64, GaussianMixture)> = None;
    let mut bics = Vec::new();
    for k in min..=max {
        let model = GaussianMixture::fit_rows(
            &GmmParams {
                n_components: k,
                ..params.clone()
            },
            x,
            &mut |_| {},
        )?;
        let bic = model.criteria_of_rows(x)?.bic;
        bics.push((k, bic));
        if best.as_ref().is_none_or(|(b, _)| bic < *b) {
            best = Some((bic, model));
        }
    }
    Ok(BicSelection {
        best: best.expect("non-empty range").1,
        bics,
    })
}
