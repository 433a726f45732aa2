//! The one error type of the pipeline crate.

use std::path::PathBuf;

use dagmm_classic_gmm::GmmError;
use dagmm_data::DataError;
use dagmm_evaluation::EvaluationError;
use dagmm_model::ModelError;

/// Everything that can go wrong in a run: each variant says what and where.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A config or experiment file (or an override of it) is wrong.
    #[error("{}: {message}", .file.display())]
    Config { file: PathBuf, message: String },
    /// The data, the config and the protocol do not fit together.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Gmm(#[from] GmmError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
    /// A file could not be read or written (the cause is part of the message, not a chained
    /// source, so that `{:#}` does not print it twice).
    #[error("{}: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A JSON file does not hold what its type says.
    #[error("{}: {error}", .path.display())]
    Json {
        path: PathBuf,
        error: serde_json::Error,
    },
    /// A saved file of another format or version.
    #[error("{}: {message}", .path.display())]
    Format { path: PathBuf, message: String },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, PipelineError>;
