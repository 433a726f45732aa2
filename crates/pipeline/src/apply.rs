//! Scoring new rows with a saved detector (`dagmm score`): the model folder's card gives the
//! training columns, the scaling and the run's decision; the detector gives the scores.

use std::path::{Path, PathBuf};

use dagmm_data::Dataset;
use dagmm_evaluation::{evaluate, flag, Direction, Metrics};
use dagmm_model::DeviceChoice;
use ndarray::Array2;

use crate::detector::{Detector, RowScores};
use crate::detectors::{load_detector, DetectorKind};
use crate::protocol::both_classes;
use crate::records::{Decision, ModelCard, CARD_FILE};
use crate::{PipelineError, Result};

/// Name of the model folder inside a run folder.
pub const MODEL_DIR: &str = "model";

/// A detector read back with its card.
pub struct SavedDetector {
    pub card: ModelCard,
    pub detector: Box<dyn Detector>,
    /// The model folder it was read from.
    pub dir: PathBuf,
}

/// New rows scored and flagged as the run that made the detector would have.
pub struct ScoredRows {
    pub scores: RowScores,
    /// PU runs: `1 − h/c` per row (the decision score, cut at 0.5).
    pub pu_score: Option<Vec<f64>>,
    pub flagged: Vec<u8>,
    /// Columns of the file the detector never saw (left out).
    pub ignored_columns: Vec<String>,
    /// With labels of both classes: the decision's metrics.
    pub metrics: Option<Metrics>,
}

impl SavedDetector {
    /// Reads the model folder `dir`, or the `model/` folder of the run folder `dir`; a neural
    /// detector goes to `device` when given.
    pub fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        let model_dir = if dir.join(CARD_FILE).is_file() {
            dir.to_path_buf()
        } else if dir.join(MODEL_DIR).join(CARD_FILE).is_file() {
            dir.join(MODEL_DIR)
        } else {
            return Err(PipelineError::Invalid(format!(
                "{}: no saved detector here (a model folder holds {CARD_FILE}; give the `model` \
                 folder of a run, or the run folder itself)",
                dir.display()
            )));
        };
        let card = ModelCard::load(&model_dir)?;
        let detector = load_detector(card.detector, &model_dir, device).map_err(|e| {
            // A card that names another kind than the files are: say so beside the cause.
            let holds: Vec<String> = std::fs::read_dir(&model_dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let expected = match card.detector {
                DetectorKind::Gmm | DetectorKind::Gaussian => crate::classic::CLASSIC_FILE,
                DetectorKind::Ocsvm => crate::detectors::OCSVM_FILE,
                DetectorKind::Dagmm | DetectorKind::Dsebm | DetectorKind::Dcn => {
                    dagmm_model::MODEL_FILE
                }
            };
            if holds.iter().any(|h| h == expected) {
                e
            } else {
                let mut holds = holds;
                holds.sort();
                PipelineError::Format {
                    path: model_dir.join(CARD_FILE),
                    message: format!(
                        "names a {} detector, whose saved form is {expected}, but the folder \
                         holds {}: the card and the model files disagree (was the card edited \
                         or copied from another run?)",
                        card.detector.name(),
                        holds.join(", ")
                    ),
                }
            }
        })?;
        if detector.input_dim() != card.columns.len() {
            return Err(PipelineError::Format {
                path: model_dir.join(CARD_FILE),
                message: format!(
                    "{} training columns, but the detector reads {}",
                    card.columns.len(),
                    detector.input_dim()
                ),
            });
        }
        Ok(SavedDetector {
            card,
            detector,
            dir: model_dir,
        })
    }

    /// Scores the rows of `data` (read from `path`): columns put in the training order, scaled
    /// as the training rows were, scored, and flagged by the run's decision.
    pub fn score(&self, data: &Dataset, path: &Path) -> Result<ScoredRows> {
        let (features, ignored_columns) = align_columns(data, &self.card.columns, path)?;
        let x = self.card.scaler.transform(features.view())?;
        let scores = self.detector.score(x.view().into())?;
        if let Some(i) = scores.score.iter().position(|s| !s.is_finite()) {
            // The value furthest from the training rows' range, as scaled, is the likely cause.
            let row = x.row(i);
            let j = (0..row.len())
                .max_by(|&a, &b| row[a].abs().total_cmp(&row[b].abs()))
                .unwrap_or(0);
            return Err(PipelineError::Invalid(format!(
                "{}: row {i} (counting from 0, as scores.csv's `index`) scores {}: its column \
                 `{}` holds {}, which is {} after the training rows' scaling, too far out for \
                 the detector; training refuses such values too: remove or correct the row",
                path.display(),
                scores.score[i],
                self.card.columns.get(j).map_or("?", String::as_str),
                dagmm_data::short_number(features[[i, j]]),
                dagmm_data::short_number(row[j])
            )));
        }
        let (decision_score, cut, pu_score, flagged) = match &self.card.decision {
            Decision::Cut { threshold, .. } => (
                scores.score.clone(),
                *threshold,
                None,
                flag(&scores.score, *threshold, Direction::HighIsAnomalous),
            ),
            Decision::Pu(classifier) => {
                let (f, _) = scores.features();
                let pu = classifier.anomaly_score(&f)?;
                let flagged = classifier.flag(&f)?;
                (pu.clone(), 0.5, Some(pu), flagged)
            }
        };
        let metrics = both_classes(data.labels.as_deref())
            .map(|labels| evaluate(&decision_score, labels, cut, Direction::HighIsAnomalous))
            .transpose()?;
        Ok(ScoredRows {
            scores,
            pu_score,
            flagged,
            ignored_columns,
            metrics,
        })
    }
}

/// Puts the columns of `data` in the order the detector was trained on. Missing one-hot columns
/// (`name=value`, a category this file lacks) are zero; a missing plain column is an error; the
/// columns the training data never had are returned (they are left out).
pub fn align_columns(
    data: &Dataset,
    trained: &[String],
    path: &Path,
) -> Result<(Array2<f64>, Vec<String>)> {
    if data.columns == trained {
        return Ok((data.features.clone(), Vec::new()));
    }
    let mut out = Array2::zeros((data.n_rows(), trained.len()));
    for (j, name) in trained.iter().enumerate() {
        match data.columns.iter().position(|c| c == name) {
            Some(k) => out.column_mut(j).assign(&data.features.column(k)),
            None if name.contains('=') => {}
            None => {
                return Err(PipelineError::Invalid(format!(
                    "{}: no column `{name}`, which the detector was trained on",
                    path.display()
                )))
            }
        }
    }
    let unseen = data
        .columns
        .iter()
        .filter(|c| !trained.contains(c))
        .cloned()
        .collect();
    Ok((out, unseen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_reordered_missing_categories_are_zero_and_unseen_ones_reported() {
        let data = Dataset::new(
            ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
            None,
            vec!["b".into(), "a".into(), "proto=udp".into()],
        )
        .unwrap();
        let trained: Vec<String> = ["a", "b", "proto=tcp"].map(String::from).to_vec();
        let (x, unseen) = align_columns(&data, &trained, Path::new("f.csv")).unwrap();
        assert_eq!(x, ndarray::array![[2.0, 1.0, 0.0], [5.0, 4.0, 0.0]]);
        assert_eq!(unseen, vec!["proto=udp".to_string()]);
        let trained: Vec<String> = ["a", "c"].map(String::from).to_vec();
        let err = align_columns(&data, &trained, Path::new("f.csv"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.csv") && err.contains("`c`"), "{err}");
    }
}
