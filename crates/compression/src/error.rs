use thiserror::Error;

/// Errors of the compression crate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CompressionError {
    /// A configuration value is out of range.
    #[error("invalid compression config `{field}`: {message}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
