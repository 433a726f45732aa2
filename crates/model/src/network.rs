use burn::module::Module;
use burn::tensor::{Device, Tensor};
use dagmm_compression::{Compression, CompressionNetwork, CompressionOutput};
use dagmm_estimation::{EstimationNetwork, Mixture};
use dagmm_loss::{dagmm_loss, LossInputs, LossOutput};
use rand::RngCore;

use crate::{DagmmConfig, Result};

/// The two networks of DAGMM as one Burn module (so one optimiser and one record cover both).
#[derive(Module, Debug)]
pub struct DagmmNetwork {
    /// The compression network.
    pub compression: Compression,
    /// The estimation network.
    pub estimation: EstimationNetwork,
}

/// The loss of one training batch and what the training loop reports beside it.
#[derive(Debug, Clone)]
pub struct BatchLoss {
    /// The objective and its terms.
    pub loss: LossOutput,
    /// How many rows chose each code (VQ-VAE only), off the graph.
    pub code_counts: Option<Tensor<1>>,
}

/// One forward pass.
#[derive(Debug, Clone)]
pub struct NetworkOutput {
    /// `z`, `x'`, the reconstruction error and the variant's regularisation.
    pub compression: CompressionOutput,
    /// `γ`, `[n, K]`.
    pub gamma: Tensor<2>,
}

impl DagmmNetwork {
    /// A network with weights drawn from `rng` (compression first, then estimation).
    pub fn new(
        config: &DagmmConfig,
        input_dim: usize,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Result<Self> {
        let compression = config.compression.init(input_dim, rng, device)?;
        let estimation = config.estimation.init(compression.z_dim(), rng, device)?;
        Ok(Self {
            compression,
            estimation,
        })
    }

    /// Forward a batch. `rng` is `Some` in training (dropout on), `None` in evaluation.
    pub fn forward(&self, x: Tensor<2>, rng: Option<&mut dyn RngCore>) -> NetworkOutput {
        self.forward_frozen(x, rng, false)
    }

    /// [`forward`](Self::forward); with `frozen`, the compression network's outputs are cut from
    /// the autodiff graph before the estimation network reads them, so no gradient reaches it.
    fn forward_frozen(
        &self,
        x: Tensor<2>,
        mut rng: Option<&mut dyn RngCore>,
        frozen: bool,
    ) -> NetworkOutput {
        let mut compression = self
            .compression
            .compress(x, rng.as_mut().map(|r| &mut **r as &mut dyn RngCore));
        if frozen {
            let c = &mut compression;
            c.z = c.z.clone().detach();
            c.reconstruction_error = c.reconstruction_error.clone().detach();
            c.regularization = c.regularization.take().map(Tensor::detach);
        }
        let gamma = self.estimation.forward(compression.z.clone(), rng);
        NetworkOutput { compression, gamma }
    }

    /// The training loss of a batch: the batch's own mixture from `γ` and `z`, the energies under
    /// it, the penalty, and the objective. Everything stays on the autodiff graph.
    pub fn batch_loss(
        &self,
        config: &DagmmConfig,
        x: Tensor<2>,
        rng: Option<&mut dyn RngCore>,
    ) -> LossOutput {
        self.batch_step(config, x, None, rng).loss
    }

    /// [`batch_loss`](Self::batch_loss) with per-row labels (`0.0` normal, `1.0` anomaly, `[n]`)
    /// for the anomaly-aware objective, and the VQ-VAE's code counts of the batch. With
    /// `training.freeze_compression` the compression network's outputs are cut from the graph,
    /// so only the estimation network receives gradients.
    pub fn batch_step(
        &self,
        config: &DagmmConfig,
        x: Tensor<2>,
        anomaly: Option<Tensor<1>>,
        rng: Option<&mut dyn RngCore>,
    ) -> BatchLoss {
        let out = self.forward_frozen(x, rng, config.training.freeze_compression);
        let jitter = config.estimation.jitter;
        let z = out.compression.z;
        let mixture = Mixture::from_gamma(config.estimation.mixture, out.gamma, z.clone());
        let energy = mixture.prepare(jitter).energy(z);
        let penalty = mixture.penalty(jitter);
        let loss = dagmm_loss(
            &config.loss,
            LossInputs {
                reconstruction_error: out.compression.reconstruction_error,
                energy,
                penalty,
                regularization: out.compression.regularization,
                anomaly,
            },
        );
        BatchLoss {
            loss,
            code_counts: out.compression.code_counts,
        }
    }

    /// Number of input features.
    pub fn input_dim(&self) -> usize {
        self.compression.input_dim()
    }
}
