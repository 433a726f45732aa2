use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_compression::{Compression, CompressionNetwork, CompressionOutput};
use dagmm_estimation::{EstimationNetwork, Mixture};
use dagmm_loss::{dagmm_loss, LossInputs, LossOutput};
use rand::RngCore;

use crate::{DagmmConfig, ModelError, Result};

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
        let loss = Self::mixture_loss(config, out.compression.z, out.gamma, |energy, penalty| {
            LossInputs {
                reconstruction_error: out.compression.reconstruction_error,
                energy,
                penalty,
                regularization: out.compression.regularization,
                anomaly,
            }
        });
        BatchLoss {
            loss,
            code_counts: out.compression.code_counts,
        }
    }

    /// The rest of a training step once the batch is compressed: the estimation network's `γ` of
    /// `z` (dropout from `rng`), the batch's mixture, energies, penalty and the objective (what
    /// [`batch_step`](Self::batch_step) does after the compression network; the two-thread step of
    /// `crate::parallel` calls it on the rows of every part together).
    pub(crate) fn estimate_and_loss(
        &self,
        config: &DagmmConfig,
        z: Tensor<2>,
        reconstruction_error: Tensor<1>,
        anomaly: Option<Tensor<1>>,
        rng: &mut dyn RngCore,
    ) -> LossOutput {
        let gamma = self.estimation.forward(z.clone(), Some(rng));
        Self::mixture_loss(config, z, gamma, |energy, penalty| LossInputs {
            reconstruction_error,
            energy,
            penalty,
            regularization: None,
            anomaly,
        })
    }

    /// The batch's mixture from `γ` and `z`, its energies and penalty, and the objective of the
    /// loss inputs `inputs` makes of them.
    fn mixture_loss(
        config: &DagmmConfig,
        z: Tensor<2>,
        gamma: Tensor<2>,
        inputs: impl FnOnce(Tensor<1>, Tensor<1>) -> LossInputs,
    ) -> LossOutput {
        let jitter = config.estimation.jitter;
        let mixture = Mixture::from_gamma(config.estimation.mixture, gamma, z.clone());
        let energy = mixture.prepare(jitter).energy(z);
        let penalty = mixture.penalty(jitter, config.estimation.penalty);
        dagmm_loss(&config.loss, inputs(energy, penalty))
    }

    /// Number of input features.
    pub fn input_dim(&self) -> usize {
        self.compression.input_dim()
    }
}

/// One linear layer's parameters on the host: `weight` is `[d_in, d_out]` row-major (Burn's
/// layout; PyTorch's `nn.Linear.weight` is its transpose), `bias` is `[d_out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearValues {
    pub d_in: usize,
    pub d_out: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl LinearValues {
    fn of(layer: &Linear) -> Self {
        let [d_in, d_out] = layer.weight.shape().dims::<2>();
        let values = |t: Tensor<1>| -> Vec<f32> {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("converted to f32")
        };
        LinearValues {
            d_in,
            d_out,
            weight: values(layer.weight.val().reshape([d_in * d_out])),
            bias: layer
                .bias
                .as_ref()
                .map(|b| values(b.val()))
                .unwrap_or_else(|| vec![0.0; d_out]),
        }
    }

    /// `layer` with these values (same shapes; the parameters keep their ids, so an optimiser's
    /// state would still find them).
    fn set(&self, layer: Linear, what: &str) -> Result<Linear> {
        let [d_in, d_out] = layer.weight.shape().dims::<2>();
        let shapes_agree = (self.d_in, self.d_out) == (d_in, d_out)
            && self.weight.len() == d_in * d_out
            && self.bias.len() == d_out
            && layer.bias.is_some();
        if !shapes_agree {
            return Err(ModelError::Data(format!(
                "{what}: a {}×{} layer given for a {d_in}×{d_out} one",
                self.d_in, self.d_out
            )));
        }
        let device = layer.weight.device();
        let weight =
            Tensor::<2>::from_data(TensorData::new(self.weight.clone(), [d_in, d_out]), &device);
        let bias = Tensor::<1>::from_data(TensorData::new(self.bias.clone(), [d_out]), &device);
        Ok(Linear {
            weight: layer.weight.map(|_| weight),
            bias: layer.bias.map(|b| b.map(|_| bias)),
        })
    }
}

/// The paper's DAGMM as plain linear layers (the autoencoder's encoder and decoder, input
/// first, and the estimation network): what a peer implementation needs to start from the same
/// weights (`dagmm export`, the PyTorch trajectory test).
#[derive(Debug, Clone, PartialEq)]
pub struct PlainLayers {
    pub encoder: Vec<LinearValues>,
    pub decoder: Vec<LinearValues>,
    pub estimation: Vec<LinearValues>,
}

impl DagmmNetwork {
    /// The layers' values, when the compression network is the paper's plain autoencoder
    /// (`None` for the VAE and the VQ-VAE, which have more than linear layers).
    pub fn plain_layers(&self) -> Option<PlainLayers> {
        let Compression::Autoencoder(ae) = &self.compression else {
            return None;
        };
        let of = |layers: &[Linear]| layers.iter().map(LinearValues::of).collect();
        Some(PlainLayers {
            encoder: of(&ae.encoder),
            decoder: of(&ae.decoder),
            estimation: of(&self.estimation.layers),
        })
    }

    /// This network with the values of `layers` (a plain autoencoder of the same shapes).
    pub fn with_plain_layers(mut self, layers: &PlainLayers) -> Result<Self> {
        fn set_all(
            current: Vec<Linear>,
            values: &[LinearValues],
            what: &str,
        ) -> Result<Vec<Linear>> {
            if current.len() != values.len() {
                return Err(ModelError::Data(format!(
                    "{what}: {} layers given for {}",
                    values.len(),
                    current.len()
                )));
            }
            current
                .into_iter()
                .zip(values)
                .enumerate()
                .map(|(i, (layer, v))| v.set(layer, &format!("{what} layer {i}")))
                .collect()
        }
        let Compression::Autoencoder(ae) = &mut self.compression else {
            return Err(ModelError::Data(
                "plain layers fit the paper's autoencoder only".into(),
            ));
        };
        ae.encoder = set_all(std::mem::take(&mut ae.encoder), &layers.encoder, "encoder")?;
        ae.decoder = set_all(std::mem::take(&mut ae.decoder), &layers.decoder, "decoder")?;
        self.estimation.layers = set_all(
            std::mem::take(&mut self.estimation.layers),
            &layers.estimation,
            "estimation",
        )?;
        Ok(self)
    }
}
