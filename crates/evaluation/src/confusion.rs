//! Confusion counts and the metrics read off them.

use serde::{Deserialize, Serialize};

use crate::check;
use crate::error::Result;

/// Counts of a binary prediction against the truth, with 1 = anomaly as the positive class.
///
/// Ratios follow scikit-learn with `zero_division=0`: [`precision`](Confusion::precision) is 0
/// when nothing is flagged, [`recall`](Confusion::recall) is 0 when there are no anomalies, and
/// [`f1`](Confusion::f1) is 0 when precision + recall = 0. Serialised with the field names `tp`,
/// `fp`, `tn` and `fn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Confusion {
    /// Anomalies flagged.
    pub tp: usize,
    /// Normal rows flagged.
    pub fp: usize,
    /// Normal rows not flagged.
    pub tn: usize,
    /// Anomalies not flagged.
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl Confusion {
    /// Counts `predicted` (1 = flagged) against `labels` (1 = anomaly), row by row. Empty inputs
    /// give all-zero counts.
    ///
    /// # Errors
    /// [`LengthMismatch`](crate::EvaluationError::LengthMismatch) when the lengths differ and
    /// [`InvalidLabel`](crate::EvaluationError::InvalidLabel) for a value other than 0 or 1 in
    /// either.
    pub fn from_labels(labels: &[u8], predicted: &[u8]) -> Result<Confusion> {
        check::same_len("labels", labels.len(), "predicted", predicted.len())?;
        check::binary("labels", labels)?;
        check::binary("predicted", predicted)?;
        let mut c = Confusion::default();
        for (&truth, &guess) in labels.iter().zip(predicted) {
            match (truth, guess) {
                (1, 1) => c.tp += 1,
                (0, 1) => c.fp += 1,
                (0, 0) => c.tn += 1,
                _ => c.fn_ += 1,
            }
        }
        Ok(c)
    }

    /// All rows: `tp + fp + tn + fn`.
    pub fn total(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// Rows flagged: `tp + fp`.
    pub fn flagged(&self) -> usize {
        self.tp + self.fp
    }

    /// Anomalies (label 1): `tp + fn`.
    pub fn positives(&self) -> usize {
        self.tp + self.fn_
    }

    /// Normal rows (label 0): `fp + tn`.
    pub fn negatives(&self) -> usize {
        self.fp + self.tn
    }

    /// `tp / (tp + fp)`, the share of flagged rows that are anomalies; 0 when nothing is
    /// flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.flagged())
    }

    /// `tp / (tp + fn)`, the share of anomalies that are flagged; 0 when there are no anomalies.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.positives())
    }

    /// The harmonic mean of precision and recall, `2 tp / (2 tp + fp + fn)` (the form
    /// scikit-learn computes); 0 when precision + recall = 0, i.e. when `tp = 0`.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// `(tp + tn) / total`; 0 for no rows.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }

    /// `fp / (fp + tn)`, the share of normal rows that are flagged; 0 when there are none.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.negatives())
    }
}

/// `num / den`, and 0 when `den` is 0.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EvaluationError;

    #[test]
    fn counts_and_ratios_on_a_hand_example() {
        let labels = [1, 1, 1, 0, 0, 0, 0, 1, 0, 0];
        let predicted = [1, 1, 0, 1, 0, 0, 0, 0, 0, 1];
        let c = Confusion::from_labels(&labels, &predicted).unwrap();
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 2,
                tn: 4,
                fn_: 2
            }
        );
        assert_eq!(c.total(), 10);
        assert_eq!(c.flagged(), 4);
        assert_eq!(c.positives(), 4);
        assert_eq!(c.negatives(), 6);
        assert_eq!(c.precision(), 0.5); // 2 / 4
        assert_eq!(c.recall(), 0.5); // 2 / 4
        assert_eq!(c.f1(), 0.5); // 2 * 0.5 * 0.5 / 1
        assert_eq!(c.accuracy(), 0.6); // 6 / 10
        assert!((c.false_positive_rate() - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn unequal_precision_and_recall() {
        // tp 3, fp 1, fn 3: p = 0.75, r = 0.5, f1 = 2 * 0.375 / 1.25 = 0.6
        let labels = [1, 1, 1, 1, 1, 1, 0, 0];
        let predicted = [1, 1, 1, 0, 0, 0, 1, 0];
        let c = Confusion::from_labels(&labels, &predicted).unwrap();
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (3, 1, 1, 3));
        assert_eq!(c.precision(), 0.75);
        assert_eq!(c.recall(), 0.5);
        assert!((c.f1() - 0.6).abs() < 1e-15);
        let harmonic = 2.0 * c.precision() * c.recall() / (c.precision() + c.recall());
        assert!((c.f1() - harmonic).abs() < 1e-15);
    }

    #[test]
    fn zero_division_gives_zero() {
        // nothing flagged: precision 0 (sklearn zero_division=0), recall 0, f1 0
        let c = Confusion::from_labels(&[1, 0, 1], &[0, 0, 0]).unwrap();
        assert_eq!((c.precision(), c.recall(), c.f1()), (0.0, 0.0, 0.0));
        // no anomalies: recall 0, f1 0
        let c = Confusion::from_labels(&[0, 0], &[1, 0]).unwrap();
        assert_eq!((c.precision(), c.recall(), c.f1()), (0.0, 0.0, 0.0));
        assert_eq!(c.accuracy(), 0.5);
        // empty
        let c = Confusion::from_labels(&[], &[]).unwrap();
        assert_eq!(c, Confusion::default());
        assert_eq!(
            (c.accuracy(), c.f1(), c.false_positive_rate()),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn from_labels_errors() {
        assert_eq!(
            Confusion::from_labels(&[0, 1, 0, 1, 1], &[0, 1, 0, 1, 1, 0]),
            Err(EvaluationError::LengthMismatch {
                what: "labels",
                len: 5,
                other: "predicted",
                other_len: 6
            })
        );
        assert_eq!(
            Confusion::from_labels(&[0, 1, 0, 1, 1], &[0, 1, 0, 1, 1, 0])
                .unwrap_err()
                .to_string(),
            "labels has 5 entries but predicted has 6"
        );
        assert_eq!(
            Confusion::from_labels(&[0, 2], &[0, 1]),
            Err(EvaluationError::InvalidLabel {
                what: "labels",
                index: 1,
                value: 2
            })
        );
        let err = Confusion::from_labels(&[0, 1], &[255, 1]).unwrap_err();
        assert_eq!(
            err,
            EvaluationError::InvalidLabel {
                what: "predicted",
                index: 0,
                value: 255
            }
        );
        assert_eq!(
            err.to_string(),
            "predicted contain 255 at index 0; only 0 (normal) and 1 (anomaly) are allowed"
        );
    }
}
