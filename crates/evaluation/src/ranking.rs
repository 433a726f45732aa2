//! Threshold-free ranking metrics (ROC AUC, average precision), their curves, and the best-F1
//! cut. All of them sort the rows once: O(n log n).

use serde::{Deserialize, Serialize};

use crate::check;
use crate::confusion::Confusion;
use crate::error::{EvaluationError, Result};
use crate::threshold::Direction;

/// Rows that share one oriented score (higher = more anomalous).
#[derive(Debug, Clone, Copy)]
struct Group {
    key: f64,
    pos: usize,
    neg: usize,
}

/// Scores oriented so that higher is more anomalous, grouped by distinct value, descending.
#[derive(Debug)]
pub(crate) struct Ranked {
    groups: Vec<Group>,
    pos: usize,
    neg: usize,
}

impl Ranked {
    /// Checks the inputs (scores non-empty and NaN-free, labels binary and as long) and ranks.
    pub(crate) fn new(scores: &[f64], labels: &[u8], direction: Direction) -> Result<Ranked> {
        let pos = check::scores_and_labels(scores, labels)?;
        let mut pairs: Vec<(f64, u8)> = scores
            .iter()
            .zip(labels)
            .map(|(&s, &l)| (direction.oriented(s), l))
            .collect();
        pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let mut groups: Vec<Group> = Vec::new();
        for (key, label) in pairs {
            // `==` rather than bit equality, so that -0.0 and 0.0 (adjacent after the sort) tie.
            let group = match groups.last_mut() {
                Some(g) if g.key == key => g,
                _ => {
                    groups.push(Group {
                        key,
                        pos: 0,
                        neg: 0,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if label == 1 {
                group.pos += 1;
            } else {
                group.neg += 1;
            }
        }
        Ok(Ranked {
            groups,
            pos,
            neg: scores.len() - pos,
        })
    }

    fn n(&self) -> usize {
        self.pos + self.neg
    }

    pub(crate) fn require_both_classes(&self, metric: &'static str) -> Result<()> {
        let class = match (self.pos, self.neg) {
            (0, _) => 0,
            (_, 0) => 1,
            _ => return Ok(()),
        };
        Err(EvaluationError::SingleClass {
            metric,
            class,
            n: self.n(),
        })
    }

    pub(crate) fn require_positive(&self, metric: &'static str) -> Result<()> {
        if self.pos == 0 {
            Err(EvaluationError::NoPositives {
                metric,
                n: self.n(),
            })
        } else {
            Ok(())
        }
    }

    /// Mann–Whitney U with ties counted half, divided by `pos * neg`. Needs both classes.
    pub(crate) fn roc_auc(&self) -> f64 {
        // Twice U, kept in integers so that it is exact.
        let mut twice_u: u128 = 0;
        let mut neg_above: usize = 0;
        for g in &self.groups {
            let neg_below = self.neg - neg_above - g.neg;
            twice_u += g.pos as u128 * (2 * neg_below as u128 + g.neg as u128);
            neg_above += g.neg;
        }
        // Numerator and denominator are exact integers with `twice_u <= pairs`; rounding both
        // to f64 is monotonic, so the quotient stays in [0, 1].
        let pairs = 2 * self.pos as u128 * self.neg as u128;
        twice_u as f64 / pairs as f64
    }

    /// Σ (R_n − R_{n−1}) P_n over distinct thresholds, descending. Needs a positive.
    ///
    /// Computed as (Σ pos_n · P_n) / pos rather than Σ (pos_n / pos) · P_n: the shares
    /// pos_n / pos are rounded and need not sum to exactly 1 (nine anomalies above every normal
    /// row gave 1.0000000000000002). Here every term pos_n · P_n is at most the integer pos_n
    /// (P_n <= 1, rounding is monotonic), so every partial sum is at most the exact integer count
    /// of anomalies so far, and the result is in [0, 1] by construction.
    pub(crate) fn average_precision(&self) -> f64 {
        let (mut tp, mut flagged, mut sum) = (0usize, 0usize, 0.0f64);
        for g in &self.groups {
            tp += g.pos;
            flagged += g.pos + g.neg;
            if g.pos > 0 {
                sum += g.pos as f64 * (tp as f64 / flagged as f64);
            }
        }
        sum / self.pos as f64
    }

    /// Confusion counts when the first `k` groups are flagged, for k = 0..=groups.
    fn cumulative(&self) -> impl Iterator<Item = Confusion> + '_ {
        let start = Confusion {
            tp: 0,
            fp: 0,
            tn: self.neg,
            fn_: self.pos,
        };
        std::iter::once(start).chain(self.groups.iter().scan(start, |c, g| {
            c.tp += g.pos;
            c.fn_ -= g.pos;
            c.fp += g.neg;
            c.tn -= g.neg;
            Some(*c)
        }))
    }
}

/// Area under the ROC curve, equal to scikit-learn's `roc_auc_score` with the anomaly (label 1)
/// as the positive class.
///
/// Computed in the Mann–Whitney form: the share of (anomaly, normal) pairs in which the anomaly
/// is more anomalous, a tie counting one half; O(n log n). The orientation comes from
/// `direction`: for [`LowIsAnomalous`](Direction::LowIsAnomalous) the scores are negated first,
/// so 1.0 always means every anomaly ranks as more anomalous than every normal row, 0.5 is
/// chance, and 0.0 means the direction is backwards.
///
/// # Errors
/// [`LengthMismatch`](EvaluationError::LengthMismatch), [`Empty`](EvaluationError::Empty),
/// [`NaN`](EvaluationError::NaN) (infinite scores are fine),
/// [`InvalidLabel`](EvaluationError::InvalidLabel), and
/// [`SingleClass`](EvaluationError::SingleClass) when the labels hold only one class.
pub fn roc_auc(scores: &[f64], labels: &[u8], direction: Direction) -> Result<f64> {
    let ranked = Ranked::new(scores, labels, direction)?;
    ranked.require_both_classes("ROC AUC")?;
    Ok(ranked.roc_auc())
}

/// Average precision, equal to scikit-learn's `average_precision_score`: the area under the
/// precision-recall curve as a step function (no trapezoids, no interpolation), which is what
/// the reports call PR AUC.
///
/// With the distinct scores as thresholds from the most anomalous down, each flagging every row
/// at least as anomalous, AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ, where Rₙ and Pₙ are the recall and precision at
/// the n-th threshold and R₀ = 0. Ties form one threshold. A random ranking scores about the
/// share of anomalies, a perfect one 1.0. O(n log n).
///
/// # Errors
/// As [`roc_auc`], except that only anomalies are required:
/// [`NoPositives`](EvaluationError::NoPositives) when there is none (all anomalies gives 1.0).
pub fn average_precision(scores: &[f64], labels: &[u8], direction: Direction) -> Result<f64> {
    let ranked = Ranked::new(scores, labels, direction)?;
    ranked.require_positive("average precision")?;
    Ok(ranked.average_precision())
}

/// The ROC curve as `(false positive rate, true positive rate)` points, for plots.
///
/// The first point is (0, 0) (nothing flagged); then one point per distinct score, from the most
/// anomalous down, flagging every row at least that anomalous; the last is (1, 1). No point is
/// dropped, so this equals scikit-learn's `roc_curve(..., drop_intermediate=False)`. The
/// trapezoidal area under it is [`roc_auc`].
///
/// # Errors
/// As [`roc_auc`].
pub fn roc_curve(scores: &[f64], labels: &[u8], direction: Direction) -> Result<Vec<(f64, f64)>> {
    let ranked = Ranked::new(scores, labels, direction)?;
    ranked.require_both_classes("the ROC curve")?;
    Ok(ranked
        .cumulative()
        .map(|c| (c.false_positive_rate(), c.recall()))
        .collect())
}

/// The precision-recall curve as `(recall, precision)` points, for plots.
///
/// The first point is (0, 1), scikit-learn's convention for flagging nothing; then one point per
/// distinct score, from the most anomalous down, flagging every row at least that anomalous;
/// the last has recall 1 and precision = share of anomalies. This is scikit-learn's
/// `precision_recall_curve` (which keeps every threshold by default) in reverse order.
/// [`average_precision`] is the step-wise area under it.
///
/// # Errors
/// As [`average_precision`].
pub fn pr_curve(scores: &[f64], labels: &[u8], direction: Direction) -> Result<Vec<(f64, f64)>> {
    let ranked = Ranked::new(scores, labels, direction)?;
    ranked.require_positive("the precision-recall curve")?;
    let mut points = vec![(0.0, 1.0)];
    points.extend(
        ranked
            .cumulative()
            .skip(1)
            .map(|c| (c.recall(), c.precision())),
    );
    Ok(points)
}

/// The cut with the highest F1, and what it achieves (see [`best_f1_threshold`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestThreshold {
    /// The cut on the score scale, to be used with [`flag`](crate::flag).
    pub cut: f64,
    /// Precision at `cut`.
    pub precision: f64,
    /// Recall at `cut`.
    pub recall: f64,
    /// F1 at `cut`, the maximum over all cuts.
    pub f1: f64,
    /// Rows flagged at `cut`.
    pub flagged: usize,
}

/// The cut that maximises F1 on these scores and labels: an oracle, optimistic bound (it peeks
/// at the labels), for comparing detectors independently of a threshold rule.
///
/// Every distinct way of splitting the ranked rows is tried (flag nothing, flag the rows at
/// least as anomalous as each distinct score) in one O(n log n) pass; ties go to the cut that
/// flags fewer rows. The `cut` returned reproduces exactly the reported counts, precision,
/// recall and F1 when passed to [`flag`](crate::flag) with the same `direction` (`flag` is
/// strict):
///
/// * between two distinct scores it is their midpoint, or, where floating point leaves no room
///   for one (adjacent values, an infinite neighbour), the less anomalous of the two scores
///   itself;
/// * flagging every row gives `-inf` for [`HighIsAnomalous`](Direction::HighIsAnomalous) and
///   `+inf` for [`LowIsAnomalous`](Direction::LowIsAnomalous) (rows scored at that very infinity
///   cannot all be flagged by a strict cut, so that candidate is skipped when they exist);
/// * flagging nothing (only best when F1 is 0 everywhere) gives the most anomalous score.
///
/// # Errors
/// As [`average_precision`]: at least one anomaly is needed.
pub fn best_f1_threshold(
    scores: &[f64],
    labels: &[u8],
    direction: Direction,
) -> Result<BestThreshold> {
    let ranked = Ranked::new(scores, labels, direction)?;
    ranked.require_positive("the best-F1 threshold")?;
    let groups = &ranked.groups;
    let mut best: Option<(usize, Confusion)> = None;
    for (k, c) in ranked.cumulative().enumerate() {
        if k == groups.len() && groups[k - 1].key == f64::NEG_INFINITY {
            continue; // no strict cut flags the rows at -inf (on the oriented scale)
        }
        if best.is_none_or(|(_, b)| c.f1() > b.f1()) {
            best = Some((k, c));
        }
    }
    let (k, c) = best.expect("k = 0 is always a candidate");
    // On the oriented scale a row is flagged when key > cut_key.
    let cut_key = if k == 0 {
        groups[0].key
    } else if k == groups.len() {
        f64::NEG_INFINITY
    } else {
        let (hi, lo) = (groups[k - 1].key, groups[k].key);
        let mid = hi * 0.5 + lo * 0.5;
        if lo <= mid && mid < hi {
            mid
        } else {
            lo
        }
    };
    Ok(BestThreshold {
        // `oriented` is its own inverse (identity or negation), so this maps back exactly.
        cut: direction.oriented(cut_key),
        precision: c.precision(),
        recall: c.recall(),
        f1: c.f1(),
        flagged: c.flagged(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flag;

    const HIGH: Direction = Direction::HighIsAnomalous;
    const LOW: Direction = Direction::LowIsAnomalous;
    const INF: f64 = f64::INFINITY;

    /// sklearn's documentation example.
    const DOC_SCORES: [f64; 4] = [0.1, 0.4, 0.35, 0.8];
    const DOC_LABELS: [u8; 4] = [0, 0, 1, 1];

    /// A deterministic pseudo-random data set with many tied scores.
    fn tied_data(n: usize) -> (Vec<f64>, Vec<u8>) {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..n)
            .map(|_| {
                let label = u8::from(next() % 5 == 0);
                // anomalies score a little higher on average; 40 distinct levels force ties
                let score = (next() % 30 + 10 * u64::from(label)) as f64 * 0.25;
                (score, label)
            })
            .unzip()
    }

    fn brute_force_auc(scores: &[f64], labels: &[u8]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for (i, &si) in scores.iter().enumerate() {
            for (j, &sj) in scores.iter().enumerate() {
                if labels[i] == 1 && labels[j] == 0 {
                    pairs += 1.0;
                    wins += if si > sj {
                        1.0
                    } else if si == sj {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        wins / pairs
    }

    fn f1_of(scores: &[f64], labels: &[u8], cut: f64, direction: Direction) -> f64 {
        Confusion::from_labels(labels, &flag(scores, cut, direction))
            .unwrap()
            .f1()
    }

    #[test]
    fn roc_auc_doc_example() {
        // pairs (anomaly, normal): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3/4
        assert_eq!(roc_auc(&DOC_SCORES, &DOC_LABELS, HIGH).unwrap(), 0.75);
    }

    #[test]
    fn roc_auc_counts_ties_half() {
        // anomalies {0.5, 0.9}, normals {0.5, 0.2}: 0.5 = 0.5 (half), 0.5 > 0.2, 0.9 > both
        // -> 3.5 / 4 (sklearn: 0.875)
        let s = [0.5, 0.5, 0.2, 0.9];
        let y = [1, 0, 0, 1];
        assert_eq!(roc_auc(&s, &y, HIGH).unwrap(), 0.875);
        // everything tied is chance
        assert_eq!(roc_auc(&[3.0; 5], &[1, 0, 0, 1, 0], HIGH).unwrap(), 0.5);
        // -0.0 and 0.0 are the same score
        assert_eq!(roc_auc(&[0.0, -0.0], &[1, 0], HIGH).unwrap(), 0.5);
    }

    #[test]
    fn roc_auc_matches_brute_force_with_ties() {
        let (s, y) = tied_data(600);
        let fast = roc_auc(&s, &y, HIGH).unwrap();
        assert!((fast - brute_force_auc(&s, &y)).abs() < 1e-12);
        assert!(fast > 0.7, "the anomalies are shifted up: {fast}");
    }

    #[test]
    fn tied_data_matches_values_from_scikit_learn() {
        // The same xorshift data regenerated in Python (600 rows, 122 anomalies) and scored with
        // sklearn 1.9: roc_auc_score, average_precision_score (on s and on -s), and the best
        // f1_score over the inclusive cuts s >= t.
        let (s, y) = tied_data(600);
        assert_eq!(y.iter().filter(|&&l| l == 1).count(), 122);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(roc_auc(&s, &y, HIGH).unwrap(), 0.7852304684820632));
        assert!(close(
            average_precision(&s, &y, HIGH).unwrap(),
            0.6098036196482931
        ));
        assert!(close(roc_auc(&s, &y, LOW).unwrap(), 0.21476953151793676));
        assert!(close(
            average_precision(&s, &y, LOW).unwrap(),
            0.12976148567488371
        ));
        assert!(close(
            best_f1_threshold(&s, &y, HIGH).unwrap().f1,
            0.5389221556886228
        ));
    }

    #[test]
    fn roc_auc_orientation_for_low_is_anomalous() {
        // log-likelihoods: anomalies have the lowest scores
        let ll = [-10.0, -1.0, -2.0, -20.0];
        let y = [1, 0, 0, 1];
        assert_eq!(roc_auc(&ll, &y, LOW).unwrap(), 1.0);
        assert_eq!(roc_auc(&ll, &y, HIGH).unwrap(), 0.0);
        let (s, y) = tied_data(300);
        let negated: Vec<f64> = s.iter().map(|v| -v).collect();
        let high = roc_auc(&s, &y, HIGH).unwrap();
        assert_eq!(roc_auc(&negated, &y, LOW).unwrap(), high);
        assert!((roc_auc(&s, &y, LOW).unwrap() - (1.0 - high)).abs() < 1e-12);
    }

    #[test]
    fn roc_auc_with_infinite_scores() {
        assert_eq!(roc_auc(&[INF, -INF, 0.0], &[1, 0, 0], HIGH).unwrap(), 1.0);
        assert_eq!(roc_auc(&[INF, INF, 0.0], &[1, 0, 0], HIGH).unwrap(), 0.75);
    }

    #[test]
    fn average_precision_doc_example() {
        // 0.8 (anomaly): P 1, R 0.5; 0.4 (normal); 0.35 (anomaly): P 2/3, R 1
        // AP = 0.5 * 1 + 0.5 * 2/3 = 0.8333... (sklearn doc)
        let ap = average_precision(&DOC_SCORES, &DOC_LABELS, HIGH).unwrap();
        assert!((ap - 0.833_333_333_333_333_3).abs() < 1e-15, "{ap}");
    }

    #[test]
    fn average_precision_treats_ties_as_one_threshold() {
        // 0.9 normal; 0.5 tie (one anomaly, one normal): P 1/3, dR 0.5; 0.2 anomaly: P 2/4, dR 0.5
        // AP = 1/6 + 1/4 = 5/12 (sklearn: 0.41666666666666663)
        let ap = average_precision(&[0.5, 0.5, 0.9, 0.2], &[1, 0, 0, 1], HIGH).unwrap();
        assert!((ap - 5.0 / 12.0).abs() < 1e-15, "{ap}");
        assert_eq!(average_precision(&[1.0, 2.0], &[1, 1], HIGH).unwrap(), 1.0);
        // a perfect ranking
        assert_eq!(
            average_precision(&[0.0, 5.0, 1.0], &[0, 1, 0], HIGH).unwrap(),
            1.0
        );
        // orientation: the same ranking given as log-likelihoods
        let ap_low = average_precision(&[-0.1, -0.4, -0.35, -0.8], &DOC_LABELS, LOW).unwrap();
        assert_eq!(
            ap_low,
            average_precision(&DOC_SCORES, &DOC_LABELS, HIGH).unwrap()
        );
    }

    #[test]
    fn curves_on_the_doc_example() {
        // sklearn roc_curve(drop_intermediate=False): fpr [0,0,.5,.5,1], tpr [0,.5,.5,1,1]
        let roc = roc_curve(&DOC_SCORES, &DOC_LABELS, HIGH).unwrap();
        assert_eq!(
            roc,
            [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
        // sklearn precision_recall_curve reversed
        let pr = pr_curve(&DOC_SCORES, &DOC_LABELS, HIGH).unwrap();
        assert_eq!(
            pr,
            [
                (0.0, 1.0),
                (0.5, 1.0),
                (0.5, 0.5),
                (1.0, 2.0 / 3.0),
                (1.0, 0.5)
            ]
        );
        // same curves for negated scores read as log-likelihoods
        let neg: Vec<f64> = DOC_SCORES.iter().map(|v| -v).collect();
        assert_eq!(roc_curve(&neg, &DOC_LABELS, LOW).unwrap(), roc);
        assert_eq!(pr_curve(&neg, &DOC_LABELS, LOW).unwrap(), pr);
    }

    #[test]
    fn curve_areas_are_the_scalar_metrics() {
        let (s, y) = tied_data(500);
        for direction in [HIGH, LOW] {
            let roc = roc_curve(&s, &y, direction).unwrap();
            let trapezoids: f64 = roc
                .windows(2)
                .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
                .sum();
            let auc = roc_auc(&s, &y, direction).unwrap();
            assert!((trapezoids - auc).abs() < 1e-12);
            let pr = pr_curve(&s, &y, direction).unwrap();
            let steps: f64 = pr.windows(2).map(|w| (w[1].0 - w[0].0) * w[1].1).sum();
            let ap = average_precision(&s, &y, direction).unwrap();
            assert!((steps - ap).abs() < 1e-12);
            // one point per distinct score plus the start
            let mut distinct = s.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            assert_eq!(roc.len(), distinct.len() + 1);
            assert_eq!(pr.len(), distinct.len() + 1);
            assert_eq!(*roc.last().unwrap(), (1.0, 1.0));
        }
    }

    #[test]
    fn best_f1_on_the_doc_example() {
        // flag {0.8}: f1 2/3; {0.8, 0.4}: 1/2; {0.8, 0.4, 0.35}: 4/5; all: 2/3
        let b = best_f1_threshold(&DOC_SCORES, &DOC_LABELS, HIGH).unwrap();
        assert!((b.f1 - 0.8).abs() < 1e-15);
        assert_eq!(b.flagged, 3);
        assert_eq!(b.recall, 1.0);
        assert!((b.precision - 2.0 / 3.0).abs() < 1e-15);
        assert!(
            (b.cut - 0.225).abs() < 1e-15,
            "midpoint of 0.35 and 0.1: {}",
            b.cut
        );
        assert_eq!(flag(&DOC_SCORES, b.cut, HIGH), [0, 1, 1, 1]);
        // as log-likelihoods
        let neg: Vec<f64> = DOC_SCORES.iter().map(|v| -v).collect();
        let bl = best_f1_threshold(&neg, &DOC_LABELS, LOW).unwrap();
        assert_eq!(bl.cut, -b.cut);
        assert_eq!(bl.f1, b.f1);
        assert_eq!(flag(&neg, bl.cut, LOW), [0, 1, 1, 1]);
    }

    #[test]
    fn best_f1_reproduces_through_flag_and_beats_every_cut() {
        let (s, y) = tied_data(700);
        for direction in [HIGH, LOW] {
            let b = best_f1_threshold(&s, &y, direction).unwrap();
            let c = Confusion::from_labels(&y, &flag(&s, b.cut, direction)).unwrap();
            assert_eq!(c.f1(), b.f1);
            assert_eq!(c.precision(), b.precision);
            assert_eq!(c.recall(), b.recall);
            assert_eq!(c.flagged(), b.flagged);
            // brute force: every distinct score as an inclusive cut
            let mut best = 0.0f64;
            for &t in &s {
                let predicted: Vec<u8> = s
                    .iter()
                    .map(|&v| u8::from(direction.oriented(v) >= direction.oriented(t)))
                    .collect();
                best = best.max(Confusion::from_labels(&y, &predicted).unwrap().f1());
            }
            assert_eq!(b.f1, best);
        }
    }

    #[test]
    fn best_f1_cut_between_adjacent_floats_and_infinities() {
        let up = f64::from_bits(1.0f64.to_bits() + 1);
        for direction in [HIGH, LOW] {
            let s: Vec<f64> = [1.0, up].iter().map(|&v| direction.oriented(v)).collect();
            let b = best_f1_threshold(&s, &[0, 1], direction).unwrap();
            assert_eq!(b.f1, 1.0);
            assert_eq!(flag(&s, b.cut, direction), [0, 1]);
            assert_eq!(b.cut, direction.oriented(1.0));
        }
        // an anomaly at +inf: the midpoint would be inf, so the cut is the next score
        let b = best_f1_threshold(&[INF, 1.0, 0.0], &[1, 0, 0], HIGH).unwrap();
        assert_eq!((b.cut, b.f1), (1.0, 1.0));
        // rows at -inf cannot all be flagged by a strict cut: that candidate is skipped
        let s = [-INF, 0.0];
        let b = best_f1_threshold(&s, &[1, 1], HIGH).unwrap();
        assert!((b.f1 - 2.0 / 3.0).abs() < 1e-15);
        assert!((f1_of(&s, &[1, 1], b.cut, HIGH) - b.f1).abs() == 0.0);
        // flagging everything gives an infinite cut
        let s = [0.3, 0.1, 0.2];
        let b = best_f1_threshold(&s, &[1, 1, 1], HIGH).unwrap();
        assert_eq!((b.cut, b.f1, b.flagged), (-INF, 1.0, 3));
        let b = best_f1_threshold(&s, &[1, 1, 1], LOW).unwrap();
        assert_eq!((b.cut, b.f1, b.flagged), (INF, 1.0, 3));
        assert_eq!(flag(&s, b.cut, LOW), [1, 1, 1]);
        // ties in F1 go to fewer rows flagged: {0.9} (2 / 3) and all four (4 / 6) tie
        let b = best_f1_threshold(&[0.9, 0.8, 0.7, 0.6], &[1, 0, 0, 1], HIGH).unwrap();
        assert!((b.f1 - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(b.flagged, 1);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = roc_auc(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[0, 1, 0, 1, 1], HIGH).unwrap_err();
        assert_eq!(e.to_string(), "labels has 5 entries but scores has 6");
        assert_eq!(
            roc_auc(&[], &[], HIGH),
            Err(EvaluationError::Empty { what: "scores" })
        );
        let e = roc_auc(&[0.0, 1.0, 2.0, f64::NAN], &[0, 1, 0, 1], LOW).unwrap_err();
        assert_eq!(e.to_string(), "scores contain NaN at index 3");
        assert_eq!(
            average_precision(&[0.0, 1.0], &[0, 3], HIGH),
            Err(EvaluationError::InvalidLabel {
                what: "labels",
                index: 1,
                value: 3
            })
        );
        let e = roc_auc(&[0.0, 1.0], &[1, 1], HIGH).unwrap_err();
        assert_eq!(
            e,
            EvaluationError::SingleClass {
                metric: "ROC AUC",
                class: 1,
                n: 2
            }
        );
        assert_eq!(
            e.to_string(),
            "labels contain only class 1 (2 rows); ROC AUC needs both normal (0) and anomalous (1) rows"
        );
        assert!(matches!(
            roc_auc(&[0.0, 1.0, 2.0], &[0, 0, 0], HIGH),
            Err(EvaluationError::SingleClass { class: 0, n: 3, .. })
        ));
        assert!(matches!(
            roc_curve(&[0.0, 1.0], &[0, 0], HIGH),
            Err(EvaluationError::SingleClass { class: 0, .. })
        ));
        let e = average_precision(&[0.0, 1.0], &[0, 0], HIGH).unwrap_err();
        assert_eq!(
            e.to_string(),
            "labels contain no anomaly (1) among 2 rows; average precision needs at least one"
        );
        assert!(matches!(
            pr_curve(&[0.0], &[0], HIGH),
            Err(EvaluationError::NoPositives { n: 1, .. })
        ));
        assert!(matches!(
            best_f1_threshold(&[0.0], &[0], LOW),
            Err(EvaluationError::NoPositives { n: 1, .. })
        ));
        assert!(matches!(
            best_f1_threshold(&[0.0], &[1, 0], LOW),
            Err(EvaluationError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn ranking_metrics_never_exceed_one() {
        // Nine anomalies, each at its own score, above every normal row: the old sum of nine
        // shares 1/9 gave an average precision of 1.0000000000000002.
        let mut scores: Vec<f64> = (0..9).map(|i| 10.0 + f64::from(i)).collect();
        let mut labels = vec![1u8; 9];
        scores.extend([0.0, 1.0, 2.0]);
        labels.extend([0, 0, 0]);
        assert_eq!(average_precision(&scores, &labels, HIGH).unwrap(), 1.0);
        assert_eq!(roc_auc(&scores, &labels, HIGH).unwrap(), 1.0);
        let b = best_f1_threshold(&scores, &labels, HIGH).unwrap();
        assert_eq!((b.precision, b.recall, b.f1), (1.0, 1.0, 1.0));
        // Perfect rankings of many sizes and group shapes, in both directions: exactly 1, and
        // every metric of every curve point in [0, 1].
        for n_pos in 1..=60usize {
            for group in 1..=3usize {
                let scores: Vec<f64> = (0..n_pos + 5)
                    .map(|i| {
                        if i < n_pos {
                            100.0 + (i / group) as f64
                        } else {
                            i as f64
                        }
                    })
                    .collect();
                let labels: Vec<u8> = (0..n_pos + 5).map(|i| u8::from(i < n_pos)).collect();
                let negated: Vec<f64> = scores.iter().map(|v| -v).collect();
                for (s, direction) in [(&scores, HIGH), (&negated, LOW)] {
                    let ap = average_precision(s, &labels, direction).unwrap();
                    assert_eq!(ap, 1.0, "{n_pos} anomalies in groups of {group}");
                    assert_eq!(roc_auc(s, &labels, direction).unwrap(), 1.0);
                    let in_unit = |v: f64| (0.0..=1.0).contains(&v);
                    for (x, y) in pr_curve(s, &labels, direction)
                        .unwrap()
                        .into_iter()
                        .chain(roc_curve(s, &labels, direction).unwrap())
                    {
                        assert!(in_unit(x) && in_unit(y), "({x}, {y})");
                    }
                }
            }
        }
        // Random tied data: still in [0, 1].
        for n in [7, 50, 333] {
            let (s, y) = tied_data(n);
            if y.contains(&1) && y.contains(&0) {
                for direction in [HIGH, LOW] {
                    let ap = average_precision(&s, &y, direction).unwrap();
                    let auc = roc_auc(&s, &y, direction).unwrap();
                    assert!((0.0..=1.0).contains(&ap) && (0.0..=1.0).contains(&auc));
                }
            }
        }
    }
}
