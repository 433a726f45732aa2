use std::fs;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use dagmm_data::FeaturesView;
use dagmm_estimation::{FittedMixture, MixtureFitter, MixtureKind};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::baseline::{batches, load_weights, save_folder};
use crate::checkpoint::{check_format, data_digest, parse_json, Checkpointing};
use crate::pretrain::pretrain;
use crate::tensors::{read_f64, upload_rows};
use crate::train::{rng, train_network, TrainCheckpoints, STREAM_INIT};
use crate::{
    DagmmConfig, DagmmNetwork, DeviceChoice, EpochLosses, ModelError, PlainLayers, Result,
    ScoreKind, ScoringMixture,
};

/// Name of the JSON file of a model directory.
pub const MODEL_FILE: &str = "model.json";
/// Name of the weights file (Burn's burnpack format) of a model directory.
pub const WEIGHTS_FILE: &str = "weights.bpk";
const FORMAT: &str = "dagmm-model";
const VERSION: u32 = 3;

/// Mean and standard deviation of the energy and of the reconstruction error over the training
/// rows (network in evaluation mode, the fitted mixture): what makes `energy_plus_reconstruction`
/// a sum of comparable terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreStandardization {
    /// Mean training energy.
    pub energy_mean: f64,
    /// Standard deviation of the training energies (1 if they are all equal).
    pub energy_std: f64,
    /// Mean training `‖x − x'‖²`.
    pub reconstruction_mean: f64,
    /// Standard deviation of the training `‖x − x'‖²` (1 if they are all equal).
    pub reconstruction_std: f64,
}

impl ScoreStandardization {
    fn of(energy: &[f64], reconstruction: &[f64]) -> Self {
        let stats = |v: &[f64]| {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            let std = var.sqrt();
            (
                mean,
                if std > 0.0 && std.is_finite() {
                    std
                } else {
                    1.0
                },
            )
        };
        let (energy_mean, energy_std) = stats(energy);
        let (reconstruction_mean, reconstruction_std) = stats(reconstruction);
        Self {
            energy_mean,
            energy_std,
            reconstruction_mean,
            reconstruction_std,
        }
    }

    /// `(E − m_E)/s_E + w·(R − m_R)/s_R`.
    pub fn combine(&self, energy: f64, reconstruction: f64, weight: f64) -> f64 {
        (energy - self.energy_mean) / self.energy_std
            + weight * (reconstruction - self.reconstruction_mean) / self.reconstruction_std
    }
}

/// Scores of a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The anomaly score the config asks for (`scoring.kind`; higher = more anomalous): the
    /// energy, the standardised energy plus weighted reconstruction error, or the reconstruction
    /// error.
    pub score: Vec<f64>,
    /// Sample energy per row (higher = more anomalous).
    pub energy: Vec<f64>,
    /// `‖x − x'‖²` per row.
    pub reconstruction_error: Vec<f64>,
    /// `z` per row, `[n, z_dim]`.
    pub z: Array2<f64>,
}

/// A DAGMM: the config it was built from, its networks, and (once fitted) the mixture of its
/// training set.
#[derive(Debug, Clone)]
pub struct Dagmm {
    config: DagmmConfig,
    input_dim: usize,
    network: DagmmNetwork,
    mixture: Option<FittedMixture>,
    standardization: Option<ScoreStandardization>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    version: u32,
    input_dim: usize,
    config: DagmmConfig,
    mixture: Option<FittedMixture>,
    #[serde(default)]
    standardization: Option<ScoreStandardization>,
}

pub(crate) fn check_data(x: FeaturesView<'_>, input_dim: Option<usize>) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(ModelError::Data(format!(
            "empty matrix ({}, {})",
            x.nrows(),
            x.ncols()
        )));
    }
    if let Some(d) = input_dim {
        if x.ncols() != d {
            return Err(ModelError::Data(format!(
                "{} columns, the model takes {d}",
                x.ncols()
            )));
        }
    }
    if let Some((i, j, v)) = x.first_non_finite() {
        return Err(ModelError::Data(format!(
            "non-finite value {v} at row {i}, column {j}"
        )));
    }
    Ok(())
}

impl Dagmm {
    /// An untrained model for `input_dim` features: weights drawn from `config.training.seed` on
    /// `config.device`; no mixture yet.
    pub fn new(config: DagmmConfig, input_dim: usize) -> Result<Self> {
        config.validate()?;
        let device = config.device.try_device()?;
        let network = DagmmNetwork::new(
            &config,
            input_dim,
            &mut rng(config.training.seed, STREAM_INIT),
            &device,
        )?;
        Ok(Self {
            config,
            input_dim,
            network,
            mixture: None,
            standardization: None,
        })
    }

    /// Pretrain (with `[pretraining]`), train on `x` (rows = samples), then fit the scoring
    /// mixture on all of `x`. `on_epoch` is called after every epoch of every stage (progress
    /// bars, `losses.csv`); the same rows are returned, stage by stage.
    pub fn fit<'x>(
        config: DagmmConfig,
        x: impl Into<FeaturesView<'x>>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        Self::fit_labelled(config, x, None, on_epoch)
    }

    /// [`fit`](Self::fit) with per-row labels (1 = anomaly), which the anomaly-aware objective
    /// requires (and the others ignore).
    pub fn fit_labelled<'x>(
        config: DagmmConfig,
        x: impl Into<FeaturesView<'x>>,
        labels: Option<&[u8]>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        Self::fit_checkpointed(config, x, labels, None, on_epoch)
    }

    /// [`fit_labelled`](Self::fit_labelled) that saves checkpoints in `checkpoints.dir` (after
    /// pretraining, every `training.checkpoint_every` epochs, after the last epoch) and, with
    /// `checkpoints.resume`, continues from the checkpoint found there: the pretraining and the
    /// epochs it holds are not run again, and their losses come back from it. On the same device
    /// the result is bit-identical to the fit never interrupted. A checkpoint of other rows, or
    /// of a config that shapes the network or orders its batches differently, is refused.
    pub fn fit_checkpointed<'x>(
        config: DagmmConfig,
        x: impl Into<FeaturesView<'x>>,
        labels: Option<&[u8]>,
        checkpoints: Option<&Checkpointing>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        let x = x.into();
        check_data(x, None)?;
        let mut model = Self::new(config, x.ncols())?;
        // The checkpoint folder with the digest of the rows its checkpoints are of.
        let target = checkpoints.map(|c| (c, data_digest(x)));
        let resumed = match &target {
            Some((c, digest)) => c.resumed(&model.config, x, digest)?,
            None => None,
        };
        let (mut history, last) = match (&resumed, &target) {
            (Some(r), _) => {
                model.network = r.network(model.network.clone())?;
                (r.history()?, Some(r.epochs_done()))
            }
            (None, target) => {
                if let Some((c, _)) = target {
                    c.clear()?;
                }
                let history = model.pretrain(x, on_epoch)?;
                let mut last = None;
                if let (Some((c, digest)), Some(_)) = (target, &model.config.pretraining) {
                    // A kill during the main stage does not repeat the pretraining. The dropout
                    // stream is untouched until the main stage: its position is 0.
                    c.save(
                        &model.config,
                        x,
                        digest,
                        &model.network,
                        None,
                        0,
                        0,
                        &[&history],
                    )?;
                    last = Some(0);
                }
                (history, last)
            }
        };
        let train_checkpoints = target.as_ref().map(|(c, digest)| TrainCheckpoints {
            target: c,
            digest,
            earlier: &history,
            last,
        });
        let (network, more) = train_network(
            &model.config,
            model.network.clone(),
            x,
            labels,
            resumed.as_ref(),
            train_checkpoints,
            on_epoch,
        )?;
        model.network = network;
        history.extend(more);
        model.fit_mixture(x)?;
        Ok((model, history))
    }

    /// Pretrain the autoencoder on `x` as `[pretraining]` says (nothing without it): each layer
    /// pair alone, bottom up, then the whole autoencoder on the reconstruction error. Clears the
    /// mixture.
    pub fn pretrain<'x>(
        &mut self,
        x: impl Into<FeaturesView<'x>>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<Vec<EpochLosses>> {
        let x = x.into();
        check_data(x, Some(self.input_dim))?;
        let (network, history) = pretrain(&self.config, self.network.clone(), x, on_epoch)?;
        self.network = network;
        self.mixture = None;
        self.standardization = None;
        Ok(history)
    }

    /// The "untrained control": the network at its initial weights (the same ones [`fit`](Self::fit)
    /// starts from for this config), with the mixture fitted on `x` by the same protocol.
    pub fn untrained<'x>(config: DagmmConfig, x: impl Into<FeaturesView<'x>>) -> Result<Self> {
        let x = x.into();
        check_data(x, None)?;
        let mut model = Self::new(config, x.ncols())?;
        model.fit_mixture(x)?;
        Ok(model)
    }

    /// Train the networks on `x` for `config.training.epochs` epochs (Adam, seeded shuffles,
    /// dropout on). Clears the mixture: call [`fit_mixture`](Self::fit_mixture) afterwards.
    pub fn train<'x>(
        &mut self,
        x: impl Into<FeaturesView<'x>>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<Vec<EpochLosses>> {
        self.train_labelled(x, None, on_epoch)
    }

    /// [`train`](Self::train) with per-row labels (1 = anomaly) for the anomaly-aware objective.
    pub fn train_labelled<'x>(
        &mut self,
        x: impl Into<FeaturesView<'x>>,
        labels: Option<&[u8]>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<Vec<EpochLosses>> {
        let x = x.into();
        check_data(x, Some(self.input_dim))?;
        let (network, history) = train_network(
            &self.config,
            self.network.clone(),
            x,
            labels,
            None,
            None,
            on_epoch,
        )?;
        self.network = network;
        self.mixture = None;
        self.standardization = None;
        Ok(history)
    }

    /// Fit the scoring mixture on ALL rows of `x` (the training set) with the network in
    /// evaluation mode (no dropout), streamed in batches of `config.scoring.batch_size`: from the
    /// estimation network's `γ` (one pass for a Gaussian mixture, two for a Laplace mixture), or
    /// by EM on the rows' `z` (`scoring.mixture = "em"`); then the training rows' score
    /// statistics ([`ScoreStandardization`]) in one more pass.
    pub fn fit_mixture<'x>(&mut self, x: impl Into<FeaturesView<'x>>) -> Result<&FittedMixture> {
        let x = x.into();
        check_data(x, Some(self.input_dim))?;
        let mixture = match self.config.scoring.mixture {
            ScoringMixture::EstimationNetwork => self.membership_mixture(x)?,
            ScoringMixture::Em => self.em_mixture(x)?,
        };
        self.mixture = Some(mixture);
        let (energy, reconstruction, _) = self.raw_scores(x, false)?;
        self.standardization = Some(ScoreStandardization::of(&energy, &reconstruction));
        Ok(self.mixture.as_ref().expect("just set"))
    }

    /// The whole-set mixture from the estimation network's memberships.
    fn membership_mixture(&self, x: FeaturesView<'_>) -> Result<FittedMixture> {
        let device = self.device();
        let mut fitter = MixtureFitter::new(
            self.config.estimation.mixture,
            self.config.estimation.n_components,
            self.config.z_dim(),
        );
        for pass in 0..fitter.passes() {
            for (start, end) in batches(x.nrows(), self.config.scoring.batch_size) {
                let out = self
                    .network
                    .forward(upload_rows(x, start..end, &device), None);
                fitter.add(pass, out.gamma, out.compression.z)?;
            }
        }
        Ok(fitter.finish()?)
    }

    /// A full-covariance Gaussian mixture fitted by EM (`dagmm-classic-gmm`) on the rows' `z`.
    fn em_mixture(&self, x: FeaturesView<'_>) -> Result<FittedMixture> {
        let device = self.device();
        let zd = self.config.z_dim();
        let mut z = Vec::with_capacity(x.nrows() * zd);
        for (start, end) in batches(x.nrows(), self.config.scoring.batch_size) {
            let out = self
                .network
                .forward(upload_rows(x, start..end, &device), None);
            z.extend(read_f64(out.compression.z));
        }
        let z = Array2::from_shape_vec((x.nrows(), zd), z).expect("n × z_dim values");
        let em = &self.config.scoring.em;
        let jitter = self.config.estimation.jitter;
        let params = dagmm_classic_gmm::GmmParams {
            n_components: self.config.estimation.n_components,
            covariance_type: dagmm_classic_gmm::CovarianceType::Full,
            init: dagmm_classic_gmm::InitMethod::KMeans,
            n_init: em.n_init,
            max_iter: em.max_iter,
            tol: em.tol,
            reg_covar: jitter,
            seed: self.config.training.seed,
        };
        let gmm = dagmm_classic_gmm::GaussianMixture::fit(&params, z.view())
            .map_err(|e| ModelError::Data(format!("EM on z: {e}")))?;
        // EM's covariances carry the jitter already; the energy adds it again, so it is taken
        // off here (a diagonal that rounds below 0 is floored at 0).
        let k = gmm.n_components();
        let mut covariances = Vec::with_capacity(k * zd * zd);
        for c in 0..k {
            let mut sigma = gmm.covariances().component(c, zd);
            for j in 0..zd {
                sigma[[j, j]] = (sigma[[j, j]] - jitter).max(0.0);
            }
            covariances.extend(sigma.iter().copied());
        }
        let means: Vec<f64> = gmm.means().iter().copied().collect();
        let params = dagmm_estimation::MixtureParameters::from_flat(
            gmm.weights().to_vec(),
            &means,
            &covariances,
            zd,
        );
        params.validate()?;
        Ok(FittedMixture::Gaussian(params))
    }

    /// Energies of the rows of `x` under the fitted mixture.
    pub fn energies<'x>(&self, x: impl Into<FeaturesView<'x>>) -> Result<Vec<f64>> {
        Ok(self.score(x)?.energy)
    }

    /// Scores, energies, reconstruction errors and `z` of the rows of `x`, streamed in batches
    /// of `config.scoring.batch_size` (one upload and one read per batch).
    pub fn score<'x>(&self, x: impl Into<FeaturesView<'x>>) -> Result<Scores> {
        let x = x.into();
        check_data(x, Some(self.input_dim))?;
        let (energy, reconstruction_error, z) = self.raw_scores(x, true)?;
        let score = match self.config.scoring.kind {
            ScoreKind::Energy => energy.clone(),
            ScoreKind::EnergyPlusReconstruction => {
                let s = self.standardization.ok_or(ModelError::NotFitted)?;
                let w = self.config.scoring.reconstruction_weight;
                energy
                    .iter()
                    .zip(&reconstruction_error)
                    .map(|(e, r)| s.combine(*e, *r, w))
                    .collect()
            }
            ScoreKind::Reconstruction => reconstruction_error.clone(),
        };
        Ok(Scores {
            score,
            energy,
            reconstruction_error,
            z,
        })
    }

    /// Energies, reconstruction errors and (when `with_z`) `z` under the fitted mixture.
    fn raw_scores(
        &self,
        x: FeaturesView<'_>,
        with_z: bool,
    ) -> Result<(Vec<f64>, Vec<f64>, Array2<f64>)> {
        let mixture = self.mixture.as_ref().ok_or(ModelError::NotFitted)?;
        let device = self.device();
        let prepared = mixture.prepare(&device, self.config.estimation.jitter)?;
        let zd = self.config.z_dim();
        let n = x.nrows();
        let mut energy = Vec::with_capacity(n);
        let mut reconstruction_error = Vec::with_capacity(n);
        let mut z = Vec::with_capacity(if with_z { n * zd } else { 0 });
        for (start, end) in batches(n, self.config.scoring.batch_size) {
            let m = end - start;
            let out = self
                .network
                .forward(upload_rows(x, start..end, &device), None);
            let zb = out.compression.z;
            let mut parts = vec![
                prepared.energy(zb.clone()),
                out.compression.reconstruction_error,
            ];
            if with_z {
                parts.push(zb.reshape([m * zd]));
            }
            let flat = read_f64(Tensor::cat(parts, 0));
            energy.extend_from_slice(&flat[..m]);
            reconstruction_error.extend_from_slice(&flat[m..2 * m]);
            z.extend_from_slice(&flat[2 * m..]);
        }
        let z =
            Array2::from_shape_vec((if with_z { n } else { 0 }, zd), z).expect("n × z_dim values");
        Ok((energy, reconstruction_error, z))
    }

    /// The Burn device the model lives on (plain, without autodiff).
    pub fn device(&self) -> Device {
        self.config.device.device()
    }

    /// Move the model to another device (the config's `device` follows).
    ///
    /// # Errors
    /// [`ModelError::Device`] when the device cannot start; the model stays where it was.
    pub fn set_device(&mut self, device: DeviceChoice) -> Result<()> {
        let target = device.try_device()?;
        self.config.device = device;
        self.network = self.network.clone().to_device(&target);
        Ok(())
    }

    /// Change how many rows are scored per batch (the only config field that may change after
    /// building; it does not affect results).
    pub fn set_scoring_batch_size(&mut self, batch_size: usize) -> Result<()> {
        if batch_size == 0 {
            return Err(ModelError::InvalidConfig {
                field: "scoring.batch_size",
                message: "must be > 0".into(),
            });
        }
        self.config.scoring.batch_size = batch_size;
        Ok(())
    }

    /// The resolved config.
    pub fn config(&self) -> &DagmmConfig {
        &self.config
    }

    /// Number of input features.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The networks (plain device, evaluation state).
    pub fn network(&self) -> &DagmmNetwork {
        &self.network
    }

    /// Give the networks the weights of `layers` (the paper's plain autoencoder, the same shapes):
    /// a peer implementation's initial weights, say. Clears the mixture.
    pub fn set_plain_layers(&mut self, layers: &PlainLayers) -> Result<()> {
        self.network = self.network.clone().with_plain_layers(layers)?;
        self.mixture = None;
        self.standardization = None;
        Ok(())
    }

    /// The scoring mixture, once fitted.
    pub fn mixture(&self) -> Option<&FittedMixture> {
        self.mixture.as_ref()
    }

    /// The training rows' score statistics, once fitted.
    pub fn standardization(&self) -> Option<&ScoreStandardization> {
        self.standardization.as_ref()
    }

    /// Save to a directory (created if missing): `model.json` (format, version, input width,
    /// resolved config, mixture, score statistics) and `weights.bpk` (the networks, Burn burnpack).
    /// Other files the caller puts in the directory are left alone.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let file = ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            input_dim: self.input_dim,
            config: self.config.clone(),
            mixture: self.mixture.clone(),
            standardization: self.standardization,
        };
        save_folder(dir, &self.network, &file)
    }

    /// Load a directory written by [`save`](Self::save), on the device its config names.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_inner(dir, None)
    }

    /// Load a directory written by [`save`](Self::save) onto `device`.
    pub fn load_on(dir: &Path, device: DeviceChoice) -> Result<Self> {
        Self::load_inner(dir, Some(device))
    }

    fn load_inner(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        let path = dir.join(MODEL_FILE);
        let text = fs::read_to_string(&path).map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        let file: ModelFile = parse_json(&path, &text)?;
        check_format(&path, (&file.format, file.version), (FORMAT, VERSION))?;
        let mut config = file.config;
        if let Some(d) = device {
            config.device = d;
        }
        if let Some(m) = &file.mixture {
            m.validate()?;
            let family = match m {
                FittedMixture::Gaussian(_) => MixtureKind::Gaussian,
                FittedMixture::Laplacian(_) => MixtureKind::Laplacian,
            };
            let (k, d) = (m.weights().len(), m.dim());
            let (want_k, want_d) = (config.estimation.n_components, config.z_dim());
            if family != config.estimation.mixture || k != want_k || d != want_d {
                return Err(ModelError::Format {
                    path,
                    message: format!(
                        "the stored mixture ({family:?}, {k} components of dimension {d}) does \
                         not match the stored config ({:?}, {want_k} components, z of dimension \
                         {want_d})",
                        config.estimation.mixture
                    ),
                });
            }
        }
        let mut model = Self::new(config, file.input_dim)?;
        model.network = load_weights(dir, model.network)?;
        model.mixture = file.mixture;
        model.standardization = file.standardization;
        Ok(model)
    }
}
