//! Tests of the mixture, energy, penalty and accumulator against f64 computations done here.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_classic_gmm::{Covariances, GaussianMixture as ClassicGmm};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

fn t2(v: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = v.iter().map(|x| *x as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// `−log Σ_k φ_k N(z; μ_k, Σ_k)` in f64 by hand: Cholesky, forward substitution, log-sum-exp.
fn closed_form_energy(p: &MixtureParameters, z: &[f64]) -> f64 {
    let d = p.dim();
    let mut terms = Vec::new();
    for k in 0..p.n_components() {
        let a = &p.covariances[k];
        let mut l = vec![vec![0.0; d]; d];
        for j in 0..d {
            let s: f64 = (0..j).map(|q| l[j][q] * l[j][q]).sum();
            l[j][j] = (a[j][j] - s).sqrt();
            for i in j + 1..d {
                let s: f64 = (0..j).map(|q| l[i][q] * l[j][q]).sum();
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
        let mut y = vec![0.0; d];
        for i in 0..d {
            let s: f64 = (0..i).map(|q| l[i][q] * y[q]).sum();
            y[i] = (z[i] - p.means[k][i] - s) / l[i][i];
        }
        let maha: f64 = y.iter().map(|v| v * v).sum();
        let log_det: f64 = 2.0 * (0..d).map(|i| l[i][i].ln()).sum::<f64>();
        let two_pi = 2.0 * std::f64::consts::PI;
        terms.push(p.weights[k].ln() - 0.5 * (d as f64 * two_pi.ln() + log_det + maha));
    }
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    -(m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln())
}

/// A random SPD matrix `B Bᵀ + 0.5 I` of size `d`.
fn random_spd(rng: &mut ChaCha8Rng, d: usize, scale: f64) -> Vec<Vec<f64>> {
    let b: Vec<Vec<f64>> = (0..d)
        .map(|_| {
            (0..d)
                .map(|_| rng.random_range(-1.0..1.0) * scale)
                .collect()
        })
        .collect();
    (0..d)
        .map(|i| {
            (0..d)
                .map(|j| {
                    (0..d).map(|q| b[i][q] * b[j][q]).sum::<f64>()
                        + if i == j { 0.5 * scale } else { 0.0 }
                })
                .collect()
        })
        .collect()
}

fn known_mixture() -> MixtureParameters {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let d = 3;
    MixtureParameters {
        weights: vec![0.5, 0.3, 0.2],
        means: vec![
            vec![0.0, 1.0, -1.0],
            vec![2.0, -0.5, 0.5],
            vec![-1.5, 0.2, 1.0],
        ],
        covariances: (0..3)
            .map(|k| random_spd(&mut rng, d, 0.5 + k as f64))
            .collect(),
    }
}

#[test]
fn energy_equals_closed_form_and_classic_gmm_score_samples() {
    let device = Device::flex();
    let p = known_mixture();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 64;
    let zs: Vec<f64> = (0..n * 3).map(|_| rng.random_range(-3.0..3.0)).collect();
    // Round z to f32 first so both sides see the same inputs.
    let zs: Vec<f64> = zs.iter().map(|v| *v as f32 as f64).collect();
    let mixture = GaussianMixtureTensors::from_parameters(&p, &device).unwrap();
    let energy = to_f64_vec(mixture.prepare(0.0).energy(t2(&zs, [n, 3], &device)));

    let classic = ClassicGmm::from_parameters(
        p.weights.clone(),
        p.means_array(),
        Covariances::Full(p.covariance_arrays()),
    )
    .unwrap();
    let x = Array2::from_shape_vec((n, 3), zs.clone()).unwrap();
    let loglik = classic.score_samples(x.view()).unwrap();
    for i in 0..n {
        let want = closed_form_energy(&p, &zs[i * 3..(i + 1) * 3]);
        let rel = (energy[i] - want).abs() / want.abs().max(1.0);
        assert!(
            rel < 1e-5,
            "row {i}: energy {} vs closed form {want}",
            energy[i]
        );
        assert!(
            (want + loglik[i]).abs() < 1e-9 * want.abs().max(1.0),
            "classic GMM disagrees with the hand formula"
        );
        let rel = (energy[i] + loglik[i]).abs() / want.abs().max(1.0);
        assert!(
            rel < 1e-5,
            "row {i}: energy {} vs -score_samples {}",
            energy[i],
            -loglik[i]
        );
    }
}

#[test]
fn log_sum_exp_is_stable_far_from_every_component() {
    // Mahalanobis distances in the thousands: exp(log density) underflows to 0 in f32 (and f64),
    // so a naive −log Σ exp(·) is +inf; the max-shifted form is finite and exact.
    let device = Device::flex();
    let p = MixtureParameters {
        weights: vec![0.6, 0.4],
        means: vec![vec![0.0, 0.0, 0.0], vec![1.0, 1.0, 1.0]],
        covariances: vec![
            vec![
                vec![0.01, 0.0, 0.0],
                vec![0.0, 0.01, 0.0],
                vec![0.0, 0.0, 0.01],
            ],
            vec![
                vec![0.02, 0.0, 0.0],
                vec![0.0, 0.02, 0.0],
                vec![0.0, 0.0, 0.02],
            ],
        ],
    };
    let zs = [10.0, -10.0, 10.0, 30.0, 30.0, 30.0];
    let mixture = GaussianMixtureTensors::from_parameters(&p, &device).unwrap();
    let energy = to_f64_vec(mixture.prepare(0.0).energy(t2(&zs, [2, 3], &device)));
    for i in 0..2 {
        let want = closed_form_energy(&p, &zs[i * 3..(i + 1) * 3]);
        assert!(want > 1e3 && energy[i].is_finite(), "{want} {}", energy[i]);
        assert!(
            (energy[i] - want).abs() / want < 1e-5,
            "{} vs {want}",
            energy[i]
        );
    }
}

#[test]
fn nearly_singular_covariance_gives_finite_energy_and_gradients() {
    // Σ = v vᵀ has rank 1 (two zero eigenvalues); the default jitter makes it positive definite.
    let device = Device::flex().autodiff();
    let v = [3.0, -2.0, 5.0];
    let rank1: Vec<f64> = (0..9).map(|p| v[p / 3] * v[p % 3]).collect();
    let cov = Param::from_tensor(Tensor::<3>::from_data(
        TensorData::new(
            rank1.iter().map(|x| *x as f32).collect::<Vec<f32>>(),
            [1, 3, 3],
        ),
        &device,
    ));
    let means = Param::from_tensor(t2(&[0.1, 0.2, 0.3], [1, 3], &device));
    let z = Param::from_tensor(t2(
        &[0.0, 0.0, 0.0, 3.0, -2.0, 5.0, 1.0, 1.0, 1.0],
        [3, 3],
        &device,
    ));
    let mixture = GaussianMixtureTensors {
        weights: Tensor::from_data(TensorData::new(vec![1.0f32], [1]), &device),
        means: means.val(),
        covariances: cov.val(),
    };
    let energy = mixture.prepare(DEFAULT_JITTER).energy(z.val());
    let penalty = mixture.penalty(DEFAULT_JITTER, CovariancePenalty::Diagonal);
    let total = energy.clone().mean() + penalty;
    let grads = total.backward();
    let e = to_f64_vec(energy.inner());
    assert!(e.iter().all(|x| x.is_finite()), "energies {e:?}");
    // Off the line spanned by v the energy is huge (variance 1e-6 there), on it moderate.
    assert!(e[2] > e[1]);
    for g in [
        to_f64_vec(cov.val().grad(&grads).expect("Σ gradient")),
        to_f64_vec(means.val().grad(&grads).expect("μ gradient")),
        to_f64_vec(z.val().grad(&grads).expect("z gradient")),
    ] {
        assert!(g.iter().all(|x| x.is_finite()), "gradient {g:?}");
        assert!(g.iter().any(|x| *x != 0.0));
    }
}

#[test]
fn mixture_parameters_from_gamma_match_hand_computation() {
    let device = Device::flex();
    // Hard assignments: rows 0,1 → component 0, rows 2,3,4 → component 1.
    let z = [0.0, 0.0, 2.0, 4.0, 1.0, 1.0, 3.0, 1.0, 2.0, 4.0];
    let gamma = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let m =
        GaussianMixtureTensors::from_gamma(t2(&gamma, [5, 2], &device), t2(&z, [5, 2], &device))
            .to_parameters();
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    assert!(close(&m.weights, &[0.4, 0.6]));
    assert!(close(&m.means[0], &[1.0, 2.0]) && close(&m.means[1], &[2.0, 2.0]));
    // Component 0: deviations ±(1, 2) → Σ = [[1, 2], [2, 4]].
    assert!(close(&m.covariances[0].concat(), &[1.0, 2.0, 2.0, 4.0]));
    // Component 1: deviations (−1,−1), (1,−1), (0,2) → Σ = [[2/3, 0], [0, 2]].
    assert!(close(
        &m.covariances[1].concat(),
        &[2.0 / 3.0, 0.0, 0.0, 2.0]
    ));

    // Soft memberships, against the formulas in f64.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (n, k, d) = (40, 3, 3);
    let zs: Vec<f64> = (0..n * d)
        .map(|_| rng.random_range(-2.0..2.0) as f32 as f64)
        .collect();
    let mut gs: Vec<f64> = (0..n * k).map(|_| rng.random_range(0.01..1.0)).collect();
    for row in gs.chunks_mut(k) {
        let s: f64 = row.iter().sum();
        row.iter_mut().for_each(|g| *g = (*g / s) as f32 as f64);
    }
    let m = GaussianMixtureTensors::from_gamma(t2(&gs, [n, k], &device), t2(&zs, [n, d], &device))
        .to_parameters();
    for kk in 0..k {
        let sg: f64 = (0..n).map(|i| gs[i * k + kk]).sum();
        assert!((m.weights[kk] - sg / n as f64).abs() < 1e-6);
        let mu: Vec<f64> = (0..d)
            .map(|j| (0..n).map(|i| gs[i * k + kk] * zs[i * d + j]).sum::<f64>() / sg)
            .collect();
        assert!(close(&m.means[kk], &mu), "{:?} vs {mu:?}", m.means[kk]);
        for a in 0..d {
            for b in 0..d {
                let c: f64 = (0..n)
                    .map(|i| gs[i * k + kk] * (zs[i * d + a] - mu[a]) * (zs[i * d + b] - mu[b]))
                    .sum::<f64>()
                    / sg;
                assert!(
                    (m.covariances[kk][a][b] - c).abs() < 1e-5,
                    "Σ[{kk}][{a}][{b}]"
                );
            }
        }
    }
}

#[test]
fn covariance_penalty_is_sum_of_inverse_diagonals() {
    let device = Device::flex();
    let p = known_mixture();
    let mixture = GaussianMixtureTensors::from_parameters(&p, &device).unwrap();
    let want: f64 = p
        .covariances
        .iter()
        .flat_map(|c| (0..3).map(move |j| 1.0 / (c[j][j] + 0.01)))
        .sum();
    let got = to_f64_vec(mixture.penalty(0.01, CovariancePenalty::Diagonal))[0];
    assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
}

/// The precision penalty is `Σ_k tr((Σ_k + εI)⁻¹)`, here against the inverse by cofactors; for a
/// diagonal covariance it is the paper's penalty, and for a covariance made nearly singular by
/// correlation it is large where the paper's stays small.
#[test]
fn precision_penalty_is_the_trace_of_the_inverse() {
    let device = Device::flex();
    let trace_of_inverse = |m: [[f64; 3]; 3]| {
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
        (m[1][1] * m[2][2] - m[1][2] * m[2][1] + m[0][0] * m[2][2] - m[0][2] * m[2][0]
            + m[0][0] * m[1][1]
            - m[0][1] * m[1][0])
            / det
    };
    let p = known_mixture();
    let jittered = |c: &Vec<Vec<f64>>| {
        let mut m = [[0.0; 3]; 3];
        for (a, row) in m.iter_mut().enumerate() {
            for (b, v) in row.iter_mut().enumerate() {
                *v = c[a][b] + if a == b { 0.01 } else { 0.0 };
            }
        }
        m
    };
    let want: f64 = p
        .covariances
        .iter()
        .map(|c| trace_of_inverse(jittered(c)))
        .sum();
    let mixture = GaussianMixtureTensors::from_parameters(&p, &device).unwrap();
    let got = to_f64_vec(mixture.penalty(0.01, CovariancePenalty::Precision))[0];
    assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");

    let of = |cov: Vec<Vec<f64>>| {
        let params = MixtureParameters {
            weights: vec![1.0],
            means: vec![vec![0.0; 3]],
            covariances: vec![cov],
        };
        let m = GaussianMixtureTensors::from_parameters(&params, &device).unwrap();
        [CovariancePenalty::Diagonal, CovariancePenalty::Precision]
            .map(|kind| to_f64_vec(m.penalty(1e-6, kind))[0])
    };
    let [diagonal, precision] = of(vec![
        vec![0.5, 0.0, 0.0],
        vec![0.0, 2.0, 0.0],
        vec![0.0, 0.0, 0.25],
    ]);
    assert!((diagonal - precision).abs() < 1e-5 * diagonal);
    assert!((diagonal - (2.0 + 0.5 + 4.0)).abs() < 1e-4);
    // Two coordinates correlated at 0.9999: the diagonal penalty sees variances of 1, the
    // precision penalty an eigenvalue of 1e-4.
    let [diagonal, precision] = of(vec![
        vec![1.0, 0.9999, 0.0],
        vec![0.9999, 1.0, 0.0],
        vec![0.0, 0.0, 1.0],
    ]);
    assert!((diagonal - 3.0).abs() < 1e-4, "{diagonal}");
    assert!(precision > 5_000.0, "{precision}");
}

#[test]
fn accumulated_mixture_equals_one_shot_mixture_of_all_rows() {
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (n, k, d) = (1000, 4, 3);
    // Offset data (mean ~ 5) so that naive Σγzzᵀ accumulation would lose digits in f32.
    let zs: Vec<f64> = (0..n * d)
        .map(|i| 5.0 + (i % d) as f64 + rng.random_range(-1.0..1.0))
        .collect();
    let mut gs: Vec<f64> = (0..n * k).map(|_| rng.random_range(0.01..1.0)).collect();
    for row in gs.chunks_mut(k) {
        let s: f64 = row.iter().sum();
        row.iter_mut().for_each(|g| *g /= s);
    }
    let one_shot =
        GaussianMixtureTensors::from_gamma(t2(&gs, [n, k], &device), t2(&zs, [n, d], &device))
            .to_parameters();
    let mut acc = MixtureAccumulator::new(k, d);
    for start in (0..n).step_by(128) {
        let end = (start + 128).min(n); // last batch is partial (104 rows)
        acc.add(
            t2(&gs[start * k..end * k], [end - start, k], &device),
            t2(&zs[start * d..end * d], [end - start, d], &device),
        )
        .unwrap();
    }
    assert_eq!(acc.rows(), n);
    let batched = acc.finish().unwrap();
    for kk in 0..k {
        assert!((batched.weights[kk] - one_shot.weights[kk]).abs() < 1e-6);
        for j in 0..d {
            assert!((batched.means[kk][j] - one_shot.means[kk][j]).abs() < 1e-5);
            for q in 0..d {
                let (a, b) = (
                    batched.covariances[kk][j][q],
                    one_shot.covariances[kk][j][q],
                );
                assert!(
                    (a - b).abs() < 1e-5 * (1.0 + b.abs()),
                    "Σ[{kk}][{j}][{q}] {a} vs {b}"
                );
            }
        }
    }
    // And it is the whole set's mixture, not the last batch's.
    let last = GaussianMixtureTensors::from_gamma(
        t2(&gs[896 * k..], [104, k], &device),
        t2(&zs[896 * d..], [104, d], &device),
    )
    .to_parameters();
    assert!((last.means[0][0] - batched.means[0][0]).abs() > 1e-3);
    assert!(MixtureAccumulator::new(k, d).finish().is_err());
}

#[test]
fn energy_gradient_reaches_gamma_and_z() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (n, k, d) = (50, 2, 3);
    let zs: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let ls: Vec<f64> = (0..n * k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let z = Param::from_tensor(t2(&zs, [n, d], &device));
    let logits = Param::from_tensor(t2(&ls, [n, k], &device));
    let gamma = burn::tensor::activation::softmax(logits.val(), 1);
    let mixture = GaussianMixtureTensors::from_gamma(gamma, z.val());
    let loss = mixture.prepare(DEFAULT_JITTER).energy(z.val()).mean()
        + mixture
            .penalty(DEFAULT_JITTER, CovariancePenalty::Diagonal)
            .mul_scalar(0.005);
    let grads = loss.backward();
    for g in [
        to_f64_vec(z.val().grad(&grads).unwrap()),
        to_f64_vec(logits.val().grad(&grads).unwrap()),
    ] {
        assert!(g.iter().all(|x| x.is_finite()) && g.iter().any(|x| x.abs() > 1e-8));
    }
}

#[test]
fn jitter_must_be_positive_and_finite() {
    for bad in [0.0, -1e-6, f64::NAN, f64::INFINITY] {
        let config = EstimationConfig {
            jitter: bad,
            ..EstimationConfig::default()
        };
        match config.validate() {
            Err(EstimationError::InvalidConfig { field, message }) => {
                assert_eq!(field, "jitter");
                assert!(message.contains("> 0"), "{message}");
            }
            other => panic!("jitter {bad} was accepted: {other:?}"),
        }
    }
    let fine = EstimationConfig {
        jitter: 1e-9,
        ..EstimationConfig::default()
    };
    assert!(fine.validate().is_ok());
}
