//! k-means for initialising EM: greedy k-means++ seeding (as scikit-learn) and Lloyd's iterations.

use rand::Rng;

use crate::rows::{for_each_block, map_blocks, row, DenseRows, Rows};

const CHUNK: usize = 4096;

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `f` of every row of `x`, in row order.
fn per_row<T: Send>(x: &dyn Rows, f: impl Fn(usize, &[f64]) -> T + Sync) -> Vec<T> {
    let d = x.n_features();
    map_blocks(x, CHUNK, |start, rows| {
        rows.chunks(d)
            .enumerate()
            .map(|(i, r)| f(start + i, r))
            .collect::<Vec<T>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Greedy k-means++: each new center is the best of `2 + ln k` candidates drawn with probability
/// proportional to the squared distance to the nearest center so far. Returns `k × d` centers.
pub fn kmeans_plusplus<R: Rng>(x: &[f64], d: usize, k: usize, rng: &mut R) -> Vec<f64> {
    kmeans_plusplus_rows(&DenseRows::new(x, d), k, rng)
}

/// [`kmeans_plusplus`] of rows read a block at a time.
pub(crate) fn kmeans_plusplus_rows<R: Rng>(x: &dyn Rows, k: usize, rng: &mut R) -> Vec<f64> {
    let (n, d) = (x.n_rows(), x.n_features());
    let mut buffer = Vec::new();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centers.extend_from_slice(row(x, first, &mut buffer));
    let mut closest: Vec<f64> = per_row(x, |_, r| sq_dist(r, &centers[..d]));
    let mut potential: f64 = closest.iter().sum();
    for _ in 1..k {
        // Cumulative sums for inverse-CDF sampling.
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0.0;
        for v in &closest {
            acc += v;
            cumulative.push(acc);
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.random::<f64>() * potential;
                cumulative.partition_point(|&c| c <= target).min(n - 1)
            })
            .collect();
        let mut best: Option<(f64, Vec<f64>, usize)> = None;
        for &c in &candidates {
            let center = row(x, c, &mut buffer).to_vec();
            let dist: Vec<f64> = per_row(x, |i, r| sq_dist(r, &center).min(closest[i]));
            let pot: f64 = dist.iter().sum();
            if best.as_ref().is_none_or(|(p, _, _)| pot < *p) {
                best = Some((pot, dist, c));
            }
        }
        let (pot, dist, c) = best.expect("at least two candidates");
        potential = pot;
        closest = dist;
        centers.extend_from_slice(row(x, c, &mut buffer));
    }
    centers
}

/// Index of the nearest center for every row.
pub(crate) fn assign(x: &dyn Rows, centers: &[f64]) -> Vec<usize> {
    let d = x.n_features();
    per_row(x, |_, row| {
        let mut best = (f64::INFINITY, 0);
        for (c, center) in centers.chunks(d).enumerate() {
            let dist = sq_dist(row, center);
            if dist < best.0 {
                best = (dist, c);
            }
        }
        best.1
    })
}

/// Lloyd's k-means from `centers` until the total squared center shift falls below
/// `1e-4 ×` the mean feature variance (scikit-learn's tolerance) or `max_iter`. Returns labels.
pub fn lloyd(x: &[f64], d: usize, centers: &mut [f64], max_iter: usize) -> Vec<usize> {
    lloyd_rows(&DenseRows::new(x, d), centers, max_iter)
}

/// [`lloyd`] over rows read a block at a time.
pub(crate) fn lloyd_rows(x: &dyn Rows, centers: &mut [f64], max_iter: usize) -> Vec<usize> {
    let (n, d) = (x.n_rows(), x.n_features());
    let k = centers.len() / d;
    let mut mean = vec![0.0; d];
    for_each_block(x, CHUNK, |rows| {
        for row in rows.chunks(d) {
            for j in 0..d {
                mean[j] += row[j] / n as f64;
            }
        }
    });
    let mut total_var = 0.0;
    for_each_block(x, CHUNK, |rows| {
        for row in rows.chunks(d) {
            total_var += sq_dist(row, &mean);
        }
    });
    let mean_var = total_var / (n * d) as f64;
    let tol = 1e-4 * mean_var;
    let mut labels = assign(x, centers);
    for _ in 0..max_iter {
        let (sums, counts) = map_blocks(x, CHUNK, |start, rows| {
            let labs = &labels[start..start + rows.len() / d];
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0usize; k];
            for (row, &l) in rows.chunks(d).zip(labs) {
                counts[l] += 1;
                for j in 0..d {
                    sums[l * d + j] += row[j];
                }
            }
            (sums, counts)
        })
        .into_iter()
        // In chunk order: the same centers on every run (see `sum_in_order` in the EM).
        .fold(
            (vec![0.0; k * d], vec![0usize; k]),
            |(mut s, mut c), (s2, c2)| {
                s.iter_mut().zip(s2).for_each(|(a, b)| *a += b);
                c.iter_mut().zip(c2).for_each(|(a, b)| *a += b);
                (s, c)
            },
        );
        let mut shift = 0.0;
        for c in 0..k {
            if counts[c] == 0 {
                continue; // an empty cluster keeps its center
            }
            for j in 0..d {
                let new = sums[c * d + j] / counts[c] as f64;
                shift += (new - centers[c * d + j]).powi(2);
                centers[c * d + j] = new;
            }
        }
        labels = assign(x, centers);
        if shift <= tol {
            break;
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn finds_two_well_separated_groups() {
        let x = [0.0, 0.1, 0.2, 10.0, 10.1, 10.2];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut centers = kmeans_plusplus(&x, 1, 2, &mut rng);
        let labels = lloyd(&x, 1, &mut centers, 100);
        assert_eq!(labels[0], labels[1]);
        assert_eq!(labels[0], labels[2]);
        assert_eq!(labels[3], labels[5]);
        assert_ne!(labels[0], labels[3]);
        let mut c = centers.clone();
        c.sort_by(f64::total_cmp);
        assert!((c[0] - 0.1).abs() < 1e-12 && (c[1] - 10.1).abs() < 1e-12);
    }
}
