//! Score orientation, NumPy-exact percentiles, thresholds and flagging.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::check;
use crate::error::{EvaluationError, Result};

/// Which end of a detector's score scale is anomalous.
///
/// Classic GMM detectors score rows by log-likelihood, where a *low* score is anomalous; DAGMM
/// scores rows by sample energy (a negative log-likelihood), where a *high* score is anomalous.
/// Serialised (and displayed, and parsed) as `low_is_anomalous` / `high_is_anomalous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Low scores are anomalous (log-likelihoods); rows are flagged when `score < cut`.
    LowIsAnomalous,
    /// High scores are anomalous (energies); rows are flagged when `score > cut`.
    HighIsAnomalous,
}

impl Direction {
    /// The score on a scale where higher always means more anomalous: the score itself for
    /// [`HighIsAnomalous`](Direction::HighIsAnomalous), its negation for
    /// [`LowIsAnomalous`](Direction::LowIsAnomalous). Ranking metrics work on this scale, so the
    /// anomaly (label 1) is always the positive class.
    pub fn oriented(self, score: f64) -> f64 {
        match self {
            Direction::LowIsAnomalous => -score,
            Direction::HighIsAnomalous => score,
        }
    }

    /// Whether a row with this score is flagged at this cut: `score < cut` for
    /// [`LowIsAnomalous`](Direction::LowIsAnomalous), `score > cut` for
    /// [`HighIsAnomalous`](Direction::HighIsAnomalous). Strict in both directions, and a NaN
    /// score (or cut) is never flagged.
    pub fn is_anomalous(self, score: f64, cut: f64) -> bool {
        match self {
            Direction::LowIsAnomalous => score < cut,
            Direction::HighIsAnomalous => score > cut,
        }
    }

    /// The snake_case name used by serde, `Display` and `FromStr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::LowIsAnomalous => "low_is_anomalous",
            Direction::HighIsAnomalous => "high_is_anomalous",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = EvaluationError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "low_is_anomalous" => Ok(Direction::LowIsAnomalous),
            "high_is_anomalous" => Ok(Direction::HighIsAnomalous),
            other => Err(EvaluationError::UnknownDirection(other.to_string())),
        }
    }
}

/// The `p`-th percentile of `values`, exactly as NumPy's default `np.percentile(values, p)`
/// (method `"linear"`, type 7 of Hyndman & Fan).
///
/// With the values sorted ascending as `v[0..n]`, the rank is `p / 100 * (n - 1)`; the result
/// interpolates linearly between `v[floor(rank)]` and the next value, using NumPy's own
/// formula (`a + (b - a) * g`, or `b - (b - a) * (1 - g)` when `g >= 0.5`), so finite inputs
/// give the same bits as NumPy. `p = 0` is the minimum and `p = 100` the maximum. Runs in
/// O(n) (selection, not a full sort).
///
/// Infinities are accepted. Where NumPy would return NaN by interpolating into an infinity,
/// this returns the limit instead (an infinite neighbour wins unless the weight on it is 0);
/// only a rank strictly between `-inf` and `+inf` is an error.
///
/// # Errors
/// [`EvaluationError::Empty`] for no values, [`EvaluationError::PercentileOutOfRange`] for `p`
/// outside `0..=100` (or NaN), [`EvaluationError::NaN`] for a NaN value and
/// [`EvaluationError::UndefinedPercentile`] as above.
pub fn percentile(values: &[f64], p: f64) -> Result<f64> {
    check::percentile_in_range(p)?;
    check::finite_or_infinite("values", values)?;
    let n = values.len();
    let (index, gamma) = match rank(n, p) {
        Rank::Last => return Ok(max(values)),
        Rank::Between(index, gamma) => (index, gamma),
    };
    let mut work = values.to_vec();
    let (_, &mut a, above) = work.select_nth_unstable_by(index, f64::total_cmp);
    // `above` is non-empty: index < n - 1 whenever the rank is not the last position.
    let b = min(above);
    interpolate(a, b, gamma, p)
}

/// Several percentiles of the same values, sorting them once: `percentiles(v, ps)[i]` equals
/// `percentile(v, ps[i])`.
///
/// # Errors
/// As [`percentile`]; every `p` is checked before any work is done.
pub fn percentiles(values: &[f64], ps: &[f64]) -> Result<Vec<f64>> {
    for &p in ps {
        check::percentile_in_range(p)?;
    }
    check::finite_or_infinite("values", values)?;
    let sorted = sorted_copy(values);
    ps.iter()
        .map(|&p| percentile_of_sorted(&sorted, p))
        .collect()
}

/// A copy of `values` sorted ascending (NaN-free input assumed).
pub(crate) fn sorted_copy(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
}

/// [`percentile`] of values already sorted ascending, non-empty, NaN-free, `p` in range.
pub(crate) fn percentile_of_sorted(sorted: &[f64], p: f64) -> Result<f64> {
    match rank(sorted.len(), p) {
        Rank::Last => Ok(sorted[sorted.len() - 1]),
        Rank::Between(index, gamma) => interpolate(sorted[index], sorted[index + 1], gamma, p),
    }
}

enum Rank {
    /// The rank is at (or, by rounding, past) the last position: the answer is the maximum.
    Last,
    /// Interpolate between positions `index` and `index + 1` with weight `gamma` in [0, 1).
    Between(usize, f64),
}

/// NumPy's virtual index for method "linear": `(n - 1) * (p / 100)`.
fn rank(n: usize, p: f64) -> Rank {
    let last = (n - 1) as f64;
    let virtual_index = last * (p / 100.0);
    if virtual_index >= last {
        Rank::Last
    } else {
        let floor = virtual_index.floor();
        Rank::Between(floor as usize, virtual_index - floor)
    }
}

/// NumPy's `_lerp(a, b, gamma)` for `a <= b`, with limits instead of NaN at infinities.
fn interpolate(a: f64, b: f64, gamma: f64, p: f64) -> Result<f64> {
    if a.is_finite() && b.is_finite() {
        let diff = b - a;
        if diff.is_finite() {
            return Ok(if gamma >= 0.5 {
                b - diff * (1.0 - gamma)
            } else {
                a + diff * gamma
            });
        }
        // b - a overflowed (a near -MAX, b near +MAX): a convex blend cannot overflow.
        return Ok(a * (1.0 - gamma) + b * gamma);
    }
    if a == b || gamma == 0.0 {
        return Ok(a);
    }
    match (a == f64::NEG_INFINITY, b == f64::INFINITY) {
        (true, true) => Err(EvaluationError::UndefinedPercentile { p }),
        (true, false) => Ok(f64::NEG_INFINITY),
        // a > -inf and a < b, so one of them is infinite: b = +inf.
        _ => Ok(f64::INFINITY),
    }
}

fn max(values: &[f64]) -> f64 {
    values
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .expect("checked non-empty")
}

fn min(values: &[f64]) -> f64 {
    values
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .expect("checked non-empty")
}

/// How the cut between normal and anomalous rows is chosen.
///
/// Serialised externally tagged in snake_case: `{"percentile": 4.0}` or `{"value": -12.5}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// Flag `p` % of the rows (`p` in `0..=100`): the cut is the percentile of the scores that
    /// leaves `p` % on the anomalous side (see [`resolve_threshold`]).
    Percentile(f64),
    /// A fixed cut on the score scale, used as is.
    Value(f64),
}

/// The cut on the score scale that `threshold` stands for, given the scores it applies to.
///
/// `Percentile(p)` means "flag p % of the rows": for
/// [`LowIsAnomalous`](Direction::LowIsAnomalous) the cut is `percentile(scores, p)`, for
/// [`HighIsAnomalous`](Direction::HighIsAnomalous) it is `percentile(scores, 100 - p)`. This
/// is the reference code's rule (`score < np.percentile(score, 4)` for a GMM flagging 4 %,
/// `energy > np.percentile(energy, 80)` for DAGMM flagging 20 %). Because [`flag`] is strict,
/// rows tied with the cut are not flagged, so with distinct scores the number flagged is the
/// whole number of rows strictly beyond the interpolated cut (e.g. 21 of 520 rows for 4 %,
/// rank 20.76), and it can be fewer with ties.
///
/// `Value(v)` returns `v` without looking at the scores.
///
/// # Errors
/// For `Percentile`, as [`percentile`] (on `scores`); for `Value`,
/// [`EvaluationError::NaNThreshold`] when `v` is NaN.
pub fn resolve_threshold(
    scores: &[f64],
    threshold: &Threshold,
    direction: Direction,
) -> Result<f64> {
    match *threshold {
        Threshold::Percentile(p) => {
            check::percentile_in_range(p)?;
            check::finite_or_infinite("scores", scores)?;
            percentile(scores, percentile_for(p, direction))
        }
        Threshold::Value(v) => {
            check::cut_is_number(v)?;
            Ok(v)
        }
    }
}

/// The NumPy percentile whose cut flags `p` % of the rows in `direction`.
pub(crate) fn percentile_for(p: f64, direction: Direction) -> f64 {
    match direction {
        Direction::LowIsAnomalous => p,
        Direction::HighIsAnomalous => 100.0 - p,
    }
}

/// Predicted labels (1 = anomaly, 0 = normal) for `scores` at `cut`: `score < cut` for
/// [`LowIsAnomalous`](Direction::LowIsAnomalous), `score > cut` for
/// [`HighIsAnomalous`](Direction::HighIsAnomalous). The inequality is strict, as in the reference
/// code; rows whose score is NaN, and every row when the cut is NaN, are not flagged.
pub fn flag(scores: &[f64], cut: f64, direction: Direction) -> Vec<u8> {
    scores
        .iter()
        .map(|&s| u8::from(direction.is_anomalous(s, cut)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    /// Values for the NumPy cross-check: `((i * 7919) % 1000) / 7 - 50` for i in 0..137.
    fn scrambled() -> Vec<f64> {
        (0..137u64)
            .map(|i| ((i * 7919) % 1000) as f64 / 7.0 - 50.0)
            .collect()
    }

    #[test]
    fn percentile_matches_hand_computed_numpy_values() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // rank 0.4 * 3 = 1.2: 2 + 0.2 * (3 - 2)
        assert_eq!(percentile(&v, 40.0).unwrap(), 2.2);
        assert_eq!(percentile(&v, 0.0).unwrap(), 1.0);
        assert_eq!(percentile(&v, 100.0).unwrap(), 4.0);
        // rank 1.5: 2 + 0.5 * 1 (the b - (b - a)(1 - g) branch)
        assert_eq!(percentile(&v, 50.0).unwrap(), 2.5);
        // unsorted input with a duplicate: sorted 1 1 2 3 4 5 6 9, rank 7 * 0.25 = 1.75
        let w = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert_eq!(percentile(&w, 25.0).unwrap(), 1.75);
        // rank 0.75 between 10 and 20
        assert_eq!(percentile(&[20.0, 10.0], 75.0).unwrap(), 17.5);
        // a single value is every percentile
        for p in [0.0, 3.5, 50.0, 100.0] {
            assert_eq!(percentile(&[7.25], p).unwrap(), 7.25);
        }
    }

    #[test]
    fn percentile_is_bit_exact_with_numpy() {
        // Expected values printed by numpy 2.4 `repr(float(np.percentile(x, p)))`.
        let x = scrambled();
        let expected: [(f64, f64); 7] = [
            (0.1, -49.94171428571428),
            (4.0, -45.38285714285714),
            (33.3, -3.162285714285714),
            (50.0, 20.285714285714292),
            (80.0, 62.91428571428572),
            (99.9, 90.51314285714287),
            (100.0 - 33.3, 43.73371428571429),
        ];
        for (p, want) in expected {
            let got = percentile(&x, p).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "p = {p}: {got} vs {want}");
        }
        let ps: Vec<f64> = expected.iter().map(|&(p, _)| p).collect();
        let many = percentiles(&x, &ps).unwrap();
        for (got, (_, want)) in many.iter().zip(expected) {
            assert_eq!(got.to_bits(), want.to_bits());
        }
    }

    #[test]
    fn percentile_min_and_max_on_scrambled_values() {
        let x = scrambled();
        let lo = x.iter().copied().fold(INF, f64::min);
        let hi = x.iter().copied().fold(-INF, f64::max);
        assert_eq!(percentile(&x, 0.0).unwrap(), lo);
        assert_eq!(percentile(&x, 100.0).unwrap(), hi);
    }

    #[test]
    fn percentile_with_infinities_returns_limits() {
        // rank 0.5 between -inf and 1
        assert_eq!(percentile(&[1.0, -INF, 2.0], 25.0).unwrap(), -INF);
        assert_eq!(percentile(&[1.0, -INF, 2.0], 0.0).unwrap(), -INF);
        // rank 1.0 exactly on 1 (weight 0 on the neighbour)
        assert_eq!(percentile(&[1.0, -INF, 2.0], 50.0).unwrap(), 1.0);
        // rank 1.5 between 2 and +inf
        assert_eq!(percentile(&[1.0, INF, 2.0], 75.0).unwrap(), INF);
        assert_eq!(percentile(&[1.0, INF, 2.0], 100.0).unwrap(), INF);
        assert_eq!(percentile(&[INF, INF], 30.0).unwrap(), INF);
        // finite values whose difference overflows
        let m = f64::MAX;
        assert_eq!(percentile(&[-m, m], 50.0).unwrap(), 0.0);
        assert_eq!(
            percentile(&[-INF, INF], 50.0),
            Err(EvaluationError::UndefinedPercentile { p: 50.0 })
        );
    }

    #[test]
    fn percentile_errors() {
        assert_eq!(
            percentile(&[], 50.0),
            Err(EvaluationError::Empty { what: "values" })
        );
        assert_eq!(
            percentile(&[1.0], 120.0),
            Err(EvaluationError::PercentileOutOfRange { p: 120.0 })
        );
        assert_eq!(
            percentile(&[1.0], -0.5),
            Err(EvaluationError::PercentileOutOfRange { p: -0.5 })
        );
        assert!(matches!(
            percentile(&[1.0], f64::NAN),
            Err(EvaluationError::PercentileOutOfRange { .. })
        ));
        assert_eq!(
            percentile(&[1.0, 2.0, 3.0, f64::NAN], 50.0),
            Err(EvaluationError::NaN {
                what: "values",
                index: 3
            })
        );
        assert!(matches!(
            percentiles(&[1.0], &[10.0, 101.0]),
            Err(EvaluationError::PercentileOutOfRange { p }) if p == 101.0
        ));
        assert_eq!(
            percentile(&[1.0], 120.0).unwrap_err().to_string(),
            "percentile 120 is outside 0..=100"
        );
        assert_eq!(
            percentile(&[1.0, 2.0, 3.0, f64::NAN], 50.0)
                .unwrap_err()
                .to_string(),
            "values contain NaN at index 3"
        );
    }

    #[test]
    fn flag_is_strict_in_both_directions() {
        let s = [1.0, 2.0, 3.0, 3.0, 4.0, 5.0];
        assert_eq!(flag(&s, 3.0, Direction::LowIsAnomalous), [1, 1, 0, 0, 0, 0]);
        assert_eq!(
            flag(&s, 3.0, Direction::HighIsAnomalous),
            [0, 0, 0, 0, 1, 1]
        );
        assert_eq!(flag(&s, 0.5, Direction::LowIsAnomalous), [0; 6]);
        assert_eq!(flag(&s, 0.5, Direction::HighIsAnomalous), [1; 6]);
        assert_eq!(
            flag(&[f64::NAN, 1.0], 0.0, Direction::HighIsAnomalous),
            [0, 1]
        );
        assert_eq!(flag(&s, f64::NAN, Direction::LowIsAnomalous), [0; 6]);
        assert!(flag(&[], 1.0, Direction::LowIsAnomalous).is_empty());
    }

    #[test]
    fn fourth_percentile_rule_flags_21_of_520_distinct_rows() {
        // score < np.percentile(score, 4): rank 519 * 0.04 = 20.76, so indices 0..=20 are below.
        let x: Vec<f64> = (0..520).rev().map(|i| i as f64 * 1.5 - 3.0).collect();
        let cut =
            resolve_threshold(&x, &Threshold::Percentile(4.0), Direction::LowIsAnomalous).unwrap();
        assert_eq!(cut, percentile(&x, 4.0).unwrap());
        assert!((cut - (20.76 * 1.5 - 3.0)).abs() < 1e-9);
        let flagged = flag(&x, cut, Direction::LowIsAnomalous);
        assert_eq!(flagged.iter().filter(|&&f| f == 1).count(), 21);
    }

    #[test]
    fn energy_rule_flags_top_20_percent() {
        // energy > np.percentile(energy, 80) on 100 distinct energies flags 20 rows.
        let e: Vec<f64> = (0..100).map(|i| ((i * 37) % 100) as f64).collect();
        let cut = resolve_threshold(&e, &Threshold::Percentile(20.0), Direction::HighIsAnomalous)
            .unwrap();
        assert_eq!(cut, percentile(&e, 80.0).unwrap());
        // rank 99 * 0.8 = 79.2 -> 79.2
        assert!((cut - 79.2).abs() < 1e-12);
        let flagged = flag(&e, cut, Direction::HighIsAnomalous);
        assert_eq!(flagged.iter().filter(|&&f| f == 1).count(), 20);
        assert!(e
            .iter()
            .zip(&flagged)
            .all(|(&v, &f)| (f == 1) == (v >= 80.0)));
    }

    #[test]
    fn resolve_threshold_orientation_and_values() {
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        // Low: percentile 20, rank 1.8 -> 2.8: flags 1 and 2.
        let low =
            resolve_threshold(&s, &Threshold::Percentile(20.0), Direction::LowIsAnomalous).unwrap();
        assert!((low - 2.8).abs() < 1e-12);
        assert_eq!(
            flag(&s, low, Direction::LowIsAnomalous).iter().sum::<u8>(),
            2
        );
        // High: percentile 80, rank 7.2 -> 8.2: flags 9 and 10.
        let high = resolve_threshold(&s, &Threshold::Percentile(20.0), Direction::HighIsAnomalous)
            .unwrap();
        assert!((high - 8.2).abs() < 1e-12);
        assert_eq!(
            flag(&s, high, Direction::HighIsAnomalous)
                .iter()
                .sum::<u8>(),
            2
        );
        // Percentile(0) flags nothing, Percentile(100) flags all but the extreme row (strictness).
        let none =
            resolve_threshold(&s, &Threshold::Percentile(0.0), Direction::HighIsAnomalous).unwrap();
        assert_eq!(none, 10.0);
        assert_eq!(
            flag(&s, none, Direction::HighIsAnomalous)
                .iter()
                .sum::<u8>(),
            0
        );
        let all = resolve_threshold(
            &s,
            &Threshold::Percentile(100.0),
            Direction::HighIsAnomalous,
        )
        .unwrap();
        assert_eq!(all, 1.0);
        assert_eq!(
            flag(&s, all, Direction::HighIsAnomalous).iter().sum::<u8>(),
            9
        );
        // Value is used as is, even for empty scores.
        assert_eq!(
            resolve_threshold(&[], &Threshold::Value(-1.5), Direction::LowIsAnomalous).unwrap(),
            -1.5
        );
    }

    #[test]
    fn resolve_threshold_errors() {
        let d = Direction::HighIsAnomalous;
        assert_eq!(
            resolve_threshold(&[1.0], &Threshold::Value(f64::NAN), d),
            Err(EvaluationError::NaNThreshold)
        );
        assert_eq!(
            resolve_threshold(&[1.0], &Threshold::Percentile(100.5), d),
            Err(EvaluationError::PercentileOutOfRange { p: 100.5 })
        );
        assert_eq!(
            resolve_threshold(&[], &Threshold::Percentile(5.0), d),
            Err(EvaluationError::Empty { what: "scores" })
        );
        assert_eq!(
            resolve_threshold(&[0.0, f64::NAN], &Threshold::Percentile(5.0), d),
            Err(EvaluationError::NaN {
                what: "scores",
                index: 1
            })
        );
    }

    #[test]
    fn direction_names_round_trip() {
        for d in [Direction::LowIsAnomalous, Direction::HighIsAnomalous] {
            assert_eq!(d.to_string().parse::<Direction>().unwrap(), d);
        }
        assert_eq!(Direction::HighIsAnomalous.to_string(), "high_is_anomalous");
        assert_eq!(
            "sideways".parse::<Direction>(),
            Err(EvaluationError::UnknownDirection("sideways".into()))
        );
        assert_eq!(Direction::LowIsAnomalous.oriented(2.0), -2.0);
        assert_eq!(Direction::HighIsAnomalous.oriented(2.0), 2.0);
    }
}
