//! The evaluation protocol every detector goes through: load the configured data, split it
//! ([`Split`], with `data.contamination`), scale it (fitted on the training rows), and judge
//! scores: the configured threshold rule's cut and flags, precision, recall, F1, ROC AUC and PR AUC,
//! the percentile sweep, and every comparable rule side by side.

use std::path::PathBuf;

use dagmm_data::scaling::Scaler;
use dagmm_data::split::SplitRows;
use dagmm_data::{Features, LoadOptions};
use dagmm_evaluation::{
    best_f1_threshold, evaluate, flag, percentile, percentile_sweep, resolve_threshold,
    BestThreshold, Direction, Metrics, SweepRow, Threshold,
};

use crate::config::{data_path, EvaluationSection, RunConfig, Source, Split, ThresholdRule};
use crate::records::RuleOutcome;
use crate::{PipelineError, Result};

/// Every score of this crate is an anomaly score.
const HIGH: Direction = Direction::HighIsAnomalous;

/// The rows of a run after the split and the scaling.
#[derive(Debug, Clone)]
pub struct PreparedData {
    pub path: PathBuf,
    pub n_rows: usize,
    pub columns: Vec<String>,
    pub scaler: Scaler,
    /// The rows the detector is fitted on, scaled, in the detector's precision
    /// ([`Capabilities::precision`](crate::Capabilities::precision)).
    pub train: Features,
    pub train_labels: Option<Vec<u8>>,
    /// The rows the detector is judged on, scaled; `None` when they are the training rows
    /// (`all_rows`), which are then held once.
    test: Option<Features>,
    pub test_labels: Option<Vec<u8>>,
    /// Row numbers of the judged rows in the loaded data set.
    pub test_indices: Vec<usize>,
}

impl PreparedData {
    /// The rows the detector is judged on, scaled.
    pub fn test(&self) -> &Features {
        self.test.as_ref().unwrap_or(&self.train)
    }

    /// Whether the judged rows are the training rows (`all_rows`).
    pub fn judged_on_training_rows(&self) -> bool {
        self.test.is_none()
    }

    pub fn n_train_anomalies(&self) -> Option<usize> {
        count_ones(&self.train_labels)
    }

    pub fn n_test_anomalies(&self) -> Option<usize> {
        count_ones(&self.test_labels)
    }
}

fn count_ones(labels: &Option<Vec<u8>>) -> Option<usize> {
    labels
        .as_ref()
        .map(|l| l.iter().filter(|&&v| v == 1).count())
}

/// Loads the configured data set (KDDCUP-Rev drawn from KDDCUP), splits it as the config says,
/// and scales both parts with the scaling fitted on the training part, in the precision of the
/// config's detector.
///
/// The loaded rows stay as compact as their format allows ([`dagmm_data::LoadedRows`]): the split
/// is made of row numbers, the scaling is fitted on the training rows one at a time, and the parts
/// are written while the loaded rows are freed, so the whole expanded matrix never exists.
/// KDDCUP's parts stay encoded too, in f32 for a network and in f64 for the classic detectors,
/// which expand them a block at a time (KDDCUP 10%: 466 MB expanded in f64, 156 MB loaded
/// encoded, 73 MB in the two encoded f32 parts and 141 MB in f64; 210 MB had they been expanded
/// in f32).
pub fn prepare(config: &RunConfig) -> Result<PreparedData> {
    let data = &config.data;
    let path = data_path(data)?;
    let mut rows = dagmm_data::load_rows(
        &path,
        LoadOptions {
            label_column: data.label_column.as_deref(),
            names: data.names.as_deref(),
        },
    )?;
    if data.source == Source::KddcupRev {
        let labels = rows.labels.as_deref().ok_or_else(|| {
            PipelineError::Invalid(format!(
                "{}: KDDCUP-Rev needs a labelled data set",
                path.display()
            ))
        })?;
        let (kept, labels) = dagmm_data::kddcup::kddcup_rev_rows(labels, config.split_seed())?;
        rows = rows.select(&kept, Some(labels))?;
    }
    if rows.n_features() == 0 {
        return Err(PipelineError::Invalid(format!(
            "{}: no feature columns (only a label?)",
            path.display()
        )));
    }
    let parts = split(config, rows.n_rows(), rows.labels.as_deref(), &path)?;
    // The scaler's errors name the column; the file is named here.
    let in_file = |e: dagmm_data::DataError| {
        PipelineError::Invalid(format!("{}: data.scaling: {e}", path.display()))
    };
    let scaler = rows
        .fit_scaler(data.scaling, &parts.train)
        .map_err(in_file)?;
    let n_rows = rows.n_rows();
    let columns = rows.columns.clone();
    let labels_of = |part: &[usize]| {
        rows.labels
            .as_ref()
            .map(|l| part.iter().map(|&i| l[i]).collect::<Vec<u8>>())
    };
    let (train_labels, test_labels) = (labels_of(&parts.train), labels_of(&parts.test));
    let same_rows = parts.train == parts.test;
    let precision = config.kind().capabilities().precision;
    let test_rows: &[usize] = if same_rows { &[] } else { &parts.test };
    let [train, test] = rows
        .into_parts([&parts.train, test_rows], &scaler, precision)
        .map_err(in_file)?;
    let test = (!same_rows).then_some(test);
    Ok(PreparedData {
        n_rows,
        columns,
        train,
        train_labels,
        test,
        test_labels,
        test_indices: parts.test,
        scaler,
        path,
    })
}

/// The training rows and the judged rows, by row number (each ascending).
fn split(
    config: &RunConfig,
    n_rows: usize,
    labels: Option<&[u8]>,
    path: &std::path::Path,
) -> Result<SplitRows> {
    let data = &config.data;
    let seed = config.split_seed();
    let split = config.evaluation.split;
    let every_row = || (0..n_rows).collect::<Vec<usize>>();
    let labelled = || {
        let labels = labels.ok_or_else(|| {
            PipelineError::Invalid(format!(
                "{}: the data have no labels; evaluation.split = \"{}\" needs them \
                 (data.label_column, --label-column)",
                path.display(),
                split.name()
            ))
        })?;
        if !labels.contains(&0) && !config.trains_on_whole_half() {
            return Err(PipelineError::Invalid(format!(
                "{}: no row is labelled 0 (normal), so there is nothing to fit on",
                path.display()
            )));
        }
        Ok(labels)
    };
    Ok(match split {
        Split::AllRows => SplitRows {
            train: every_row(),
            test: every_row(),
        },
        Split::Paper => match data.contamination {
            Some(c) => SplitRows::contaminated(labelled()?, data.train_fraction, seed, c)?,
            None => SplitRows::halves(
                n_rows,
                Some(labelled()?),
                data.train_fraction,
                seed,
                config.trains_on_whole_half(),
            )?,
        },
        Split::AllAnomaliesInTest => {
            SplitRows::all_anomalies_in_test(labelled()?, data.train_fraction, seed)?
        }
        Split::NormalRows => {
            let labels = labelled()?;
            SplitRows {
                train: (0..n_rows).filter(|&i| labels[i] == 0).collect(),
                test: every_row(),
            }
        }
    })
}

/// Scores judged by the protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub rule: ThresholdRule,
    /// The cut: rows scoring strictly above it are flagged.
    pub threshold: f64,
    pub flagged: Vec<u8>,
    /// With labels of both classes.
    pub metrics: Option<Metrics>,
    pub best_f1: Option<BestThreshold>,
    pub sweep: Vec<SweepRow>,
    /// Every comparable rule (those the data allow) on the same scores.
    pub rules: Vec<RuleOutcome>,
}

/// The cut of `rule` on `test` scores (`train` scores join them for the pooled rule).
pub fn cut(
    rule: ThresholdRule,
    evaluation: &EvaluationSection,
    train: &[f64],
    test: &[f64],
    test_labels: Option<&[u8]>,
) -> Result<f64> {
    let need_percentile = || {
        evaluation.anomaly_percentile.ok_or_else(|| {
            PipelineError::Invalid(format!(
                "threshold rule {} needs evaluation.anomaly_percentile",
                rule.name()
            ))
        })
    };
    Ok(match rule {
        ThresholdRule::TestPercentile => {
            resolve_threshold(test, &Threshold::Percentile(need_percentile()?), HIGH)?
        }
        ThresholdRule::TrainTestPercentile => {
            let pooled: Vec<f64> = train.iter().chain(test).copied().collect();
            resolve_threshold(&pooled, &Threshold::Percentile(need_percentile()?), HIGH)?
        }
        ThresholdRule::TestContamination => {
            let labels = test_labels.ok_or_else(|| {
                PipelineError::Invalid(
                    "threshold rule test_contamination needs the test rows' labels".into(),
                )
            })?;
            let anomalies = labels.iter().filter(|&&l| l == 1).count();
            if anomalies == 0 || anomalies == labels.len() {
                return Err(PipelineError::Invalid(format!(
                    "threshold rule test_contamination needs both classes among the test rows \
                     ({anomalies} anomalies of {})",
                    labels.len()
                )));
            }
            // NumPy's percentile at 100·(1 − a/n) lies between the a-th and (a+1)-th highest
            // scores, so exactly a rows (ties aside) score above it.
            percentile(test, 100.0 * (1.0 - anomalies as f64 / labels.len() as f64))?
        }
        ThresholdRule::Value => evaluation.threshold_value.ok_or_else(|| {
            PipelineError::Invalid("threshold rule value needs evaluation.threshold_value".into())
        })?,
    })
}

/// Checks that every score is a number: a NaN or infinite score means the detector diverged.
pub fn check_scores(what: &str, scores: &[f64]) -> Result<()> {
    match scores.iter().position(|s| !s.is_finite()) {
        Some(i) => Err(PipelineError::Invalid(format!(
            "the score of {what} row {i} is {}: the detector diverged",
            scores[i]
        ))),
        None => Ok(()),
    }
}

/// Whether labels hold both classes (what every metric needs).
pub fn both_classes(labels: Option<&[u8]>) -> Option<&[u8]> {
    labels.filter(|l| l.contains(&0) && l.contains(&1))
}

/// Judges `test` scores by the configured rule (and every comparable rule beside it).
pub fn judge(
    evaluation: &EvaluationSection,
    train: &[f64],
    test: &[f64],
    test_labels: Option<&[u8]>,
) -> Result<Judgement> {
    check_scores("training", train)?;
    check_scores("test", test)?;
    let rule = evaluation.threshold;
    let threshold = cut(rule, evaluation, train, test, test_labels)?;
    let flagged = flag(test, threshold, HIGH);
    let Some(labels) = both_classes(test_labels) else {
        return Ok(Judgement {
            rule,
            threshold,
            flagged,
            metrics: None,
            best_f1: None,
            sweep: Vec::new(),
            rules: Vec::new(),
        });
    };
    let metrics = evaluate(test, labels, threshold, HIGH)?;
    let mut rules = Vec::new();
    for other in ThresholdRule::COMPARABLE {
        let at = match cut(other, evaluation, train, test, Some(labels)) {
            Ok(at) => at,
            // A percentile rule without a percentile (a `value` run) has nothing to compare.
            Err(PipelineError::Invalid(_)) => continue,
            Err(e) => return Err(e),
        };
        let m = evaluate(test, labels, at, HIGH)?;
        rules.push(RuleOutcome {
            rule: other,
            threshold: at,
            flagged: m.flagged,
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
        });
    }
    Ok(Judgement {
        rule,
        threshold,
        flagged,
        best_f1: Some(best_f1_threshold(test, labels, HIGH)?),
        sweep: percentile_sweep(test, labels, &evaluation.sweep_percentiles, HIGH)?,
        metrics: Some(metrics),
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(rule: ThresholdRule, p: Option<f64>) -> EvaluationSection {
        EvaluationSection {
            threshold: rule,
            anomaly_percentile: p,
            ..EvaluationSection::default()
        }
    }

    /// Ten test scores 1..=10, the three highest (8, 9, 10) anomalies; training scores 0.5..2.
    fn hand() -> (Vec<f64>, Vec<f64>, Vec<u8>) {
        let test: Vec<f64> = (1..=10).map(f64::from).collect();
        let labels = vec![0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        let train = vec![0.5, 1.0, 1.5, 2.0];
        (train, test, labels)
    }

    #[test]
    fn the_test_percentile_rule_flags_the_top_share_of_test_scores() {
        let (train, test, labels) = hand();
        // NumPy: percentile(1..=10, 80) = 8.2, so 9 and 10 are flagged.
        let j = judge(
            &evaluation(ThresholdRule::TestPercentile, Some(20.0)),
            &train,
            &test,
            Some(&labels),
        )
        .unwrap();
        assert!((j.threshold - 8.2).abs() < 1e-12);
        assert_eq!(j.flagged, vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        let m = j.metrics.unwrap();
        // Anomalies are 8, 9, 10: tp 2 (9, 10), fn 1 (8).
        assert_eq!((m.confusion.tp, m.confusion.fp, m.confusion.fn_), (2, 0, 1));
        assert_eq!(m.precision, 1.0);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_pooled_rule_cuts_train_and_test_scores_together() {
        let (train, test, labels) = hand();
        // 14 scores: 0.5 1 1 1.5 2 2 3 ... 10; the 70th percentile at index 0.7·13 = 9.1 of the
        // sorted list [0.5, 1, 1, 1.5, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10]: 6 + 0.1·(7 − 6) = 6.1.
        let j = judge(
            &evaluation(ThresholdRule::TrainTestPercentile, Some(30.0)),
            &train,
            &test,
            Some(&labels),
        )
        .unwrap();
        assert!((j.threshold - 6.1).abs() < 1e-12, "{}", j.threshold);
        assert_eq!(j.flagged.iter().filter(|&&f| f == 1).count(), 4); // 7, 8, 9, 10
        let m = j.metrics.unwrap();
        assert_eq!((m.confusion.tp, m.confusion.fp), (3, 1));
    }

    #[test]
    fn the_contamination_rule_flags_as_many_rows_as_there_are_anomalies() {
        let (train, test, labels) = hand();
        let j = judge(
            &evaluation(ThresholdRule::TestContamination, None),
            &train,
            &test,
            Some(&labels),
        )
        .unwrap();
        // Three anomalies: 8, 9, 10 flagged; P = R = F1 = 1 here.
        assert_eq!(j.flagged.iter().filter(|&&f| f == 1).count(), 3);
        let m = j.metrics.unwrap();
        assert_eq!((m.precision, m.recall, m.f1), (1.0, 1.0, 1.0));
        // Without a percentile only the contamination rule can be compared.
        assert_eq!(j.rules.len(), 1);
        // Every rule is recorded beside the configured one when a percentile is given.
        let j = judge(
            &evaluation(ThresholdRule::TestContamination, Some(20.0)),
            &train,
            &test,
            Some(&labels),
        )
        .unwrap();
        let names: Vec<&str> = j.rules.iter().map(|r| r.rule.name()).collect();
        assert_eq!(
            names,
            [
                "test_percentile",
                "train_test_percentile",
                "test_contamination"
            ]
        );
        for r in &j.rules {
            if r.rule == ThresholdRule::TestContamination {
                assert_eq!((r.precision, r.recall), (r.f1, r.f1));
            }
        }
    }

    #[test]
    fn precision_equals_recall_under_the_contamination_rule_on_any_scores() {
        let test: Vec<f64> = (0..97).map(|i| ((i * 37) % 101) as f64 * 0.5).collect();
        let labels: Vec<u8> = (0..97).map(|i| u8::from(i % 4 == 1)).collect();
        let j = judge(
            &evaluation(ThresholdRule::TestContamination, None),
            &[],
            &test,
            Some(&labels),
        )
        .unwrap();
        let m = j.metrics.unwrap();
        assert_eq!(m.flagged, labels.iter().filter(|&&l| l == 1).count());
        assert_eq!(m.precision, m.recall);
    }

    #[test]
    fn value_rule_and_bad_scores() {
        let (train, test, labels) = hand();
        let mut e = evaluation(ThresholdRule::Value, None);
        e.threshold_value = Some(7.0);
        let j = judge(&e, &train, &test, Some(&labels)).unwrap();
        assert_eq!(j.flagged.iter().filter(|&&f| f == 1).count(), 3);
        let mut bad = test.clone();
        bad[3] = f64::NAN;
        let err = judge(&e, &train, &bad, Some(&labels))
            .unwrap_err()
            .to_string();
        assert!(err.contains("test row 3") && err.contains("NaN"), "{err}");
        // One class only: flags but no metrics.
        let j = judge(&e, &train, &test, Some(&[0; 10])).unwrap();
        assert!(j.metrics.is_none() && j.rules.is_empty());
    }
}
