//! The files a run writes and other commands read back, as types: `summary.json`
//! ([`RunSummary`]), the model folder's `detector.json` ([`ModelCard`]), and the plotting data
//! a summary carries ([`Curves`]).

use std::path::Path;

use dagmm_data::scaling::Scaler;
use dagmm_evaluation::{
    percentile, pr_curve, roc_curve, BestThreshold, Confusion, Direction, Metrics, PuThreshold,
    SweepRow,
};
use dagmm_model::{DeviceChoice, EpochLosses};
use serde::{Deserialize, Serialize};

use crate::classic::{BicSelectionRecord, ClassicShape};
use crate::config::{DataSection, DetectorKind, Source, Split, ThresholdRule};
use crate::detector::ScoreName;
use crate::detectors::OcSvmFit;
use crate::files::{read_json, write_json};
use crate::{PipelineError, Result};

/// Name of a run's summary (written last: its presence marks the run finished).
pub const SUMMARY_FILE: &str = "summary.json";
/// Name of the card of a saved detector in its model folder.
pub const CARD_FILE: &str = "detector.json";
const CARD_FORMAT: &str = "dagmm-detector";
const CARD_VERSION: u32 = 1;

/// The protocol a run followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolRecord {
    pub split: Split,
    pub threshold: ThresholdRule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_percentile: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_value: Option<f64>,
    pub train_fraction: f64,
    /// The configured share of anomalies among the training rows (`data.contamination`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contamination: Option<f64>,
    /// PU (seed 002): the flags come from the classifier, not the threshold rule.
    #[serde(default)]
    pub pu: bool,
}

/// Precision, recall and F1 of the same scores under one threshold rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub rule: ThresholdRule,
    pub threshold: f64,
    pub flagged: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The PU decision of a run (seed 002, modification 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PuRecord {
    /// Elkan–Noto's `c`, the labelling rate of normal rows as the classifier sees it.
    pub c: f64,
    /// The cut on `h`: `c / 2`.
    pub threshold: f64,
    pub labelling_rate: f64,
    /// Normal training rows labelled.
    pub labelled: usize,
    pub labelled_fit: usize,
    pub held_out: usize,
    pub unlabelled: usize,
    pub classifier_converged: bool,
    /// The score's metrics at the run's percentile rule, for comparison.
    pub percentile_metrics: Metrics,
}

/// Per-class counts of test scores over equal bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassHistogram {
    pub edges: Vec<f64>,
    pub normal: Vec<u64>,
    pub anomaly: Vec<u64>,
}

/// What `dagmm report` plots from a summary alone: thinned ROC and PR curves, per-class score
/// histograms, the cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    pub roc: Vec<[f64; 2]>,
    pub pr: Vec<[f64; 2]>,
    pub histogram: ClassHistogram,
    pub threshold: f64,
}

/// `summary.json`: what a run found. Every field but the few every summary has is optional, so
/// that summaries of every detector, and those written by earlier versions, read back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunSummary {
    /// The detector (summaries from before detectors had kinds are DAGMM's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector: Option<DetectorKind>,
    /// The data file.
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolRecord>,
    /// What the score is (higher = more anomalous).
    pub score: ScoreName,
    /// How rows were flagged: by a threshold rule, or by the PU classifier.
    pub decision: DecisionKind,
    pub n_rows: usize,
    pub n_features: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_train: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_train_anomalies: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_test: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_test_anomalies: Option<usize>,
    /// The cut on the score (rows strictly above it are flagged); for PU, 0.5 on `1 − h/c`.
    pub threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_percentile: Option<f64>,
    pub flagged: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roc_auc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_auc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Confusion>,
    /// The oracle cut of highest F1 on the judged rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_f1: Option<BestThreshold>,
    /// Precision, recall and F1 at each swept percentile of the test scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepRow>,
    /// The same scores under every threshold rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threshold_rules: Vec<RuleOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrained_precision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrained_recall: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrained_f1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrained_roc_auc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pu: Option<PuRecord>,
    /// Classic detectors: the mean log-likelihood of the judged rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_log_likelihood: Option<f64>,
    /// Classic detectors: the cut as a log-likelihood (`−threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_likelihood_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_iter: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aic: Option<f64>,
    /// Classic detectors: the mixture's shape and weights (its parameters: `model/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ClassicShape>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<BicSelectionRecord>,
    /// The one-class SVM's fit: ν, γ, ρ, support vectors, and the rows fitted of those there
    /// were (a seeded subsample above `ocsvm.max_train_rows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsvm: Option<OcSvmFit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceChoice>,
    /// Training epochs (`[training]`; pretraining's are in `losses.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Seconds of every training and pretraining epoch together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_seconds: Option<f64>,
    /// Seconds of the whole fit (training, the mixture, EM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    /// Rows per second over every epoch of every stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_loss: Option<EpochLosses>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_loss: Option<EpochLosses>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nan_free: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curves: Option<Curves>,
}

impl RunSummary {
    /// The detector, DAGMM for summaries that predate kinds.
    pub fn detector_kind(&self) -> DetectorKind {
        self.detector.unwrap_or(DetectorKind::Dagmm)
    }

    /// A metric, where the run recorded it.
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Precision => self.precision,
            Metric::Recall => self.recall,
            Metric::F1 => self.f1,
            Metric::RocAuc => self.roc_auc,
            Metric::PrAuc => self.pr_auc,
            Metric::UntrainedPrecision => self.untrained_precision,
            Metric::UntrainedRecall => self.untrained_recall,
            Metric::UntrainedF1 => self.untrained_f1,
            Metric::UntrainedRocAuc => self.untrained_roc_auc,
            Metric::SamplesPerSecond => self.samples_per_second,
        }
    }

    /// The outcome under `rule`, if the run recorded it.
    pub fn rule(&self, rule: ThresholdRule) -> Option<&RuleOutcome> {
        self.threshold_rules.iter().find(|r| r.rule == rule)
    }
}

/// How a run flagged rows: by a threshold rule's cut, or by the PU classifier. Written as the
/// rule's name or `pu` (summaries before the rules had names say `percentile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The top `anomaly_percentile`% of the test scores.
    #[default]
    #[serde(alias = "percentile")]
    TestPercentile,
    /// The top `anomaly_percentile`% of the training and test scores together.
    TrainTestPercentile,
    /// As many test rows as there are anomalies among them.
    TestContamination,
    /// A fixed cut.
    Value,
    /// The PU classifier (seed 002, modification 5).
    Pu,
}

impl From<ThresholdRule> for DecisionKind {
    fn from(rule: ThresholdRule) -> Self {
        match rule {
            ThresholdRule::TestPercentile => DecisionKind::TestPercentile,
            ThresholdRule::TrainTestPercentile => DecisionKind::TrainTestPercentile,
            ThresholdRule::TestContamination => DecisionKind::TestContamination,
            ThresholdRule::Value => DecisionKind::Value,
        }
    }
}

impl DecisionKind {
    /// The name summaries use.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::TestPercentile => ThresholdRule::TestPercentile.name(),
            DecisionKind::TrainTestPercentile => ThresholdRule::TrainTestPercentile.name(),
            DecisionKind::TestContamination => ThresholdRule::TestContamination.name(),
            DecisionKind::Value => ThresholdRule::Value.name(),
            DecisionKind::Pu => "pu",
        }
    }
}

impl std::fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A figure of a run that tables put in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Precision,
    Recall,
    F1,
    RocAuc,
    PrAuc,
    UntrainedPrecision,
    UntrainedRecall,
    UntrainedF1,
    UntrainedRocAuc,
    SamplesPerSecond,
}

impl Metric {
    /// The name files use (the summary's field).
    pub fn key(self) -> &'static str {
        match self {
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::RocAuc => "roc_auc",
            Metric::PrAuc => "pr_auc",
            Metric::UntrainedPrecision => "untrained_precision",
            Metric::UntrainedRecall => "untrained_recall",
            Metric::UntrainedF1 => "untrained_f1",
            Metric::UntrainedRocAuc => "untrained_roc_auc",
            Metric::SamplesPerSecond => "samples_per_second",
        }
    }
}

/// How a saved detector flags rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The score strictly above the run's cut.
    Cut { rule: ThresholdRule, threshold: f64 },
    /// The PU classifier's `h < c/2` on the detector's features.
    Pu(PuThreshold),
}

/// `model/detector.json`: what `dagmm score` needs beside the detector's own files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    pub format: String,
    pub version: u32,
    pub detector: DetectorKind,
    /// What the score is.
    pub score: ScoreName,
    /// The training data's columns, in the order the detector reads them.
    pub columns: Vec<String>,
    /// The scaling fitted on the training rows.
    pub scaler: Scaler,
    pub decision: Decision,
    /// Where the training rows came from.
    pub data: DataSection,
}

impl ModelCard {
    pub fn new(
        detector: DetectorKind,
        score: ScoreName,
        columns: Vec<String>,
        scaler: Scaler,
        decision: Decision,
        data: DataSection,
    ) -> Self {
        ModelCard {
            format: CARD_FORMAT.into(),
            version: CARD_VERSION,
            detector,
            score,
            columns,
            scaler,
            decision,
            data,
        }
    }

    /// Reads `dir/detector.json`, checking the format.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CARD_FILE);
        let card: ModelCard = read_json(&path)?;
        if card.format != CARD_FORMAT || card.version != CARD_VERSION {
            return Err(PipelineError::Format {
                path,
                message: format!(
                    "format {} v{}, expected {CARD_FORMAT} v{CARD_VERSION}",
                    card.format, card.version
                ),
            });
        }
        Ok(card)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join(CARD_FILE), self)
    }
}

/// Points of a curve kept where either coordinate moved by at least `step` since the last kept
/// point (the first and last always kept): a few hundred points draw the same picture as 10⁵.
pub fn thin(points: &[(f64, f64)], step: f64) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    for (i, &(x, y)) in points.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(&[px, py]) => {
                i + 1 == points.len() || (x - px).abs() >= step || (y - py).abs() >= step
            }
        };
        if keep {
            out.push([x, y]);
        }
    }
    out
}

/// A histogram of the scores of each class over `bins` equal bins between the 0.5th and 99.5th
/// percentiles of all scores (rows outside fall in the end bins).
pub fn class_histogram(scores: &[f64], labels: &[u8], bins: usize) -> Result<ClassHistogram> {
    let lo = percentile(scores, 0.5)?;
    let mut hi = percentile(scores, 99.5)?;
    if hi <= lo {
        hi = lo + 1.0;
    }
    // Where the middle half of the scores fills under a twentieth of the range (KDDCUP's
    // energies: the normal rows within a few units, the anomalies out to hundreds), equal bins
    // would put nearly every row in one: the bins are then equal in `asinh((v − median) / s)`,
    // s half the interquartile range, fine around the bulk and coarse in the tail.
    let median = percentile(scores, 50.0)?;
    let iqr = percentile(scores, 75.0)? - percentile(scores, 25.0)?;
    let skewed = iqr > 0.0 && iqr < 0.05 * (hi - lo);
    let s = iqr / 2.0;
    let to = |v: f64| {
        if skewed {
            ((v - median) / s).asinh()
        } else {
            v
        }
    };
    let from = |t: f64| if skewed { median + s * t.sinh() } else { t };
    let (tlo, thi) = (to(lo), to(hi));
    let width = (thi - tlo) / bins as f64;
    let mut counts = [vec![0u64; bins], vec![0u64; bins]];
    for (v, &l) in scores.iter().zip(labels) {
        let b = (((to(*v) - tlo) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[usize::from(l == 1)][b] += 1;
    }
    let [normal, anomaly] = counts;
    let mut edges: Vec<f64> = (0..=bins).map(|i| from(tlo + width * i as f64)).collect();
    edges[0] = lo;
    edges[bins] = hi;
    Ok(ClassHistogram {
        edges,
        normal,
        anomaly,
    })
}

/// ROC curve, PR curve and per-class score histogram of scores (higher = more anomalous).
pub fn curves(scores: &[f64], labels: &[u8], threshold: f64) -> Result<Curves> {
    let d = Direction::HighIsAnomalous;
    Ok(Curves {
        roc: thin(&roc_curve(scores, labels, d)?, 0.002),
        pr: thin(&pr_curve(scores, labels, d)?, 0.002),
        histogram: class_histogram(scores, labels, 60)?,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_drops_tiny_moves() {
        let pts: Vec<(f64, f64)> = (0..=1000).map(|i| (i as f64 / 1000.0, 1.0)).collect();
        let t = thin(&pts, 0.01);
        assert_eq!(t.first(), Some(&[0.0, 1.0]));
        assert_eq!(t.last(), Some(&[1.0, 1.0]));
        assert!(t.len() >= 100 && t.len() <= 102, "{}", t.len());
    }

    #[test]
    fn histogram_counts_every_row_once_per_class() {
        let scores: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let labels: Vec<u8> = (0..1000).map(|i| u8::from(i >= 900)).collect();
        let h = class_histogram(&scores, &labels, 10).unwrap();
        assert_eq!(
            (h.normal.iter().sum::<u64>(), h.anomaly.iter().sum::<u64>()),
            (900, 100)
        );
        assert_eq!(h.edges.len(), 11);
        // Uniform scores: equal bins.
        assert!((h.edges[1] - h.edges[0] - (h.edges[10] - h.edges[9])).abs() < 1e-9);
    }

    #[test]
    fn skewed_scores_get_bins_fine_around_the_bulk_and_coarse_in_the_tail() {
        // KDDCUP-like energies: 9,000 normal rows within [-6, -4], 1,000 anomalies out to 500.
        let mut scores: Vec<f64> = (0..9000)
            .map(|i| -6.0 + 2.0 * (i as f64) / 9000.0)
            .collect();
        scores.extend((0..1000).map(|i| 500.0 * (i as f64) / 1000.0));
        let labels: Vec<u8> = (0..10_000).map(|i| u8::from(i >= 9000)).collect();
        let h = class_histogram(&scores, &labels, 60).unwrap();
        assert_eq!(h.normal.iter().sum::<u64>(), 9000);
        assert_eq!(h.anomaly.iter().sum::<u64>(), 1000);
        // The normal rows spread over many bins rather than one.
        let used = h.normal.iter().filter(|n| **n > 0).count();
        assert!(
            used >= 15,
            "the normal rows fill {used} bins: {:?}",
            h.normal
        );
        assert!(h.edges.windows(2).all(|w| w[1] > w[0]));
        assert!(h.edges[60] - h.edges[59] > 10.0 * (h.edges[20] - h.edges[19]));
    }

    #[test]
    fn a_summary_with_the_required_fields_only_reads_back() {
        let s: RunSummary = serde_json::from_str(
            r#"{"data": "x.csv", "score": "energy", "decision": "percentile", "n_rows": 3,
                "n_features": 2, "threshold": 1.5, "flagged": 1, "f1": 0.5, "unknown_old_field": 1}"#,
        )
        .unwrap();
        assert_eq!(s.detector_kind(), DetectorKind::Dagmm);
        assert_eq!(s.metric(Metric::F1), Some(0.5));
        assert_eq!(s.metric(Metric::RocAuc), None);
        assert_eq!(s.decision, DecisionKind::TestPercentile);
        assert_eq!(s.score, ScoreName::Energy);
        let again: RunSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }
}
