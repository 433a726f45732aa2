//! The DAGMM evaluation protocol's split: a seeded random 50/50 split of all rows; the model trains
//! on the non-anomalous rows of the training half and is scored on the whole other half.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};
use crate::Dataset;

/// The two halves of a data set, with the original row numbers of each.
#[derive(Debug, Clone)]
pub struct AnomalySplit {
    /// Training rows: the training half without its anomalies (all of it if there are no labels).
    pub train: Dataset,
    /// Test rows: the whole other half, anomalies included.
    pub test: Dataset,
    pub train_indices: Vec<usize>,
    pub test_indices: Vec<usize>,
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
    if !(train_fraction > 0.0 && train_fraction < 1.0) {
        return Err(DataError::InvalidArgument(format!(
            "train_fraction must lie strictly between 0 and 1, got {train_fraction}"
        )));
    }
    let n = data.n_rows();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_train_half = (n as f64 * train_fraction).round() as usize;
    let (train_half, test_half) = order.split_at(n_train_half);
    let mut train_indices: Vec<usize> = match &data.labels {
        Some(_) if keep_train_anomalies => train_half.to_vec(),
        Some(labels) => train_half
            .iter()
            .copied()
            .filter(|&i| labels[i] == 0)
            .collect(),
        None => train_half.to_vec(),
    };
    let mut test_indices = test_half.to_vec();
    // Keep file order inside each part: reproducible and easy to join back to the source rows.
    train_indices.sort_unstable();
    test_indices.sort_unstable();
    if train_indices.is_empty() || test_indices.is_empty() {
        return Err(DataError::InvalidArgument(format!(
            "the split of {n} rows leaves {} training and {} test rows",
            train_indices.len(),
            test_indices.len()
        )));
    }
    Ok(AnomalySplit {
        train: data.select_rows(&train_indices),
        test: data.select_rows(&test_indices),
        train_indices,
        test_indices,
    })
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
    fn bad_fraction_is_an_error() {
        assert!(anomaly_split(&labelled(10), 1.0, 0).is_err());
        assert!(anomaly_split(&labelled(10), f64::NAN, 0).is_err());
    }
}
