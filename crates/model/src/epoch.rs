//! What one epoch of training reports ([`EpochLosses`]) and the stage it belongs to
//! ([`TrainingStage`]): the rows of `losses.csv`, the progress bars' lines, what a checkpoint keeps.

use serde::{Deserialize, Serialize};

/// Which stage of a fit an epoch belongs to: pretraining of one layer pair of the autoencoder
/// (`layer1` is the outermost), fine-tuning of the whole autoencoder, or the main training.
/// Written as `layer1`, `finetune`, `train`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum TrainingStage {
    /// Layer-wise pretraining of encoder layer `n` (1-based) and its mirror.
    Layer(usize),
    /// The whole autoencoder on the reconstruction error, after the layer-wise stage.
    Finetune,
    /// The main training (`[training]`).
    #[default]
    Train,
}

impl std::fmt::Display for TrainingStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainingStage::Layer(n) => write!(f, "layer{n}"),
            TrainingStage::Finetune => f.write_str("finetune"),
            TrainingStage::Train => f.write_str("train"),
        }
    }
}

impl From<TrainingStage> for String {
    fn from(s: TrainingStage) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for TrainingStage {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "train" => Ok(TrainingStage::Train),
            "finetune" => Ok(TrainingStage::Finetune),
            other => other
                .strip_prefix("layer")
                .and_then(|n| n.parse().ok())
                .filter(|&n: &usize| n > 0)
                .map(TrainingStage::Layer)
                .ok_or_else(|| {
                    format!("unknown training stage `{other}` (layerN, finetune, train)")
                }),
        }
    }
}

/// The mean loss terms of one epoch (means over the epoch's rows, each batch weighted by its
/// size), as the caller writes them to `losses.csv`. Pretraining epochs report their
/// reconstruction error as `total` and `reconstruction`, and 0 for the terms they do not have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochLosses {
    /// The stage (summaries written before stages existed read as `train`).
    #[serde(default)]
    pub stage: TrainingStage,
    /// 1-based epoch within the stage.
    pub epoch: usize,
    /// Objective `J`.
    pub total: f64,
    /// Mean `‖x − x'‖²` (DSEBM: the score-matching loss, `x' = x̃ − ∂E/∂x̃`).
    pub reconstruction: f64,
    /// Mean sample energy (before `λ1`); DSEBM: the mean energy of the corrupted rows.
    pub energy: f64,
    /// Covariance penalty (before `λ2`).
    pub penalty: f64,
    /// The compression variant's term (VAE: weighted KL; VQ-VAE: codebook + β·commitment; 0 for
    /// the autoencoder); DCN's k-means term `(λ/2)‖z − m_s‖²`.
    pub regularization: f64,
    /// VQ-VAE: how many codes at least one row of the epoch chose.
    pub codes_used: Option<usize>,
    /// VQ-VAE: the perplexity `exp(−Σ_k p_k log p_k)` of the epoch's code frequencies (the
    /// effective number of codes in use).
    pub code_perplexity: Option<f64>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
    /// Rows trained on in the epoch.
    pub rows: usize,
}
