//! Input checks shared by the public functions.

use crate::error::{EvaluationError, Result};

/// `values` must hold at least one number and no NaN (infinities are allowed).
pub(crate) fn finite_or_infinite(what: &'static str, values: &[f64]) -> Result<()> {
    if values.is_empty() {
        return Err(EvaluationError::Empty { what });
    }
    match values.iter().position(|v| v.is_nan()) {
        Some(index) => Err(EvaluationError::NaN { what, index }),
        None => Ok(()),
    }
}

/// `labels` must hold only 0 and 1; returns the number of 1s.
pub(crate) fn binary(what: &'static str, labels: &[u8]) -> Result<usize> {
    let mut ones = 0;
    for (index, &value) in labels.iter().enumerate() {
        match value {
            0 => {}
            1 => ones += 1,
            _ => return Err(EvaluationError::InvalidLabel { what, index, value }),
        }
    }
    Ok(ones)
}

/// Two row-aligned inputs must have the same length.
pub(crate) fn same_len(
    what: &'static str,
    len: usize,
    other: &'static str,
    other_len: usize,
) -> Result<()> {
    if len == other_len {
        Ok(())
    } else {
        Err(EvaluationError::LengthMismatch {
            what,
            len,
            other,
            other_len,
        })
    }
}

/// A percentile must lie in 0..=100 (NaN does not).
pub(crate) fn percentile_in_range(p: f64) -> Result<()> {
    if (0.0..=100.0).contains(&p) {
        Ok(())
    } else {
        Err(EvaluationError::PercentileOutOfRange { p })
    }
}

/// A cut must not be NaN.
pub(crate) fn cut_is_number(cut: f64) -> Result<()> {
    if cut.is_nan() {
        Err(EvaluationError::NaNThreshold)
    } else {
        Ok(())
    }
}

/// Scores and labels for a metric: scores non-empty without NaN, labels of the same length and
/// binary. Returns the number of anomalies (1s).
pub(crate) fn scores_and_labels(scores: &[f64], labels: &[u8]) -> Result<usize> {
    same_len("labels", labels.len(), "scores", scores.len())?;
    finite_or_infinite("scores", scores)?;
    binary("labels", labels)
}
