use std::path::PathBuf;

use dagmm_compression::CompressionError;
use dagmm_estimation::EstimationError;
use dagmm_loss::LossError;

use crate::TrainingStage;
use thiserror::Error;

/// Errors of the model crate.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A configuration value is out of range.
    #[error("invalid config `{field}`: {message}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The compression config is invalid.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// The estimation config or a mixture is invalid.
    #[error(transparent)]
    Estimation(#[from] EstimationError),
    /// The loss config is invalid.
    #[error(transparent)]
    Loss(#[from] LossError),
    /// The input matrix is unusable (empty, wrong width, non-finite values).
    #[error("invalid input data: {0}")]
    Data(String),
    /// A device could not start (no such adapter, no driver, no wgpu in this build).
    #[error("device `{device}` cannot start: {reason}")]
    Device {
        /// The device's name.
        device: String,
        /// Why, as the backend says it.
        reason: String,
    },
    /// Scoring was asked for before a mixture was fitted.
    #[error("the model has no mixture yet: call fit_mixture (or fit) on the training data first")]
    NotFitted,
    /// Training produced a NaN or infinite loss.
    #[error(
        "the loss went non-finite in {stage} epoch {epoch}, batch {batch} of {batches}: {terms}; \
         training stopped{}",
        match last_checkpoint {
            Some(0) => " (the checkpoint saved after pretraining is kept)".to_string(),
            Some(e) => format!(" (the checkpoint after epoch {e} is kept)"),
            None => String::new(),
        }
    )]
    NonFiniteLoss {
        /// The stage (`layerN`, `finetune`, `train`).
        stage: TrainingStage,
        /// The epoch (1-based, within the stage).
        epoch: usize,
        /// The first batch (1-based) with a non-finite term.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// The batch's non-finite terms, `name = value`.
        terms: String,
        /// The epoch of the last good checkpoint of the main stage, if one was saved.
        last_checkpoint: Option<usize>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A model directory's JSON is malformed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The weights file could not be written or applied.
    #[error("{path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// A model directory is of an unknown format or version.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
