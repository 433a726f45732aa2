use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_compression::linear_pytorch_default;
use rand::{Rng, RngCore};

/// The estimation MLP: `z → [Linear, tanh, dropout]* → Linear → softmax`, giving `γ` (`[n, K]`).
///
/// Dropout is applied only when the caller passes an RNG (training); its masks are drawn on the
/// host from that RNG and uploaded (one `[n, width]` tensor per hidden layer), so training is
/// reproducible on every device and independent of Burn's process-global device RNG.
#[derive(Module, Debug)]
pub struct EstimationNetwork {
    /// Layers, input first; the last one outputs the `K` logits.
    pub layers: Vec<Linear>,
    dropout: f64,
    n_components: usize,
}

impl EstimationNetwork {
    /// A new MLP `z_dim → hidden… → n_components`, weights drawn from `rng` with PyTorch's
    /// `nn.Linear` default (`U(±1/√fan_in)` for weights and biases).
    pub fn new(
        z_dim: usize,
        hidden: &[usize],
        n_components: usize,
        dropout: f64,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Self {
        let mut widths = vec![z_dim];
        widths.extend_from_slice(hidden);
        widths.push(n_components);
        let layers = widths
            .windows(2)
            .map(|w| linear_pytorch_default(w[0], w[1], rng, device))
            .collect();
        Self {
            layers,
            dropout,
            n_components,
        }
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// The logits `p = MLP(z)`, `[n, K]`. `rng` is `Some` in training (dropout on).
    pub fn logits(&self, z: Tensor<2>, mut rng: Option<&mut dyn RngCore>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut h = z;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = h.tanh();
                if let Some(rng) = rng.as_deref_mut() {
                    if self.dropout > 0.0 {
                        h = apply_dropout(h, self.dropout, rng);
                    }
                }
            }
        }
        h
    }

    /// The memberships `γ = softmax(MLP(z))`, `[n, K]`. `rng` is `Some` in training (dropout on).
    pub fn forward(&self, z: Tensor<2>, rng: Option<&mut dyn RngCore>) -> Tensor<2> {
        softmax(self.logits(z, rng), 1)
    }
}

/// Inverted dropout with a host-drawn mask: kept units are scaled by `1/(1−p)`.
fn apply_dropout(h: Tensor<2>, p: f64, rng: &mut dyn RngCore) -> Tensor<2> {
    let [n, w] = h.dims();
    let mask = dropout_mask(n * w, p, rng);
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [n, w]), &h.device());
    h * mask
}

/// `len` dropout factors drawn from `rng` (0 with probability `p`, else `1/(1−p)`), row-major:
/// the one mask of a layer, for the tensor network and the host one alike.
pub(crate) fn dropout_mask(len: usize, p: f64, rng: &mut dyn RngCore) -> Vec<f32> {
    let scale = (1.0 / (1.0 - p)) as f32;
    (0..len)
        .map(|_| if rng.random::<f64>() < p { 0.0 } else { scale })
        .collect()
}

impl EstimationNetwork {
    /// The dropout probability of the hidden layers.
    pub(crate) fn dropout(&self) -> f64 {
        self.dropout
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{to_f64_vec, EstimationConfig};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn gamma_rows_sum_to_one_and_dropout_only_in_training() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let net = EstimationConfig::default()
            .init(3, &mut rng, &device)
            .unwrap();
        assert_eq!(net.n_components(), 4);
        assert_eq!(net.num_params(), 3 * 10 + 10 + 10 * 4 + 4);
        let z: Vec<f32> = (0..60).map(|i| (i as f32 * 0.37).sin()).collect();
        let z = Tensor::<2>::from_data(TensorData::new(z, [20, 3]), &device);
        let eval1 = to_f64_vec(net.forward(z.clone(), None));
        let eval2 = to_f64_vec(net.forward(z.clone(), None));
        assert_eq!(eval1, eval2, "evaluation is deterministic");
        for row in eval1.chunks(4) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-6);
            assert!(row.iter().all(|g| *g > 0.0));
        }
        let mut drop_rng = ChaCha8Rng::seed_from_u64(9);
        let train = to_f64_vec(net.forward(z.clone(), Some(&mut drop_rng)));
        assert_ne!(train, eval1, "dropout changes the training output");
        let mut drop_rng = ChaCha8Rng::seed_from_u64(9);
        assert_eq!(
            train,
            to_f64_vec(net.forward(z, Some(&mut drop_rng))),
            "same RNG, same masks"
        );
    }
}
