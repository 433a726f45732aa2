use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_compression::linear_pytorch_default;
use rand::RngCore;

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
///
/// A unit is dropped when its draw `rng.random::<f64>()` is below `p`; that draw is `m / 2⁵³`, `m`
/// the top 53 bits of a `next_u64`, so the test is `m < ⌈p · 2⁵³⌉` on integers (exact: `p · 2⁵³`
/// is `p` with its exponent moved). The words come from one `fill_bytes` of `8 · len` bytes, the
/// same numbers as `len` calls of `next_u64` (a block RNG hands out its words in the same order
/// either way; the test checks it), in one call through `dyn RngCore` rather than one per unit.
pub(crate) fn dropout_mask(len: usize, p: f64, rng: &mut dyn RngCore) -> Vec<f32> {
    let scale = (1.0 / (1.0 - p)) as f32;
    // Below 2⁵³ + 1, so the comparison can be on i64 (what vectorises).
    let threshold = (p * (1u64 << 53) as f64).ceil() as i64;
    let mut words = vec![0u64; len];
    // SAFETY: the bytes of `len` u64s, each byte pattern a valid u64.
    rng.fill_bytes(unsafe {
        std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), 8 * len)
    });
    let mut mask = vec![0.0f32; len];
    mask_from_words(&words, threshold, scale, &mut mask);
    mask
}

dagmm_compression::wide_fn! {
    /// `0` where the little-endian word's top 53 bits are below `threshold`, else `scale`.
    fn mask_from_words(words: &[u64], threshold: i64, scale: f32, mask: &mut [f32]) {
        for (m, &w) in mask.iter_mut().zip(words) {
            *m = if (u64::from_le(w) >> 11) as i64 >= threshold {
                scale
            } else {
                0.0
            };
        }
    }
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

    /// The mask is `rng.random::<f64>()` unit by unit, whatever the RNG's position in its block
    /// (an odd word offset after a `next_u32`, a block boundary inside the mask).
    #[test]
    fn dropout_mask_draws_what_random_f64_draws() {
        use rand::{Rng, RngCore};
        let cases = [(0, 1), (1, 7), (0, 64), (1, 63), (3, 10_240), (0, 10_241)];
        for ((skip_u32, len), p) in cases.into_iter().zip([0.5, 0.1, 0.3, 0.9, 0.5, 1.0 / 3.0]) {
            let mut a = ChaCha8Rng::seed_from_u64(11);
            let mut b = ChaCha8Rng::seed_from_u64(11);
            for _ in 0..skip_u32 {
                a.next_u32();
                b.next_u32();
            }
            let got = dropout_mask(len, p, &mut a);
            let scale = (1.0 / (1.0 - p)) as f32;
            let want: Vec<f32> = (0..len)
                .map(|_| if b.random::<f64>() < p { 0.0 } else { scale })
                .collect();
            assert_eq!(got, want, "skip {skip_u32}, len {len}");
            assert_eq!(a.next_u64(), b.next_u64(), "the same position afterwards");
        }
    }

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
