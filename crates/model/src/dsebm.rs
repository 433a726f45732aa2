//! DSEBM, the deep structured energy-based model of Zhai et al. (ICML 2016), the DAGMM paper's
//! DSEBM-e and DSEBM-r baselines, for vector data (their fully connected form).
//!
//! The energy of a row `x` is `E(x) = ½‖x − b′‖² − Σ_j h_L(x)_j`, where `h_0 = x`,
//! `h_l = softplus(h_{l−1} W_l + b_l)` and `b′` is learnt: a Gaussian prior tilted by a deep
//! network. Its score `∂E/∂x = (x − b′) − ∂(Σ h_L)/∂x` is written out as tensor operations (the
//! backward pass of the network by hand: `g_L = σ(a_L)`, `g_{l−1} = (g_l W_lᵀ) ⊙ σ(a_{l−1})`,
//! `∂(Σh_L)/∂x = g_1 W_1ᵀ`, σ the logistic function, softplus' derivative), so that Burn's
//! first-order autodiff can differentiate the training objective through it.
//!
//! Training is denoising score matching (Vincent 2011), as Zhai et al. train: a row is corrupted
//! to `x̃ = x + σε`, `ε ~ N(0, I)` drawn on the host from the seed, and the loss is the squared
//! distance between `x` and the "reconstruction" `x̃ − ∂E/∂x̃`, averaged over rows. The two
//! scores of the paper: DSEBM-e the energy `E(x)`, DSEBM-r the reconstruction error
//! `‖x − (x − ∂E/∂x)‖² = ‖∂E/∂x‖²`.

use std::cell::RefCell;
use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_compression::linear_pytorch_default;
use dagmm_data::FeaturesView;
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::baseline::{batches, load_weights, read_description, save_folder, Schedule};
use crate::dagmm::check_data;
use crate::epoch::{EpochLosses, TrainingStage};
use crate::tensors::{read_f64, upload_rows};
use crate::train::{
    rng, run_epochs, Objective, StageStart, StepOutput, STREAM_INIT, STREAM_SHUFFLE,
};
use crate::{DeviceChoice, ModelError, Result};

const FORMAT: &str = "dagmm-dsebm";
const VERSION: u32 = 1;
/// ChaCha8 stream of the seed used for the denoising noise (DAGMM's dropout stream).
const STREAM_NOISE: u64 = 2;
/// Rows scored per batch.
const SCORING_BATCH: usize = 4096;

/// Which of DSEBM's two scores is the anomaly score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsebmScore {
    /// DSEBM-e: the energy `E(x)`.
    #[default]
    Energy,
    /// DSEBM-r: the reconstruction error `‖∂E/∂x‖²`.
    Reconstruction,
}

/// `[dsebm]`: the network, the corruption and the schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DsebmConfig {
    /// Widths of the softplus layers after the input (Zhai et al. do not fix them for vector
    /// data; the DAGMM paper does not give DSEBM's): default `[128, 512]`.
    pub hidden_layers: Vec<usize>,
    /// `σ` of the Gaussian corruption of denoising score matching (on the scaled features).
    pub noise_std: f64,
    /// The anomaly score: `energy` (DSEBM-e) or `reconstruction` (DSEBM-r).
    pub score: DsebmScore,
    /// Epochs, batch and learning rate.
    pub training: Schedule,
}

impl Default for DsebmConfig {
    fn default() -> Self {
        DsebmConfig {
            hidden_layers: vec![128, 512],
            noise_std: 1.0,
            score: DsebmScore::Energy,
            training: Schedule::default(),
        }
    }
}

impl DsebmConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.hidden_layers.is_empty() || self.hidden_layers.contains(&0) {
            return Err(ModelError::InvalidConfig {
                field: "dsebm.hidden_layers",
                message: format!(
                    "needs at least one layer and no zero widths, got {:?}",
                    self.hidden_layers
                ),
            });
        }
        if !(self.noise_std.is_finite() && self.noise_std >= 0.0) {
            return Err(ModelError::InvalidConfig {
                field: "dsebm.noise_std",
                message: format!("must be finite and >= 0, got {}", self.noise_std),
            });
        }
        self.training.validate("dsebm")
    }
}

/// The energy network: softplus layers and `b′`.
#[derive(Module, Debug)]
pub struct DsebmNetwork {
    /// The layers, input first.
    pub layers: Vec<Linear>,
    /// `b′`, the mean of the energy's Gaussian part, `[d]` (starts at 0).
    pub b_prime: Param<Tensor<1>>,
}

impl DsebmNetwork {
    /// A network for `input_dim` features: layers drawn from `rng` as PyTorch's `nn.Linear`
    /// default, input first; `b′ = 0`.
    pub fn new(input_dim: usize, hidden: &[usize], rng: &mut dyn RngCore, device: &Device) -> Self {
        let mut widths = vec![input_dim];
        widths.extend_from_slice(hidden);
        let layers = widths
            .windows(2)
            .map(|w| linear_pytorch_default(w[0], w[1], rng, device))
            .collect();
        DsebmNetwork {
            layers,
            b_prime: Param::from_tensor(Tensor::zeros([input_dim], device)),
        }
    }

    /// `E(x)` per row (`[n]`) and `∂E/∂x` (`[n, d]`).
    pub fn energy_and_gradient(&self, x: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let n = x.dims()[0];
        let mut pre = Vec::with_capacity(self.layers.len());
        let mut h = x.clone();
        for layer in &self.layers {
            let a = layer.forward(h);
            h = softplus(a.clone(), 1.0);
            pre.push(a);
        }
        let centred = x - self.b_prime.val().unsqueeze_dim::<2>(0);
        let energy = centred
            .clone()
            .square()
            .sum_dim(1)
            .mul_scalar(0.5)
            .sub(h.sum_dim(1))
            .reshape([n]);
        // The backward pass of Σ_j h_L by hand.
        let mut g = sigmoid(pre.pop().expect("at least one layer"));
        for (l, layer) in self.layers.iter().enumerate().rev() {
            g = g.matmul(layer.weight.val().transpose());
            if l > 0 {
                g = g * sigmoid(pre.pop().expect("one pre-activation per layer"));
            }
        }
        (energy, centred - g)
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.b_prime.val().dims()[0]
    }
}

/// Denoising score matching on the rows `x` corrupted by `noise` (`x̃ = x + noise`): the mean
/// over rows of `‖x − (x̃ − ∂E/∂x̃)‖²`, and the mean energy of the corrupted rows (`[1]` each).
pub(crate) fn score_matching_loss(
    net: &DsebmNetwork,
    x: Tensor<2>,
    noise: Tensor<2>,
) -> (Tensor<1>, Tensor<1>) {
    let noisy = x.clone() + noise;
    let (energy, grad) = net.energy_and_gradient(noisy.clone());
    let loss = (x - (noisy - grad)).square().sum_dim(1).mean();
    (loss, energy.mean())
}

/// DSEBM's scores of some rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DsebmScores {
    /// `E(x)`.
    pub energy: Vec<f64>,
    /// `‖∂E/∂x‖²`.
    pub reconstruction_error: Vec<f64>,
}

impl DsebmScores {
    /// The score `kind` names.
    pub fn score(&self, kind: DsebmScore) -> &[f64] {
        match kind {
            DsebmScore::Energy => &self.energy,
            DsebmScore::Reconstruction => &self.reconstruction_error,
        }
    }
}

/// A DSEBM: its config, the device it runs on and its network.
#[derive(Debug, Clone)]
pub struct Dsebm {
    config: DsebmConfig,
    device: DeviceChoice,
    network: DsebmNetwork,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DsebmFile {
    format: String,
    version: u32,
    input_dim: usize,
    /// The device it was fitted on (where it loads unless told otherwise).
    device: DeviceChoice,
    config: DsebmConfig,
}

impl Dsebm {
    /// An untrained DSEBM for `input_dim` features, weights drawn from `seed`.
    pub fn new(
        config: DsebmConfig,
        device: DeviceChoice,
        seed: u64,
        input_dim: usize,
    ) -> Result<Self> {
        config.validate()?;
        let plain = device.try_device()?;
        let network = DsebmNetwork::new(
            input_dim,
            &config.hidden_layers,
            &mut rng(seed, STREAM_INIT),
            &plain,
        );
        Ok(Dsebm {
            config,
            device,
            network,
        })
    }

    /// Trains a new DSEBM on the rows of `x` by denoising score matching; `on_epoch` hears every
    /// epoch. One seed gives the weights, the shuffles and the noise (three ChaCha8 streams).
    pub fn fit(
        config: DsebmConfig,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        check_data(x, None)?;
        let mut model = Self::new(config, device, seed, x.ncols())?;
        let t = &model.config.training;
        if t.epochs == 0 {
            return Ok((model, Vec::new()));
        }
        let sigma = model.config.noise_std;
        let noise = RefCell::new(rng(seed, STREAM_NOISE));
        let autodiff = model.device.device().autodiff();
        let (network, history) = run_epochs(
            model.network.clone().train(),
            &autodiff,
            x,
            &t.plan(TrainingStage::Train, t.epochs),
            &mut rng(seed, STREAM_SHUFFLE),
            StageStart::fresh(),
            None,
            &mut |net: &DsebmNetwork, batch| {
                let xb = batch.upload();
                let [n, d] = xb.dims();
                let eps: Vec<f32> = {
                    let r = &mut *noise.borrow_mut();
                    (0..n * d)
                        .map(|_| {
                            let e: f64 = StandardNormal.sample(r);
                            (sigma * e) as f32
                        })
                        .collect()
                };
                let noise = Tensor::from_data(TensorData::new(eps, [n, d]), batch.device);
                let (loss, energy) = score_matching_loss(net, xb, noise);
                let value = loss.clone().inner();
                let zero = value.clone().zeros_like();
                StepOutput {
                    terms: Tensor::cat(
                        vec![value.clone(), value, energy.inner(), zero.clone(), zero],
                        0,
                    ),
                    objective: Objective::Graph(loss),
                    code_counts: None,
                }
            },
            on_epoch,
        )?;
        model.network = network.valid();
        Ok((model, history))
    }

    /// Both scores of the rows of `x`, in batches.
    pub fn scores(&self, x: FeaturesView<'_>) -> Result<DsebmScores> {
        check_data(x, Some(self.input_dim()))?;
        let device = self.device.device();
        let n = x.nrows();
        let mut energy = Vec::with_capacity(n);
        let mut reconstruction_error = Vec::with_capacity(n);
        for (start, end) in batches(n, SCORING_BATCH) {
            let m = end - start;
            let (e, g) = self
                .network
                .energy_and_gradient(upload_rows(x, start..end, &device));
            let r = g.square().sum_dim(1).reshape([m]);
            let flat = read_f64(Tensor::cat(vec![e, r], 0));
            energy.extend_from_slice(&flat[..m]);
            reconstruction_error.extend_from_slice(&flat[m..]);
        }
        Ok(DsebmScores {
            energy,
            reconstruction_error,
        })
    }

    /// The config.
    pub fn config(&self) -> &DsebmConfig {
        &self.config
    }

    /// The network (plain device).
    pub fn network(&self) -> &DsebmNetwork {
        &self.network
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.network.input_dim()
    }

    /// Writes `model.json` (config, input width) and `weights.bpk` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        save_folder(
            dir,
            &self.network,
            &DsebmFile {
                format: FORMAT.into(),
                version: VERSION,
                input_dim: self.input_dim(),
                device: self.device,
                config: self.config.clone(),
            },
        )
    }

    /// Reads a folder written by [`save`](Self::save), onto `device` (else the one it was
    /// fitted on).
    pub fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        let file: DsebmFile = read_description(dir, FORMAT, VERSION)?;
        let device = device.unwrap_or(file.device);
        let mut model = Self::new(file.config, device, 0, file.input_dim)?;
        model.network = load_weights(dir, model.network)?;
        Ok(model)
    }
}
