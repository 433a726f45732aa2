//! Seeded synthetic data sets: the tutorials' blobs and moons, and contaminated blobs for
//! benchmarks. Same seed, same numbers (ChaCha8); the numbers differ from scikit-learn's, whose
//! exact sets are shipped as CSV files instead (`shared/data/seeds`).

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::error::{DataError, Result};
use crate::Dataset;

/// Isotropic Gaussian blobs, as scikit-learn's `make_blobs`: `n_samples` points spread evenly over
/// `centers` (the first ones get the remainder), each coordinate N(center, std²).
/// Returns the points and the index of the blob each comes from.
pub fn blobs(
    n_samples: usize,
    centers: &[Vec<f64>],
    std: f64,
    seed: u64,
) -> Result<(Array2<f64>, Vec<usize>)> {
    let dims = centers.first().map_or(0, Vec::len);
    let mut points = Array2::zeros((n_samples, dims));
    let which = fill_blobs(points.view_mut(), centers, std, seed)?;
    Ok((points, which))
}

/// [`blobs`] written into `points` (its rows are the samples); returns each row's center.
fn fill_blobs(
    mut points: ndarray::ArrayViewMut2<f64>,
    centers: &[Vec<f64>],
    std: f64,
    seed: u64,
) -> Result<Vec<usize>> {
    if centers.first().map_or(0, Vec::len) != points.ncols() {
        return Err(DataError::InvalidArgument(
            "blobs need at least one center, all of the same non-zero dimension".into(),
        ));
    }
    let n_samples = points.nrows();
    let mut which = Vec::with_capacity(n_samples);
    let mut write = into_rows(points.rows_mut().into_iter());
    for_each_blob(n_samples, centers, std, seed, |c, row| {
        write(row);
        which.push(c);
        Ok(())
    })?;
    Ok(which)
}

/// Writes each row it is given into the next of `rows`.
fn into_rows<'a>(
    mut rows: impl Iterator<Item = ndarray::ArrayViewMut1<'a, f64>>,
) -> impl FnMut(&[f64]) {
    move |row| {
        rows.next()
            .expect("a row per sample")
            .iter_mut()
            .zip(row)
            .for_each(|(p, v)| *p = *v)
    }
}

/// The rows of [`blobs`] one at a time, in order: `visit(center, row)`.
fn for_each_blob(
    n_samples: usize,
    centers: &[Vec<f64>],
    std: f64,
    seed: u64,
    mut visit: impl FnMut(usize, &[f64]) -> Result<()>,
) -> Result<()> {
    let dims = centers.first().map_or(0, Vec::len);
    if centers.is_empty() || dims == 0 || centers.iter().any(|c| c.len() != dims) {
        return Err(DataError::InvalidArgument(
            "blobs need at least one center, all of the same non-zero dimension".into(),
        ));
    }
    let normal = Normal::new(0.0, std)
        .map_err(|e| DataError::InvalidArgument(format!("blob standard deviation {std}: {e}")))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = centers.len();
    let mut row = vec![0.0; dims];
    for (c, center) in centers.iter().enumerate() {
        let count = n_samples / k + usize::from(c < n_samples % k);
        for _ in 0..count {
            for (v, mu) in row.iter_mut().zip(center) {
                *v = mu + normal.sample(&mut rng);
            }
            visit(c, &row)?;
        }
    }
    Ok(())
}

/// `k` centers drawn uniformly from the box `[-10, 10]^dims` (scikit-learn's default box).
pub fn random_centers(k: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..k)
        .map(|_| (0..dims).map(|_| rng.random_range(-10.0..10.0)).collect())
        .collect()
}

/// Two interleaving half circles, as scikit-learn's `make_moons`, with Gaussian noise.
/// Returns the points and the moon each comes from (0 outer, 1 inner).
pub fn moons(n_samples: usize, noise: f64, seed: u64) -> Result<(Array2<f64>, Vec<usize>)> {
    let normal = Normal::new(0.0, noise)
        .map_err(|e| DataError::InvalidArgument(format!("moons noise {noise}: {e}")))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_outer = n_samples / 2;
    let n_inner = n_samples - n_outer;
    let step = |count: usize, i: usize| {
        if count > 1 {
            std::f64::consts::PI * i as f64 / (count - 1) as f64
        } else {
            0.0
        }
    };
    let mut points = Array2::zeros((n_samples, 2));
    let mut which = Vec::with_capacity(n_samples);
    for i in 0..n_outer {
        let t = step(n_outer, i);
        points[[i, 0]] = t.cos();
        points[[i, 1]] = t.sin();
        which.push(0);
    }
    for i in 0..n_inner {
        let t = step(n_inner, i);
        points[[n_outer + i, 0]] = 1.0 - t.cos();
        points[[n_outer + i, 1]] = 1.0 - t.sin() - 0.5;
        which.push(1);
    }
    for v in points.iter_mut() {
        *v += normal.sample(&mut rng);
    }
    Ok((points, which))
}

/// Blobs around `k` random centers with `std`, plus a share `outlier_fraction` of points drawn
/// uniformly from the data's bounding box grown by 20%, labelled 1. The benchmark data of the
/// classic GMM.
pub fn contaminated_blobs(
    n_samples: usize,
    dims: usize,
    k: usize,
    std: f64,
    outlier_fraction: f64,
    seed: u64,
) -> Result<Dataset> {
    let mut features = Array2::zeros((n_samples, dims));
    let mut labels = Vec::with_capacity(n_samples);
    {
        let mut write = into_rows(features.rows_mut().into_iter());
        for_each_contaminated_blob(
            n_samples,
            dims,
            k,
            std,
            outlier_fraction,
            seed,
            |row, label| {
                write(row);
                labels.push(label);
                Ok(())
            },
        )?;
    }
    Dataset::new(features, Some(labels), Dataset::default_columns(dims))
}

/// The rows of [`contaminated_blobs`] one at a time, in order, `visit(row, label)`, holding
/// none of them: for data too large to keep in `f64` (a second pass gives the same rows). The
/// first error `visit` returns ends the walk and is returned.
#[allow(clippy::too_many_arguments)]
pub fn for_each_contaminated_blob(
    n_samples: usize,
    dims: usize,
    k: usize,
    std: f64,
    outlier_fraction: f64,
    seed: u64,
    mut visit: impl FnMut(&[f64], u8) -> Result<()>,
) -> Result<()> {
    if !(0.0..1.0).contains(&outlier_fraction) {
        return Err(DataError::InvalidArgument(format!(
            "outlier_fraction must be in [0, 1), got {outlier_fraction}"
        )));
    }
    if !(std > 0.0 && std.is_finite()) {
        return Err(DataError::InvalidArgument(format!(
            "the blobs' standard deviation must be a positive number, got {std}"
        )));
    }
    let n_outliers = (n_samples as f64 * outlier_fraction).round() as usize;
    let n_inliers = n_samples - n_outliers;
    let centers = random_centers(k, dims, seed);
    // The inliers' bounding box, for the outliers.
    let mut lo = vec![f64::INFINITY; dims];
    let mut hi = vec![f64::NEG_INFINITY; dims];
    for_each_blob(n_inliers, &centers, std, seed.wrapping_add(1), |_, row| {
        for j in 0..dims {
            lo[j] = lo[j].min(row[j]);
            hi[j] = hi[j].max(row[j]);
        }
        visit(row, 0)
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(2));
    let mut row = vec![0.0; dims];
    for _ in n_inliers..n_samples {
        for j in 0..dims {
            let margin = 0.2 * (hi[j] - lo[j]);
            row[j] = rng.random_range(lo[j] - margin..hi[j] + margin);
        }
        visit(&row, 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_seeded_and_centered() {
        let centers = vec![vec![0.0, 0.0], vec![100.0, -50.0]];
        let (a, which) = blobs(2001, &centers, 1.0, 3).unwrap();
        let (b, _) = blobs(2001, &centers, 1.0, 3).unwrap();
        assert_eq!(a, b);
        assert_eq!(which.iter().filter(|&&c| c == 0).count(), 1001);
        let mean_second: f64 = (0..2001)
            .filter(|&i| which[i] == 1)
            .map(|i| a[[i, 0]])
            .sum::<f64>()
            / 1000.0;
        assert!((mean_second - 100.0).abs() < 0.2, "{mean_second}");
    }

    #[test]
    fn noiseless_moons_lie_on_their_circles() {
        let (x, which) = moons(100, 0.0, 0).unwrap();
        for i in 0..100 {
            let (cx, cy) = if which[i] == 0 {
                (0.0, 0.0)
            } else {
                (1.0, 0.5)
            };
            let r = ((x[[i, 0]] - cx).powi(2) + (x[[i, 1]] - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn contaminated_blobs_label_the_outliers() {
        let ds = contaminated_blobs(1000, 3, 4, 1.5, 0.02, 9).unwrap();
        assert_eq!(ds.n_anomalies(), Some(20));
        assert_eq!(ds.n_features(), 3);
        assert!(contaminated_blobs(10, 2, 1, 1.0, 1.0, 0).is_err());
    }
}

/// Names accepted by [`builtin`].
pub const BUILTIN: &[&str] = &["blobs", "moons"];

/// The tutorials' data sets, generated in-process (no file needed):
/// - `blobs` (seed 000's recipe): 500 normal rows around 3 random centers with std 1, plus 20
///   anomalies around 2 other centers with std 10, labelled 1;
/// - `moons` (seed 001's recipe): 1000 rows, noise 0.05, all labelled 0.
pub fn builtin(name: &str) -> Result<Dataset> {
    let columns = vec!["feature1".to_string(), "feature2".to_string()];
    match name {
        "blobs" => {
            let (normal, _) = blobs(500, &random_centers(3, 2, 42), 1.0, 42)?;
            let (anomalies, _) = blobs(20, &random_centers(2, 2, 0), 10.0, 0)?;
            let features =
                ndarray::concatenate(ndarray::Axis(0), &[normal.view(), anomalies.view()])
                    .map_err(|e| DataError::InvalidArgument(e.to_string()))?;
            let labels = (0..520).map(|i| u8::from(i >= 500)).collect();
            Dataset::new(features, Some(labels), columns)
        }
        "moons" => {
            let (features, _) = moons(1000, 0.05, 42)?;
            Dataset::new(features, Some(vec![0; 1000]), columns)
        }
        other => Err(DataError::InvalidArgument(format!(
            "unknown built-in data set `{other}` (known: {})",
            BUILTIN.join(", ")
        ))),
    }
}

#[cfg(test)]
mod builtin_tests {
    #[test]
    fn builtin_sets_have_the_tutorials_shapes() {
        let blobs = super::builtin("blobs").unwrap();
        assert_eq!((blobs.n_rows(), blobs.n_anomalies()), (520, Some(20)));
        assert_eq!(super::builtin("moons").unwrap().n_rows(), 1000);
        assert!(super::builtin("mnist")
            .unwrap_err()
            .to_string()
            .contains("blobs, moons"));
    }
}
