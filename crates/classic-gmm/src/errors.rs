//! The one error type of the classic GMM crate.

/// Why a Gaussian model could not be fitted or used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GmmError {
    #[error("invalid parameter `{field}`: {message}")]
    InvalidParameter {
        field: &'static str,
        message: String,
    },
    #[error("need at least {needed} rows to fit {components} components, got {rows}")]
    TooFewRows {
        rows: usize,
        components: usize,
        needed: usize,
    },
    #[error("the data contain a non-finite value (NaN or infinity) at row {row}, column {column}")]
    NonFinite { row: usize, column: usize },
    #[error("the model was fitted on {expected} features but the data have {found}")]
    FeatureMismatch { expected: usize, found: usize },
    #[error("component {component} has an ill-defined covariance (not positive definite): try a larger `reg_covar`, fewer components or scaled features")]
    SingularCovariance { component: usize },
    #[error("empty range of component counts {min}..={max}")]
    EmptyRange { min: usize, max: usize },
}

pub type Result<T> = std::result::Result<T, GmmError>;
