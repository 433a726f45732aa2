//! The Gaussian mixture of one training batch on the host, in f64, with its gradient written out:
//! the same quantities as [`GaussianMixtureTensors::from_gamma`](crate::GaussianMixtureTensors),
//! its energies and penalty, computed from `z` and `γ` read off the device, and the derivatives of
//! any `Σ_i w_i E_i + v·P` with respect to `z` and `γ` by the chain rule below.
//!
//! Why: for DAGMM's `d = 3`, `K = 4` the tensor version is about a hundred tiny ops forward and
//! more backward (the column-by-column Cholesky, its inverse, the log-sum-exp), each with the
//! autodiff bookkeeping of an op on a 1024-row batch; on flex they took about a quarter of a
//! training step. Here the whole mixture is a few passes over `N·K·d²` numbers.
//!
//! Forward (`S_k = Σ_i γ_ik`, floored at 1e-30 as a denominator; `ε` the jitter):
//! `φ_k = S_k/N`, `μ_k = Σ_i γ_ik z_i / S_k`, `D_ik = z_i − μ_k`, `Σ_k = Σ_i γ_ik D_ik D_ikᵀ / S_k`,
//! `A_k = Σ_k + εI = L_k L_kᵀ` (pivots floored at `ε`), `P_k = A_k⁻¹`,
//! `l_ik = log φ_k − ½(d log 2π + log|A_k|) − ½ D_ikᵀ P_k D_ik`, `E_i = −log Σ_k exp l_ik`,
//! `P = Σ_k Σ_j 1/(Σ_k,jj + ε)` (the paper's penalty) or `P = Σ_k tr P_k` (the precision penalty,
//! [`CovariancePenalty`]).
//!
//! Backward, for `J = Σ_i w_i E_i + v P`, with `r_ik = softmax_k l_ik` and `g_ik = −w_i r_ik`:
//! `∂J/∂φ_k = Σ_i g_ik / φ_k`; `G_k = ∂J/∂Σ_k = Σ_i g_ik ½(P_k D_ik D_ikᵀ P_k − P_k) − v·diag(1/(Σ_k,jj + ε)²)`
//! (the precision penalty: `… − v·P_k P_k`, since `∂ tr A⁻¹/∂A = −A⁻²` for symmetric `A`);
//! `H_ik = ∂J/∂D_ik = −g_ik P_k D_ik + 2 γ_ik G_k D_ik / S_k`; `∂J/∂z_i = Σ_k H_ik + Σ_k γ_ik M_k / S_k`
//! with `M_k = ∂J/∂μ_k = −Σ_i H_ik`; `∂J/∂γ_ik = D_ikᵀ G_k D_ik / S_k + z_iᵀ M_k / S_k + s_k` with
//! `s_k = ∂J/∂S_k = ∂J/∂φ_k / N − ⟨G_k, Σ_k⟩ / S_k − μ_kᵀ M_k / S_k`.
//! The tests check all of it against Burn's autodiff of the tensor version.

use crate::{CovariancePenalty, TINY};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// One batch's Gaussian mixture, factorised, with what its backward pass needs.
#[derive(Debug, Clone)]
pub struct BatchGaussianMixture {
    n: usize,
    k: usize,
    d: usize,
    jitter: f64,
    z: Vec<f64>,
    gamma: Vec<f64>,
    /// `S_k` (unfloored).
    sums: Vec<f64>,
    means: Vec<f64>,
    /// `Σ_k`, row-major `d × d` each, without jitter.
    covariances: Vec<f64>,
    /// `(Σ_k + εI)⁻¹`.
    precisions: Vec<f64>,
    /// `r_ik`, the posterior of component `k` for row `i`.
    posteriors: Vec<f64>,
    energies: Vec<f64>,
    /// `D_ik = z_i − μ_k` and `P_k D_ik`, `n × k × d`.
    deviations: Vec<f64>,
    precise_deviations: Vec<f64>,
}

impl BatchGaussianMixture {
    /// The mixture of the rows `z` (`n × d`, row-major) with memberships `gamma` (`n × k`).
    pub fn fit(z: &[f32], gamma: &[f32], n: usize, d: usize, k: usize, jitter: f64) -> Self {
        // DAGMM's z (one latent value and the two reconstruction features) and the paper's four
        // components get loops compiled for those sizes: the same operations, unrolled.
        match (d, k) {
            (3, 4) => Self::fit_sized(z, gamma, n, 3, 4, jitter),
            _ => Self::fit_sized(z, gamma, n, d, k, jitter),
        }
    }

    #[inline(always)]
    fn fit_sized(z: &[f32], gamma: &[f32], n: usize, d: usize, k: usize, jitter: f64) -> Self {
        assert_eq!(z.len(), n * d, "z is not {n} × {d}");
        assert_eq!(gamma.len(), n * k, "gamma is not {n} × {k}");
        let z: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let gamma: Vec<f64> = gamma.iter().map(|&v| f64::from(v)).collect();
        let mut sums = vec![0.0; k];
        let mut means = vec![0.0; k * d];
        for i in 0..n {
            for c in 0..k {
                let g = gamma[i * k + c];
                sums[c] += g;
                for j in 0..d {
                    means[c * d + j] += g * z[i * d + j];
                }
            }
        }
        for c in 0..k {
            let s = sums[c].max(TINY);
            means[c * d..(c + 1) * d].iter_mut().for_each(|m| *m /= s);
        }
        let mut covariances = vec![0.0; k * d * d];
        let mut dev = vec![0.0; d];
        for i in 0..n {
            for c in 0..k {
                let g = gamma[i * k + c];
                for j in 0..d {
                    dev[j] = z[i * d + j] - means[c * d + j];
                }
                let cov = &mut covariances[c * d * d..(c + 1) * d * d];
                for a in 0..d {
                    for b in 0..d {
                        cov[a * d + b] += g * dev[a] * dev[b];
                    }
                }
            }
        }
        let mut precisions = vec![0.0; k * d * d];
        let mut log_norm = vec![0.0; k];
        for c in 0..k {
            let s = sums[c].max(TINY);
            let cov = &mut covariances[c * d * d..(c + 1) * d * d];
            cov.iter_mut().for_each(|v| *v /= s);
            let (precision, log_det) = inverse_and_log_det(cov, d, jitter);
            precisions[c * d * d..(c + 1) * d * d].copy_from_slice(&precision);
            let weight = (sums[c] / n as f64).max(TINY);
            log_norm[c] = weight.ln() - 0.5 * (log_det + d as f64 * LN_2PI);
        }
        let mut posteriors = vec![0.0; n * k];
        let mut energies = vec![0.0; n];
        let mut deviations = vec![0.0; n * k * d];
        let mut precise_deviations = vec![0.0; n * k * d];
        let mut l = vec![0.0; k];
        for i in 0..n {
            for c in 0..k {
                let at = (i * k + c) * d;
                let dev = &mut deviations[at..at + d];
                for j in 0..d {
                    dev[j] = z[i * d + j] - means[c * d + j];
                }
                let pd = &mut precise_deviations[at..at + d];
                mat_vec(&precisions[c * d * d..(c + 1) * d * d], dev, d, pd);
                let maha: f64 = dev.iter().zip(pd.iter()).map(|(a, b)| a * b).sum();
                l[c] = log_norm[c] - 0.5 * maha;
            }
            let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let row = &mut posteriors[i * k..(i + 1) * k];
            for (r, v) in row.iter_mut().zip(&l) {
                *r = (v - max).exp();
            }
            let total: f64 = row.iter().sum();
            row.iter_mut().for_each(|r| *r /= total);
            energies[i] = -(max + total.ln());
        }
        Self {
            n,
            k,
            d,
            jitter,
            z,
            gamma,
            sums,
            means,
            covariances,
            precisions,
            posteriors,
            energies,
            deviations,
            precise_deviations,
        }
    }

    /// `E_i` of every row.
    pub fn energies(&self) -> &[f64] {
        &self.energies
    }

    /// `P = Σ_k Σ_j 1/(Σ_k,jj + ε)`, or `Σ_k tr((Σ_k + εI)⁻¹)` for the precision penalty.
    pub fn penalty(&self, kind: CovariancePenalty) -> f64 {
        let (k, d) = (self.k, self.d);
        let diagonal_of = |m: &[f64], c: usize, j: usize| m[c * d * d + j * d + j];
        (0..k)
            .flat_map(|c| (0..d).map(move |j| (c, j)))
            .map(|(c, j)| match kind {
                CovariancePenalty::Diagonal => {
                    1.0 / (diagonal_of(&self.covariances, c, j) + self.jitter)
                }
                CovariancePenalty::Precision => diagonal_of(&self.precisions, c, j),
            })
            .sum()
    }

    /// `(∂J/∂z, ∂J/∂γ)` (`n × d`, `n × k`, row-major) of `J = Σ_i energy_weights[i] E_i +
    /// penalty_weight · P`, `P` the penalty of `kind`.
    pub fn gradients(
        &self,
        energy_weights: &[f64],
        penalty_weight: f64,
        kind: CovariancePenalty,
    ) -> (Vec<f64>, Vec<f64>) {
        // As in `fit`: DAGMM's sizes compiled for themselves.
        match (self.d, self.k) {
            (3, 4) => self.gradients_sized(energy_weights, penalty_weight, kind, 3, 4),
            (d, k) => self.gradients_sized(energy_weights, penalty_weight, kind, d, k),
        }
    }

    #[inline(always)]
    fn gradients_sized(
        &self,
        energy_weights: &[f64],
        penalty_weight: f64,
        kind: CovariancePenalty,
        d: usize,
        k: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let n = self.n;
        assert_eq!(energy_weights.len(), n, "one weight per row");
        let dd = d * d;
        // g_ik = ∂J/∂l_ik.
        let g: Vec<f64> = (0..n * k)
            .map(|ik| -energy_weights[ik / k] * self.posteriors[ik])
            .collect();
        // G_k, from Σ_i g_ik ½ (P D)(P D)ᵀ, −½ Σ_i g_ik P_k and the penalty.
        let mut grad_cov = vec![0.0; k * dd];
        let mut g_totals = vec![0.0; k];
        for i in 0..n {
            for c in 0..k {
                let gi = 0.5 * g[i * k + c];
                g_totals[c] += g[i * k + c];
                let at = (i * k + c) * d;
                let pd = &self.precise_deviations[at..at + d];
                let gc = &mut grad_cov[c * dd..(c + 1) * dd];
                for a in 0..d {
                    let s = gi * pd[a];
                    for b in 0..d {
                        gc[a * d + b] += s * pd[b];
                    }
                }
            }
        }
        let mut d_sums = vec![0.0; k];
        for c in 0..k {
            let p = &self.precisions[c * dd..(c + 1) * dd];
            let gc = &mut grad_cov[c * dd..(c + 1) * dd];
            for (v, pv) in gc.iter_mut().zip(p) {
                *v -= 0.5 * g_totals[c] * pv;
            }
            match kind {
                CovariancePenalty::Diagonal => {
                    for j in 0..d {
                        let s = self.covariances[c * dd + j * d + j] + self.jitter;
                        gc[j * d + j] -= penalty_weight / (s * s);
                    }
                }
                CovariancePenalty::Precision => {
                    for a in 0..d {
                        for b in 0..d {
                            let pp: f64 = (0..d).map(|r| p[a * d + r] * p[r * d + b]).sum();
                            gc[a * d + b] -= penalty_weight * pp;
                        }
                    }
                }
            }
            // ∂J/∂φ_k / N, with φ_k = S_k / N (its log floored at 1e-30 like the tensor version).
            let weight = self.sums[c] / n as f64;
            if weight > TINY {
                d_sums[c] += g_totals[c] / weight / n as f64;
            }
        }
        // H_ik = ∂J/∂D_ik (into d_z, which later gets the μ part); M_k = −Σ_i H_ik; and
        // D_ikᵀ G_k D_ik for ∂J/∂γ.
        let mut d_z = vec![0.0; n * d];
        let mut d_gamma = vec![0.0; n * k];
        let mut grad_means = vec![0.0; k * d];
        let mut gd = vec![0.0; d];
        for i in 0..n {
            for c in 0..k {
                let s = self.sums[c].max(TINY);
                let at = (i * k + c) * d;
                let dev = &self.deviations[at..at + d];
                let pd = &self.precise_deviations[at..at + d];
                mat_vec(&grad_cov[c * dd..(c + 1) * dd], dev, d, &mut gd);
                let (gi, gamma) = (g[i * k + c], self.gamma[i * k + c]);
                let mut quad = 0.0;
                for j in 0..d {
                    quad += dev[j] * gd[j];
                    let h = -gi * pd[j] + 2.0 * gamma * gd[j] / s;
                    d_z[i * d + j] += h;
                    grad_means[c * d + j] -= h;
                }
                d_gamma[i * k + c] = quad / s;
            }
        }
        for c in 0..k {
            let s = self.sums[c].max(TINY);
            let cov = &self.covariances[c * dd..(c + 1) * dd];
            let gc = &grad_cov[c * dd..(c + 1) * dd];
            let inner: f64 = cov.iter().zip(gc).map(|(a, b)| a * b).sum();
            let mu_m: f64 = (0..d)
                .map(|j| self.means[c * d + j] * grad_means[c * d + j])
                .sum();
            d_sums[c] -= (inner + mu_m) / s;
        }
        for i in 0..n {
            for c in 0..k {
                let s = self.sums[c].max(TINY);
                let gamma = self.gamma[i * k + c];
                let mut dg = d_sums[c];
                for j in 0..d {
                    let m = grad_means[c * d + j] / s;
                    d_z[i * d + j] += gamma * m;
                    dg += self.z[i * d + j] * m;
                }
                d_gamma[i * k + c] += dg;
            }
        }
        (d_z, d_gamma)
    }
}

#[inline(always)]
fn mat_vec(m: &[f64], v: &[f64], d: usize, out: &mut [f64]) {
    for a in 0..d {
        out[a] = (0..d).map(|b| m[a * d + b] * v[b]).sum();
    }
}

/// `(A + εI)⁻¹` and `log|A + εI|` of a symmetric `d × d` matrix by Cholesky, pivots floored at
/// `ε` (or 1e-30 when `ε = 0`) as in [`cholesky`](crate::cholesky).
#[inline(always)]
fn inverse_and_log_det(a: &[f64], d: usize, jitter: f64) -> (Vec<f64>, f64) {
    let floor = jitter.max(1e-30);
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        for i in j..d {
            let mut v = a[i * d + j] + if i == j { jitter } else { 0.0 };
            for p in 0..j {
                v -= l[i * d + p] * l[j * d + p];
            }
            if i == j {
                l[j * d + j] = v.max(floor).sqrt();
            } else {
                l[i * d + j] = v / l[j * d + j];
            }
        }
    }
    let log_det = 2.0 * (0..d).map(|j| l[j * d + j].ln()).sum::<f64>();
    // L⁻¹ by forward substitution, then P = L⁻ᵀ L⁻¹.
    let mut inv = vec![0.0; d * d];
    for col in 0..d {
        for i in 0..d {
            let mut v = if i == col { 1.0 } else { 0.0 };
            for p in 0..i {
                v -= l[i * d + p] * inv[p * d + col];
            }
            inv[i * d + col] = v / l[i * d + i];
        }
    }
    let mut p = vec![0.0; d * d];
    for a in 0..d {
        for b in 0..d {
            p[a * d + b] = (0..d).map(|r| inv[r * d + a] * inv[r * d + b]).sum();
        }
    }
    (p, log_det)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{to_f64_vec, GaussianMixtureTensors};
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn batch(n: usize, d: usize, k: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let z: Vec<f32> = (0..n * d)
            .map(|p| (p % d) as f32 * 0.3 + r.random_range(-1.0..1.0f32) * (1.0 + (p % d) as f32))
            .collect();
        let mut gamma = Vec::with_capacity(n * k);
        for _ in 0..n {
            let raw: Vec<f32> = (0..k).map(|_| r.random_range(0.05..1.0f32)).collect();
            let s: f32 = raw.iter().sum();
            gamma.extend(raw.iter().map(|v| v / s));
        }
        (z, gamma)
    }

    /// Energies, penalty and both gradients equal Burn's autodiff of the tensor version (f32) on
    /// random batches, for DAGMM's shapes and a wider one, with per-row energy weights, under
    /// either penalty.
    #[test]
    fn matches_autodiff_of_the_tensor_mixture() {
        let cases = [(97, 3, 4, 1e-6), (64, 4, 2, 1e-3), (40, 2, 5, 1e-6)];
        let kinds = [CovariancePenalty::Diagonal, CovariancePenalty::Precision];
        for ((n, d, k, jitter), kind) in cases.into_iter().flat_map(|c| kinds.map(|p| (c, p))) {
            let (z, gamma) = batch(n, d, k, n as u64);
            let host = BatchGaussianMixture::fit(&z, &gamma, n, d, k, jitter);
            let weights: Vec<f64> = (0..n)
                .map(|i| 0.1 / n as f64 * (1.0 + (i % 3) as f64))
                .collect();
            let (d_z, d_gamma) = host.gradients(&weights, 0.005, kind);

            let device = Device::flex().autodiff();
            let zt =
                Tensor::<2>::from_data(TensorData::new(z.clone(), [n, d]), &device).require_grad();
            let gt = Tensor::<2>::from_data(TensorData::new(gamma.clone(), [n, k]), &device)
                .require_grad();
            let mixture = GaussianMixtureTensors::from_gamma(gt.clone(), zt.clone());
            let energy = mixture.prepare(jitter).energy(zt.clone());
            let penalty = mixture.penalty(jitter, kind);
            let w: Vec<f32> = weights.iter().map(|v| *v as f32).collect();
            let wt = Tensor::<1>::from_data(TensorData::new(w, [n]), &device);
            let objective = (energy.clone() * wt).sum() + penalty.clone().mul_scalar(0.005);
            let grads = objective.backward();
            let close = |a: &[f64], b: &[f64], what: &str| {
                let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-6);
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 2e-4 * scale,
                        "n {n} d {d} k {k} {kind:?}: {what}[{i}] host {x} autodiff {y} (largest {scale})"
                    );
                }
            };
            close(host.energies(), &to_f64_vec(energy.inner()), "energy");
            close(
                &[host.penalty(kind)],
                &to_f64_vec(penalty.inner()),
                "penalty",
            );
            close(&d_z, &to_f64_vec(zt.grad(&grads).unwrap()), "dz");
            close(&d_gamma, &to_f64_vec(gt.grad(&grads).unwrap()), "dgamma");
        }
    }

    /// The f64 factor is exact where f32 is not: the inverse times the matrix is the identity.
    #[test]
    fn inverse_inverts_and_log_det_is_the_determinant() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let (p, log_det) = inverse_and_log_det(&a, 3, 0.0);
        for r in 0..3 {
            for c in 0..3 {
                let v: f64 = (0..3).map(|m| a[r * 3 + m] * p[m * 3 + c]).sum();
                assert!((v - f64::from(u8::from(r == c))).abs() < 1e-12);
            }
        }
        // det = 4(15 − 1) − 2(6 − 0.6) + 0.6(2 − 3) = 56 − 10.8 − 0.6 = 44.6
        assert!((log_det - 44.6f64.ln()).abs() < 1e-12);
    }
}
