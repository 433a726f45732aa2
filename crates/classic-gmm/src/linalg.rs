//! Small dense linear algebra on row-major `d × d` slices: Cholesky factors and the precision
//! factor scikit-learn uses. The matrices here are covariances of a handful of features, so plain
//! loops are the right tool.

/// Lower-triangular `L` with `a = L Lᵀ`, or `None` when `a` is not (numerically) positive definite.
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    debug_assert_eq!(a.len(), d * d);
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut sum = a[i * d + j];
            for k in 0..j {
                sum -= l[i * d + k] * l[j * d + k];
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

/// Upper-triangular `U = (L⁻¹)ᵀ` from a covariance `a = L Lᵀ`, so that `a⁻¹ = U Uᵀ` and the squared
/// Mahalanobis distance of `v` is `‖Uᵀ v‖²`. Also returns `log det U = -½ log det a`.
pub fn precision_cholesky(a: &[f64], d: usize) -> Option<(Vec<f64>, f64)> {
    let l = cholesky(a, d)?;
    // Solve L M = I column by column (forward substitution); M = L⁻¹ is lower triangular.
    let mut m = vec![0.0; d * d];
    for c in 0..d {
        for i in c..d {
            let mut sum = if i == c { 1.0 } else { 0.0 };
            for k in c..i {
                sum -= l[i * d + k] * m[k * d + c];
            }
            m[i * d + c] = sum / l[i * d + i];
        }
    }
    let mut u = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            u[i * d + j] = m[j * d + i];
        }
    }
    let log_det = (0..d).map(|i| u[i * d + i].ln()).sum();
    Some((u, log_det))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn precision_factor_inverts_the_matrix() {
        let a = [4.0, 2.0, -2.0, 2.0, 10.0, 5.0, -2.0, 5.0, 6.0];
        let (u, log_det) = precision_cholesky(&a, 3).unwrap();
        // U Uᵀ a = I
        for i in 0..3 {
            for j in 0..3 {
                let mut v = 0.0;
                for k in 0..3 {
                    let uut: f64 = (0..3).map(|m| u[i * 3 + m] * u[k * 3 + m]).sum();
                    v += uut * a[k * 3 + j];
                }
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        // det a = (2·3·1)² = 36, so log det U = -½ ln 36.
        assert!((log_det + 0.5 * 36f64.ln()).abs() < 1e-12);
        for i in 1..3 {
            for j in 0..i {
                assert_eq!(u[i * 3 + j], 0.0, "U must be upper triangular");
            }
        }
    }

    #[test]
    fn indefinite_and_nan_matrices_have_no_factor() {
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(cholesky(&[0.0, 0.0, 0.0, 1.0], 2).is_none());
        assert!(cholesky(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
    }
}
