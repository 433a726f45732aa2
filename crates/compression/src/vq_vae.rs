use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, RngCore};

use crate::{Autoencoder, CompressionNetwork, CompressionOutput};

/// A vector-quantised autoencoder in place of DAGMM's autoencoder (seed 002, §3 modification 4;
/// van den Oord et al. 2017).
///
/// The encoder (the autoencoder's) gives `z_e(x)`; each row is replaced by its nearest code
/// `e_k` of a learned codebook (`[codebook_size, latent]`, squared Euclidean distance, ties to
/// the lowest index); the decoder reconstructs from `z_q = z_e + sg(e_k − z_e)`, whose value is
/// `e_k` and whose gradient passes straight through to `z_e`. The regularisation term is
/// `(1/n) Σ_i ‖sg(z_e,i) − e_k_i‖² + β (1/n) Σ_i ‖z_e,i − sg(e_k_i)‖²` (codebook loss, which moves
/// the codes, plus the commitment loss, which moves the encoder). `z = [z_q, relative distance,
/// cosine]`, so the mixture is fitted over the codes. The output carries how many rows of the
/// batch chose each code (`code_counts`) for the per-epoch codebook usage.
///
/// The codebook starts `U(−1/C, 1/C)` (`C` codes), as the reference implementation does, drawn
/// from the caller's RNG after the autoencoder's weights.
#[derive(Module, Debug)]
pub struct VqVae {
    /// Encoder and decoder.
    pub autoencoder: Autoencoder,
    /// The codes, `[codebook_size, latent]`.
    pub codebook: Param<Tensor<2>>,
    commitment: f64,
}

/// The quantisation of a batch.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// `z_e(x)`, `[n, latent]`.
    pub z_e: Tensor<2>,
    /// Index of the nearest code per row, `[n]`.
    pub codes: Tensor<1, Int>,
    /// `z_q = z_e + sg(e_k − z_e)` (value `e_k`, straight-through gradient), `[n, latent]`.
    pub z_q: Tensor<2>,
    /// `(1/n) Σ_i ‖sg(z_e) − e_k‖²`, `[1]`.
    pub codebook_loss: Tensor<1>,
    /// `(1/n) Σ_i ‖z_e − sg(e_k)‖²`, `[1]` (before `β`).
    pub commitment_loss: Tensor<1>,
}

impl VqVae {
    /// A new VQ-VAE; weights drawn from `rng` (the autoencoder's layers, then the codebook).
    pub fn new(
        input_dim: usize,
        encoder_layers: &[usize],
        norm_eps: f64,
        codebook_size: usize,
        commitment: f64,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Self {
        let autoencoder = Autoencoder::new(input_dim, encoder_layers, norm_eps, rng, device);
        let latent = autoencoder.latent_dim();
        let bound = 1.0 / codebook_size as f64;
        let codes: Vec<f32> = (0..codebook_size * latent)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect();
        let codebook = Param::from_tensor(Tensor::from_data(
            TensorData::new(codes, [codebook_size, latent]),
            device,
        ));
        Self {
            autoencoder,
            codebook,
            commitment,
        }
    }

    /// Number of codes.
    pub fn codebook_size(&self) -> usize {
        self.codebook.shape().dims::<2>()[0]
    }

    /// The commitment weight `β`.
    pub fn commitment(&self) -> f64 {
        self.commitment
    }

    /// Encode and quantise `x`.
    pub fn quantize(&self, x: Tensor<2>) -> Quantized {
        let z_e = self.autoencoder.encode(x);
        let [n, _] = z_e.dims();
        let codebook = self.codebook.val();
        // ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖², [n, C]; the choice itself carries no gradient.
        let ze = z_e.clone().detach();
        let distances = ze.clone().square().sum_dim(1)
            - ze.matmul(codebook.clone().detach().transpose())
                .mul_scalar(2.0)
            + codebook.clone().detach().square().sum_dim(1).transpose();
        let codes = distances.argmin(1).reshape([n]);
        let chosen = codebook.select(0, codes.clone()); // [n, latent], gradient to the codebook
        let codebook_loss = (z_e.clone().detach() - chosen.clone())
            .square()
            .sum()
            .div_scalar(n as f64);
        let commitment_loss = (z_e.clone() - chosen.clone().detach())
            .square()
            .sum()
            .div_scalar(n as f64);
        let z_q = z_e.clone() + (chosen - z_e.clone()).detach();
        Quantized {
            z_e,
            codes,
            z_q,
            codebook_loss,
            commitment_loss,
        }
    }
}

/// How many of `codes` (`[n]`) equal each of `0..size`, `[size]`, off the autodiff graph.
pub fn code_counts(codes: Tensor<1, Int>, size: usize) -> Tensor<1> {
    let [n] = codes.dims();
    let device = codes.device();
    let all = Tensor::<1, Int>::arange(0..size as i64, &device).reshape([1, size]);
    codes
        .reshape([n, 1])
        .equal(all.expand([n, size]))
        .float()
        .sum_dim(0)
        .reshape([size])
        .inner()
}

impl CompressionNetwork for VqVae {
    fn compress(&self, x: Tensor<2>, _rng: Option<&mut dyn RngCore>) -> CompressionOutput {
        let q = self.quantize(x.clone());
        let regularization = q.codebook_loss + q.commitment_loss.mul_scalar(self.commitment);
        let counts = code_counts(q.codes, self.codebook_size());
        let mut out = self.autoencoder.finish(x, q.z_q, Some(regularization));
        out.code_counts = Some(counts);
        out
    }

    fn input_dim(&self) -> usize {
        self.autoencoder.input_dim()
    }

    fn latent_dim(&self) -> usize {
        self.autoencoder.latent_dim()
    }
}
