//! The estimation network's training pass on the host, f32, forward and backward written out (the
//! companion of `dagmm_compression::HostAutoencoder` in a split training step): `z → [Linear,
//! tanh, dropout]* → Linear → softmax`, the dropout masks drawn from the caller's RNG exactly as
//! [`EstimationNetwork::forward`] draws them (same order, same factors), so both give the same
//! `γ` for the same RNG state.

use dagmm_compression::{
    register_linear_gradients, Activation, HostGradient, HostLinear, LayerGradients,
};
use ndarray::{Array2, ArrayView2, Zip};
use rand::RngCore;

use crate::network::dropout_mask;
use crate::EstimationNetwork;

/// A copy of an estimation network's weights on the host.
#[derive(Debug, Clone)]
pub struct HostEstimationNetwork {
    layers: Vec<HostLinear>,
    dropout: f64,
}

/// What the forward pass keeps for the backward pass, and `γ`.
#[derive(Debug, Clone)]
pub struct EstimationPass {
    /// Each hidden layer's `tanh` output (before dropout).
    activations: Vec<Array2<f32>>,
    /// Each hidden layer's dropout factors (training with dropout only).
    masks: Vec<Option<Array2<f32>>>,
    /// The input of each layer after the first (the dropped-out activations).
    inputs: Vec<Array2<f32>>,
    /// `γ`, `[n, K]`.
    pub gamma: Array2<f32>,
}

impl HostEstimationNetwork {
    /// A copy of `net`'s weights.
    pub fn of(net: &EstimationNetwork) -> Self {
        Self {
            layers: net.layers.iter().map(HostLinear::of).collect(),
            dropout: net.dropout(),
        }
    }

    /// `γ` of the rows `z`; `rng` is `Some` in training (dropout on).
    pub fn forward(&self, z: ArrayView2<f32>, mut rng: Option<&mut dyn RngCore>) -> EstimationPass {
        let last = self.layers.len() - 1;
        let mut activations = Vec::with_capacity(last);
        let mut masks = Vec::with_capacity(last);
        let mut inputs: Vec<Array2<f32>> = Vec::with_capacity(last);
        let mut logits = None;
        for (l, layer) in self.layers.iter().enumerate() {
            let input = match inputs.last() {
                Some(h) => h.view(),
                None => z.view(),
            };
            if l == last {
                logits = Some(layer.forward(input, Activation::Identity));
                break;
            }
            let t = layer.forward(input, Activation::Tanh);
            let mask = match rng.as_deref_mut() {
                Some(rng) if self.dropout > 0.0 => Some(
                    Array2::from_shape_vec(t.raw_dim(), dropout_mask(t.len(), self.dropout, rng))
                        .expect("one factor per unit"),
                ),
                _ => None,
            };
            let h = match &mask {
                Some(m) => &t * m,
                None => t.clone(),
            };
            activations.push(t);
            masks.push(mask);
            inputs.push(h);
        }
        let mut gamma = logits.expect("at least one layer");
        for mut row in gamma.rows_mut() {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            row.mapv_inplace(|v| (v - max).exp());
            let total: f32 = row.sum();
            row.mapv_inplace(|v| v / total);
        }
        EstimationPass {
            activations,
            masks,
            inputs,
            gamma,
        }
    }

    /// The gradients of every layer's weight and bias, and `∂/∂z`, of `Σ_ik d_gamma_ik γ_ik`.
    pub fn backward(
        &self,
        z: ArrayView2<f32>,
        pass: &EstimationPass,
        d_gamma: ArrayView2<f32>,
    ) -> (Vec<LayerGradients>, Array2<f32>) {
        // Softmax: ∂/∂logit_ik = γ_ik (dγ_ik − Σ_c γ_ic dγ_ic).
        let mut grad = Array2::<f32>::zeros(pass.gamma.raw_dim());
        for ((mut g, gamma), dg) in grad
            .rows_mut()
            .into_iter()
            .zip(pass.gamma.rows())
            .zip(d_gamma.rows())
        {
            let dot: f32 = gamma.iter().zip(dg).map(|(a, b)| a * b).sum();
            Zip::from(&mut g)
                .and(&gamma)
                .and(&dg)
                .for_each(|g, &p, &d| *g = p * (d - dot));
        }
        let mut grads: Vec<Option<LayerGradients>> = vec![None; self.layers.len()];
        let mut dz = None;
        for l in (0..self.layers.len()).rev() {
            let input = if l == 0 {
                z.view()
            } else {
                pass.inputs[l - 1].view()
            };
            let (g, below) = self.layers[l].backward(input, grad.view(), true);
            grads[l] = Some(g);
            let mut below = below.expect("asked for");
            if l == 0 {
                dz = Some(below);
                break;
            }
            // Back through layer l−1's dropout and tanh.
            if let Some(m) = &pass.masks[l - 1] {
                below *= m;
            }
            below.zip_mut_with(&pass.activations[l - 1], |g, t| *g *= 1.0 - t * t);
            grad = below;
        }
        (
            grads.into_iter().map(|g| g.expect("every layer")).collect(),
            dz.expect("the first layer"),
        )
    }
}

impl EstimationNetwork {
    /// Hands each layer's weight and bias gradients from [`HostEstimationNetwork::backward`] to
    /// `register` with the parameter's id.
    pub fn host_gradients(
        &self,
        grads: Vec<LayerGradients>,
        register: &mut dyn FnMut(burn::module::ParamId, HostGradient),
    ) {
        register_linear_gradients(self.layers.iter(), grads, register);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{to_f64_vec, EstimationConfig};
    use burn::module::Module;
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `γ` (same dropout masks from the same RNG state) and the gradients of `Σ dγ·γ` equal
    /// Burn's autodiff of [`EstimationNetwork::forward`].
    #[test]
    fn forward_and_gradients_match_autodiff() {
        let (n, d) = (53, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let device = Device::flex();
        let net = EstimationConfig::default()
            .init(d, &mut rng, &device)
            .unwrap();
        let z: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0..1.0f32)).collect();
        let dg: Vec<f32> = (0..n * 4).map(|_| rng.random_range(-1.0..1.0f32)).collect();
        let za = Array2::from_shape_vec((n, d), z.clone()).unwrap();
        let host = HostEstimationNetwork::of(&net);
        let pass = host.forward(za.view(), Some(&mut ChaCha8Rng::seed_from_u64(1)));
        let dga = Array2::from_shape_vec((n, 4), dg.clone()).unwrap();
        let (grads, dz) = host.backward(za.view(), &pass, dga.view());

        let trained = net.clone().train();
        let ad = device.autodiff();
        let zt = Tensor::<2>::from_data(TensorData::new(z, [n, d]), &ad).require_grad();
        let gamma = trained.forward(zt.clone(), Some(&mut ChaCha8Rng::seed_from_u64(1)));
        let close = |a: &[f64], b: &[f64], what: &str| {
            let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-6);
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!(
                    (p - q).abs() <= 1e-5 * scale,
                    "{what}[{i}]: host {p} autodiff {q}"
                );
            }
        };
        let f = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        close(
            &f(pass.gamma.as_slice().unwrap()),
            &to_f64_vec(gamma.clone().inner()),
            "gamma",
        );
        let dgt = Tensor::<2>::from_data(TensorData::new(dg, [n, 4]), &ad);
        let autodiff = (gamma * dgt).sum().backward();
        close(
            &f(dz.as_slice().unwrap()),
            &to_f64_vec(zt.grad(&autodiff).unwrap()),
            "dz",
        );
        let mut host_grads = std::collections::HashMap::new();
        trained.host_gradients(grads, &mut |id, g| {
            host_grads.insert(id, g);
        });
        let compared = dagmm_compression::compare_gradients(
            &trained,
            &autodiff,
            &host_grads,
            &mut |got, want, what| close(got, want, what),
        );
        assert_eq!(compared, 4, "2 layers, weight and bias each");
    }
}
