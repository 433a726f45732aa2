//! Small dense linear algebra on row-major `d × d` slices: Cholesky factors and the inverse factor
//! the E-step uses (scikit-learn's precision factor, transposed). Plain loops, each running along
//! rows so that thousands of features read memory in order.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};

/// From this many features on, EM takes the paths written for wide data: matrix products for
/// the scatter and the E-step, lane-summed dot products in the Cholesky factor.
pub const WIDE: usize = 32;

/// `Σ a_k b_k` in eight partial sums, added pairwise at the end.
fn dot_in_lanes(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    let mut sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// Lower-triangular `L` with `a = L Lᵀ`, or `None` when `a` is not (numerically) positive definite.
///
/// From [`WIDE`] features on, each entry's dot product is summed in eight independent lanes
/// (pipelined and vectorised, several times faster for thousands of features, with rounding
/// that differs in the last bits); below, one running sum (the order the seed tutorials' exact
/// figures were checked with).
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    debug_assert_eq!(a.len(), d * d);
    if d >= BLOCKED {
        blocked_cholesky(a, d)
    } else {
        row_cholesky(a, d)
    }
}

/// [`cholesky`] entry by entry, along rows.
fn row_cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut sum = a[i * d + j];
            if d >= WIDE {
                sum -= dot_in_lanes(&l[i * d..i * d + j], &l[j * d..j * d + j]);
            } else {
                for k in 0..j {
                    sum -= l[i * d + k] * l[j * d + k];
                }
            }
            if i == j {
                if !(sum > 0.0) || !sum.is_finite() {
                    return None;
                }
                l[i * d + i] = sum.sqrt();
            } else {
                l[i * d + j] = sum / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// Lower-triangular `M = L⁻¹` (row-major) from a covariance `a = L Lᵀ`, so that `a⁻¹ = Mᵀ M`
/// and the squared Mahalanobis distance of `v` is `‖M v‖²`: row `j` of `M` is scikit-learn's
/// precision factor `U = Mᵀ` read down its column `j`. Also returns `log det M = -½ log det a`.
///
/// Row `i` of `M` is `(e_i − Σ_{k<i} L_ik M_k) / L_ii`: each step runs along a row of `M`, so
/// the memory is read in order even for thousands of features, and every entry is the same sum,
/// in the same order, as column-by-column forward substitution.
pub fn inverse_cholesky(a: &[f64], d: usize) -> Option<(Vec<f64>, f64)> {
    let l = cholesky(a, d)?;
    let m = if d >= BLOCKED {
        blocked_triangular_inverse(&l, d)
    } else {
        triangular_inverse(&l, d)
    };
    let log_det = (0..d).map(|i| m[i * d + i].ln()).sum();
    Some((m, log_det))
}

/// `L⁻¹` of a lower-triangular `d × d` factor, row by row.
fn triangular_inverse(l: &[f64], d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d * d];
    for i in 0..d {
        let (done, rest) = m.split_at_mut(i * d);
        let row = &mut rest[..d];
        row[i] = 1.0;
        for k in 0..i {
            let f = l[i * d + k];
            // Entries c > k of row k are zero: only c ≤ k take part.
            for (r, mk) in row[..=k].iter_mut().zip(&done[k * d..k * d + k + 1]) {
                *r -= f * mk;
            }
        }
        let pivot = l[i * d + i];
        row[..=i].iter_mut().for_each(|r| *r /= pivot);
    }
    m
}

/// From this many features on, the Cholesky factor and its inverse go by blocks of [`BLOCK`]
/// columns, their bulk one matrix product per block (about five times faster at 1,500 features
/// than the row loops; rounding differs in the last bits).
pub const BLOCKED: usize = 256;
const BLOCK: usize = 64;

/// `rows × cols` of the row-major `d`-wide matrix `m` from `(r, c)`, copied.
fn block(m: &[f64], d: usize, r: std::ops::Range<usize>, c: std::ops::Range<usize>) -> Array2<f64> {
    view(m, d, r, c).to_owned()
}

/// `rows × cols` of the row-major `d`-wide matrix `m` from `(r, c)`, in place (strided): no copy,
/// no fresh pages.
fn view(
    m: &[f64],
    d: usize,
    r: std::ops::Range<usize>,
    c: std::ops::Range<usize>,
) -> ArrayView2<'_, f64> {
    use ndarray::ShapeBuilder;
    let start = r.start * d + c.start;
    let end = if r.is_empty() || c.is_empty() {
        start
    } else {
        (r.end - 1) * d + c.end
    };
    ArrayView2::from_shape((r.len(), c.len()).strides((d, 1)), &m[start..end])
        .expect("inside the matrix")
}

/// The Cholesky factor by blocks (left-looking): for each block column `K`, the columns of `L`
/// to its left update it in one product (`A[k.., K] −= L[k.., ..k] L[K, ..k]ᵀ`), its diagonal
/// block is factored by the row loops, and the rows below solve against that factor.
fn blocked_cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for k0 in (0..d).step_by(BLOCK) {
        let k1 = (k0 + BLOCK).min(d);
        let b = k1 - k0;
        // The block column, rows k0.., with the earlier columns' contribution removed.
        let mut column = block(a, d, k0..d, k0..k1);
        if k0 > 0 {
            let left = view(&l, d, k0..d, 0..k0);
            let top = left.slice(ndarray::s![..b, ..]);
            general_mat_mul(-1.0, &left, &top.t(), 1.0, &mut column);
        }
        let diagonal: Vec<f64> = column.slice(ndarray::s![..b, ..]).iter().copied().collect();
        let factor = row_cholesky(&diagonal, b)?;
        for i in 0..b {
            l[(k0 + i) * d + k0..(k0 + i) * d + k0 + i + 1]
                .copy_from_slice(&factor[i * b..i * b + i + 1]);
        }
        // Rows below: x Lᵀ_KK = a, by forward substitution along each row.
        for i in b..d - k0 {
            let row = &mut l[(k0 + i) * d + k0..(k0 + i) * d + k1];
            for j in 0..b {
                let mut sum = column[[i, j]];
                for (p, x) in row[..j].iter().enumerate() {
                    sum -= x * factor[j * b + p];
                }
                row[j] = sum / factor[j * b + j];
            }
        }
    }
    Some(l)
}

/// `L⁻¹` by blocks of rows: `M[I, I] = L_II⁻¹`, and `M[I, ..i0] = −L_II⁻¹ (L[I, ..i0] M[..i0, ..i0])`,
/// one product per block (the rows above are final when block `I` is reached).
fn blocked_triangular_inverse(l: &[f64], d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d * d];
    for i0 in (0..d).step_by(BLOCK) {
        let i1 = (i0 + BLOCK).min(d);
        let b = i1 - i0;
        let diagonal = block(l, d, i0..i1, i0..i1);
        let inverse = triangular_inverse(diagonal.as_slice().expect("owned"), b);
        for i in 0..b {
            m[(i0 + i) * d + i0..(i0 + i) * d + i0 + i + 1]
                .copy_from_slice(&inverse[i * b..i * b + i + 1]);
        }
        if i0 == 0 {
            continue;
        }
        let mut t = Array2::<f64>::zeros((b, i0));
        general_mat_mul(
            1.0,
            &view(l, d, i0..i1, 0..i0),
            &view(&m, d, 0..i0, 0..i0),
            0.0,
            &mut t,
        );
        let inverse = Array2::from_shape_vec((b, b), inverse).expect("b × b");
        let mut rows = Array2::<f64>::zeros((b, i0));
        general_mat_mul(-1.0, &inverse, &t, 0.0, &mut rows);
        for i in 0..b {
            m[(i0 + i) * d..(i0 + i) * d + i0]
                .copy_from_slice(rows.row(i).as_slice().expect("standard layout"));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `B Bᵀ + ridge·I` (row-major `d × d`) for a fixed pseudo-random `B`: symmetric positive
    /// definite.
    fn positive_definite(d: usize, ridge: f64) -> Vec<f64> {
        let b: Vec<f64> = (0..d * d)
            .map(|i| ((i * 7919 % 1013) as f64 / 1013.0) - 0.5)
            .collect();
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                a[i * d + j] = (0..d).map(|k| b[i * d + k] * b[j * d + k]).sum::<f64>()
                    + if i == j { ridge } else { 0.0 };
            }
        }
        a
    }

    #[test]
    fn cholesky_matches_hand_factor() {
        // a = L Lᵀ with L = [[2,0,0],[1,3,0],[-1,2,1]] worked by hand.
        let a = [4.0, 2.0, -2.0, 2.0, 10.0, 5.0, -2.0, 5.0, 6.0];
        let l = cholesky(&a, 3).unwrap();
        let expected = [2.0, 0.0, 0.0, 1.0, 3.0, 0.0, -1.0, 2.0, 1.0];
        for (x, y) in l.iter().zip(expected) {
            assert!((x - y).abs() < 1e-12, "{l:?}");
        }
    }

    #[test]
    fn inverse_factor_inverts_the_matrix() {
        let a = [4.0, 2.0, -2.0, 2.0, 10.0, 5.0, -2.0, 5.0, 6.0];
        let (m, log_det) = inverse_cholesky(&a, 3).unwrap();
        // Mᵀ M a = I
        for i in 0..3 {
            for j in 0..3 {
                let mut v = 0.0;
                for k in 0..3 {
                    let mtm: f64 = (0..3).map(|r| m[r * 3 + i] * m[r * 3 + k]).sum();
                    v += mtm * a[k * 3 + j];
                }
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        // det a = (2·3·1)² = 36, so log det M = -½ ln 36.
        assert!((log_det + 0.5 * 36f64.ln()).abs() < 1e-12);
        for i in 0..3 {
            for j in i + 1..3 {
                assert_eq!(m[i * 3 + j], 0.0, "M must be lower triangular");
            }
        }
    }

    /// The row-wise inverse is the column-wise forward substitution, bit for bit.
    #[test]
    fn row_wise_inverse_equals_column_wise_substitution() {
        let d = 40;
        let a = positive_definite(d, d as f64);
        let l = cholesky(&a, d).unwrap();
        let mut by_columns = vec![0.0; d * d];
        for c in 0..d {
            for i in c..d {
                let mut sum = if i == c { 1.0 } else { 0.0 };
                for k in c..i {
                    sum -= l[i * d + k] * by_columns[k * d + c];
                }
                by_columns[i * d + c] = sum / l[i * d + i];
            }
        }
        let (m, _) = inverse_cholesky(&a, d).unwrap();
        assert_eq!(m, by_columns);
    }

    /// The blocked factor and inverse (from BLOCKED features on) are the row loops' to rounding,
    /// across several blocks and a ragged last one, and an indefinite matrix is refused by blocks
    /// too.
    #[test]
    fn blocked_factor_and_inverse_equal_the_row_loops() {
        let d = BLOCKED + 2 * BLOCK + 7;
        let a = positive_definite(d, d as f64);
        let blocked = blocked_cholesky(&a, d).unwrap();
        let rows = row_cholesky(&a, d).unwrap();
        let largest = rows.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (x, y)) in blocked.iter().zip(&rows).enumerate() {
            assert!((x - y).abs() <= 1e-12 * largest, "L[{i}]: {x} vs {y}");
        }
        let m_blocked = blocked_triangular_inverse(&rows, d);
        let m_rows = triangular_inverse(&rows, d);
        let largest = m_rows.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (x, y)) in m_blocked.iter().zip(&m_rows).enumerate() {
            assert!((x - y).abs() <= 1e-12 * largest, "M[{i}]: {x} vs {y}");
        }
        let mut indefinite = a.clone();
        indefinite[d * d - 1] = -1.0; // the last pivot is negative
        assert!(cholesky(&indefinite, d).is_none());
    }

    /// The lane-summed factor of a wide matrix reproduces it.
    #[test]
    fn wide_factor_reproduces_the_matrix() {
        let d = WIDE + 13;
        let a = positive_definite(d, 1.0);
        let l = cholesky(&a, d).unwrap();
        for i in 0..d {
            for j in 0..d {
                let llt: f64 = (0..d).map(|k| l[i * d + k] * l[j * d + k]).sum();
                assert!(
                    (llt - a[i * d + j]).abs() < 1e-10,
                    "({i}, {j}): {llt} vs {}",
                    a[i * d + j]
                );
            }
        }
        assert_eq!(dot_in_lanes(&[1.0; 19], &[2.0; 19]), 38.0);
    }

    #[test]
    fn indefinite_and_nan_matrices_have_no_factor() {
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(cholesky(&[0.0, 0.0, 0.0, 1.0], 2).is_none());
        assert!(cholesky(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
    }
}
