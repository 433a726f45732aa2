use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::mixture::Moments;
use crate::{check_weights, to_f64_vec, EstimationError, Result, TINY};

const LN_2: f64 = std::f64::consts::LN_2;

/// A mixture of axis-aligned Laplace distributions (seed 002, §3 modification 3) as tensors:
/// `p(z) = Σ_k π_k Π_j (1 / 2b_kj) exp(−|z_j − μ_kj| / b_kj)`.
///
/// From the memberships `γ` of a batch (seed 002's update equations, all `K` at once):
/// `π_k = Σ_i γ_ik / N`, `μ_k = Σ_i γ_ik z_i / Σ_i γ_ik`, `b_k = Σ_i γ_ik |z_i − μ_k| / Σ_i γ_ik`
/// (per dimension). Scales get an absolute jitter, `b + jitter`, in the energy and the penalty.
#[derive(Debug, Clone)]
pub struct LaplaceMixture {
    /// `π`, `[K]`.
    pub weights: Tensor<1>,
    /// `μ`, `[K, d]`.
    pub means: Tensor<2>,
    /// `b`, `[K, d]`, without jitter.
    pub scales: Tensor<2>,
}

/// Laplace mixture parameters on the host, in f64: what a trained model stores for scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaplaceParameters {
    /// `π_k`, summing to 1.
    pub weights: Vec<f64>,
    /// `μ_k`, `K` rows of `d`.
    pub means: Vec<Vec<f64>>,
    /// `b_k`, `K` rows of `d` non-negative scales, without jitter.
    pub scales: Vec<Vec<f64>>,
}

impl LaplaceParameters {
    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// Dimension `d` of `z`.
    pub fn dim(&self) -> usize {
        self.means.first().map_or(0, Vec::len)
    }

    /// Check shapes and values (weights a distribution, everything finite, scales `>= 0`).
    pub fn validate(&self) -> Result<()> {
        let (k, d) = (self.n_components(), self.dim());
        let bad = |m: String| Err(EstimationError::InvalidMixture(m));
        if k == 0 || d == 0 {
            return bad(format!("{k} components of dimension {d}"));
        }
        if self.means.len() != k
            || self.scales.len() != k
            || self.means.iter().chain(&self.scales).any(|r| r.len() != d)
        {
            return bad(format!("shapes do not fit {k} components of dimension {d}"));
        }
        let all = self
            .weights
            .iter()
            .chain(self.means.iter().flatten())
            .chain(self.scales.iter().flatten());
        if all.clone().any(|v| !v.is_finite()) {
            return bad("non-finite value".into());
        }
        check_weights(&self.weights)?;
        if self.scales.iter().flatten().any(|b| *b < 0.0) {
            return bad("negative Laplace scale".into());
        }
        Ok(())
    }
}

impl LaplaceMixture {
    /// Seed 002's parameters of one batch from `gamma` (`[N, K]`) and `z` (`[N, d]`). A
    /// component with `Σ_i γ_ik = 0` gets zeros (denominator floored at 1e-30), never NaN.
    pub fn from_gamma(gamma: Tensor<2>, z: Tensor<2>) -> Self {
        let moments = Moments::of(gamma, z.clone());
        let abs_dev = moments.deviations(z).abs(); // [K, N, d]
        let scales = (abs_dev * moments.gt.unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .squeeze_dim::<2>(1)
            / moments.denom;
        Self {
            weights: moments.weights,
            means: moments.means,
            scales,
        }
    }

    /// Upload host parameters to `device` (f32).
    pub fn from_parameters(p: &LaplaceParameters, device: &Device) -> Result<Self> {
        p.validate()?;
        let (k, d) = (p.n_components(), p.dim());
        let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        let flat = |rows: &[Vec<f64>]| f(rows.iter().flatten().copied().collect());
        Ok(Self {
            weights: Tensor::from_data(TensorData::new(f(p.weights.clone()), [k]), device),
            means: Tensor::from_data(TensorData::new(flat(&p.means), [k, d]), device),
            scales: Tensor::from_data(TensorData::new(flat(&p.scales), [k, d]), device),
        })
    }

    /// Read the parameters back to the host (one transfer).
    pub fn to_parameters(&self) -> LaplaceParameters {
        let [k, d] = self.means.dims();
        let flat = to_f64_vec(Tensor::cat(
            vec![
                self.weights.clone(),
                self.means.clone().reshape([k * d]),
                self.scales.clone().reshape([k * d]),
            ],
            0,
        ));
        let rows = |v: &[f64]| v.chunks(d).map(<[f64]>::to_vec).collect();
        LaplaceParameters {
            weights: flat[..k].to_vec(),
            means: rows(&flat[k..k + k * d]),
            scales: rows(&flat[k + k * d..]),
        }
    }

    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.means.dims()[1]
    }

    /// The degeneracy penalty, the Laplace counterpart of DAGMM's `Σ_k Σ_j 1/Σ_k,jj`: the sum of
    /// the reciprocal per-dimension variances, `P = Σ_k Σ_j 1/(2 (b_kj + jitter)²)` (a Laplace
    /// with scale `b` has variance `2b²`), `[1]`.
    pub fn penalty(&self, jitter: f64) -> Tensor<1> {
        self.scales
            .clone()
            .add_scalar(jitter)
            .square()
            .mul_scalar(2.0)
            .recip()
            .sum()
    }

    /// Precompute `log π_k − Σ_j log 2(b_kj + jitter)` and `1/(b + jitter)` for energies.
    pub fn prepare(&self, jitter: f64) -> PreparedLaplace {
        let [k, d] = self.means.dims();
        let b = self.scales.clone().add_scalar(jitter);
        let log_norm = self.weights.clone().clamp_min(TINY).log()
            - b.clone()
                .log()
                .sum_dim(1)
                .reshape([k])
                .add_scalar(d as f64 * LN_2);
        PreparedLaplace {
            means: self.means.clone(),
            inv_scales: b.recip(),
            log_norm,
        }
    }
}

/// A Laplace mixture ready to give energies.
#[derive(Debug, Clone)]
pub struct PreparedLaplace {
    means: Tensor<2>,
    inv_scales: Tensor<2>,
    log_norm: Tensor<1>,
}

impl PreparedLaplace {
    /// `log π_k + log Laplace(z_i; μ_k, b_k)` for all components and rows, `[K, N]`.
    pub fn log_weighted_densities(&self, z: Tensor<2>) -> Tensor<2> {
        let [k, _] = self.means.dims();
        let [n, _] = z.dims();
        let dev = (z.unsqueeze_dim::<3>(0) - self.means.clone().unsqueeze_dim::<3>(1)).abs(); // [K, N, d]
        let scaled = (dev * self.inv_scales.clone().unsqueeze_dim::<3>(1))
            .sum_dim(2)
            .reshape([k, n]);
        self.log_norm.clone().reshape([k, 1]) - scaled
    }

    /// `E(z_i) = −log Σ_k π_k Laplace(z_i; μ_k, b_k)`, `[N]`, by a true log-sum-exp.
    pub fn energy(&self, z: Tensor<2>) -> Tensor<1> {
        crate::mixture::negative_log_sum_exp(self.log_weighted_densities(z))
    }
}
