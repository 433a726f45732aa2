//! The tutorials' single-Gaussian detectors (seed 003): one multivariate Gaussian with a full
//! covariance, or independent per-feature Gaussians (the product of univariate densities). A row
//! is an anomaly when its density falls below a cut-off ε.
//!
//! Both are the maximum-likelihood fit of a one-component mixture, so they share the mixture's
//! careful scoring.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::algorithm::GaussianMixture;
use crate::errors::Result;
use crate::hyperparams::{CovarianceType, GmmParams, InitMethod};

/// Which single-Gaussian model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GaussianKind {
    /// `N(μ, Σ)` with a full covariance: captures linear relations between features.
    #[default]
    Multivariate,
    /// `Π_j N(μ_j, σ_j²)`: features taken as independent.
    PerFeature,
}

/// A fitted single Gaussian.
#[derive(Debug, Clone)]
pub struct GaussianDensity {
    kind: GaussianKind,
    model: GaussianMixture,
}

impl GaussianDensity {
    /// Maximum-likelihood fit (mean and the `1/n` covariance) plus `reg_covar` on the diagonal.
    pub fn fit(kind: GaussianKind, x: ArrayView2<f64>, reg_covar: f64) -> Result<Self> {
        let params = GmmParams {
            n_components: 1,
            covariance_type: match kind {
                GaussianKind::Multivariate => CovarianceType::Full,
                GaussianKind::PerFeature => CovarianceType::Diag,
            },
            // With one component every initialisation is the all-ones responsibility.
            init: InitMethod::Random,
            reg_covar,
            ..GmmParams::default()
        };
        Ok(GaussianDensity {
            kind,
            model: GaussianMixture::fit(&params, x)?,
        })
    }

    pub fn kind(&self) -> GaussianKind {
        self.kind
    }

    /// The fitted parameters as a one-component mixture (mean, covariance).
    pub fn as_mixture(&self) -> &GaussianMixture {
        &self.model
    }

    /// `log p(x)` per row.
    pub fn log_density(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        self.model.score_samples(x)
    }

    /// `p(x)` per row (may underflow to 0 far from the mean; prefer [`Self::log_density`]).
    pub fn density(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(self.log_density(x)?.mapv(f64::exp))
    }

    /// 1 where `p(x) < epsilon`, compared on the log scale so that tiny densities stay exact.
    pub fn flag_below(&self, x: ArrayView2<f64>, epsilon: f64) -> Result<Vec<u8>> {
        let cut = epsilon.ln();
        Ok(self
            .log_density(x)?
            .iter()
            .map(|&l| u8::from(l < cut))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn multivariate_density_matches_the_textbook_formula() {
        let x = array![[1.0, 2.0], [3.0, 3.0], [2.0, 7.0], [4.0, 4.0]];
        let g = GaussianDensity::fit(GaussianKind::Multivariate, x.view(), 0.0).unwrap();
        // μ = (2.5, 4); Σ (1/n) = [[1.25, 0.25], [0.25, 3.5]] by hand: cov = (3 − 0.5 − 1.5 + 0)/4.
        let (s00, s01, s11) = (1.25, 0.25, 3.5);
        let det: f64 = s00 * s11 - s01 * s01;
        let p = |a: f64, b: f64| {
            let (u, v) = (a - 2.5, b - 4.0);
            let q = (s11 * u * u - 2.0 * s01 * u * v + s00 * v * v) / det;
            (-0.5 * q).exp() / (2.0 * std::f64::consts::PI * det.sqrt())
        };
        let dens = g.density(x.view()).unwrap();
        for (i, row) in x.rows().into_iter().enumerate() {
            assert!((dens[i] - p(row[0], row[1])).abs() < 1e-12);
        }
    }

    #[test]
    fn per_feature_density_is_the_product_of_univariate_ones() {
        let x = array![[1.0, 2.0], [3.0, 3.0], [2.0, 7.0], [4.0, 4.0]];
        let g = GaussianDensity::fit(GaussianKind::PerFeature, x.view(), 0.0).unwrap();
        let uni = |v: f64, mu: f64, var: f64| {
            (-(v - mu).powi(2) / (2.0 * var)).exp() / (2.0 * std::f64::consts::PI * var).sqrt()
        };
        let dens = g.density(x.view()).unwrap();
        for (i, row) in x.rows().into_iter().enumerate() {
            let expected = uni(row[0], 2.5, 1.25) * uni(row[1], 4.0, 3.5);
            assert!((dens[i] - expected).abs() < 1e-12);
        }
        // ε cut-off: flag exactly the rows whose density is below ε.
        let eps = (dens[0] + dens[1]) / 2.0;
        let flags = g.flag_below(x.view(), eps).unwrap();
        let expected: Vec<u8> = dens.iter().map(|&d| u8::from(d < eps)).collect();
        assert_eq!(flags, expected);
        assert!(flags.contains(&1) && flags.contains(&0));
    }
}
