use burn::tensor::{Device, Tensor, TensorData};

/// Smallest Cholesky pivot when `jitter = 0` (keeps `sqrt`, `log` and divisions finite).
const MIN_PIVOT: f64 = 1e-30;

/// A `[1, rows, cols]` constant from a function of `(i, j)`.
fn constant(
    rows: usize,
    cols: usize,
    device: &Device,
    f: impl Fn(usize, usize) -> f32,
) -> Tensor<3> {
    let v: Vec<f32> = (0..rows * cols).map(|p| f(p / cols, p % cols)).collect();
    Tensor::from_data(TensorData::new(v, [1, rows, cols]), device)
}

/// The identity as a `[1, d, d]` constant.
pub(crate) fn eye(d: usize, device: &Device) -> Tensor<3> {
    constant(d, d, device, |i, j| if i == j { 1.0 } else { 0.0 })
}

/// Batched Cholesky factor `L` (lower triangular, `L Lᵀ = A + jitter·I`) of `a` (`[K, d, d]`,
/// symmetric; only its lower triangle is read).
///
/// Column by column (`d` steps, `d` is 3 or 4 in DAGMM): step `j` computes the whole column
/// `v = A[:, j] − L[:, :j] L[j, :j]ᵀ` for all `K` matrices in one batched matmul, then
/// `L[j, j] = sqrt(max(v_j, floor))` and `L[i, j] = v_i / L[j, j]` for `i > j`. The pivot floor is
/// `jitter` (or 1e-30 when `jitter = 0`): in exact arithmetic every pivot of `A + jitter·I` with
/// `A ⪰ 0` is at least `jitter`, so the floor only absorbs f32 rounding on nearly singular `A`
/// and never changes a well-conditioned factor. Differentiable (plain tensor ops).
pub fn cholesky(a: Tensor<3>, jitter: f64) -> Tensor<3> {
    let [k, d, d2] = a.dims();
    assert_eq!(
        d, d2,
        "cholesky needs square matrices, got [{k}, {d}, {d2}]"
    );
    let device = a.device();
    let a = if jitter > 0.0 {
        a + eye(d, &device).mul_scalar(jitter)
    } else {
        a
    };
    let floor = jitter.max(MIN_PIVOT);
    let mut l: Option<Tensor<3>> = None; // [K, d, j] after step j
    for j in 0..d {
        let mut v = a.clone().slice([0..k, 0..d, j..j + 1]); // [K, d, 1]
        if let Some(prev) = &l {
            let row_j = prev.clone().slice([0..k, j..j + 1, 0..j]); // [K, 1, j]
            v = v - prev.clone().matmul(row_j.swap_dims(1, 2));
        }
        let diag = v
            .clone()
            .slice([0..k, j..j + 1, 0..1])
            .clamp_min(floor)
            .sqrt(); // [K, 1, 1]
        let below = constant(d, 1, &device, |i, _| if i > j { 1.0 } else { 0.0 });
        let e_j = constant(d, 1, &device, |i, _| if i == j { 1.0 } else { 0.0 });
        let col = (v * below) / diag.clone() + diag * e_j;
        l = Some(match l {
            None => col,
            Some(prev) => Tensor::cat(vec![prev, col], 2),
        });
    }
    l.expect("d >= 1")
}

/// Batched inverse of lower-triangular matrices `l` (`[K, d, d]`, non-zero diagonal) by forward
/// substitution, row by row (`d` steps, each one batched matmul over the `K` matrices):
/// `X[i, :] = (e_iᵀ − L[i, :i] X[:i, :]) / L[i, i]`. Differentiable.
pub fn lower_triangular_inverse(l: Tensor<3>) -> Tensor<3> {
    let [k, d, d2] = l.dims();
    assert_eq!(d, d2, "triangular inverse needs square matrices");
    let device = l.device();
    let mut x: Option<Tensor<3>> = None; // [K, i, d] after row i
    for i in 0..d {
        let e_i = constant(1, d, &device, |_, j| if j == i { 1.0 } else { 0.0 }); // [1, 1, d]
        let diag = l.clone().slice([0..k, i..i + 1, i..i + 1]); // [K, 1, 1]
        let row = match &x {
            None => e_i / diag,
            Some(prev) => {
                let l_row = l.clone().slice([0..k, i..i + 1, 0..i]); // [K, 1, i]
                (e_i - l_row.matmul(prev.clone())) / diag
            }
        };
        x = Some(match x {
            None => row,
            Some(prev) => Tensor::cat(vec![prev, row], 1),
        });
    }
    x.expect("d >= 1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_f64_vec;

    fn batch(mats: &[[[f64; 3]; 3]], device: &Device) -> Tensor<3> {
        let v: Vec<f32> = mats.iter().flatten().flatten().map(|x| *x as f32).collect();
        Tensor::from_data(TensorData::new(v, [mats.len(), 3, 3]), device)
    }

    #[test]
    fn cholesky_matches_hand_factor_and_inverse_is_inverse() {
        let device = Device::flex();
        // A = L Lᵀ with L = [[2,0,0],[1,3,0],[-1,1,2]]; second matrix diagonal.
        let a = batch(
            &[
                [[4.0, 2.0, -2.0], [2.0, 10.0, 2.0], [-2.0, 2.0, 6.0]],
                [[9.0, 0.0, 0.0], [0.0, 0.25, 0.0], [0.0, 0.0, 1.0]],
            ],
            &device,
        );
        let l = cholesky(a, 0.0);
        let got = to_f64_vec(l.clone());
        let want = [
            2.0, 0.0, 0.0, 1.0, 3.0, 0.0, -1.0, 1.0, 2.0, //
            3.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 1.0,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        let inv = lower_triangular_inverse(l.clone());
        let prod = to_f64_vec(l.matmul(inv));
        for (p, idx) in prod.iter().zip(0..) {
            let (i, j) = ((idx % 9) / 3, idx % 3);
            let w = if i == j { 1.0 } else { 0.0 };
            assert!((p - w).abs() < 1e-6, "L L⁻¹ = {prod:?}");
        }
    }

    #[test]
    fn jitter_is_absolute_on_the_diagonal() {
        let device = Device::flex();
        let a = batch(
            &[[[4.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]],
            &device,
        );
        let got = to_f64_vec(cholesky(a, 0.01));
        assert!((got[0] - 4.01f64.sqrt()).abs() < 1e-6);
        assert!((got[4] - 1.01f64.sqrt()).abs() < 1e-6);
        assert!((got[8] - 0.1).abs() < 1e-6);
    }
}
