use burn::tensor::{Device, Tensor, TensorData};

use crate::linalg::{cholesky, eye, lower_triangular_inverse};
use crate::{to_f64_vec, CovariancePenalty, EstimationError, MixtureParameters, Result, TINY};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// What every mixture family computes first from a batch's memberships `γ` (`[N, K]`) and `z`
/// (`[N, d]`): `φ_k = Σ_i γ_ik / N`, `μ_k = Σ_i γ_ik z_i / Σ_i γ_ik`, the denominators
/// `Σ_i γ_ik` (`[K, 1]`, floored at 1e-30 so an empty component gets zeros, never NaN) and `γᵀ`.
pub(crate) struct Moments {
    pub weights: Tensor<1>,
    pub means: Tensor<2>,
    pub denom: Tensor<2>,
    pub gt: Tensor<2>,
}

impl Moments {
    pub(crate) fn of(gamma: Tensor<2>, z: Tensor<2>) -> Self {
        let [n, k] = gamma.dims();
        let [n2, _d] = z.dims();
        assert_eq!(n, n2, "gamma has {n} rows, z has {n2}");
        let sum_g = gamma.clone().sum_dim(0); // [1, K]
        let weights = sum_g.clone().div_scalar(n as f64).reshape([k]);
        let denom = sum_g.clamp_min(TINY).reshape([k, 1]); // [K, 1]
        let gt = gamma.transpose(); // [K, N]
        let means = gt.clone().matmul(z) / denom.clone(); // [K, d]
        Self {
            weights,
            means,
            denom,
            gt,
        }
    }

    /// `z_i − μ_k` for every component and row, `[K, N, d]`.
    pub(crate) fn deviations(&self, z: Tensor<2>) -> Tensor<3> {
        z.unsqueeze_dim::<3>(0) - self.means.clone().unsqueeze_dim::<3>(1)
    }
}

/// A Gaussian mixture as tensors on a device (differentiable when computed from `γ` and `z`).
#[derive(Debug, Clone)]
pub struct GaussianMixtureTensors {
    /// `φ`, `[K]`.
    pub weights: Tensor<1>,
    /// `μ`, `[K, d]`.
    pub means: Tensor<2>,
    /// `Σ`, `[K, d, d]`, without jitter.
    pub covariances: Tensor<3>,
}

impl GaussianMixtureTensors {
    /// The paper's mixture parameters of one batch (eq. 5), all `K` components at once:
    /// `φ_k = Σ_i γ_ik / N`, `μ_k = Σ_i γ_ik z_i / Σ_i γ_ik`,
    /// `Σ_k = Σ_i γ_ik (z_i − μ_k)(z_i − μ_k)ᵀ / Σ_i γ_ik` (centred form, one batched matmul).
    /// `gamma` is `[N, K]`, `z` is `[N, d]`. A component with `Σ_i γ_ik = 0` gets zeros (its
    /// denominator is floored at 1e-30), never NaN.
    pub fn from_gamma(gamma: Tensor<2>, z: Tensor<2>) -> Self {
        let moments = Moments::of(gamma, z.clone());
        let diff = moments.deviations(z); // [K, N, d]
        let weighted = diff.clone() * moments.gt.unsqueeze_dim::<3>(2); // [K, N, d]
        let covariances =
            weighted.swap_dims(1, 2).matmul(diff) / moments.denom.unsqueeze_dim::<3>(2);
        Self {
            weights: moments.weights,
            means: moments.means,
            covariances,
        }
    }

    /// Upload host parameters to `device` (f32).
    pub fn from_parameters(p: &MixtureParameters, device: &Device) -> Result<Self> {
        p.validate()?;
        let (k, d) = (p.n_components(), p.dim());
        let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        Ok(Self {
            weights: Tensor::from_data(TensorData::new(f(p.weights.clone()), [k]), device),
            means: Tensor::from_data(
                TensorData::new(f(p.means.iter().flatten().copied().collect()), [k, d]),
                device,
            ),
            covariances: Tensor::from_data(
                TensorData::new(
                    f(p.covariances.iter().flatten().flatten().copied().collect()),
                    [k, d, d],
                ),
                device,
            ),
        })
    }

    /// Read the parameters back to the host (one transfer).
    pub fn to_parameters(&self) -> MixtureParameters {
        let [k, d] = self.means.dims();
        let flat = to_f64_vec(Tensor::cat(
            vec![
                self.weights.clone(),
                self.means.clone().reshape([k * d]),
                self.covariances.clone().reshape([k * d * d]),
            ],
            0,
        ));
        MixtureParameters::from_flat(
            flat[..k].to_vec(),
            &flat[k..k + k * d],
            &flat[k + k * d..],
            d,
        )
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.means.dims()[0]
    }

    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.means.dims()[1]
    }

    /// The covariance penalty, `[1]`: `Σ_k Σ_j 1/(Σ_k,jj + jitter)` (the paper's, in the reference
    /// code's form: the diagonal of the jittered covariance, so a collapsed component gives a
    /// large but finite penalty), or `Σ_k tr((Σ_k + jitter·I)⁻¹) = Σ_k ‖L_k⁻¹‖²_F` by the Cholesky
    /// factor `L_k` ([`CovariancePenalty`]).
    pub fn penalty(&self, jitter: f64, kind: CovariancePenalty) -> Tensor<1> {
        match kind {
            CovariancePenalty::Diagonal => {
                let d = self.dim();
                let diag =
                    (self.covariances.clone() * eye(d, &self.covariances.device())).sum_dim(2);
                diag.add_scalar(jitter).recip().sum()
            }
            CovariancePenalty::Precision => {
                let l_inv = lower_triangular_inverse(cholesky(self.covariances.clone(), jitter));
                l_inv.square().sum()
            }
        }
    }

    /// Factorise once for energies (Cholesky of `Σ_k + jitter·I`, its inverse, log-determinants).
    pub fn prepare(&self, jitter: f64) -> PreparedMixture {
        let [k, d] = self.means.dims();
        let l = cholesky(self.covariances.clone(), jitter);
        let l_inv = lower_triangular_inverse(l.clone());
        let diag = (l * eye(d, &self.means.device())).sum_dim(2); // [K, d, 1]
        let log_det = diag.log().sum_dim(1).mul_scalar(2.0).reshape([k]); // log |Σ_k + jitter I|
        let log_norm = self.weights.clone().clamp_min(TINY).log()
            - (log_det.add_scalar(d as f64 * LN_2PI)).mul_scalar(0.5);
        PreparedMixture {
            means: self.means.clone(),
            l_inv_t: l_inv.swap_dims(1, 2),
            log_norm,
        }
    }
}

/// A Gaussian mixture ready to give energies: `log φ_k − ½(d log 2π + log|Σ_k|)` and `L_k⁻ᵀ`.
#[derive(Debug, Clone)]
pub struct PreparedMixture {
    means: Tensor<2>,
    l_inv_t: Tensor<3>,
    log_norm: Tensor<1>,
}

impl PreparedMixture {
    /// `log φ_k + log N(z_i; μ_k, Σ_k)` for all components and rows, `[K, N]`. The Mahalanobis
    /// term is `‖L_k⁻¹ (z_i − μ_k)‖²`, one batched matmul over all rows and components.
    pub fn log_weighted_densities(&self, z: Tensor<2>) -> Tensor<2> {
        let [k, _d] = self.means.dims();
        let [n, _] = z.dims();
        let diff = z.unsqueeze_dim::<3>(0) - self.means.clone().unsqueeze_dim::<3>(1); // [K, N, d]
        let y = diff.matmul(self.l_inv_t.clone()); // [K, N, d]
        let maha = y.square().sum_dim(2).reshape([k, n]);
        self.log_norm.clone().reshape([k, 1]) - maha.mul_scalar(0.5)
    }

    /// The sample energy `E(z_i) = −log Σ_k φ_k N(z_i; μ_k, Σ_k)`, `[N]`, by a true log-sum-exp over
    /// the components (the per-row maximum is subtracted before `exp`).
    pub fn energy(&self, z: Tensor<2>) -> Tensor<1> {
        negative_log_sum_exp(self.log_weighted_densities(z))
    }
}

/// `−log Σ_k exp(a_kn)` over the components of `[K, N]` log-weighted densities, `[N]`, by a true
/// log-sum-exp (the per-row maximum is subtracted before `exp`).
pub(crate) fn negative_log_sum_exp(lw: Tensor<2>) -> Tensor<1> {
    let [_, n] = lw.dims();
    let max = lw.clone().max_dim(0); // [1, N]
    let lse = max.clone() + (lw - max).exp().sum_dim(0).log();
    lse.neg().reshape([n])
}

impl GaussianMixtureTensors {
    /// Check that `z`'s width matches the mixture.
    pub fn check_dim(&self, z_dim: usize) -> Result<()> {
        if z_dim != self.dim() {
            return Err(EstimationError::Shape(format!(
                "z has {z_dim} columns, the mixture {}",
                self.dim()
            )));
        }
        Ok(())
    }
}
