//! Scoring new rows with a saved detector (`dagmm score`): the model folder's card gives the
//! training columns, the scaling and the run's decision; the detector gives the scores.

use std::path::{Path, PathBuf};

use dagmm_data::{Dataset, LoadedRows};
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
        let mut scored = self.score_part(data, path, 0)?;
        scored.metrics = metrics(&self.card.decision, &scored, data.labels.as_deref())?;
        Ok(scored)
    }

    /// [`SavedDetector::score`] on loaded rows, a chunk at a time
    /// ([`LoadedRows::into_chunks`]), so that the expanded rows never exist whole: KDDCUP's
    /// 494,021 rows stay encoded and each chunk's expanded, aligned and scaled copies are freed
    /// once scored. The scores hold no embedding.
    pub fn score_rows(&self, rows: LoadedRows, path: &Path) -> Result<ScoredRows> {
        let labels = rows.labels.clone();
        let mut all: Option<ScoredRows> = None;
        let mut first = 0;
        for chunk in rows.into_chunks() {
            let chunk = chunk?;
            let mut part = self.score_part(&chunk, path, first)?;
            // A chunk's embedding served its PU decision; `scores.csv` does not hold it.
            part.scores.embedding = None;
            first += chunk.n_rows();
            match &mut all {
                None => all = Some(part),
                Some(all) => all.append(part),
            }
        }
        let mut scored = all.ok_or_else(|| {
            PipelineError::Invalid(format!("{}: no rows to score", path.display()))
        })?;
        scored.metrics = metrics(&self.card.decision, &scored, labels.as_deref())?;
        Ok(scored)
    }

    /// Scores and flags the rows of `data`, the rows from `first` on of the file `path` (errors
    /// name a row by its number in the file); no metrics.
    fn score_part(&self, data: &Dataset, path: &Path, first: usize) -> Result<ScoredRows> {
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
                "{}: row {} (counting from 0, as scores.csv's `index`) scores {}: its column \
                 `{}` holds {}, which is {} after the training rows' scaling, too far out for \
                 the detector; training refuses such values too: remove or correct the row",
                path.display(),
                first + i,
                scores.score[i],
                self.card.columns.get(j).map_or("?", String::as_str),
                dagmm_data::short_number(features[[i, j]]),
                dagmm_data::short_number(row[j])
            )));
        }
        let (pu_score, flagged) = match &self.card.decision {
            Decision::Cut { threshold, .. } => (
                None,
                flag(&scores.score, *threshold, Direction::HighIsAnomalous),
            ),
            Decision::Pu(classifier) => {
                let (f, _) = scores.features();
                let pu = classifier.anomaly_score(&f)?;
                let flagged = classifier.flag(&f)?;
                (Some(pu), flagged)
            }
        };
        Ok(ScoredRows {
            scores,
            pu_score,
            flagged,
            ignored_columns,
            metrics: None,
        })
    }
}

impl ScoredRows {
    /// Puts the next rows' scores after these.
    fn append(&mut self, next: ScoredRows) {
        self.scores.append(next.scores);
        if let (Some(a), Some(b)) = (&mut self.pu_score, next.pu_score) {
            a.extend(b);
        }
        self.flagged.extend(next.flagged);
    }
}

/// With labels of both classes, the metrics of `decision`'s flags on the scored rows: its cut on
/// the score, or the PU classifier's score cut at 0.5.
fn metrics(
    decision: &Decision,
    scored: &ScoredRows,
    labels: Option<&[u8]>,
) -> Result<Option<Metrics>> {
    let (decision_score, cut) = match (decision, &scored.pu_score) {
        (Decision::Cut { threshold, .. }, _) => (&scored.scores.score, *threshold),
        (Decision::Pu(_), Some(pu)) => (pu, 0.5),
        (Decision::Pu(_), None) => return Ok(None),
    };
    Ok(both_classes(labels)
        .map(|labels| evaluate(decision_score, labels, cut, Direction::HighIsAnomalous))
        .transpose()?)
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
