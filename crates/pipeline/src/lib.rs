//! One pipeline for every detector. A run config ([`RunConfig`]) names a detector (`[model]
//! kind`: DAGMM with all its variants and the DAGMM paper's baselines, an EM Gaussian mixture,
//! a single Gaussian) and a protocol; [`run`] takes any of them through the same steps
//! ([`protocol`]): load, split (the paper's, all anomalies in test, all rows, normal rows; with
//! contamination), scale, judge the untrained control, fit, score, cut by the threshold rule (test
//! percentile, train+test percentile, test contamination, a value) or by the PU classifier, and
//! measure. The results come back as typed records ([`RunSummary`], [`ModelCard`]) that are
//! written and read by the same types; [`SavedDetector`] scores new rows with a saved one.
//!
//! Each detector has one home in [`detectors`]: a [`Family`] (its config sections, validation,
//! capabilities, fit, untrained control and loading) behind [`DetectorKind::family`], and a
//! fitted [`Detector`] (score rows, higher = more anomalous; save).
//!
//! It is not the command line: it writes nothing but the files of a saved detector, and prints
//! nothing; the `dagmm` binary decides where results go.

mod apply;
mod classic;
pub mod config;
pub mod defaults;
mod describe;
mod detector;
pub mod detectors;
mod error;
pub mod files;
pub mod memory;
pub mod peer;
pub mod protocol;
mod pu;
pub mod records;
mod run;

pub use apply::{align_columns, SavedDetector, ScoredRows, MODEL_DIR};
pub use classic::{
    BicRow, BicSelectionRecord, ClassicDetector, ClassicFit, ClassicModel, ClassicShape,
    CLASSIC_FILE,
};
pub use config::{
    DataSection, EvaluationSection, GaussianSection, GmmSection, RunConfig, Source, Split,
    ThresholdRule,
};
pub use detector::{Detector, RowScores, ScoreName};
pub use detectors::{
    load_detector, Capabilities, DagmmDetector, DetectorKind, Family, FitProgress, FitReport,
    Fitted, OcSvmDetector, OcSvmFit, OcSvmSection, OCSVM_FILE,
};
pub use error::{PipelineError, Result};
pub use pu::{pu_decide, PuOutcome};
pub use records::{
    Curves, Decision, DecisionKind, Metric, ModelCard, RuleOutcome, RunSummary, CARD_FILE,
    SUMMARY_FILE,
};
pub use run::{run, run_checkpointed, RunEvent, RunOutput, TestRows, Timings};
