//! The one interface every detector offers: fitted on training rows, it scores rows (higher =
//! more anomalous) and saves itself into a folder (its [`Family`](crate::detectors::Family) fits
//! one and loads one back).

use std::path::Path;

use dagmm_data::FeaturesView;
use ndarray::Array2;

use serde::{Deserialize, Serialize};

use crate::detectors::DetectorKind;
use crate::Result;

/// What a detector's score is (higher = more anomalous, whichever), as summaries and model cards
/// record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreName {
    /// A sample energy: DAGMM's under the fitted mixture, DSEBM's from its energy network.
    #[default]
    Energy,
    /// The standardised energy plus the weighted standardised reconstruction error.
    EnergyPlusReconstruction,
    /// `‖x − x'‖²` (DSEBM's `x' = x − ∂E/∂x`).
    ReconstructionError,
    /// `−log p(x)` under a fitted Gaussian or mixture.
    NegativeLogLikelihood,
    /// Minus a one-class SVM's decision value, `ρ − Σ α_i K(x_i, x)`.
    NegativeDecisionFunction,
    /// The Euclidean distance of a row's code to its nearest centroid (DCN).
    CentroidDistance,
}

impl ScoreName {
    /// The name files use.
    pub fn name(self) -> &'static str {
        match self {
            ScoreName::Energy => "energy",
            ScoreName::EnergyPlusReconstruction => "energy_plus_reconstruction",
            ScoreName::ReconstructionError => "reconstruction_error",
            ScoreName::NegativeLogLikelihood => "negative_log_likelihood",
            ScoreName::NegativeDecisionFunction => "negative_decision_function",
            ScoreName::CentroidDistance => "centroid_distance",
        }
    }
}

impl std::fmt::Display for ScoreName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The scores of some rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RowScores {
    /// The anomaly score per row: higher = more anomalous.
    pub score: Vec<f64>,
    /// Other per-row values written beside the score, by name: `energy` and
    /// `reconstruction_error` for DAGMM, `log_likelihood` for the classic detectors.
    pub columns: Vec<(&'static str, Vec<f64>)>,
    /// A low-dimensional representation of every row (DAGMM's `z`), when the detector has one.
    pub embedding: Option<Array2<f64>>,
}

impl RowScores {
    pub fn len(&self) -> usize {
        self.score.len()
    }

    pub fn is_empty(&self) -> bool {
        self.score.is_empty()
    }

    /// Puts the next rows' scores after these (the same detector's columns).
    pub fn append(&mut self, next: RowScores) {
        self.score.extend(next.score);
        for ((name, values), (next_name, next_values)) in self.columns.iter_mut().zip(next.columns)
        {
            debug_assert_eq!(*name, next_name);
            values.extend(next_values);
        }
        self.embedding = match (self.embedding.take(), next.embedding) {
            (Some(a), Some(b)) => {
                ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).ok()
            }
            _ => None,
        };
    }

    /// A named column.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// What a classifier on top of the detector sees of row `i` (the PU setup): the embedding,
    /// then the named columns; the score alone for a detector that has neither.
    pub fn features(&self) -> (Vec<f64>, usize) {
        let width = self.embedding.as_ref().map_or(0, |e| e.ncols()) + self.columns.len();
        if width == 0 {
            return (self.score.clone(), 1);
        }
        let mut v = Vec::with_capacity(self.len() * width);
        for i in 0..self.len() {
            if let Some(e) = &self.embedding {
                v.extend(e.row(i).iter());
            }
            v.extend(self.columns.iter().map(|(_, c)| c[i]));
        }
        (v, width)
    }
}

/// Rows the one-class SVM scores at a time when its input is not one `f64` matrix already (f32 or
/// encoded rows are widened a block at a time, never whole: KDDCUP's test half is 233 MB in f64).
pub(crate) const SCORE_BLOCK_ROWS: usize = 8192;

/// A fitted detector.
pub trait Detector {
    /// Which kind it is (how `load_detector` reads it back).
    fn kind(&self) -> DetectorKind;
    /// What the score is.
    fn score_name(&self) -> ScoreName;
    /// Number of input features.
    fn input_dim(&self) -> usize;
    /// Scores of the rows of `x` (scaled as the training rows were), in either precision.
    fn score(&self, x: FeaturesView<'_>) -> Result<RowScores>;
    /// Writes the detector into `dir` (created); other files there are left alone.
    fn save(&self, dir: &Path) -> Result<()>;
}
