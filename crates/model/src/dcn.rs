//! DCN, the deep clustering network of Yang et al. ("Towards K-means-friendly Spaces", ICML
//! 2017), the DAGMM paper's DCN baseline.
//!
//! An autoencoder `x → z = f(x) → g(z)` (the paper's: `tanh` between layers, a linear code and
//! output; DAGMM's compression network without the reconstruction features) is pretrained on the
//! reconstruction error, k-means (k-means++ seeding, Lloyd, the best of several starts) on the
//! codes of every training row gives the `K` centroids `M`, and then every mini-batch alternates
//! Yang et al.'s three updates (their Algorithm 1):
//!
//! 1. assignments: each row of the batch goes to its nearest centroid, `s_i = argmin_k ‖z_i − m_k‖`;
//! 2. centroids, row by row: `c_k ← c_k + 1`, `m_k ← m_k − (m_k − z_i)/c_k` (a running mean whose
//!    counts `c_k` start at `initial_counts`: Yang et al.'s code starts them at 100);
//! 3. the network: one Adam step on `‖x − g(f(x))‖² + (λ/2)‖f(x) − m_{s_i}‖²`, averaged over rows.
//!
//! Yang et al. update the network first and then the assignments and centroids with the updated
//! network; here one batch's assignments come from the network before its step. Over the batches
//! the three updates alternate the same way; only the first batch differs (its assignments are
//! recomputed rather than k-means', which are the same at convergence).
//!
//! The anomaly score is the code's Euclidean distance to its nearest centroid (what the DAGMM
//! paper's DCN baseline ranks by; Yang et al. cluster and do not score).

use std::cell::RefCell;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use dagmm_classic_gmm::{kmeans_plusplus, lloyd};
use dagmm_compression::{Autoencoder, DEFAULT_NORM_EPS};
use dagmm_data::FeaturesView;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::baseline::{batches, load_weights, read_description, save_folder, Schedule};
use crate::dagmm::check_data;
use crate::epoch::{EpochLosses, TrainingStage};
use crate::tensors::{read_f64, upload_rows};
use crate::train::{
    rng, run_epochs, Objective, StageStart, StepOutput, STREAM_INIT, STREAM_PRETRAINING,
    STREAM_SHUFFLE,
};
use crate::{DeviceChoice, ModelError, Result};

const FORMAT: &str = "dagmm-dcn";
const VERSION: u32 = 1;
/// ChaCha8 stream of the seed used for the k-means starts.
const STREAM_KMEANS: u64 = 4;
/// Rows encoded per batch outside training.
const SCORING_BATCH: usize = 4096;
/// Lloyd's iterations per k-means start.
const LLOYD_ITERATIONS: usize = 300;

/// `[dcn]`: the autoencoder, the clusters, the weight of the k-means term and the schedules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DcnConfig {
    /// Encoder widths after the input, the last the code's (decoder mirrored), as
    /// `compression.encoder_layers`.
    pub encoder_layers: Vec<usize>,
    /// `K`, the number of clusters.
    pub n_clusters: usize,
    /// `λ`, the weight of the k-means term (the loss holds `λ/2`).
    pub lambda: f64,
    /// The centroids' counts when joint training starts (Yang et al.'s code: 100).
    pub initial_counts: f64,
    /// k-means starts on the pretrained codes; the one of least inertia is kept.
    pub kmeans_starts: usize,
    /// Epochs of pretraining on the reconstruction error alone (the schedule's batch and rate).
    pub pretrain_epochs: usize,
    /// The joint training's epochs, batch and learning rate.
    pub training: Schedule,
}

impl Default for DcnConfig {
    fn default() -> Self {
        DcnConfig {
            encoder_layers: vec![60, 30, 10, 1],
            n_clusters: 4,
            lambda: 1.0,
            initial_counts: 100.0,
            kmeans_starts: 10,
            pretrain_epochs: 50,
            training: Schedule::default(),
        }
    }
}

impl DcnConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field, message: String| Err(ModelError::InvalidConfig { field, message });
        if self.encoder_layers.is_empty() || self.encoder_layers.contains(&0) {
            return invalid(
                "dcn.encoder_layers",
                format!(
                    "needs at least one layer and no zero widths, got {:?}",
                    self.encoder_layers
                ),
            );
        }
        if self.n_clusters == 0 {
            return invalid("dcn.n_clusters", "must be at least 1".into());
        }
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return invalid(
                "dcn.lambda",
                format!("must be finite and >= 0, got {}", self.lambda),
            );
        }
        if !(self.initial_counts.is_finite() && self.initial_counts >= 0.0) {
            return invalid(
                "dcn.initial_counts",
                format!("must be finite and >= 0, got {}", self.initial_counts),
            );
        }
        if self.kmeans_starts == 0 {
            return invalid("dcn.kmeans_starts", "must be at least 1".into());
        }
        self.training.validate("dcn")
    }

    /// Width of the code.
    pub fn latent_dim(&self) -> usize {
        self.encoder_layers.last().copied().unwrap_or(0)
    }
}

/// The centroids and their counts, updated row by row (step 2 of the module's list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centroids {
    /// Code width.
    pub dim: usize,
    /// `K × dim`, row-major.
    pub means: Vec<f64>,
    /// Rows each centroid has absorbed (starting at `initial_counts`).
    pub counts: Vec<f64>,
}

impl Centroids {
    /// The nearest centroid of `z` and the squared distance to it.
    pub fn nearest(&self, z: &[f64]) -> (usize, f64) {
        self.means
            .chunks(self.dim)
            .map(|m| m.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |best, (k, d)| if d < best.1 { (k, d) } else { best },
            )
    }

    /// Assigns `z` to its nearest centroid and moves that centroid towards it by `1/c_k`;
    /// returns the centroid's index.
    pub fn absorb(&mut self, z: &[f64]) -> usize {
        let (k, _) = self.nearest(z);
        self.counts[k] += 1.0;
        let rate = 1.0 / self.counts[k];
        for (m, v) in self.means[k * self.dim..(k + 1) * self.dim]
            .iter_mut()
            .zip(z)
        {
            *m -= rate * (*m - v);
        }
        k
    }
}

/// DCN's figures for some rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DcnScores {
    /// Euclidean distance of each row's code to its nearest centroid (the anomaly score).
    pub distance: Vec<f64>,
    /// The nearest centroid.
    pub cluster: Vec<usize>,
    /// `‖x − g(f(x))‖²`.
    pub reconstruction_error: Vec<f64>,
    /// The codes, `[n, latent]`.
    pub z: Array2<f64>,
}

/// A DCN: config, device, autoencoder and centroids.
#[derive(Debug, Clone)]
pub struct Dcn {
    config: DcnConfig,
    device: DeviceChoice,
    autoencoder: Autoencoder,
    centroids: Centroids,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DcnFile {
    format: String,
    version: u32,
    input_dim: usize,
    /// The device it was fitted on (where it loads unless told otherwise).
    device: DeviceChoice,
    config: DcnConfig,
    centroids: Centroids,
}

impl Dcn {
    /// Pretrains, initialises the centroids by k-means and trains jointly on the rows of `x`;
    /// `on_epoch` hears every epoch of both stages (`finetune` is the pretraining). One seed gives
    /// the weights, the two stages' shuffles and the k-means starts.
    pub fn fit(
        config: DcnConfig,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        config.validate()?;
        check_data(x, None)?;
        if x.nrows() < config.n_clusters {
            return Err(ModelError::Data(format!(
                "{} training rows for dcn.n_clusters = {} clusters",
                x.nrows(),
                config.n_clusters
            )));
        }
        let plain = device.try_device()?;
        let autodiff = plain.clone().autodiff();
        let mut ae = Autoencoder::new(
            x.ncols(),
            &config.encoder_layers,
            DEFAULT_NORM_EPS,
            &mut rng(seed, STREAM_INIT),
            &plain,
        );
        let t = &config.training;
        let mut history = Vec::new();
        if config.pretrain_epochs > 0 {
            let (tuned, epochs) = run_epochs(
                ae.train(),
                &autodiff,
                x,
                &t.plan(TrainingStage::Finetune, config.pretrain_epochs),
                &mut rng(seed, STREAM_PRETRAINING),
                StageStart::fresh(),
                None,
                &mut |ae: &Autoencoder, batch| {
                    let (_, error) = reconstruct(ae, batch.upload());
                    step_output(error.mean(), None)
                },
                on_epoch,
            )?;
            ae = tuned.valid();
            history.extend(epochs);
        }
        let dim = config.latent_dim();
        let codes = encode_all(&ae, x, &plain);
        let means = kmeans(&codes, dim, config.n_clusters, config.kmeans_starts, seed)?;
        let centroids = RefCell::new(Centroids {
            dim,
            means,
            counts: vec![config.initial_counts; config.n_clusters],
        });
        if t.epochs > 0 {
            let half_lambda = config.lambda / 2.0;
            let (trained, epochs) = run_epochs(
                ae.train(),
                &autodiff,
                x,
                &t.plan(TrainingStage::Train, t.epochs),
                &mut rng(seed, STREAM_SHUFFLE),
                StageStart::fresh(),
                None,
                &mut |ae: &Autoencoder, batch| {
                    let (z, error) = reconstruct(ae, batch.upload());
                    let n = z.dims()[0];
                    let targets: Vec<f32> = {
                        let zh = read_f64(z.clone().inner());
                        let c = &mut *centroids.borrow_mut();
                        let mut targets = Vec::with_capacity(n * dim);
                        let ks: Vec<usize> = zh.chunks(dim).map(|row| c.absorb(row)).collect();
                        for k in ks {
                            targets
                                .extend(c.means[k * dim..(k + 1) * dim].iter().map(|&v| v as f32));
                        }
                        targets
                    };
                    let targets =
                        Tensor::from_data(TensorData::new(targets, [n, dim]), batch.device);
                    let reconstruction = error.mean();
                    let clustering = (z - targets)
                        .square()
                        .sum_dim(1)
                        .mean()
                        .mul_scalar(half_lambda);
                    step_output(reconstruction, Some(clustering))
                },
                on_epoch,
            )?;
            ae = trained.valid();
            history.extend(epochs);
        }
        Ok((
            Dcn {
                config,
                device,
                autoencoder: ae,
                centroids: centroids.into_inner(),
            },
            history,
        ))
    }

    /// Distances to the nearest centroid, clusters, reconstruction errors and codes of the rows
    /// of `x`.
    pub fn scores(&self, x: FeaturesView<'_>) -> Result<DcnScores> {
        check_data(x, Some(self.input_dim()))?;
        let device = self.device.device();
        let dim = self.centroids.dim;
        let n = x.nrows();
        let mut z = Vec::with_capacity(n * dim);
        let mut reconstruction_error = Vec::with_capacity(n);
        for (start, end) in batches(n, SCORING_BATCH) {
            let m = end - start;
            let (zb, r) = reconstruct(&self.autoencoder, upload_rows(x, start..end, &device));
            let flat = read_f64(Tensor::cat(vec![r, zb.reshape([m * dim])], 0));
            reconstruction_error.extend_from_slice(&flat[..m]);
            z.extend_from_slice(&flat[m..]);
        }
        let (cluster, distance) = z
            .chunks(dim)
            .map(|row| {
                let (k, d2) = self.centroids.nearest(row);
                (k, d2.sqrt())
            })
            .unzip();
        Ok(DcnScores {
            distance,
            cluster,
            reconstruction_error,
            z: Array2::from_shape_vec((n, dim), z).expect("n × latent values"),
        })
    }

    /// The config.
    pub fn config(&self) -> &DcnConfig {
        &self.config
    }

    /// The centroids after training.
    pub fn centroids(&self) -> &Centroids {
        &self.centroids
    }

    /// The autoencoder (plain device).
    pub fn autoencoder(&self) -> &Autoencoder {
        &self.autoencoder
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.autoencoder.widths()[0]
    }

    /// Writes `model.json` (config, input width, centroids) and `weights.bpk` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        save_folder(
            dir,
            &self.autoencoder,
            &DcnFile {
                format: FORMAT.into(),
                version: VERSION,
                input_dim: self.input_dim(),
                device: self.device,
                config: self.config.clone(),
                centroids: self.centroids.clone(),
            },
        )
    }

    /// Reads a folder written by [`save`](Self::save), onto `device` (else the one it was
    /// fitted on).
    pub fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        let file: DcnFile = read_description(dir, FORMAT, VERSION)?;
        let device = device.unwrap_or(file.device);
        file.config.validate()?;
        let c = &file.centroids;
        if c.dim != file.config.latent_dim()
            || c.means.len() != c.dim * file.config.n_clusters
            || c.counts.len() != file.config.n_clusters
            || c.means.iter().any(|v| !v.is_finite())
        {
            return Err(ModelError::Format {
                path: dir.join(crate::MODEL_FILE),
                message: format!(
                    "the centroids ({} values of width {}) do not match the config ({} clusters \
                     of width {}) or are not finite",
                    c.means.len(),
                    c.dim,
                    file.config.n_clusters,
                    file.config.latent_dim()
                ),
            });
        }
        let plain = device.try_device()?;
        let ae = Autoencoder::new(
            file.input_dim,
            &file.config.encoder_layers,
            DEFAULT_NORM_EPS,
            &mut rng(0, STREAM_INIT),
            &plain,
        );
        Ok(Dcn {
            autoencoder: load_weights(dir, ae)?,
            config: file.config,
            device,
            centroids: file.centroids,
        })
    }
}

/// The codes `z = f(x)` of a batch and each row's reconstruction error `‖x − g(z)‖²` (`[n]`):
/// what pretraining, joint training and scoring each compute.
fn reconstruct(ae: &Autoencoder, x: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
    let n = x.dims()[0];
    let z = ae.encode(x.clone());
    let error = (x - ae.decode(z.clone())).square().sum_dim(1).reshape([n]);
    (z, error)
}

/// A step's output: the reconstruction term, and the k-means term (reported as the
/// `regularization` column) when there is one.
fn step_output(reconstruction: Tensor<1>, clustering: Option<Tensor<1>>) -> StepOutput {
    let r = reconstruction.clone().inner();
    let zero = r.clone().zeros_like();
    let (total, c) = match clustering {
        Some(c) => (reconstruction + c.clone(), c.inner()),
        None => (reconstruction, zero.clone()),
    };
    StepOutput {
        terms: Tensor::cat(vec![total.clone().inner(), r, zero.clone(), zero, c], 0),
        objective: Objective::Graph(total),
        code_counts: None,
    }
}

/// The codes of every row, `n × latent`, row-major.
fn encode_all(ae: &Autoencoder, x: FeaturesView<'_>, device: &burn::tensor::Device) -> Vec<f64> {
    let mut z = Vec::new();
    for (start, end) in batches(x.nrows(), SCORING_BATCH) {
        z.extend(read_f64(ae.encode(upload_rows(x, start..end, device))));
    }
    z
}

/// k-means of the rows of `z` (width `dim`): the centres of the least inertia over `starts`
/// k-means++ starts, each refined by Lloyd's iterations.
fn kmeans(z: &[f64], dim: usize, k: usize, starts: usize, seed: u64) -> Result<Vec<f64>> {
    let n = z.len() / dim.max(1);
    if n < k {
        return Err(ModelError::Data(format!(
            "{n} training rows for dcn.n_clusters = {k} clusters"
        )));
    }
    if let Some(v) = z.iter().find(|v| !v.is_finite()) {
        return Err(ModelError::Data(format!(
            "the pretrained autoencoder gives a non-finite code ({v})"
        )));
    }
    let mut r = rng(seed, STREAM_KMEANS);
    let mut best: Option<(f64, Vec<f64>)> = None;
    for _ in 0..starts {
        let mut centres = kmeans_plusplus(z, dim, k, &mut r);
        let labels = lloyd(z, dim, &mut centres, LLOYD_ITERATIONS);
        let inertia: f64 = z
            .chunks(dim)
            .zip(&labels)
            .map(|(row, &l)| {
                row.iter()
                    .zip(&centres[l * dim..(l + 1) * dim])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
            })
            .sum();
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centres));
        }
    }
    Ok(best.expect("at least one start").1)
}
