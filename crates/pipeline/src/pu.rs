//! The PU decision of seed 002's modification 5 for any detector: a seeded `labelled_fraction`
//! of the normal training rows is labelled; a logistic classifier `h` learns labelled against
//! unlabelled rows on the detector's features ([`RowScores::features`]: DAGMM's
//! `[z, energy, ‖x − x'‖²]`); `c` is its mean on held-out labelled rows; a row is flagged when
//! `h(x) < c/2`, i.e. when `1 − h/c > 0.5` (Elkan and Noto 2008).

use dagmm_evaluation::{evaluate, Direction, Metrics, PuConfig, PuThreshold};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::detector::RowScores;
use crate::{PipelineError, Result};

/// What the PU decision gives on the test rows.
#[derive(Debug, Clone)]
pub struct PuOutcome {
    /// Of `1 − h/c` at 0.5.
    pub metrics: Metrics,
    /// `1 − h/c` of every test row.
    pub score: Vec<f64>,
    /// `h < c/2`.
    pub flagged: Vec<u8>,
    pub threshold: PuThreshold,
    /// Normal training rows labelled.
    pub labelled: usize,
}

/// Fits the classifier on the training rows' features (`train_labels` says which rows are
/// normal, so which may be labelled) and applies it to the test rows.
pub fn pu_decide(
    config: &PuConfig,
    seed: u64,
    train: &RowScores,
    train_labels: &[u8],
    test: &RowScores,
    test_labels: &[u8],
) -> Result<PuOutcome> {
    let normal: Vec<usize> = (0..train_labels.len())
        .filter(|&i| train_labels[i] == 0)
        .collect();
    let n_labelled = ((normal.len() as f64) * config.labelled_fraction).round() as usize;
    let mut labelled = vec![false; train.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for k in sample(&mut rng, normal.len(), n_labelled.min(normal.len())) {
        labelled[normal[k]] = true;
    }
    let (features, width) = train.features();
    let threshold = PuThreshold::fit(&features, width, &labelled, config)
        .map_err(|e| PipelineError::Invalid(format!("fitting the PU classifier: {e}")))?;
    let (test_features, _) = test.features();
    let score = threshold.anomaly_score(&test_features)?;
    let flagged = threshold.flag(&test_features)?;
    let metrics = evaluate(&score, test_labels, 0.5, Direction::HighIsAnomalous)?;
    Ok(PuOutcome {
        metrics,
        score,
        flagged,
        threshold,
        labelled: n_labelled,
    })
}
