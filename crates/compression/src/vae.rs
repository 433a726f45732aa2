use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use crate::{linear_pytorch_default, Autoencoder, CompressionNetwork, CompressionOutput};

/// Bounds of the log-variance before `exp` (keeps `σ²` in `[e⁻³⁰, e²⁰]`, so neither the sample
/// nor the KL term overflows in f32 however far the head drifts).
const LOG_VAR_MIN: f64 = -30.0;
const LOG_VAR_MAX: f64 = 20.0;

/// A variational autoencoder in place of DAGMM's autoencoder (seed 002, §3 modification 4).
///
/// The encoder is the autoencoder's (`d-h1-…-latent`, `tanh` between layers): its last, linear
/// layer gives the mean `μ(x)`, and a second linear head on the same last hidden activation gives
/// `log σ²(x)`. In training `z_c = μ + σ ⊙ ε` with `ε ~ N(0, I)` drawn on the host from the
/// caller's RNG (the reparameterisation trick: the gradient reaches `μ` and `σ`); at scoring
/// `z_c = μ`. The decoder is the autoencoder's mirror. The regularisation term is
/// `kl_weight · (1/n) Σ_i KL(N(μ_i, σ_i²) ‖ N(0, I))` with the closed form
/// `KL = −½ Σ_j (1 + log σ²_j − μ_j² − σ²_j)`, computed in training and in evaluation alike.
#[derive(Module, Debug)]
pub struct Vae {
    /// Encoder (its last layer is the mean head) and decoder.
    pub autoencoder: Autoencoder,
    /// The log-variance head, from the encoder's last hidden activation.
    pub log_var: Linear,
    kl_weight: f64,
}

/// `μ`, `log σ²` (clamped) and the KL term of a batch.
#[derive(Debug, Clone)]
pub struct VaeEncoding {
    /// `μ(x)`, `[n, latent]`.
    pub mean: Tensor<2>,
    /// `log σ²(x)`, `[n, latent]`, clamped to `[−30, 20]`.
    pub log_var: Tensor<2>,
    /// `(1/n) Σ_i KL(N(μ_i, σ_i²) ‖ N(0, I))`, `[1]` (before `kl_weight`).
    pub kl: Tensor<1>,
}

impl Vae {
    /// A new VAE; weights drawn from `rng` (the autoencoder's layers, then the log-variance head).
    pub fn new(
        input_dim: usize,
        encoder_layers: &[usize],
        norm_eps: f64,
        kl_weight: f64,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Self {
        let autoencoder = Autoencoder::new(input_dim, encoder_layers, norm_eps, rng, device);
        let log_var = linear_pytorch_default(
            autoencoder.hidden_width(),
            autoencoder.latent_dim(),
            rng,
            device,
        );
        Self {
            autoencoder,
            log_var,
            kl_weight,
        }
    }

    /// Weight of the KL term.
    pub fn kl_weight(&self) -> f64 {
        self.kl_weight
    }

    /// The encoder's distribution for `x`.
    pub fn encode(&self, x: Tensor<2>) -> VaeEncoding {
        let h = self.autoencoder.encode_hidden(x);
        let last = self.autoencoder.encoder.len() - 1;
        let mean = self.autoencoder.encoder[last].forward(h.clone());
        let log_var = self.log_var.forward(h).clamp(LOG_VAR_MIN, LOG_VAR_MAX);
        let [n, _] = mean.dims();
        let kl = (log_var.clone().add_scalar(1.0) - mean.clone().square() - log_var.clone().exp())
            .sum()
            .mul_scalar(-0.5 / n as f64);
        VaeEncoding { mean, log_var, kl }
    }
}

impl CompressionNetwork for Vae {
    fn compress(&self, x: Tensor<2>, rng: Option<&mut dyn RngCore>) -> CompressionOutput {
        let enc = self.encode(x.clone());
        let z_c = match rng {
            Some(rng) => {
                let [n, l] = enc.mean.dims();
                let eps: Vec<f32> = (0..n * l)
                    .map(|_| StandardNormal.sample(&mut *rng))
                    .collect();
                let eps = Tensor::<2>::from_data(TensorData::new(eps, [n, l]), &enc.mean.device());
                enc.mean + enc.log_var.mul_scalar(0.5).exp() * eps
            }
            None => enc.mean,
        };
        let regularization = enc.kl.mul_scalar(self.kl_weight);
        self.autoencoder.finish(x, z_c, Some(regularization))
    }

    fn input_dim(&self) -> usize {
        self.autoencoder.input_dim()
    }

    fn latent_dim(&self) -> usize {
        self.autoencoder.latent_dim()
    }
}
