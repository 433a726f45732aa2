//! Everything about one cut in one record, and the percentile sweeps of the DAGMM tables.

use serde::{Deserialize, Serialize};

use crate::check;
use crate::confusion::Confusion;
use crate::error::Result;
use crate::ranking::Ranked;
use crate::threshold::{flag, percentile_for, percentile_of_sorted, sorted_copy, Direction};

/// The metrics of one detector on one labelled set at one cut.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The cut on the score scale (rows are flagged strictly beyond it, see [`flag`]).
    pub threshold: f64,
    /// Rows flagged at the cut.
    pub flagged: usize,
    /// Precision at the cut (0 when nothing is flagged).
    pub precision: f64,
    /// Recall at the cut.
    pub recall: f64,
    /// F1 at the cut (0 when precision + recall = 0).
    pub f1: f64,
    /// Area under the ROC curve, independent of the cut (see [`roc_auc`](crate::roc_auc)).
    pub roc_auc: f64,
    /// Average precision, the step-wise area under the precision-recall curve, independent of
    /// the cut (see [`average_precision`](crate::average_precision)).
    pub pr_auc: f64,
    /// The counts behind precision, recall and F1.
    pub confusion: Confusion,
}

/// Flags the rows at `cut` (see [`flag`]) and measures the result against `labels`, together with
/// the threshold-free ROC AUC and average precision. Get `cut` from
/// [`resolve_threshold`](crate::resolve_threshold) or
/// [`best_f1_threshold`](crate::best_f1_threshold).
///
/// # Errors
/// [`NaNThreshold`](crate::EvaluationError::NaNThreshold) for a NaN cut, then as
/// [`roc_auc`](crate::roc_auc): length mismatch, empty or NaN scores, labels other than 0/1,
/// and labels of a single class.
pub fn evaluate(scores: &[f64], labels: &[u8], cut: f64, direction: Direction) -> Result<Metrics> {
    check::cut_is_number(cut)?;
    let ranked = Ranked::new(scores, labels, direction)?;
    ranked.require_both_classes("evaluation (ROC AUC)")?;
    let confusion = Confusion::from_labels(labels, &flag(scores, cut, direction))?;
    Ok(Metrics {
        threshold: cut,
        flagged: confusion.flagged(),
        precision: confusion.precision(),
        recall: confusion.recall(),
        f1: confusion.f1(),
        roc_auc: ranked.roc_auc(),
        pr_auc: ranked.average_precision(),
        confusion,
    })
}

/// One row of a percentile sweep: the cut that flags `percentile` % of the rows and what it
/// achieves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The share of rows meant to be flagged, in percent (the argument of
    /// [`Threshold::Percentile`](crate::Threshold::Percentile)).
    pub percentile: f64,
    /// The cut on the score scale, as [`resolve_threshold`](crate::resolve_threshold) gives it.
    pub threshold: f64,
    /// Precision at the cut (0 when nothing is flagged).
    pub precision: f64,
    /// Recall at the cut (0 when there are no anomalies).
    pub recall: f64,
    /// F1 at the cut.
    pub f1: f64,
    /// Rows actually flagged (ties at the cut are not, so it can be below the nominal share).
    pub flagged: usize,
}

/// Precision, recall and F1 when flagging each of `percentiles` % of the rows, as in the DAGMM
/// tables (10, 20, …, 60 % flagged). Each cut is `resolve_threshold(scores,
/// &Threshold::Percentile(p), direction)`; the scores are sorted once for all of them. Rows come
/// back in the order of `percentiles`; an empty list gives an empty sweep. Labels without
/// anomalies are allowed (recall and F1 are then 0).
///
/// # Errors
/// [`PercentileOutOfRange`](crate::EvaluationError::PercentileOutOfRange) for any `p` outside
/// `0..=100`, and the input errors of [`roc_auc`](crate::roc_auc) except the single-class one.
pub fn percentile_sweep(
    scores: &[f64],
    labels: &[u8],
    percentiles: &[f64],
    direction: Direction,
) -> Result<Vec<SweepRow>> {
    check::scores_and_labels(scores, labels)?;
    for &p in percentiles {
        check::percentile_in_range(p)?;
    }
    let sorted = sorted_copy(scores);
    percentiles
        .iter()
        .map(|&p| {
            let threshold = percentile_of_sorted(&sorted, percentile_for(p, direction))?;
            let c = Confusion::from_labels(labels, &flag(scores, threshold, direction))?;
            Ok(SweepRow {
                percentile: p,
                threshold,
                precision: c.precision(),
                recall: c.recall(),
                f1: c.f1(),
                flagged: c.flagged(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        average_precision, percentile, resolve_threshold, roc_auc, EvaluationError, Threshold,
    };

    const HIGH: Direction = Direction::HighIsAnomalous;
    const LOW: Direction = Direction::LowIsAnomalous;

    /// 100 energies 0..99 in a scrambled order; the 15 highest energies are anomalies, except
    /// 95 and 96, plus two normal-range anomalies (10 and 50): 15 anomalies in all.
    fn energies() -> (Vec<f64>, Vec<u8>) {
        (0..100u32)
            .map(|i| {
                let e = (i * 37) % 100;
                let anomaly = (e >= 85 && e != 95 && e != 96) || e == 10 || e == 50;
                (f64::from(e), u8::from(anomaly))
            })
            .unzip()
    }

    #[test]
    fn evaluate_on_a_hand_example() {
        let s = [0.1, 0.4, 0.35, 0.8];
        let y = [0, 0, 1, 1];
        let m = evaluate(&s, &y, 0.375, HIGH).unwrap();
        // flags 0.4 and 0.8: tp 1 (0.8), fp 1 (0.4), fn 1 (0.35), tn 1 (0.1)
        assert_eq!(
            m.confusion,
            Confusion {
                tp: 1,
                fp: 1,
                tn: 1,
                fn_: 1
            }
        );
        assert_eq!((m.threshold, m.flagged), (0.375, 2));
        assert_eq!((m.precision, m.recall, m.f1), (0.5, 0.5, 0.5));
        assert_eq!(m.roc_auc, 0.75);
        assert!((m.pr_auc - 5.0 / 6.0).abs() < 1e-15);
        // the same data as log-likelihoods gives the same metrics
        let ll: Vec<f64> = s.iter().map(|v| -v).collect();
        let ml = evaluate(&ll, &y, -0.375, LOW).unwrap();
        assert_eq!(
            (ml.confusion, ml.roc_auc, ml.pr_auc),
            (m.confusion, m.roc_auc, m.pr_auc)
        );
    }

    #[test]
    fn evaluate_agrees_with_the_separate_functions() {
        let (e, y) = energies();
        let cut = resolve_threshold(&e, &Threshold::Percentile(20.0), HIGH).unwrap();
        let m = evaluate(&e, &y, cut, HIGH).unwrap();
        // cut 79.2 flags 80..=99: anomalies 85..=99 minus 95, 96 = 13 of 20 flagged, of 15
        assert_eq!(m.flagged, 20);
        assert_eq!(
            (m.confusion.tp, m.confusion.fp, m.confusion.fn_),
            (13, 7, 2)
        );
        assert_eq!(m.precision, 0.65);
        assert!((m.recall - 13.0 / 15.0).abs() < 1e-15);
        assert_eq!(m.roc_auc, roc_auc(&e, &y, HIGH).unwrap());
        assert_eq!(m.pr_auc, average_precision(&e, &y, HIGH).unwrap());
    }

    #[test]
    fn sweep_matches_resolve_threshold_and_flag() {
        let (e, y) = energies();
        let ps = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0];
        let rows = percentile_sweep(&e, &y, &ps, HIGH).unwrap();
        assert_eq!(rows.len(), 6);
        for (row, &p) in rows.iter().zip(&ps) {
            assert_eq!(row.percentile, p);
            let cut = resolve_threshold(&e, &Threshold::Percentile(p), HIGH).unwrap();
            assert_eq!(row.threshold, cut);
            let m = evaluate(&e, &y, cut, HIGH).unwrap();
            assert_eq!(
                (row.precision, row.recall, row.f1, row.flagged),
                (m.precision, m.recall, m.f1, m.flagged)
            );
            // 100 distinct energies: exactly p % flagged
            assert_eq!(row.flagged as f64, p);
        }
        // 10 %: cut 89.1 flags 90..=99, all anomalies but 95 and 96
        assert_eq!(rows[0].precision, 0.8);
        // the low direction on log-likelihoods = -energy gives the same table
        let ll: Vec<f64> = e.iter().map(|v| -v).collect();
        let low = percentile_sweep(&ll, &y, &ps, LOW).unwrap();
        for (a, b) in low.iter().zip(&rows) {
            assert_eq!(
                (a.flagged, a.precision, a.recall),
                (b.flagged, b.precision, b.recall)
            );
            assert!((a.threshold + b.threshold).abs() < 1e-9);
        }
        assert_eq!(low[0].threshold, percentile(&ll, 10.0).unwrap());
        assert!(percentile_sweep(&e, &y, &[], HIGH).unwrap().is_empty());
        // labels without anomalies are fine for a sweep
        let none = percentile_sweep(&e, &[0; 100], &[10.0], HIGH).unwrap();
        assert_eq!(
            (none[0].recall, none[0].f1, none[0].flagged),
            (0.0, 0.0, 10)
        );
    }

    #[test]
    fn evaluate_and_sweep_errors() {
        let s = [0.1, 0.2, 0.3];
        let y = [0, 1, 0];
        assert_eq!(
            evaluate(&s, &y, f64::NAN, HIGH),
            Err(EvaluationError::NaNThreshold)
        );
        assert_eq!(
            evaluate(&s, &y, f64::NAN, HIGH).unwrap_err().to_string(),
            "threshold is NaN; a cut must be a number (infinities are allowed)"
        );
        assert!(matches!(
            evaluate(&s, &[0, 0, 0], 0.2, HIGH),
            Err(EvaluationError::SingleClass { class: 0, n: 3, .. })
        ));
        assert_eq!(
            evaluate(&s, &[0, 1], 0.2, HIGH).unwrap_err().to_string(),
            "labels has 2 entries but scores has 3"
        );
        assert_eq!(
            percentile_sweep(&s, &y, &[10.0, 120.0], HIGH)
                .unwrap_err()
                .to_string(),
            "percentile 120 is outside 0..=100"
        );
        assert_eq!(
            percentile_sweep(&[0.1, f64::NAN], &[0, 1], &[10.0], LOW),
            Err(EvaluationError::NaN {
                what: "scores",
                index: 1
            })
        );
        assert_eq!(
            percentile_sweep(&[], &[], &[10.0], LOW),
            Err(EvaluationError::Empty { what: "scores" })
        );
        assert!(matches!(
            percentile_sweep(&s, &[0, 1, 7], &[10.0], LOW),
            Err(EvaluationError::InvalidLabel {
                value: 7,
                index: 2,
                ..
            })
        ));
    }
}
