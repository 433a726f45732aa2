use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::{EstimationError, Result};

/// Mixture parameters on the host, in f64: what a trained model stores for scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureParameters {
    /// `φ_k`, summing to 1.
    pub weights: Vec<f64>,
    /// `μ_k`, `K` rows of `d`.
    pub means: Vec<Vec<f64>>,
    /// `Σ_k`, `K` matrices `d × d` (row-major nested vectors), without jitter.
    pub covariances: Vec<Vec<Vec<f64>>>,
}

impl MixtureParameters {
    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// Dimension `d` of `z`.
    pub fn dim(&self) -> usize {
        self.means.first().map_or(0, Vec::len)
    }

    /// Check shapes and values (weights a distribution, everything finite, `Σ` symmetric with a
    /// non-negative diagonal).
    #[allow(clippy::needless_range_loop)] // symmetric (i, j) / (j, i) access reads best with indices
    pub fn validate(&self) -> Result<()> {
        let (k, d) = (self.n_components(), self.dim());
        let bad = |m: String| Err(EstimationError::InvalidMixture(m));
        if k == 0 || d == 0 {
            return bad(format!("{k} components of dimension {d}"));
        }
        if self.means.len() != k
            || self.means.iter().any(|m| m.len() != d)
            || self.covariances.len() != k
            || self
                .covariances
                .iter()
                .any(|c| c.len() != d || c.iter().any(|r| r.len() != d))
        {
            return bad(format!("shapes do not fit {k} components of dimension {d}"));
        }
        let all = self
            .weights
            .iter()
            .chain(self.means.iter().flatten())
            .chain(self.covariances.iter().flatten().flatten());
        if all.clone().any(|v| !v.is_finite()) {
            return bad("non-finite value".into());
        }
        check_weights(&self.weights)?;
        for (kk, c) in self.covariances.iter().enumerate() {
            for i in 0..d {
                if c[i][i] < 0.0 {
                    return bad(format!("component {kk}: negative variance {}", c[i][i]));
                }
                for j in 0..i {
                    let tol = 1e-6 * (1.0 + c[i][j].abs().max(c[j][i].abs()));
                    if (c[i][j] - c[j][i]).abs() > tol {
                        return bad(format!("component {kk}: covariance not symmetric"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The means as a `K × d` array.
    pub fn means_array(&self) -> Array2<f64> {
        let (k, d) = (self.n_components(), self.dim());
        Array2::from_shape_vec((k, d), self.means.iter().flatten().copied().collect())
            .expect("validated shape")
    }

    /// The covariances as `d × d` arrays.
    pub fn covariance_arrays(&self) -> Vec<Array2<f64>> {
        let d = self.dim();
        self.covariances
            .iter()
            .map(|c| {
                Array2::from_shape_vec((d, d), c.iter().flatten().copied().collect())
                    .expect("validated shape")
            })
            .collect()
    }

    /// From flat row-major buffers: `weights` `[K]`, `means` `[K·d]`, `covariances` `[K·d·d]`.
    pub fn from_flat(weights: Vec<f64>, means: &[f64], covariances: &[f64], d: usize) -> Self {
        Self {
            means: means.chunks(d).map(<[f64]>::to_vec).collect(),
            covariances: covariances
                .chunks(d * d)
                .map(|c| c.chunks(d).map(<[f64]>::to_vec).collect())
                .collect(),
            weights,
        }
    }
}

/// Mixture weights must be `>= 0` and sum to 1 (within 1e-6): shared by every family's
/// host parameters.
pub(crate) fn check_weights(weights: &[f64]) -> Result<()> {
    if weights.iter().any(|w| *w < 0.0) || (weights.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
        return Err(EstimationError::InvalidMixture(format!(
            "weights must be >= 0 and sum to 1, got {weights:?}"
        )));
    }
    Ok(())
}
