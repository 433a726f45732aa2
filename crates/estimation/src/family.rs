//! One interface over the mixture families, selected by [`MixtureKind`]: a batch's mixture from
//! `γ` (training), the energies, the degeneracy penalty, the host parameters a model stores, and
//! the whole-training-set fit from batches.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::laplace::PreparedLaplace;
use crate::{
    to_f64_vec, CovariancePenalty, EstimationError, GaussianMixtureTensors, LaplaceMixture,
    LaplaceParameters, MixtureAccumulator, MixtureKind, MixtureParameters, PreparedMixture, Result,
    TINY,
};

/// A mixture of either family as tensors (differentiable when computed from `γ` and `z`).
#[derive(Debug, Clone)]
pub enum Mixture {
    /// Full-covariance Gaussians.
    Gaussian(GaussianMixtureTensors),
    /// Axis-aligned Laplace distributions.
    Laplacian(LaplaceMixture),
}

/// A mixture of either family, factorised once for energies.
#[derive(Debug, Clone)]
pub enum PreparedEnergy {
    /// Gaussian.
    Gaussian(PreparedMixture),
    /// Laplace.
    Laplacian(PreparedLaplace),
}

impl Mixture {
    /// The batch mixture of the family `kind` from `gamma` (`[N, K]`) and `z` (`[N, d]`).
    pub fn from_gamma(kind: MixtureKind, gamma: Tensor<2>, z: Tensor<2>) -> Self {
        match kind {
            MixtureKind::Gaussian => {
                Mixture::Gaussian(GaussianMixtureTensors::from_gamma(gamma, z))
            }
            MixtureKind::Laplacian => Mixture::Laplacian(LaplaceMixture::from_gamma(gamma, z)),
        }
    }

    /// The degeneracy penalty of `kind`, `[1]`. The Laplace mixture is axis-aligned: both kinds
    /// are its reciprocal per-dimension variances.
    pub fn penalty(&self, jitter: f64, kind: CovariancePenalty) -> Tensor<1> {
        match self {
            Mixture::Gaussian(m) => m.penalty(jitter, kind),
            Mixture::Laplacian(m) => m.penalty(jitter),
        }
    }

    /// Factorise for energies.
    pub fn prepare(&self, jitter: f64) -> PreparedEnergy {
        match self {
            Mixture::Gaussian(m) => PreparedEnergy::Gaussian(m.prepare(jitter)),
            Mixture::Laplacian(m) => PreparedEnergy::Laplacian(m.prepare(jitter)),
        }
    }
}

impl PreparedEnergy {
    /// The sample energy `E(z_i) = −log p(z_i)`, `[N]`.
    pub fn energy(&self, z: Tensor<2>) -> Tensor<1> {
        match self {
            PreparedEnergy::Gaussian(m) => m.energy(z),
            PreparedEnergy::Laplacian(m) => m.energy(z),
        }
    }
}

/// The host parameters of a fitted mixture of either family (serialised as
/// `{"gaussian": {...}}` or `{"laplacian": {...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FittedMixture {
    /// Gaussian weights, means, covariances.
    Gaussian(MixtureParameters),
    /// Laplace weights, means, scales.
    Laplacian(LaplaceParameters),
}

impl FittedMixture {
    /// The family.
    pub fn kind(&self) -> MixtureKind {
        match self {
            FittedMixture::Gaussian(_) => MixtureKind::Gaussian,
            FittedMixture::Laplacian(_) => MixtureKind::Laplacian,
        }
    }

    /// Dimension of `z`.
    pub fn dim(&self) -> usize {
        match self {
            FittedMixture::Gaussian(p) => p.dim(),
            FittedMixture::Laplacian(p) => p.dim(),
        }
    }

    /// The weights `φ_k` / `π_k`.
    pub fn weights(&self) -> &[f64] {
        match self {
            FittedMixture::Gaussian(p) => &p.weights,
            FittedMixture::Laplacian(p) => &p.weights,
        }
    }

    /// Check shapes and values.
    pub fn validate(&self) -> Result<()> {
        match self {
            FittedMixture::Gaussian(p) => p.validate(),
            FittedMixture::Laplacian(p) => p.validate(),
        }
    }

    /// Upload to `device` and factorise for energies.
    pub fn prepare(&self, device: &Device, jitter: f64) -> Result<PreparedEnergy> {
        Ok(match self {
            FittedMixture::Gaussian(p) => PreparedEnergy::Gaussian(
                GaussianMixtureTensors::from_parameters(p, device)?.prepare(jitter),
            ),
            FittedMixture::Laplacian(p) => PreparedEnergy::Laplacian(
                LaplaceMixture::from_parameters(p, device)?.prepare(jitter),
            ),
        })
    }
}

/// Accumulates the Laplace mixture of a whole data set in two passes over the same batches:
/// pass 0 gives `π_k` and `μ_k` (sums of `γ` and `γz` in f64), pass 1 the scales
/// `b_k = Σ_i γ_ik |z_i − μ_k| / Σ_i γ_ik` around those means — exactly the one-shot formulas on
/// the concatenated data.
#[derive(Debug, Clone)]
pub struct LaplaceAccumulator {
    k: usize,
    d: usize,
    rows: [usize; 2],
    sum_g: Vec<f64>,
    sum_gz: Vec<f64>,
    sum_g_abs: Vec<f64>,
    means: Option<Vec<f64>>,
}

impl LaplaceAccumulator {
    /// An empty accumulator for `k` components of dimension `d`.
    pub fn new(k: usize, d: usize) -> Self {
        Self {
            k,
            d,
            rows: [0, 0],
            sum_g: vec![0.0; k],
            sum_gz: vec![0.0; k * d],
            sum_g_abs: vec![0.0; k * d],
            means: None,
        }
    }

    /// Add a batch to pass `pass` (0, then 1 with the same rows).
    pub fn add(&mut self, pass: usize, gamma: Tensor<2>, z: Tensor<2>) -> Result<()> {
        let (gamma, z) = (gamma.inner(), z.inner());
        let [n, k] = gamma.dims();
        let [n2, d] = z.dims();
        if n != n2 || k != self.k || d != self.d || pass > 1 {
            return Err(EstimationError::Shape(format!(
                "pass {pass}: batch gamma [{n}, {k}], z [{n2}, {d}] for an accumulator of {} components of dimension {}",
                self.k, self.d
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let gt = gamma.transpose(); // [K, n]
        if pass == 0 {
            let flat = to_f64_vec(Tensor::cat(
                vec![
                    gt.clone().sum_dim(1).reshape([k]),
                    gt.matmul(z).reshape([k * d]),
                ],
                0,
            ));
            add_into(&mut self.sum_g, &flat[..k]);
            add_into(&mut self.sum_gz, &flat[k..]);
        } else {
            let means = self.means()?;
            let mu = Tensor::<2>::from_data(
                TensorData::new(
                    means.iter().map(|v| *v as f32).collect::<Vec<f32>>(),
                    [k, d],
                ),
                &z.device(),
            );
            let dev = (z.unsqueeze_dim::<3>(0) - mu.unsqueeze_dim::<3>(1)).abs(); // [K, n, d]
            let s = (dev * gt.unsqueeze_dim::<3>(2)).sum_dim(1).reshape([k * d]);
            add_into(&mut self.sum_g_abs, &to_f64_vec(s));
        }
        self.rows[pass] += n;
        Ok(())
    }

    /// The means after pass 0 (computed once).
    fn means(&mut self) -> Result<&[f64]> {
        if self.means.is_none() {
            if self.rows[0] == 0 {
                return Err(EstimationError::Empty);
            }
            let d = self.d;
            let means = (0..self.k * d)
                .map(|i| self.sum_gz[i] / self.sum_g[i / d].max(TINY))
                .collect();
            self.means = Some(means);
        }
        Ok(self.means.as_deref().expect("set above"))
    }

    /// The mixture, once both passes have seen the same rows.
    pub fn finish(&mut self) -> Result<LaplaceParameters> {
        if self.rows[0] == 0 {
            return Err(EstimationError::Empty);
        }
        if self.rows[1] != self.rows[0] {
            return Err(EstimationError::Shape(format!(
                "pass 0 saw {} rows, pass 1 saw {}",
                self.rows[0], self.rows[1]
            )));
        }
        let d = self.d;
        let means = self.means()?.to_vec();
        let total: f64 = self.sum_g.iter().sum();
        let rows = |v: Vec<f64>| v.chunks(d).map(<[f64]>::to_vec).collect();
        let params = LaplaceParameters {
            weights: self.sum_g.iter().map(|g| g / total).collect(),
            means: rows(means),
            scales: rows(
                (0..self.k * d)
                    .map(|i| self.sum_g_abs[i] / self.sum_g[i / d].max(TINY))
                    .collect(),
            ),
        };
        params.validate()?;
        Ok(params)
    }
}

fn add_into(acc: &mut [f64], v: &[f64]) {
    for (a, b) in acc.iter_mut().zip(v) {
        *a += b;
    }
}

/// Fits the scoring mixture of either family over a whole data set from batches: call
/// [`add`](Self::add) for every batch of pass `0..passes()` (the same batches each pass), then
/// [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub enum MixtureFitter {
    /// One pass.
    Gaussian(MixtureAccumulator),
    /// Two passes (means, then scales around them).
    Laplacian(LaplaceAccumulator),
}

impl MixtureFitter {
    /// An empty fitter for `k` components of dimension `d`.
    pub fn new(kind: MixtureKind, k: usize, d: usize) -> Self {
        match kind {
            MixtureKind::Gaussian => MixtureFitter::Gaussian(MixtureAccumulator::new(k, d)),
            MixtureKind::Laplacian => MixtureFitter::Laplacian(LaplaceAccumulator::new(k, d)),
        }
    }

    /// How many passes over the data the family needs.
    pub fn passes(&self) -> usize {
        match self {
            MixtureFitter::Gaussian(_) => 1,
            MixtureFitter::Laplacian(_) => 2,
        }
    }

    /// Add a batch to pass `pass`.
    pub fn add(&mut self, pass: usize, gamma: Tensor<2>, z: Tensor<2>) -> Result<()> {
        match self {
            MixtureFitter::Gaussian(a) if pass == 0 => a.add(gamma, z),
            MixtureFitter::Gaussian(_) => Err(EstimationError::Shape(format!(
                "a Gaussian mixture is fitted in one pass, got pass {pass}"
            ))),
            MixtureFitter::Laplacian(a) => a.add(pass, gamma, z),
        }
    }

    /// The fitted mixture.
    pub fn finish(&mut self) -> Result<FittedMixture> {
        Ok(match self {
            MixtureFitter::Gaussian(a) => FittedMixture::Gaussian(a.finish()?),
            MixtureFitter::Laplacian(a) => FittedMixture::Laplacian(a.finish()?),
        })
    }
}
