use burn::tensor::Tensor;

use crate::{to_f64_vec, EstimationError, MixtureParameters, Result, TINY};

/// Accumulates the mixture of a whole data set from batches of `(γ, z)` — the mixture DAGMM
/// scores with, never the last batch's.
///
/// One pass. Per batch the device computes each component's weighted mean `m_bk` and the sums
/// `Σ_i γ_ik`, `Σ_i γ_ik (z_i − m_bk)` and `Σ_i γ_ik (z_i − m_bk)(z_i − m_bk)ᵀ` (one small
/// transfer of `K(1 + 2d + d²)` values). The host turns them into the batch's exact weighted mean
/// and centred scatter and merges them into running ones in f64 (Chan, Golub and LeVeque's
/// pairwise update: `M2 ← M2 + M2_b + δδᵀ·W·W_b/(W + W_b)` with `δ` the difference of the means).
/// [`finish`](Self::finish) gives `φ_k = W_k/N`, `μ_k` and `Σ_k = M2_k/W_k`: the one-shot formulas
/// on the concatenated data. Centring each batch on its own mean keeps the f32 sums free of the
/// cancellation that raw `Σγzzᵀ`, or sums about one fixed shift far from a component's mean,
/// would suffer (a component with almost no mass in the first batch of an ordered file, say).
#[derive(Debug, Clone)]
pub struct MixtureAccumulator {
    k: usize,
    d: usize,
    rows: usize,
    /// `W_k = Σ γ_ik` over the rows seen.
    weight: Vec<f64>,
    /// The running weighted means, `[K·d]`.
    mean: Vec<f64>,
    /// The running centred scatter `Σ γ_ik (z_i − μ_k)(z_i − μ_k)ᵀ`, `[K·d·d]`.
    m2: Vec<f64>,
}

impl MixtureAccumulator {
    /// An empty accumulator for `k` components of dimension `d`.
    pub fn new(k: usize, d: usize) -> Self {
        Self {
            k,
            d,
            rows: 0,
            weight: vec![0.0; k],
            mean: vec![0.0; k * d],
            m2: vec![0.0; k * d * d],
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
        let gt = gamma.transpose(); // [K, n]
        let sum_g = gt.clone().sum_dim(1); // [K, 1]
        let centre = gt.clone().matmul(z.clone()) / sum_g.clone().clamp_min(TINY); // [K, d]
        let diff = z.unsqueeze_dim::<3>(0) - centre.clone().unsqueeze_dim::<3>(1); // [K, n, d]
        let weighted = diff.clone() * gt.unsqueeze_dim::<3>(2);
        let s1 = weighted.clone().sum_dim(1).reshape([k * d]);
        let s2 = weighted.swap_dims(1, 2).matmul(diff).reshape([k * d * d]);
        let flat = to_f64_vec(Tensor::cat(
            vec![sum_g.reshape([k]), centre.reshape([k * d]), s1, s2],
            0,
        ));
        let (sums, rest) = flat.split_at(k);
        let (centres, rest) = rest.split_at(k * d);
        let (s1, s2) = rest.split_at(k * d);
        for kk in 0..k {
            let wb = sums[kk];
            if wb <= 0.0 {
                continue;
            }
            // The batch's exact mean (its f32 centre plus the mean residual) and its scatter
            // about that mean, `S2 − W_b·ε εᵀ` with `ε` the residual.
            let eps: Vec<f64> = (0..d).map(|i| s1[kk * d + i] / wb).collect();
            let mean_b: Vec<f64> = (0..d).map(|i| centres[kk * d + i] + eps[i]).collect();
            let w = self.weight[kk];
            let total = w + wb;
            let delta: Vec<f64> = (0..d).map(|i| mean_b[i] - self.mean[kk * d + i]).collect();
            for i in 0..d {
                for j in 0..d {
                    let at = kk * d * d + i * d + j;
                    self.m2[at] +=
                        s2[at] - wb * eps[i] * eps[j] + delta[i] * delta[j] * w * wb / total;
                }
                self.mean[kk * d + i] += delta[i] * wb / total;
            }
            self.weight[kk] = total;
        }
        self.rows += n;
        Ok(())
    }

    /// The mixture of all rows added. A component no row belongs to gets weight 0, mean 0 and a
    /// zero covariance. Covariances are symmetrised.
    pub fn finish(&self) -> Result<MixtureParameters> {
        if self.rows == 0 {
            return Err(EstimationError::Empty);
        }
        let (k, d) = (self.k, self.d);
        let total: f64 = self.weight.iter().sum();
        let weights: Vec<f64> = self.weight.iter().map(|w| w / total).collect();
        let mut covs = vec![0.0; k * d * d];
        for kk in 0..k {
            let w = self.weight[kk];
            if w <= 0.0 {
                continue;
            }
            for i in 0..d {
                for j in 0..d {
                    let (a, b) = (kk * d * d + i * d + j, kk * d * d + j * d + i);
                    covs[a] = 0.5 * (self.m2[a] + self.m2[b]) / w;
                }
                // A dimension with no spread in a component (a VQ-VAE's codes are discrete) has
                // variance 0, which rounding can leave at −1e-16: floor it at 0.
                let diag = &mut covs[kk * d * d + i * d + i];
                *diag = diag.max(0.0);
            }
        }
        let params = MixtureParameters::from_flat(weights, &self.mean, &covs, d);
        params.validate()?;
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn a_variance_rounded_below_zero_is_floored_at_zero() {
        // One component in 1-D whose scatter rounded to −4e-16 (what f32 sums of a dimension
        // without spread produced on a VQ-VAE run): finish() must give 0, not an invalid
        // mixture.
        let mut acc = MixtureAccumulator::new(1, 1);
        acc.rows = 4;
        acc.weight = vec![4.0];
        acc.mean = vec![0.4];
        acc.m2 = vec![-4e-16];
        let p = acc.finish().expect("a zero variance is valid");
        assert_eq!(p.covariances[0][0][0], 0.0);
        assert_eq!(p.means[0][0], 0.4);
    }

    #[test]
    fn a_component_absent_from_the_first_batch_keeps_its_small_variance() {
        // Two components in 1-D. The first batch (8 rows near 0) is all component 0; then 4000
        // rows at 1000 ± 0.001, all component 1. Sums about a shift taken from the first batch
        // (0 for component 1) would lose component 1's variance (4e-7) to f32 cancellation of
        // z² ≈ 1e6; each batch centred on its own mean keeps it.
        let device = burn::tensor::Device::flex();
        let mut acc = MixtureAccumulator::new(2, 1);
        let add = |acc: &mut MixtureAccumulator, v: &[f32], component: usize| {
            let n = v.len();
            let z = Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, 1]), &device);
            let g: Vec<f32> = (0..n)
                .flat_map(|_| [f32::from(component == 0), f32::from(component == 1)])
                .collect();
            let g = Tensor::<2>::from_data(TensorData::new(g, [n, 2]), &device);
            acc.add(g, z).unwrap();
        };
        let near: Vec<f32> = (0..8).map(|i| 0.01 * i as f32).collect();
        add(&mut acc, &near, 0);
        let mut far_all = Vec::new();
        for b in 0..4 {
            let far: Vec<f32> = (0..1000)
                .map(|i| 1000.0 + 0.001 * (((i * 7 + b * 3) % 11) as f32 - 5.0) / 5.0)
                .collect();
            far_all.extend(far.iter().map(|&x| x as f64));
            add(&mut acc, &far, 1);
        }
        let moments = |v: &[f64]| {
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n)
        };
        let p = acc.finish().unwrap();
        let near: Vec<f64> = near.iter().map(|&x| x as f64).collect();
        for (k, rows) in [(0, &near), (1, &far_all)] {
            let (mean, var) = moments(rows);
            let (got_mean, got_var) = (p.means[k][0], p.covariances[k][0][0]);
            assert!(
                (got_mean - mean).abs() < 1e-6 * (1.0 + mean.abs()),
                "component {k}: mean {got_mean} vs {mean}"
            );
            assert!(
                (got_var - var).abs() < 1e-3 * var,
                "component {k}: variance {got_var} vs {var}"
            );
        }
        assert!((p.weights[1] - 4000.0 / 4008.0).abs() < 1e-12);
    }
}
