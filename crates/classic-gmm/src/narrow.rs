//! The per-row loops of EM for full covariances on narrow data (up to [`NARROW`] features), with
//! the feature count a constant: the compiler unrolls the triangular loops, which it cannot do
//! when the count is only known at run time. Every sum runs in the same order as the general
//! loops in `algorithm.rs`, so the results are the same to the bit.

/// The widest data the fixed-width loops serve.
pub(crate) const NARROW: usize = 16;

/// Calls `$f::<D>($args)` for the feature count `$d` (1 to [`NARROW`]); `None` beyond.
macro_rules! with_width {
    ($d:expr, $f:ident ( $($arg:expr),* )) => {
        match $d {
            1 => Some($f::<1>($($arg),*)),
            2 => Some($f::<2>($($arg),*)),
            3 => Some($f::<3>($($arg),*)),
            4 => Some($f::<4>($($arg),*)),
            5 => Some($f::<5>($($arg),*)),
            6 => Some($f::<6>($($arg),*)),
            7 => Some($f::<7>($($arg),*)),
            8 => Some($f::<8>($($arg),*)),
            9 => Some($f::<9>($($arg),*)),
            10 => Some($f::<10>($($arg),*)),
            11 => Some($f::<11>($($arg),*)),
            12 => Some($f::<12>($($arg),*)),
            13 => Some($f::<13>($($arg),*)),
            14 => Some($f::<14>($($arg),*)),
            15 => Some($f::<15>($($arg),*)),
            16 => Some($f::<16>($($arg),*)),
            _ => None,
        }
    };
}
pub(crate) use with_width;

/// `out[i·K + k] = log_const[k] − ½ ‖M_k (x_i − μ_k)‖²` for every row `x_i` of `rows`, with
/// `factors[k]` the lower-triangular `M_k` (row-major, `D × D`) and `means` the `K` means.
pub(crate) fn log_weighted_rows<const D: usize>(
    rows: &[f64],
    means: &[f64],
    factors: &[&[f64]],
    log_const: &[f64],
    out: &mut [f64],
) {
    let k = log_const.len();
    for (o, row) in out.chunks_exact_mut(k).zip(rows.chunks_exact(D)) {
        for c in 0..k {
            let mean = &means[c * D..(c + 1) * D];
            let m = &factors[c][..D * D];
            let mut diff = [0.0; D];
            for j in 0..D {
                diff[j] = row[j] - mean[j];
            }
            let mut maha = 0.0;
            for j in 0..D {
                let mut y = 0.0;
                for i in 0..=j {
                    y += diff[i] * m[j * D + i];
                }
                maha += y * y;
            }
            o[c] = log_const[c] - 0.5 * maha;
        }
    }
}

/// Adds `Σ_i r_ic (x_i − μ_c)(x_i − μ_c)ᵀ` of the rows of `rows` (responsibilities `resp`,
/// `K` per row) into `acc` (`K` blocks of `D × D`, lower triangle and diagonal only).
pub(crate) fn add_scatter<const D: usize>(
    rows: &[f64],
    resp: &[f64],
    means: &[f64],
    acc: &mut [f64],
) {
    let k = means.len() / D;
    for (row, r) in rows.chunks_exact(D).zip(resp.chunks_exact(k)) {
        for c in 0..k {
            let w = r[c];
            let mean = &means[c * D..(c + 1) * D];
            let mut diff = [0.0; D];
            for j in 0..D {
                diff[j] = row[j] - mean[j];
            }
            let s = &mut acc[c * D * D..(c + 1) * D * D];
            for i in 0..D {
                let wi = w * diff[i];
                for j in 0..=i {
                    s[i * D + j] += wi * diff[j];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The general loops of `algorithm.rs`, with the width known only at run time.
    fn maha_general(d: usize, m: &[f64], row: &[f64], mean: &[f64]) -> f64 {
        let diff: Vec<f64> = row.iter().zip(mean).map(|(x, u)| x - u).collect();
        let mut maha = 0.0;
        for (j, m_row) in m.chunks_exact(d).enumerate() {
            let mut y = 0.0;
            for (mji, di) in m_row[..=j].iter().zip(&diff[..=j]) {
                y += di * mji;
            }
            maha += y * y;
        }
        maha
    }

    fn scatter_general(d: usize, rows: &[f64], resp: &[f64], means: &[f64], acc: &mut [f64]) {
        let k = means.len() / d;
        let mut diff = vec![0.0; d];
        for (row, r) in rows.chunks(d).zip(resp.chunks(k)) {
            for c in 0..k {
                let w = r[c];
                for j in 0..d {
                    diff[j] = row[j] - means[c * d + j];
                }
                let s = &mut acc[c * d * d..(c + 1) * d * d];
                for i in 0..d {
                    let wi = w * diff[i];
                    for (j, v) in s[i * d..i * d + i + 1].iter_mut().enumerate() {
                        *v += wi * diff[j];
                    }
                }
            }
        }
    }

    fn check<const D: usize>(rng: &mut ChaCha8Rng) {
        let (n, k) = (37, 3);
        let mut draw =
            |len: usize| -> Vec<f64> { (0..len).map(|_| rng.random_range(-3.0..3.0)).collect() };
        let rows = draw(n * D);
        let means = draw(k * D);
        let factors: Vec<Vec<f64>> = (0..k)
            .map(|_| {
                let mut m = draw(D * D);
                for j in 0..D {
                    for i in j + 1..D {
                        m[j * D + i] = 0.0;
                    }
                }
                m
            })
            .collect();
        let log_const = draw(k);
        let resp = draw(n * k);
        let refs: Vec<&[f64]> = factors.iter().map(Vec::as_slice).collect();
        let mut fixed = vec![0.0; n * k];
        log_weighted_rows::<D>(&rows, &means, &refs, &log_const, &mut fixed);
        for i in 0..n {
            for c in 0..k {
                let row = &rows[i * D..(i + 1) * D];
                let maha = maha_general(D, &factors[c], row, &means[c * D..(c + 1) * D]);
                assert_eq!(fixed[i * k + c], log_const[c] - 0.5 * maha, "D {D} row {i}");
            }
        }
        let (mut a, mut b) = (vec![0.0; k * D * D], vec![0.0; k * D * D]);
        add_scatter::<D>(&rows, &resp, &means, &mut a);
        scatter_general(D, &rows, &resp, &means, &mut b);
        assert_eq!(a, b, "D {D}");
    }

    #[test]
    fn fixed_width_loops_equal_the_general_ones_to_the_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        check::<1>(&mut rng);
        check::<2>(&mut rng);
        check::<3>(&mut rng);
        check::<5>(&mut rng);
        check::<8>(&mut rng);
        check::<13>(&mut rng);
        check::<16>(&mut rng);
    }
}
