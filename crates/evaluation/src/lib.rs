//! Thresholds and metrics shared by every anomaly detector of the workspace: classic GMMs, which
//! score rows by log-likelihood (LOW scores are anomalous), and DAGMM, which scores rows by
//! sample energy (HIGH scores are anomalous). It turns scores into cuts (NumPy-exact
//! percentiles), cuts into flags, and flags and scores into metrics. It is not a detector, a
//! plotting library or a reader of files: it takes plain `&[f64]` scores and `&[u8]` labels
//! (1 = anomaly, 0 = normal) and returns numbers and serde-serialisable records (the one
//! exception, the PU threshold in [`pu`], fits a small classifier on features).
//!
//! * [`Direction`] says which end of the score scale is anomalous; every function that reads
//!   scores takes one, so the anomaly is always the positive class.
//! * [`percentile`] is NumPy's default `np.percentile`; [`Threshold`] and [`resolve_threshold`]
//!   turn "flag p % of the rows" or a fixed value into a cut; [`flag`] applies it strictly
//!   (`score < cut` or `score > cut`), as the reference Python code does.
//! * [`Confusion`] counts a prediction against the labels and gives precision, recall, F1 and
//!   accuracy with scikit-learn's `zero_division=0` conventions.
//! * [`roc_auc`] and [`average_precision`] (PR AUC) equal scikit-learn's `roc_auc_score` and
//!   `average_precision_score`; [`roc_curve`] and [`pr_curve`] give the points for plots.
//! * [`best_f1_threshold`] finds the oracle cut with the highest F1; [`evaluate`] gathers the
//!   metrics of one cut into [`Metrics`]; [`percentile_sweep`] builds the DAGMM tables
//!   (10, 20, …, 60 % flagged).
//! * [`pu`] is the positive-unlabelled threshold of Elkan & Noto (2008): a small logistic
//!   regression ([`LogisticRegression`]) learns labelled normal rows against unlabelled ones,
//!   and [`PuThreshold`] flags a row when `h(x) < c / 2`, with `c` estimated on held-out
//!   labelled rows ([`PuConfig`] holds the settings). It is the one place this crate fits a
//!   model, and it takes flat row-major `&[f64]` features rather than scores.
//!
//! Inputs are checked: empty scores, NaN scores, labels other than 0/1, mismatched lengths and
//! out-of-range percentiles are [`EvaluationError`]s, never panics or silent NaNs. Infinite
//! scores are accepted. The ranking functions run in O(n log n).
//!
//! ```
//! use dagmm_evaluation::{evaluate, resolve_threshold, Direction, Threshold};
//!
//! let energy = [0.3, 5.0, 0.1, 0.2, 4.0];
//! let labels = [0, 1, 0, 0, 1];
//! let direction = Direction::HighIsAnomalous;
//! let cut = resolve_threshold(&energy, &Threshold::Percentile(40.0), direction)?;
//! let m = evaluate(&energy, &labels, cut, direction)?;
//! assert_eq!((m.flagged, m.precision, m.recall, m.roc_auc), (2, 1.0, 1.0, 1.0));
//! # Ok::<(), dagmm_evaluation::EvaluationError>(())
//! ```

mod check;
mod confusion;
pub mod error;
pub mod paired;
pub mod pu;
mod ranking;
mod report;
mod threshold;

pub use confusion::Confusion;
pub use error::{EvaluationError, Result};
pub use pu::{LogisticConfig, LogisticRegression, PuConfig, PuThreshold};
pub use ranking::{
    average_precision, best_f1_threshold, pr_curve, roc_auc, roc_curve, BestThreshold,
};
pub use report::{evaluate, percentile_sweep, Metrics, SweepRow};
pub use threshold::{flag, percentile, percentiles, resolve_threshold, Direction, Threshold};
