//! The parameters of an EM fit and their validation: bad values become typed errors before any work.

use serde::{Deserialize, Serialize};

use crate::errors::{GmmError, Result};

/// The shape of each component's covariance, as scikit-learn names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CovarianceType {
    /// Each component has its own full covariance matrix.
    #[default]
    Full,
    /// All components share one full covariance matrix.
    Tied,
    /// Each component has its own diagonal covariance matrix.
    Diag,
    /// Each component has its own single variance.
    Spherical,
}

impl std::str::FromStr for CovarianceType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "full" => Ok(Self::Full),
            "tied" => Ok(Self::Tied),
            "diag" => Ok(Self::Diag),
            "spherical" => Ok(Self::Spherical),
            other => Err(format!(
                "unknown covariance type `{other}` (full, tied, diag, spherical)"
            )),
        }
    }
}

/// How the responsibilities are initialised before the first M-step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InitMethod {
    /// k-means++ seeding, then Lloyd's k-means; hard assignments (scikit-learn's default).
    #[default]
    #[serde(rename = "kmeans")]
    KMeans,
    /// k-means++ seeding only; hard assignments to the nearest seed.
    #[serde(rename = "k-means++")]
    KMeansPlusPlus,
    /// Random responsibilities, normalised per row.
    Random,
}

impl std::str::FromStr for InitMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "kmeans" => Ok(Self::KMeans),
            "k-means++" | "kmeans++" => Ok(Self::KMeansPlusPlus),
            "random" => Ok(Self::Random),
            other => Err(format!(
                "unknown init method `{other}` (kmeans, k-means++, random)"
            )),
        }
    }
}

/// Every knob of an EM fit. Defaults are scikit-learn's `GaussianMixture` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GmmParams {
    pub n_components: usize,
    pub covariance_type: CovarianceType,
    pub init: InitMethod,
    /// Number of initialisations; the fit with the best final lower bound is kept.
    pub n_init: usize,
    pub max_iter: usize,
    /// EM stops when the lower bound (mean log-likelihood) changes by less than this.
    pub tol: f64,
    /// Added to the diagonal of every covariance, so that each stays positive definite.
    pub reg_covar: f64,
    pub seed: u64,
}

impl Default for GmmParams {
    fn default() -> Self {
        GmmParams {
            n_components: 1,
            covariance_type: CovarianceType::Full,
            init: InitMethod::KMeans,
            n_init: 1,
            max_iter: 100,
            tol: 1e-3,
            reg_covar: 1e-6,
            seed: 0,
        }
    }
}

impl GmmParams {
    pub fn new(n_components: usize) -> Self {
        GmmParams {
            n_components,
            ..Self::default()
        }
    }

    /// Checks every field; the first bad one is named in the error.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, message: String| Err(GmmError::InvalidParameter { field, message });
        if self.n_components == 0 {
            return bad("n_components", "must be at least 1".into());
        }
        if self.n_init == 0 {
            return bad("n_init", "must be at least 1".into());
        }
        if self.max_iter == 0 {
            return bad("max_iter", "must be at least 1".into());
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return bad(
                "tol",
                format!("must be a finite number >= 0, got {}", self.tol),
            );
        }
        if !(self.reg_covar >= 0.0 && self.reg_covar.is_finite()) {
            return bad(
                "reg_covar",
                format!("must be a finite number >= 0, got {}", self.reg_covar),
            );
        }
        Ok(())
    }
}
