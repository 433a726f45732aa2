//! Classic Gaussian anomaly detectors: the EM Gaussian mixture of scikit-learn (full, tied, diag
//! and spherical covariances, k-means / k-means++ / random initialisation, several
//! initialisations), the single multivariate Gaussian and the per-feature Gaussians of the
//! tutorials, each scoring rows by log-likelihood (low = anomalous).
//!
//! It is not a neural model and reads no files: it takes `f64` matrices (rows are samples) from
//! the data crate and gives scores to the evaluation crate.

mod algorithm;
mod errors;
mod gaussian;
mod hyperparams;
mod kmeans;
pub mod linalg;
mod narrow;
mod rows;
mod selection;

pub use algorithm::{log_sum_exp, Covariances, Criteria, EmIteration, GaussianMixture};
pub use errors::{GmmError, Result};
pub use gaussian::{GaussianDensity, GaussianKind};
pub use hyperparams::{CovarianceType, GmmParams, InitMethod};
pub use kmeans::{kmeans_plusplus, lloyd};
pub use rows::{DenseRows, Rows};
pub use selection::{select_by_bic, select_by_bic_of_rows, BicSelection};
