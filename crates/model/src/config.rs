use dagmm_compression::CompressionConfig;
use dagmm_estimation::EstimationConfig;
use dagmm_loss::LossConfig;
use serde::{Deserialize, Serialize};

use crate::{DeviceChoice, ModelError, Result};

/// Training-loop settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Adam learning rate (paper: 1e-4).
    #[serde(default = "default_lr")]
    pub learning_rate: f64,
    /// Adam `ε` (PyTorch's 1e-8; Burn's own default would be 1e-5).
    #[serde(default = "default_adam_eps")]
    pub adam_epsilon: f64,
    /// Rows per mini-batch (paper: 1024 for KDDCUP).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Passes over the training set (paper: 200 for KDDCUP).
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Clip the GLOBAL gradient norm (over all parameters, as `torch.nn.utils.clip_grad_norm_`)
    /// to this value; `None` = no clipping (the paper mentions none; a common PyTorch port uses 5).
    #[serde(default)]
    pub grad_clip_norm: Option<f64>,
    /// Seed of the weight initialisation, the per-epoch shuffles and the dropout masks (three
    /// independent ChaCha8 streams of this seed).
    #[serde(default)]
    pub seed: u64,
    /// Drop the last, smaller batch of each epoch (PyTorch's `drop_last`; default false). A tiny
    /// last batch gives a noisy mixture and a large covariance penalty for that step.
    #[serde(default)]
    pub drop_last: bool,
    /// Keep the compression network fixed while training (only the estimation network learns:
    /// the DAGMM paper's PAE-GMM, after `[pretraining]`). Default false.
    #[serde(default)]
    pub freeze_compression: bool,
    /// Save a checkpoint (weights, Adam's state, the RNG streams' positions, the epoch) every
    /// this many epochs of the main training, when the run has a checkpoint folder (`dagmm
    /// train` and `dagmm sweep` give one); one is also saved after the last epoch. 0: only then.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Threads of a training step on the CPU devices (flex, ndarray): the batch's rows are cut
    /// into this many parts, each part's compression network runs forward and backward on its own
    /// thread, and the estimation network, mixture and energies run once on the whole batch (see
    /// `dagmm_model`'s `parallel` module). The numbers depend on this value (f32 sums are
    /// grouped by part), not on the machine. 1: one thread, the step of versions before it.
    /// Only the plain autoencoder, not frozen, splits; wgpu devices ignore it. Default 2.
    #[serde(default = "default_threads")]
    pub threads: usize,
}

fn default_lr() -> f64 {
    1e-4
}
fn default_adam_eps() -> f64 {
    1e-8
}
fn default_batch_size() -> usize {
    1024
}
fn default_epochs() -> usize {
    200
}
fn default_threads() -> usize {
    2
}
fn default_checkpoint_every() -> usize {
    10
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            learning_rate: default_lr(),
            adam_epsilon: default_adam_eps(),
            batch_size: default_batch_size(),
            epochs: default_epochs(),
            grad_clip_norm: None,
            seed: 0,
            drop_last: false,
            freeze_compression: false,
            checkpoint_every: default_checkpoint_every(),
            threads: default_threads(),
        }
    }
}

/// What the anomaly score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// The sample energy under the training set's mixture (the paper's).
    #[default]
    Energy,
    /// Seed 002's modification 2: `(E − m_E)/s_E + w·(R − m_R)/s_R`, with `R = ‖x − x'‖²`, `m`
    /// and `s` the mean and standard deviation over the training rows, `w` =
    /// `reconstruction_weight`.
    EnergyPlusReconstruction,
    /// The reconstruction error `‖x − x'‖²` alone (the DAGMM paper's PAE and E2E-AE baselines).
    Reconstruction,
}

/// Where the scoring mixture's memberships come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMixture {
    /// The estimation network's `γ` over the whole training set (the paper's DAGMM).
    #[default]
    EstimationNetwork,
    /// A Gaussian mixture fitted by EM on the training rows' `z` (`[scoring.em]`; the DAGMM
    /// paper's PAE-GMM-EM baseline). The estimation network is not used.
    Em,
}

/// The EM fit of `scoring.mixture = "em"`: `estimation.n_components` full-covariance
/// components, k-means initialisation, seeded by `training.seed`, each covariance regularised
/// by `estimation.jitter` on its diagonal (as the energy regularises every mixture's), so the
/// energy is EM's own `−log p(z)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmConfig {
    /// Initialisations; the fit of highest likelihood is kept.
    pub n_init: usize,
    /// EM iterations at most.
    pub max_iter: usize,
    /// Stop when the mean log-likelihood changes by less than this.
    pub tol: f64,
}

impl Default for EmConfig {
    fn default() -> Self {
        Self {
            n_init: 1,
            max_iter: 100,
            tol: 1e-3,
        }
    }
}

/// Pretraining of the compression network before `[training]` (the DAGMM paper's PAE, PAE-GMM,
/// PAE-GMM-EM and DAGMM-p): greedy layer-wise (each encoder layer and its mirror trained alone as
/// a shallow autoencoder of the activations below it, bottom up), then the whole autoencoder
/// fine-tuned on the reconstruction error. Adam with `training.adam_epsilon` and
/// `training.grad_clip_norm`; shuffles from their own stream of `training.seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainingConfig {
    /// Epochs of each layer pair (0 skips the layer-wise stage).
    #[serde(default)]
    pub layer_epochs: usize,
    /// Epochs of the whole autoencoder afterwards (0 skips fine-tuning).
    #[serde(default)]
    pub finetune_epochs: usize,
    /// Adam learning rate (default: `training.learning_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// Rows per batch (default: `training.batch_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
}

/// Scoring settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    /// What the score is.
    #[serde(default)]
    pub kind: ScoreKind,
    /// Rows per batch when fitting the mixture and scoring (only this many rows sit on the
    /// device at once).
    #[serde(default = "default_score_batch")]
    pub batch_size: usize,
    /// `w` of `energy_plus_reconstruction` (the standardised reconstruction error's weight).
    #[serde(default = "default_reconstruction_weight")]
    pub reconstruction_weight: f64,
    /// Where the scoring mixture comes from.
    #[serde(default)]
    pub mixture: ScoringMixture,
    /// The EM fit when `mixture = "em"`.
    #[serde(default)]
    pub em: EmConfig,
}

fn default_score_batch() -> usize {
    8192
}

fn default_reconstruction_weight() -> f64 {
    1.0
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            kind: ScoreKind::Energy,
            batch_size: default_score_batch(),
            reconstruction_weight: default_reconstruction_weight(),
            mixture: ScoringMixture::EstimationNetwork,
            em: EmConfig::default(),
        }
    }
}

/// The whole DAGMM configuration. Every section and field has a default (the paper's KDDCUP
/// setting); unknown fields are refused at every level.
///
/// ```toml
/// device = "flex"
/// [compression]
/// encoder_layers = [60, 30, 10, 1]
/// [estimation]
/// n_components = 4
/// hidden_layers = [10]
/// dropout = 0.5
/// jitter = 1e-6
/// [loss]
/// lambda_energy = 0.1
/// lambda_cov = 0.005
/// [training]
/// learning_rate = 1e-4
/// batch_size = 1024
/// epochs = 200
/// seed = 0
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DagmmConfig {
    /// The device.
    #[serde(default)]
    pub device: DeviceChoice,
    /// The compression network.
    #[serde(default)]
    pub compression: CompressionConfig,
    /// The estimation network and mixture.
    #[serde(default)]
    pub estimation: EstimationConfig,
    /// The objective.
    #[serde(default)]
    pub loss: LossConfig,
    /// The training loop.
    #[serde(default)]
    pub training: TrainingConfig,
    /// Scoring.
    #[serde(default)]
    pub scoring: ScoringConfig,
    /// Pretraining of the compression network (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretraining: Option<PretrainingConfig>,
}

impl DagmmConfig {
    /// The paper's KDDCUP99 setting (§4.3): AE `d-60-30-10-1`, estimation `3-10-4`, dropout 0.5,
    /// λ1 = 0.1, λ2 = 0.005, Adam lr 1e-4, batch 1024, 200 epochs. This is also `default()`.
    pub fn kddcup() -> Self {
        Self::default()
    }

    /// The paper's Thyroid setting: AE `d-12-4-1`, estimation `3-10-2`, batch 1024, 20,000 epochs.
    pub fn thyroid() -> Self {
        let mut c = Self::default();
        c.compression.encoder_layers = vec![12, 4, 1];
        c.estimation.n_components = 2;
        c.training.epochs = 20_000;
        c
    }

    /// The paper's Arrhythmia setting: AE `d-10-2`, estimation `4-10-2`, batch 128, 10,000 epochs.
    pub fn arrhythmia() -> Self {
        let mut c = Self::default();
        c.compression.encoder_layers = vec![10, 2];
        c.estimation.n_components = 2;
        c.training.batch_size = 128;
        c.training.epochs = 10_000;
        c
    }

    /// The paper's KDDCUP-Rev setting: AE `d-60-30-10-2`, estimation `4-10-2`, 400 epochs.
    pub fn kddcup_rev() -> Self {
        let mut c = Self::default();
        c.compression.encoder_layers = vec![60, 30, 10, 2];
        c.estimation.n_components = 2;
        c.training.epochs = 400;
        c
    }

    /// A preset by name: `kddcup`, `kddcup_rev`, `thyroid`, `arrhythmia`.
    pub fn preset(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "kddcup" | "kddcup99" => Ok(Self::kddcup()),
            "kddcup_rev" => Ok(Self::kddcup_rev()),
            "thyroid" => Ok(Self::thyroid()),
            "arrhythmia" => Ok(Self::arrhythmia()),
            _ => Err(ModelError::InvalidConfig {
                field: "preset",
                message: format!(
                    "unknown preset `{name}` (kddcup, kddcup_rev, thyroid, arrhythmia)"
                ),
            }),
        }
    }

    /// Width of `z`.
    pub fn z_dim(&self) -> usize {
        self.compression.z_dim()
    }

    /// Check every section.
    pub fn validate(&self) -> Result<()> {
        self.compression.validate()?;
        self.estimation.validate()?;
        self.loss.validate()?;
        let t = &self.training;
        let bad = |field, message: String| Err(ModelError::InvalidConfig { field, message });
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return bad(
                "training.learning_rate",
                format!("must be > 0, got {}", t.learning_rate),
            );
        }
        if !(t.adam_epsilon.is_finite() && t.adam_epsilon > 0.0) {
            return bad(
                "training.adam_epsilon",
                format!("must be > 0, got {}", t.adam_epsilon),
            );
        }
        if t.batch_size == 0 {
            return bad("training.batch_size", "must be > 0".into());
        }
        if !(1..=256).contains(&t.threads) {
            return bad(
                "training.threads",
                format!("must be 1 to 256, got {}", t.threads),
            );
        }
        if let Some(c) = t.grad_clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return bad("training.grad_clip_norm", format!("must be > 0, got {c}"));
            }
        }
        if self.scoring.batch_size == 0 {
            return bad("scoring.batch_size", "must be > 0".into());
        }
        let w = self.scoring.reconstruction_weight;
        if !(w.is_finite() && w >= 0.0) {
            return bad(
                "scoring.reconstruction_weight",
                format!("must be finite and >= 0, got {w}"),
            );
        }
        if self.scoring.mixture == ScoringMixture::Em {
            if self.estimation.mixture != dagmm_estimation::MixtureKind::Gaussian {
                return bad(
                    "scoring.mixture",
                    "\"em\" fits a Gaussian mixture; estimation.mixture must be \"gaussian\""
                        .into(),
                );
            }
            let em = &self.scoring.em;
            if em.n_init == 0 || em.max_iter == 0 {
                return bad(
                    "scoring.em",
                    format!(
                        "n_init and max_iter must be >= 1, got {} and {}",
                        em.n_init, em.max_iter
                    ),
                );
            }
            if !(em.tol.is_finite() && em.tol >= 0.0) {
                return bad(
                    "scoring.em.tol",
                    format!("must be finite and >= 0, got {}", em.tol),
                );
            }
        }
        if let Some(p) = &self.pretraining {
            if self.compression.kind != dagmm_compression::CompressionKind::Autoencoder {
                return bad(
                    "pretraining",
                    format!(
                        "pretrains the autoencoder; compression.kind is {:?}",
                        self.compression.kind
                    ),
                );
            }
            if let Some(lr) = p.learning_rate {
                if !(lr.is_finite() && lr > 0.0) {
                    return bad(
                        "pretraining.learning_rate",
                        format!("must be > 0, got {lr}"),
                    );
                }
            }
            if p.batch_size == Some(0) {
                return bad("pretraining.batch_size", "must be > 0".into());
            }
        }
        Ok(())
    }
}
