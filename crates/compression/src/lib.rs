//! The compression network of DAGMM (Zong et al. 2018, §3.1) on Burn 0.22: it maps an input row
//! `x` to a low-dimensional code `z_c`, reconstructs `x'` from it, and hands the estimation
//! network `z = [z_c, ‖x−x'‖/‖x‖, cos(x, x')]` together with `x'` and the per-row squared
//! reconstruction error `‖x−x'‖²`. It is not the mixture, the loss or the training loop (crates
//! `dagmm-estimation`, `dagmm-loss`, `dagmm-model`), and it does no preprocessing.
//!
//! Every variant of the compression network sits behind one interface: the [`Compression`]
//! module enum (selected by [`CompressionKind`] in [`CompressionConfig`]) and the
//! [`CompressionNetwork`] trait, whose [`CompressionOutput`] carries the variant's extra loss term
//! (`regularization`). The variants (seed 002, §3 modification 4) share the autoencoder's layers:
//!
//! * [`Autoencoder`]: the paper's deterministic network; no extra term.
//! * [`Vae`]: a log-variance head beside the mean; a reparameterised sample in training, the mean
//!   at scoring; the KL term times `kl_weight`.
//! * [`VqVae`]: nearest-code quantisation with a straight-through gradient; codebook and
//!   commitment (`β`) terms; per-batch code counts for the codebook usage.
//!
//! Randomness (the VAE's `ε`) comes from the caller's host RNG passed as
//! `Option<&mut dyn RngCore>`: `Some` means training, `None` means evaluation, so runs are
//! reproducible on every device and independent of Burn's global RNG.
//!
//! Weights are initialised on the host from that RNG with PyTorch's `nn.Linear` default
//! (`U(−1/√fan_in, 1/√fan_in)` for weights and biases), so a seed gives the same network on
//! every device.

mod autoencoder;
mod config;
mod error;
mod features;
mod host_autoencoder;
mod init;
mod layerwise;
mod vae;
mod vq_vae;
mod wide;

pub use autoencoder::{tanh, Autoencoder};
pub use config::{CompressionConfig, CompressionKind, DEFAULT_NORM_EPS};
pub use error::CompressionError;
pub use features::{reconstruction_features, ReconstructionFeatures};
pub use host_autoencoder::{
    compare_gradients, register_linear_gradients, tanh_f32, Activation, CompareGradient,
    HostAutoencoder, HostGradient, HostLinear, HostPass, LayerGradients,
};
pub use init::linear_pytorch_default;
pub use layerwise::LayerPair;
pub use vae::{Vae, VaeEncoding};
pub use vq_vae::{code_counts, Quantized, VqVae};
pub use wide::has_wide_vectors;

use burn::module::Module;
use burn::tensor::Tensor;
use rand::RngCore;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, CompressionError>;

/// What a compression network gives for a batch of `n` rows of `d` features.
#[derive(Debug, Clone)]
pub struct CompressionOutput {
    /// The code `z_c`, `[n, latent_dim]`.
    pub z_c: Tensor<2>,
    /// `z = [z_c, relative Euclidean distance, cosine similarity]`, `[n, latent_dim + 2]`.
    pub z: Tensor<2>,
    /// The reconstruction `x'`, `[n, d]`.
    pub x_hat: Tensor<2>,
    /// `‖x − x'‖²` per row, `[n]`; the loss's reconstruction term is its mean.
    pub reconstruction_error: Tensor<1>,
    /// An extra scalar (`[1]`) loss term the variant adds to the objective (a VAE's KL term, a
    /// VQ-VAE's codebook and commitment terms); `None` for the plain autoencoder.
    pub regularization: Option<Tensor<1>>,
    /// How many rows of the batch chose each code, `[codebook_size]`, off the autodiff graph
    /// (VQ-VAE only).
    pub code_counts: Option<Tensor<1>>,
}

/// The interface every compression variant offers.
pub trait CompressionNetwork {
    /// Compress and reconstruct a batch `x` (`[n, input_dim]`). `rng` is `Some` in training
    /// (variants that sample draw from it) and `None` in evaluation.
    fn compress(&self, x: Tensor<2>, rng: Option<&mut dyn RngCore>) -> CompressionOutput;
    /// Number of input features `d`.
    fn input_dim(&self) -> usize;
    /// Width of `z_c`.
    fn latent_dim(&self) -> usize;
    /// Width of `z` (`latent_dim + 2`).
    fn z_dim(&self) -> usize {
        self.latent_dim() + 2
    }
}

/// The compression network, one variant per [`CompressionKind`].
#[derive(Module, Debug)]
pub enum Compression {
    /// The deterministic autoencoder of the paper.
    Autoencoder(Autoencoder),
    /// The variational autoencoder.
    Vae(Vae),
    /// The vector-quantised autoencoder.
    VqVae(VqVae),
}

impl Compression {
    fn network(&self) -> &dyn CompressionNetwork {
        match self {
            Compression::Autoencoder(n) => n,
            Compression::Vae(n) => n,
            Compression::VqVae(n) => n,
        }
    }

    /// Number of codes of a VQ-VAE (`None` for the other variants).
    pub fn codebook_size(&self) -> Option<usize> {
        match self {
            Compression::VqVae(n) => Some(n.codebook_size()),
            _ => None,
        }
    }
}

impl CompressionNetwork for Compression {
    fn compress(&self, x: Tensor<2>, rng: Option<&mut dyn RngCore>) -> CompressionOutput {
        self.network().compress(x, rng)
    }

    fn input_dim(&self) -> usize {
        self.network().input_dim()
    }

    fn latent_dim(&self) -> usize {
        self.network().latent_dim()
    }
}

#[cfg(test)]
mod variant_tests;
