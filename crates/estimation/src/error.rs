use thiserror::Error;

/// Errors of the estimation crate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EstimationError {
    /// A configuration value is out of range.
    #[error("invalid estimation config `{field}`: {message}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Tensor or parameter shapes do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Mixture parameters are not usable (weights not a distribution, non-finite values, …).
    #[error("invalid mixture parameters: {0}")]
    InvalidMixture(String),
    /// The accumulator saw no rows.
    #[error("no rows were accumulated")]
    Empty,
}
