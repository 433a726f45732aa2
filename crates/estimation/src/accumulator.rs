use burn::tensor::{Tensor, TensorData};

use crate::{to_f64_vec, EstimationError, MixtureParameters, Result, TINY};

/// Accumulates the mixture of a whole data set from batches of `(γ, z)` — the mixture DAGMM
/// scores with, never the last batch's.
///
/// One pass with a per-component shift `c_k` (the first batch's `μ_k`): per batch the device
/// computes `Σ_i γ_ik`, `Σ_i γ_ik (z_i − c_k)` and `Σ_i γ_ik (z_i − c_k)(z_i − c_k)ᵀ` (one
/// small transfer of `K(1 + d + d²)` values), the host adds them in f64, and [`finish`](Self::finish)
/// gives `φ_k = Sγ_k/N`, `μ_k = c_k + δ_k`, `Σ_k = S2_k/Sγ_k − δ_k δ_kᵀ` with `δ_k = S1_k/Sγ_k`:
/// exactly the one-shot formulas on the concatenated data, and without the cancellation of raw
/// `Σγzzᵀ` sums because `c_k` is close to `μ_k`.
#[derive(Debug, Clone)]
pub struct MixtureAccumulator {
    k: usize,
    d: usize,
    rows: usize,
    shift: Option<Vec<f64>>,
    sum_g: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl MixtureAccumulator {
    /// An empty accumulator for `k` components of dimension `d`.
    pub fn new(k: usize, d: usize) -> Self {
        Self {
            k,
            d,
            rows: 0,
            shift: None,
            sum_g: vec![0.0; k],
            s1: vec![0.0; k * d],
            s2: vec![0.0; k * d * d],
        }
    }

    /// Rows seen so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Add a batch: `gamma` `[n, K]`, `z` `[n, d]` (plain or autodiff tensors; nothing is tracked).
    pub fn add(&mut self, gamma: Tensor<2>, z: Tensor<2>) -> Result<()> {
        let (gamma, z) = (gamma.inner(), z.inner());
        let [n, k] = gamma.dims();
        let [n2, d] = z.dims();
        if n != n2 || k != self.k || d != self.d {
            return Err(EstimationError::Shape(format!(
                "batch gamma [{n}, {k}], z [{n2}, {d}] for an accumulator of {} components of dimension {}",
                self.k, self.d
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let device = z.device();
        let gt = gamma.transpose(); // [K, n]
        if self.shift.is_none() {
            let denom = gt.clone().sum_dim(1).clamp_min(TINY); // [K, 1]
            self.shift = Some(to_f64_vec(gt.clone().matmul(z.clone()) / denom));
        }
        let shift = self.shift.as_ref().expect("set above");
        let c = Tensor::<2>::from_data(
            TensorData::new(
                shift.iter().map(|v| *v as f32).collect::<Vec<f32>>(),
                [k, d],
            ),
            &device,
        );
        let diff = z.unsqueeze_dim::<3>(0) - c.unsqueeze_dim::<3>(1); // [K, n, d]
        let weighted = diff.clone() * gt.clone().unsqueeze_dim::<3>(2);
        let sum_g = gt.sum_dim(1).reshape([k]);
        let s1 = weighted.clone().sum_dim(1).reshape([k * d]);
        let s2 = weighted.swap_dims(1, 2).matmul(diff).reshape([k * d * d]);
        let flat = to_f64_vec(Tensor::cat(vec![sum_g, s1, s2], 0));
        for (acc, v) in self.sum_g.iter_mut().zip(&flat[..k]) {
            *acc += v;
        }
        for (acc, v) in self.s1.iter_mut().zip(&flat[k..k + k * d]) {
            *acc += v;
        }
        for (acc, v) in self.s2.iter_mut().zip(&flat[k + k * d..]) {
            *acc += v;
        }
        self.rows += n;
        Ok(())
    }

    /// The mixture of all rows added. A component no row belongs to gets weight 0, its shift as
    /// mean and a zero covariance. Covariances are symmetrised.
    pub fn finish(&self) -> Result<MixtureParameters> {
        if self.rows == 0 {
            return Err(EstimationError::Empty);
        }
        let (k, d) = (self.k, self.d);
        let shift = self.shift.as_ref().expect("rows > 0");
        let total: f64 = self.sum_g.iter().sum();
        let mut weights = Vec::with_capacity(k);
        let mut means = vec![0.0; k * d];
        let mut covs = vec![0.0; k * d * d];
        for kk in 0..k {
            let sg = self.sum_g[kk];
            weights.push(sg / total);
            if sg <= 0.0 {
                means[kk * d..(kk + 1) * d].copy_from_slice(&shift[kk * d..(kk + 1) * d]);
                continue;
            }
            let delta: Vec<f64> = (0..d).map(|i| self.s1[kk * d + i] / sg).collect();
            for i in 0..d {
                means[kk * d + i] = shift[kk * d + i] + delta[i];
            }
            for i in 0..d {
                for j in 0..d {
                    let a = self.s2[kk * d * d + i * d + j] / sg - delta[i] * delta[j];
                    let b = self.s2[kk * d * d + j * d + i] / sg - delta[j] * delta[i];
                    covs[kk * d * d + i * d + j] = 0.5 * (a + b);
                }
                // A dimension with no spread in a component (a VQ-VAE's codes are discrete) has
                // variance 0, which `S2/Sγ − δ²` can round to −1e-16: floor it at 0.
                let diag = &mut covs[kk * d * d + i * d + i];
                *diag = diag.max(0.0);
            }
        }
        let params = MixtureParameters::from_flat(weights, &means, &covs, d);
        params.validate()?;
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variance_rounded_below_zero_is_floored_at_zero() {
        // One component in 1-D whose sums give S2/Sγ − δ² = −1e-16 (what f32 sums of a
        // dimension without spread produced on a VQ-VAE run): finish() must give 0, not an
        // invalid mixture.
        let mut acc = MixtureAccumulator::new(1, 1);
        acc.rows = 4;
        acc.shift = Some(vec![0.3]);
        acc.sum_g = vec![4.0];
        acc.s1 = vec![0.4]; // δ = 0.1
        acc.s2 = vec![4.0 * (0.01 - 1e-16)];
        let p = acc.finish().expect("a zero variance is valid");
        assert_eq!(p.covariances[0][0][0], 0.0);
        assert!((p.means[0][0] - 0.4).abs() < 1e-15);
    }
}
