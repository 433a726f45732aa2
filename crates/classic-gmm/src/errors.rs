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
    /// No rows or no feature columns: there is nothing to fit or score.
    #[error("the data are empty ({rows} rows × {columns} columns); a Gaussian needs at least one row and one feature column")]
    EmptyData { rows: usize, columns: usize },
    /// A column whose spread is too large for `f64`: its sum or its variance overflows to
    /// infinity (e.g. a column holding -1 and 1e308), so every covariance would be infinite.
    #[error("column {column}: values range from {min} to {max}; their {quantity} overflows f64 — rescale this column (or scale the features)")]
    ColumnOverflow {
        /// 0-based column index.
        column: usize,
        min: String,
        max: String,
        /// `sum` or `variance`.
        quantity: &'static str,
    },
    #[error("the model was fitted on {expected} features but the data have {found}")]
    FeatureMismatch { expected: usize, found: usize },
    #[error("component {component} has an ill-defined covariance (not positive definite): try a larger `reg_covar`, fewer components or scaled features")]
    SingularCovariance { component: usize },
    #[error("empty range of component counts {min}..={max}")]
    EmptyRange { min: usize, max: usize },
}

/// `value` as text that stays short for huge or tiny magnitudes (`1e308`, not 309 digits).
pub(crate) fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-4..1e15).contains(&magnitude) || !value.is_finite() {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

pub type Result<T> = std::result::Result<T, GmmError>;
