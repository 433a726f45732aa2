//! What the deep external baselines of the DAGMM paper (DSEBM, DCN) share: the schedule of a
//! training stage ([`Schedule`]); and what they share with DAGMM: a model folder of a JSON
//! description beside Burn weights, and the batches rows are scored in.

use std::fs;
use std::path::Path;

use burn::module::Module;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{check_format, parse_json};
use crate::epoch::TrainingStage;
use crate::train::EpochPlan;
use crate::{ModelError, Result, MODEL_FILE, WEIGHTS_FILE};

/// How one network of a baseline trains: Adam (PyTorch's `ε = 1e-8`), seeded reshuffles every
/// epoch, the last shorter batch kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
}

impl Default for Schedule {
    /// The DAGMM paper's KDDCUP schedule: 200 epochs of 1,024 rows at 1e-4.
    fn default() -> Self {
        Schedule {
            epochs: 200,
            batch_size: 1024,
            learning_rate: 1e-4,
        }
    }
}

impl Schedule {
    /// Checks the values; `section` names the config section in the message.
    pub fn validate(&self, section: &'static str) -> Result<()> {
        if self.batch_size == 0 {
            return Err(ModelError::InvalidConfig {
                field: section,
                message: "training.batch_size must be > 0".into(),
            });
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ModelError::InvalidConfig {
                field: section,
                message: format!(
                    "training.learning_rate must be finite and > 0, got {}",
                    self.learning_rate
                ),
            });
        }
        Ok(())
    }

    /// The plan of a stage of `epochs` epochs on this schedule.
    pub(crate) fn plan(&self, stage: TrainingStage, epochs: usize) -> EpochPlan {
        EpochPlan {
            stage,
            epochs,
            batch_size: self.batch_size,
            drop_last: false,
            min_rows: 1,
            learning_rate: self.learning_rate,
            adam_epsilon: 1e-8,
            grad_clip_norm: None,
        }
    }
}

/// Writes `dir/model.json` (`description`, with its `format` and `version` inside) and
/// `dir/weights.bpk` (`module`), creating `dir`.
pub(crate) fn save_folder<M: Module, T: Serialize>(
    dir: &Path,
    module: &M,
    description: &T,
) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| ModelError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let weights = dir.join(WEIGHTS_FILE);
    module
        .clone()
        .save_file(&weights)
        .map_err(|e| ModelError::Weights {
            path: weights.clone(),
            message: e.to_string(),
        })?;
    let path = dir.join(MODEL_FILE);
    let json = serde_json::to_string_pretty(description).map_err(|source| ModelError::Json {
        path: path.clone(),
        source,
    })?;
    fs::write(&path, json).map_err(|source| ModelError::Io { path, source })
}

/// A model file's format and version, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// Reads `dir/model.json` as a `T` of format `format`, version `version`.
pub(crate) fn read_description<T: DeserializeOwned>(
    dir: &Path,
    format: &str,
    version: u32,
) -> Result<T> {
    let path = dir.join(MODEL_FILE);
    let text = fs::read_to_string(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    let header: Header = parse_json(&path, &text)?;
    check_format(&path, (&header.format, header.version), (format, version))?;
    parse_json(&path, &text)
}

/// `module` with the weights of `dir/weights.bpk`.
pub(crate) fn load_weights<M: Module>(dir: &Path, module: M) -> Result<M> {
    let weights = dir.join(WEIGHTS_FILE);
    module
        .try_load_file(&weights)
        .map_err(|e| ModelError::Weights {
            path: weights.clone(),
            message: e.to_string(),
        })
}

/// The `(start, end)` bounds of `n` rows cut into batches of `batch` (scoring).
pub(crate) fn batches(n: usize, batch: usize) -> impl Iterator<Item = (usize, usize)> {
    let b = batch.max(1);
    (0..n).step_by(b).map(move |s| (s, (s + b).min(n)))
}
