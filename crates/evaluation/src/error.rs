//! The one error type of the evaluation crate: every message is a sentence naming what was wrong.

/// Everything that can be wrong with the scores, labels, thresholds or percentiles handed to this
/// crate, and with the features and settings of the PU threshold ([`crate::pu`]).
///
/// The `what` fields name the argument at fault (`"scores"`, `"labels"`, `"predicted"`,
/// `"values"`), so a message such as "labels has 5 entries but scores has 6" can be shown as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    /// An input that needs at least one value has none.
    #[error("{what} is empty; at least one value is needed")]
    Empty { what: &'static str },

    /// Two inputs that pair up row by row have different lengths.
    #[error("{what} has {len} entries but {other} has {other_len}")]
    LengthMismatch {
        what: &'static str,
        len: usize,
        other: &'static str,
        other_len: usize,
    },

    /// A score (or a value handed to [`percentile`](crate::percentile)) is NaN.
    #[error("{what} contain NaN at index {index}")]
    NaN { what: &'static str, index: usize },

    /// A label or prediction that is neither 0 (normal) nor 1 (anomaly).
    #[error(
        "{what} contain {value} at index {index}; only 0 (normal) and 1 (anomaly) are allowed"
    )]
    InvalidLabel {
        what: &'static str,
        index: usize,
        value: u8,
    },

    /// A percentile outside the closed range 0..=100 (NaN included).
    #[error("percentile {p} is outside 0..=100")]
    PercentileOutOfRange { p: f64 },

    /// A percentile that falls strictly between `-inf` and `+inf` in the sorted values, where
    /// linear interpolation has no value.
    #[error("percentile {p} falls between -inf and +inf in the sorted values, so it is undefined")]
    UndefinedPercentile { p: f64 },

    /// A threshold (cut) that is NaN: it would flag nothing in either direction.
    #[error("threshold is NaN; a cut must be a number (infinities are allowed)")]
    NaNThreshold,

    /// A ranking metric that needs both classes got labels of only one.
    #[error(
        "labels contain only class {class} ({n} rows); {metric} needs both normal (0) and anomalous (1) rows"
    )]
    SingleClass {
        metric: &'static str,
        class: u8,
        n: usize,
    },

    /// A precision-recall metric got labels without a single anomaly.
    #[error("labels contain no anomaly (1) among {n} rows; {metric} needs at least one")]
    NoPositives { metric: &'static str, n: usize },

    /// A direction name that is neither `low_is_anomalous` nor `high_is_anomalous`.
    #[error("direction `{0}` is unknown; expected `low_is_anomalous` or `high_is_anomalous`")]
    UnknownDirection(String),

    /// A configuration field outside its allowed range; `field` is its name in the config.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        field: &'static str,
        message: String,
    },

    /// A flat row-major feature matrix whose length is not a multiple of `n_features` (or
    /// `n_features` is 0).
    #[error("{what} has {len} values, which cannot be split into rows of n_features = {n_features} (n_features must be at least 1 and divide the length)")]
    BadShape {
        what: &'static str,
        len: usize,
        n_features: usize,
    },

    /// A feature that is NaN or infinite.
    #[error("{what} contain {value} at row {row}, column {column}; features must be finite")]
    NonFinite {
        what: &'static str,
        row: usize,
        column: usize,
        value: f64,
    },

    /// A fit that needs rows of some kind (labelled, unlabelled, held out) got too few.
    #[error("too few {what}: got {n}, need at least {needed}")]
    TooFewRows {
        what: String,
        n: usize,
        needed: usize,
    },

    /// An estimated quantity that must be finite and positive is not.
    #[error("the estimated {what} is {value}; it must be finite and positive")]
    DegenerateEstimate { what: &'static str, value: f64 },
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, EvaluationError>;
