//! The estimation side of DAGMM (Zong et al. 2018, §3.2–3.3) on Burn 0.22: the estimation MLP
//! that gives the soft memberships `γ = softmax(MLP(z))`, the mixture parameters `φ, μ, Σ` of a
//! batch from `γ` and `z` (the paper's formulas, differentiable), the sample energy
//! `E(z) = −log Σ_k φ_k N(z; μ_k, Σ_k)` through a batched Cholesky factor of `Σ_k + jitter·I`
//! and a true log-sum-exp, the covariance penalty `P = Σ_k Σ_j 1/(Σ_k,jj + jitter)`, and an
//! accumulator that gives the mixture of the WHOLE training set from batches (the mixture used
//! for scoring). It is not the compression network, the loss or the training loop, and it does
//! not fit mixtures by EM (that is `dagmm-classic-gmm`).
//!
//! Linear algebra: Burn 0.22 has no Cholesky/solve, and the covariances are tiny (`d = 3` or `4`),
//! so [`cholesky`] loops over the `d` columns, each step one tensor op over all `K` matrices,
//! and [`lower_triangular_inverse`] does the same over rows; the Mahalanobis term is then one
//! batched matmul over all rows and components. Everything stays on the autodiff graph.
//!
//! Jitter: an ABSOLUTE term, `Σ_k + jitter·I` (default [`DEFAULT_JITTER`] = 1e-6), added before the
//! factorisation and in the penalty; Cholesky pivots are additionally floored at `jitter` (a no-op
//! in exact arithmetic, since every pivot of `Σ + jitter·I` with `Σ ⪰ 0` is at least `jitter`; it only
//! absorbs f32 rounding on nearly singular matrices).
//!
//! The family is selected by [`MixtureKind`] in [`EstimationConfig`]: the paper's Gaussian
//! mixture, or seed 002's Laplacian mixture ([`LaplaceMixture`]: `π, μ, b` from `γ`, axis-aligned
//! Laplace components, the same log-sum-exp energy). [`Mixture`], [`PreparedEnergy`],
//! [`FittedMixture`] and [`MixtureFitter`] dispatch over the families so the model never names one.

mod accumulator;
mod batch_gaussian;
mod config;
mod error;
mod family;
mod host_network;
mod laplace;
mod linalg;
mod mixture;
mod network;
mod params;

pub use accumulator::MixtureAccumulator;
pub use batch_gaussian::BatchGaussianMixture;
pub use config::{CovariancePenalty, EstimationConfig, MixtureKind, DEFAULT_JITTER};
pub use error::EstimationError;
pub use family::{FittedMixture, LaplaceAccumulator, Mixture, MixtureFitter, PreparedEnergy};
pub use host_network::{EstimationPass, HostEstimationNetwork};
pub use laplace::{LaplaceMixture, LaplaceParameters, PreparedLaplace};
pub use linalg::{cholesky, lower_triangular_inverse};
pub use mixture::{GaussianMixtureTensors, PreparedMixture};
pub use network::EstimationNetwork;
pub(crate) use params::check_weights;
pub use params::MixtureParameters;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, EstimationError>;

/// Smallest denominator used for `Σ_i γ_ik` (a component no row belongs to gets `μ = 0`, `Σ = 0`,
/// which the jitter then makes positive definite, instead of NaN).
pub(crate) const TINY: f64 = 1e-30;

/// Read a tensor back as f64 (one transfer).
pub(crate) fn to_f64_vec<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("converted to f64")
}

#[cfg(test)]
mod laplace_tests;
#[cfg(test)]
mod tests;
