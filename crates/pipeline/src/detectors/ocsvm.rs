//! The one-class SVM (Schölkopf et al. 2001), the DAGMM paper's OC-SVM baseline (`[ocsvm]`): an
//! RBF kernel `K(x, y) = exp(−γ‖x − y‖²)` and `ν`, solved by linfa-svm's SMO (libsvm's one-class
//! formulation: `0 ≤ α_i ≤ 1`, `Σ α_i = ν n`); the anomaly score is `−f(x) = ρ − Σ α_i K(x_i, x)`,
//! higher outside the learnt support.
//!
//! The SMO holds the whole kernel matrix, `n²` numbers: KDDCUP's ~200,000 training rows would
//! take 320 GB. The detector fits on at most `max_train_rows` training rows, a subsample drawn
//! with the run's seed when there are more, and the summary records how many it used
//! (`ocsvm.rows_fitted` of `ocsvm.rows_available`).

use std::path::Path;

use dagmm_classic_gmm::Rows;
use dagmm_data::FeaturesView;
use dagmm_model::{Checkpointing, DeviceChoice};
use linfa::prelude::{Fit, Pr};
use linfa_svm::Svm;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::classic::FeatureRows;
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores, ScoreName, SCORE_BLOCK_ROWS};
use crate::files::{read_json, write_json};
use crate::{PipelineError, Result};

/// File of a saved one-class SVM in a model folder.
pub const OCSVM_FILE: &str = "ocsvm.json";
const FORMAT: &str = "dagmm-ocsvm";
const VERSION: u32 = 1;

/// The one-class SVM family.
pub(super) struct OcSvm;

/// `[ocsvm]`: the one-class SVM's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcSvmSection {
    /// `ν ∈ (0, 1]`: an upper bound on the share of training rows left outside the support and a
    /// lower bound on the share of support vectors (Schölkopf et al.'s parameter).
    pub nu: f64,
    /// The RBF kernel's `γ`; absent: `1 / (d · Var(X))` over the fitted rows' values
    /// (scikit-learn's `gamma = "scale"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// The most training rows the SMO is given (its kernel matrix holds `n²` numbers: 5,000 rows
    /// take 200 MB); more are subsampled with the run's seed.
    pub max_train_rows: usize,
    /// The SMO's stopping tolerance (libsvm's `eps`).
    pub tol: f64,
}

impl Default for OcSvmSection {
    fn default() -> Self {
        OcSvmSection {
            nu: 0.1,
            gamma: None,
            max_train_rows: 5_000,
            tol: 1e-3,
        }
    }
}

/// What the summary records of a one-class SVM's fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcSvmFit {
    pub nu: f64,
    /// The `γ` used (given, or computed from the rows).
    pub gamma: f64,
    pub rho: f64,
    pub n_support: usize,
    /// Rows the SMO was given.
    pub rows_fitted: usize,
    /// Training rows there were (more than `rows_fitted`: a seeded subsample).
    pub rows_available: usize,
}

impl Family for OcSvm {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Ocsvm
    }

    fn name(&self) -> &'static str {
        "ocsvm"
    }

    fn sections(&self) -> &'static [&'static str] {
        &["ocsvm"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FITTED_ONCE
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        let s = config.ocsvm.clone().unwrap_or_default();
        if !(s.nu > 0.0 && s.nu <= 1.0) {
            return Err(format!("ocsvm.nu must lie in (0, 1], got {}", s.nu));
        }
        if let Some(g) = s.gamma {
            if !(g.is_finite() && g > 0.0) {
                return Err(format!("ocsvm.gamma must be finite and > 0, got {g}"));
            }
        }
        if s.max_train_rows < 2 {
            return Err(format!(
                "ocsvm.max_train_rows must be at least 2, got {}",
                s.max_train_rows
            ));
        }
        if !(s.tol.is_finite() && s.tol > 0.0) {
            return Err(format!("ocsvm.tol must be finite and > 0, got {}", s.tol));
        }
        Ok(())
    }

    fn resolve(&self, config: &mut RunConfig) {
        config.ocsvm = Some(config.ocsvm.clone().unwrap_or_default());
    }

    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        _labels: Option<&[u8]>,
        _checkpoints: Option<&Checkpointing>,
        _on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        let section = config.ocsvm.clone().unwrap_or_default();
        let (detector, fit) = OcSvmDetector::fit(&section, config.seed(), x)?;
        Ok(Fitted {
            detector: Box::new(detector),
            history: Vec::new(),
            report: FitReport::OcSvm(fit),
        })
    }

    fn load(&self, dir: &Path, _device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(OcSvmDetector::load(dir)?))
    }
}

/// A fitted one-class SVM: its support vectors, their weights `α_i`, `ρ` and `γ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcSvmDetector {
    format: String,
    version: u32,
    gamma: f64,
    rho: f64,
    /// One row per support vector.
    support_vectors: Vec<Vec<f64>>,
    alphas: Vec<f64>,
}

impl OcSvmDetector {
    /// Fits on the rows of `x` (a seeded subsample of `section.max_train_rows` when there are
    /// more; only those rows are widened to f64).
    pub fn fit(section: &OcSvmSection, seed: u64, x: FeaturesView<'_>) -> Result<(Self, OcSvmFit)> {
        let n = x.nrows();
        if n < 2 {
            return Err(PipelineError::Invalid(format!(
                "the one-class SVM needs at least 2 training rows, got {n}"
            )));
        }
        let rows: Array2<f64> = if n > section.max_train_rows {
            let mut picked = sample(
                &mut ChaCha8Rng::seed_from_u64(seed),
                n,
                section.max_train_rows,
            )
            .into_vec();
            picked.sort_unstable();
            x.rows_f64(picked.into_iter())
        } else {
            x.to_f64().into_owned()
        };
        let gamma = section.gamma.unwrap_or_else(|| scale_gamma(rows.view()));
        let model: Svm<f64, bool> = Svm::<f64, Pr>::params()
            .nu_weight(section.nu)
            .gaussian_kernel(1.0 / gamma)
            .eps(section.tol)
            .fit(&linfa::DatasetBase::from(rows.clone()))
            .map_err(|e| PipelineError::Invalid(format!("the one-class SVM's fit: {e}")))?;
        // linfa's support vectors are the rows whose α is not (numerically) zero.
        let tiny = 100.0 * f64::EPSILON;
        let (support_vectors, alphas): (Vec<Vec<f64>>, Vec<f64>) = rows
            .outer_iter()
            .zip(&model.alpha)
            .filter(|(_, a)| a.abs() > tiny)
            .map(|(r, a)| (r.to_vec(), *a))
            .unzip();
        let detector = OcSvmDetector {
            format: FORMAT.into(),
            version: VERSION,
            gamma,
            rho: model.rho,
            support_vectors,
            alphas,
        };
        let fit = OcSvmFit {
            nu: section.nu,
            gamma,
            rho: model.rho,
            n_support: detector.alphas.len(),
            rows_fitted: rows.nrows(),
            rows_available: n,
        };
        Ok((detector, fit))
    }

    /// The decision value `f(x) = Σ α_i K(x_i, x) − ρ` of one row (positive inside the support).
    pub fn decision(&self, x: ArrayView1<f64>) -> f64 {
        let sum: f64 = self
            .support_vectors
            .iter()
            .zip(&self.alphas)
            .map(|(sv, a)| {
                let d2: f64 = sv
                    .iter()
                    .zip(x.iter())
                    .map(|(s, v)| (s - v) * (s - v))
                    .sum();
                a * (-self.gamma * d2).exp()
            })
            .sum();
        sum - self.rho
    }

    /// Reads a one-class SVM saved in `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(OCSVM_FILE);
        let model: OcSvmDetector = read_json(&path)?;
        if model.format != FORMAT || model.version != VERSION {
            return Err(PipelineError::Format {
                path,
                message: format!(
                    "{} v{}, expected {FORMAT} v{VERSION}",
                    model.format, model.version
                ),
            });
        }
        let d = model.support_vectors.first().map_or(0, Vec::len);
        if model.alphas.len() != model.support_vectors.len()
            || model.support_vectors.iter().any(|sv| sv.len() != d)
        {
            return Err(PipelineError::Format {
                path,
                message: "support vectors and their weights do not match".into(),
            });
        }
        Ok(model)
    }
}

/// scikit-learn's `gamma = "scale"`: `1 / (d · Var(X))`, the variance over every value of `x`
/// (1 when they are all equal).
fn scale_gamma(x: ArrayView2<f64>) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    if var > 0.0 && var.is_finite() {
        1.0 / (x.ncols() as f64 * var)
    } else {
        1.0
    }
}

impl Detector for OcSvmDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Ocsvm
    }

    fn score_name(&self) -> ScoreName {
        ScoreName::NegativeDecisionFunction
    }

    fn input_dim(&self) -> usize {
        self.support_vectors.first().map_or(0, Vec::len)
    }

    fn score(&self, x: FeaturesView<'_>) -> Result<RowScores> {
        let rows = FeatureRows(x);
        let (n, d) = (rows.n_rows(), rows.n_features());
        let mut decision = Vec::with_capacity(n);
        let mut buffer = Vec::new();
        for start in (0..n).step_by(SCORE_BLOCK_ROWS) {
            let block = rows.block(start, (start + SCORE_BLOCK_ROWS).min(n), &mut buffer);
            decision.par_extend(
                block
                    .par_chunks(d)
                    .map(|row| self.decision(ArrayView1::from(row))),
            );
        }
        Ok(RowScores {
            score: decision.iter().map(|f| -f).collect(),
            columns: vec![("decision_function", decision)],
            embedding: None,
        })
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|error| PipelineError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        write_json(&dir.join(OCSVM_FILE), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Fixture {
        rows: Vec<Vec<f64>>,
        held_out: Vec<Vec<f64>>,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        nu: f64,
        gamma: f64,
        rho: f64,
        n_support: usize,
        train_decision: Vec<f64>,
        held_out_decision: Vec<f64>,
    }

    fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
        let d = rows[0].len();
        Array2::from_shape_vec((rows.len(), d), rows.concat()).unwrap()
    }

    /// Ours against scikit-learn's `OneClassSVM` (libsvm) on the same rows and settings
    /// (`fixtures/ocsvm_sklearn.json`, made by `scripts/make_ocsvm_fixture.py`): the same
    /// decision values on the training and held-out rows, the same ρ and about as many support
    /// vectors. The SMOs stop at their tolerances (ours 1e-6 here), so the values agree to 1e-4
    /// of their range, not to the bit.
    #[test]
    fn decision_values_match_scikit_learn() {
        let f: Fixture = serde_json::from_str(include_str!("fixtures/ocsvm_sklearn.json")).unwrap();
        let (x, held_out) = (matrix(&f.rows), matrix(&f.held_out));
        for case in &f.cases {
            let section = OcSvmSection {
                nu: case.nu,
                gamma: Some(case.gamma),
                max_train_rows: 10_000,
                tol: 1e-6,
            };
            let (svm, fit) = OcSvmDetector::fit(&section, 0, x.view().into()).unwrap();
            assert_eq!(fit.rows_fitted, 300);
            let range = case
                .train_decision
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            let check = |rows: &Array2<f64>, want: &[f64], what: &str| {
                for (i, (row, w)) in rows.outer_iter().zip(want).enumerate() {
                    let got = svm.decision(row);
                    assert!(
                        (got - w).abs() <= 1e-4 * range.max(1.0),
                        "nu {} gamma {}: {what} row {i}: ours {got}, scikit-learn {w}",
                        case.nu,
                        case.gamma
                    );
                }
            };
            check(&x, &case.train_decision, "training");
            check(&held_out, &case.held_out_decision, "held-out");
            assert!(
                (fit.rho - case.rho).abs() <= 1e-4 * case.rho.abs().max(1.0),
                "rho {} vs {}",
                fit.rho,
                case.rho
            );
            let diff = fit.n_support.abs_diff(case.n_support);
            assert!(
                diff <= 2,
                "{} support vectors, scikit-learn {}",
                fit.n_support,
                case.n_support
            );
        }
    }

    #[test]
    fn more_rows_than_the_cap_are_subsampled_with_the_seed() {
        let x = Array2::from_shape_fn((60, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let section = OcSvmSection {
            max_train_rows: 20,
            ..OcSvmSection::default()
        };
        let (a, fit) = OcSvmDetector::fit(&section, 4, x.view().into()).unwrap();
        assert_eq!((fit.rows_fitted, fit.rows_available), (20, 60));
        let (b, _) = OcSvmDetector::fit(&section, 4, x.view().into()).unwrap();
        assert_eq!(a, b, "the same seed gives the same fit");
        // gamma = "scale": 1 / (d · Var(X)) of the fitted rows.
        assert!(fit.gamma > 0.0 && fit.gamma.is_finite());
    }

    #[test]
    fn a_saved_detector_scores_the_same() {
        let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 5 + j) % 13) as f64 / 13.0);
        let (svm, _) = OcSvmDetector::fit(&OcSvmSection::default(), 0, x.view().into()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        svm.save(dir.path()).unwrap();
        let back = OcSvmDetector::load(dir.path()).unwrap();
        assert_eq!(back, svm);
        let s = svm.score(x.view().into()).unwrap();
        assert_eq!(s.score, back.score(x.view().into()).unwrap().score);
        // The anomaly score is minus the decision value.
        assert_eq!(s.score[3], -svm.decision(x.row(3)));
    }
}
