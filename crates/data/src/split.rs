//! The splits of the evaluation protocols, all seeded:
//!
//! * [`anomaly_split`] / [`split_halves`]: the DAGMM paper's (and tnakae/DAGMM's) random split of
//!   ALL rows; the model trains on the non-anomalous rows of the training half (or the whole half)
//!   and is scored on the whole other half;
//! * [`contaminated_split`]: the same halves, with anomalies of the training half mixed into the
//!   training rows at an exact share (the paper's Table 3);
//! * [`all_anomalies_in_test`]: danieltan07/dagmm's, GOAD's and NeuTraL-AD's split of the NORMAL
//!   rows only; the model trains on one part and is scored on the other part plus every anomaly.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};
use crate::Dataset;

/// The row numbers of a split, each part in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRows {
    /// The rows the detector is fitted on.
    pub train: Vec<usize>,
    /// The rows it is judged on.
    pub test: Vec<usize>,
}

impl SplitRows {
    /// Sorts both parts into file order (reproducible, and easy to join back to the source rows),
    /// refusing an empty part.
    fn new(
        mut train: Vec<usize>,
        mut test: Vec<usize>,
        what: impl FnOnce() -> String,
    ) -> Result<Self> {
        train.sort_unstable();
        test.sort_unstable();
        if train.is_empty() || test.is_empty() {
            return Err(DataError::InvalidArgument(format!(
                "{} leaves {} training and {} test rows",
                what(),
                train.len(),
                test.len()
            )));
        }
        Ok(SplitRows { train, test })
    }

    /// The DAGMM paper's split of `n` rows: a seeded permutation cut at
    /// `round(n · train_fraction)`. The training part is the training half without its anomalies
    /// (all of it without labels, or with `keep_train_anomalies`); the test part is the whole other
    /// half.
    pub fn halves(
        n: usize,
        labels: Option<&[u8]>,
        train_fraction: f64,
        seed: u64,
        keep_train_anomalies: bool,
    ) -> Result<Self> {
        check_fraction(train_fraction)?;
        let (train_half, test_half) = halves(n, train_fraction, seed);
        let train = match labels {
            Some(labels) if !keep_train_anomalies => {
                train_half.into_iter().filter(|&i| labels[i] == 0).collect()
            }
            _ => train_half,
        };
        Self::new(train, test_half, || format!("the split of {n} rows"))
    }

    /// The paper's halves with the training rows contaminated: anomalies drawn at random (seeded)
    /// from the training half join its normal rows so that they make `contamination` of the
    /// training rows: `round(c · n / (1 − c))` anomalies beside `n` normal rows.
    pub fn contaminated(
        labels: &[u8],
        train_fraction: f64,
        seed: u64,
        contamination: f64,
    ) -> Result<Self> {
        check_fraction(train_fraction)?;
        if !(contamination > 0.0 && contamination < 1.0) {
            return Err(DataError::InvalidArgument(format!(
                "contamination must lie strictly between 0 and 1, got {contamination}"
            )));
        }
        let (train_half, test_half) = halves(labels.len(), train_fraction, seed);
        let (normal, anomalies): (Vec<usize>, Vec<usize>) =
            train_half.into_iter().partition(|&i| labels[i] == 0);
        let wanted = (contamination * normal.len() as f64 / (1.0 - contamination)).round() as usize;
        if wanted > anomalies.len() {
            return Err(DataError::InvalidArgument(format!(
                "contamination {contamination} of {} normal training rows needs {wanted} anomalies; \
                 the training half holds {}",
                normal.len(),
                anomalies.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let mut train = normal;
        train.extend(
            rand::seq::index::sample(&mut rng, anomalies.len(), wanted)
                .into_iter()
                .map(|k| anomalies[k]),
        );
        Self::new(train, test_half, || {
            format!("the contaminated split of {} rows", labels.len())
        })
    }

    /// danieltan07/dagmm's, GOAD's and NeuTraL-AD's split: the normal rows (label 0) are split at
    /// random (seeded) at `train_fraction`; the training part is the first, the test part the
    /// other together with EVERY anomaly.
    pub fn all_anomalies_in_test(labels: &[u8], train_fraction: f64, seed: u64) -> Result<Self> {
        check_fraction(train_fraction)?;
        let normal: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 0).collect();
        if normal.is_empty() {
            return Err(DataError::InvalidArgument(
                "no rows are labelled 0 (normal): there is nothing to train on".into(),
            ));
        }
        let (train, test) = halves(normal.len(), train_fraction, seed);
        let train = train.into_iter().map(|k| normal[k]).collect();
        let mut test: Vec<usize> = test.into_iter().map(|k| normal[k]).collect();
        test.extend((0..labels.len()).filter(|&i| labels[i] == 1));
        Self::new(train, test, || {
            format!("splitting {} normal rows", normal.len())
        })
    }
}

/// The two parts of a data set, with the original row numbers of each.
#[derive(Debug, Clone)]
pub struct AnomalySplit {
    /// Training rows: the training half without its anomalies (all of it if there are no labels).
    pub train: Dataset,
    /// Test rows: the whole other half, anomalies included.
    pub test: Dataset,
    pub train_indices: Vec<usize>,
    pub test_indices: Vec<usize>,
}

impl AnomalySplit {
    /// The rows of `data` that `rows` names.
    pub fn of(data: &Dataset, rows: SplitRows) -> Self {
        AnomalySplit {
            train: data.select_rows(&rows.train),
            test: data.select_rows(&rows.test),
            train_indices: rows.train,
            test_indices: rows.test,
        }
    }
}

fn check_fraction(train_fraction: f64) -> Result<()> {
    if !(train_fraction > 0.0 && train_fraction < 1.0) {
        return Err(DataError::InvalidArgument(format!(
            "train_fraction must lie strictly between 0 and 1, got {train_fraction}"
        )));
    }
    Ok(())
}

/// The labels of a data set the protocol needs them for.
fn labels_of<'a>(data: &'a Dataset, split: &str) -> Result<&'a [u8]> {
    data.labels.as_deref().ok_or_else(|| {
        DataError::InvalidArgument(format!(
            "the {split} split needs labels (0 = normal, 1 = anomaly); the data have none"
        ))
    })
}

/// The seeded permutation of `0..n` cut at `round(n · train_fraction)`.
fn halves(n: usize, train_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let cut = (n as f64 * train_fraction).round() as usize;
    let test = order.split_off(cut);
    (order, test)
}

/// [`SplitRows::all_anomalies_in_test`] of `data`.
pub fn all_anomalies_in_test(
    data: &Dataset,
    train_fraction: f64,
    seed: u64,
) -> Result<AnomalySplit> {
    let labels = labels_of(data, "all-anomalies-in-test")?;
    let rows = SplitRows::all_anomalies_in_test(labels, train_fraction, seed)?;
    Ok(AnomalySplit::of(data, rows))
}

/// [`SplitRows::contaminated`] of `data` (the paper's Table 3): the same test half as
/// [`anomaly_split`] for a seed; the training part keeps its labels.
pub fn contaminated_split(
    data: &Dataset,
    train_fraction: f64,
    seed: u64,
    contamination: f64,
) -> Result<AnomalySplit> {
    let labels = labels_of(data, "contaminated")?;
    let rows = SplitRows::contaminated(labels, train_fraction, seed, contamination)?;
    Ok(AnomalySplit::of(data, rows))
}

/// Splits `data` at random (seeded): `train_fraction` of the rows form the training half.
pub fn anomaly_split(data: &Dataset, train_fraction: f64, seed: u64) -> Result<AnomalySplit> {
    split_halves(data, train_fraction, seed, false)
}

/// [`anomaly_split`], but with `keep_train_anomalies` the training part is the WHOLE training half,
/// anomalies and labels included (for objectives that train on labelled anomalies, or on
/// unlabelled contaminated rows). The test half is the same as [`anomaly_split`]'s for a seed.
pub fn split_halves(
    data: &Dataset,
    train_fraction: f64,
    seed: u64,
    keep_train_anomalies: bool,
) -> Result<AnomalySplit> {
    let rows = SplitRows::halves(
        data.n_rows(),
        data.labels.as_deref(),
        train_fraction,
        seed,
        keep_train_anomalies,
    )?;
    Ok(AnomalySplit::of(data, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn labelled(n: usize) -> Dataset {
        let features = Array2::from_shape_fn((n, 1), |(i, _)| i as f64);
        let labels = (0..n).map(|i| u8::from(i % 5 == 0)).collect();
        Dataset::new(features, Some(labels), vec!["x".into()]).unwrap()
    }

    #[test]
    fn halves_partition_the_rows_and_training_has_no_anomalies() {
        let data = labelled(1000);
        let s = anomaly_split(&data, 0.5, 7).unwrap();
        assert_eq!(s.test.n_rows(), 500);
        assert_eq!(s.train.n_anomalies(), Some(0));
        let train_half_anomalies = 200 - s.test.n_anomalies().unwrap();
        assert_eq!(s.train.n_rows() + train_half_anomalies, 500);
        let mut all: Vec<usize> = s
            .train_indices
            .iter()
            .chain(&s.test_indices)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 500 + s.train.n_rows());
        // Rows keep their features: row i holds value i.
        for (k, &i) in s.test_indices.iter().enumerate() {
            assert_eq!(s.test.features[[k, 0]], i as f64);
        }
    }

    #[test]
    fn same_seed_same_split_other_seed_other_split() {
        let data = labelled(200);
        let a = anomaly_split(&data, 0.5, 1).unwrap();
        let b = anomaly_split(&data, 0.5, 1).unwrap();
        let c = anomaly_split(&data, 0.5, 2).unwrap();
        assert_eq!(a.test_indices, b.test_indices);
        assert_ne!(a.test_indices, c.test_indices);
    }

    #[test]
    fn keeping_the_anomalies_gives_the_whole_training_half_and_the_same_test_half() {
        let data = labelled(1000);
        let normal = anomaly_split(&data, 0.5, 7).unwrap();
        let whole = split_halves(&data, 0.5, 7, true).unwrap();
        assert_eq!(whole.test_indices, normal.test_indices);
        assert_eq!(whole.train.n_rows(), 500);
        assert_eq!(
            whole.train.n_anomalies().unwrap(),
            200 - normal.test.n_anomalies().unwrap()
        );
        assert!(normal
            .train_indices
            .iter()
            .all(|i| whole.train_indices.contains(i)));
    }

    #[test]
    fn all_anomalies_in_test_splits_the_normal_rows_and_tests_on_every_anomaly() {
        let data = labelled(1000); // 200 anomalies, 800 normal
        let s = all_anomalies_in_test(&data, 0.5, 3).unwrap();
        assert_eq!(s.train.n_rows(), 400);
        assert_eq!(s.train.n_anomalies(), Some(0));
        assert_eq!(s.test.n_rows(), 600);
        assert_eq!(s.test.n_anomalies(), Some(200));
        let mut all: Vec<usize> = s
            .train_indices
            .iter()
            .chain(&s.test_indices)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..1000).collect::<Vec<_>>(),
            "a partition of every row"
        );
        assert_ne!(
            all_anomalies_in_test(&data, 0.5, 4).unwrap().train_indices,
            s.train_indices
        );
        let unlabelled = Dataset::new(data.features.clone(), None, data.columns.clone()).unwrap();
        assert!(all_anomalies_in_test(&unlabelled, 0.5, 3).is_err());
    }

    #[test]
    fn contamination_adds_the_exact_share_of_training_half_anomalies() {
        let data = labelled(1000);
        let clean = anomaly_split(&data, 0.5, 7).unwrap();
        let whole = split_halves(&data, 0.5, 7, true).unwrap();
        for c in [0.01, 0.02, 0.03, 0.04, 0.05] {
            let s = contaminated_split(&data, 0.5, 7, c).unwrap();
            let n = clean.train.n_rows();
            let want = (c * n as f64 / (1.0 - c)).round() as usize;
            assert_eq!(s.train.n_anomalies(), Some(want), "c = {c}");
            assert_eq!(s.train.n_rows(), n + want);
            assert_eq!(
                s.test_indices, clean.test_indices,
                "the test half is the paper's"
            );
            // Every training row comes from the training half; the normal ones all stay.
            assert!(s
                .train_indices
                .iter()
                .all(|i| whole.train_indices.contains(i)));
            assert!(clean
                .train_indices
                .iter()
                .all(|i| s.train_indices.contains(i)));
        }
        assert!(
            contaminated_split(&data, 0.5, 7, 0.5).is_err(),
            "more anomalies than the half has"
        );
        assert!(contaminated_split(&data, 0.5, 7, 0.0).is_err());
    }

    #[test]
    fn bad_fraction_is_an_error() {
        assert!(anomaly_split(&labelled(10), 1.0, 0).is_err());
        assert!(anomaly_split(&labelled(10), f64::NAN, 0).is_err());
    }
}
