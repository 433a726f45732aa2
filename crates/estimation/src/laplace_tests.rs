//! Tests of the Laplace mixture against f64 computations done here.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

fn t2(v: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = v.iter().map(|x| *x as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Rows of `z` (f32-rounded) and row-stochastic `γ`.
fn batch(n: usize, d: usize, k: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z = (0..n * d)
        .map(|_| rng.random_range(-2.0..2.0f64) as f32 as f64)
        .collect();
    let mut g = Vec::with_capacity(n * k);
    for _ in 0..n {
        let raw: Vec<f64> = (0..k).map(|_| rng.random_range(0.05..1.0)).collect();
        let s: f64 = raw.iter().sum();
        g.extend(raw.iter().map(|v| (v / s) as f32 as f64));
    }
    (z, g)
}

/// Seed 002's update equations by hand.
fn hand_parameters(z: &[f64], g: &[f64], n: usize, d: usize, k: usize) -> LaplaceParameters {
    let mut p = LaplaceParameters {
        weights: vec![],
        means: vec![],
        scales: vec![],
    };
    for c in 0..k {
        let sg: f64 = (0..n).map(|i| g[i * k + c]).sum();
        let mu: Vec<f64> = (0..d)
            .map(|j| (0..n).map(|i| g[i * k + c] * z[i * d + j]).sum::<f64>() / sg)
            .collect();
        let b: Vec<f64> = (0..d)
            .map(|j| {
                (0..n)
                    .map(|i| g[i * k + c] * (z[i * d + j] - mu[j]).abs())
                    .sum::<f64>()
                    / sg
            })
            .collect();
        p.weights.push(sg / n as f64);
        p.means.push(mu);
        p.scales.push(b);
    }
    p
}

/// `−log Σ_k π_k Π_j exp(−|z_j − μ_kj| / b_kj) / (2 b_kj)` by hand.
fn hand_energy(p: &LaplaceParameters, z: &[f64]) -> f64 {
    let terms: Vec<f64> = (0..p.n_components())
        .map(|k| {
            p.weights[k].ln()
                + (0..z.len())
                    .map(|j| {
                        -(z[j] - p.means[k][j]).abs() / p.scales[k][j] - (2.0 * p.scales[k][j]).ln()
                    })
                    .sum::<f64>()
        })
        .collect();
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    -(m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln())
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn laplace_parameters_from_gamma_match_the_update_equations() {
    let device = Device::flex();
    let (n, d, k) = (40, 3, 2);
    let (z, g) = batch(n, d, k, 1);
    let m = LaplaceMixture::from_gamma(t2(&g, [n, k], &device), t2(&z, [n, d], &device));
    let got = m.to_parameters();
    let want = hand_parameters(&z, &g, n, d, k);
    for c in 0..k {
        assert!(close(got.weights[c], want.weights[c], 1e-5));
        for j in 0..d {
            assert!(
                close(got.means[c][j], want.means[c][j], 1e-5),
                "mean {c}.{j}"
            );
            assert!(
                close(got.scales[c][j], want.scales[c][j], 1e-5),
                "scale {c}.{j}"
            );
        }
    }
}

#[test]
fn laplace_energy_equals_the_closed_form_and_a_one_dimensional_case() {
    let device = Device::flex();
    let p = LaplaceParameters {
        weights: vec![0.6, 0.4],
        means: vec![vec![0.0, 1.0, -1.0], vec![2.0, -0.5, 0.5]],
        scales: vec![vec![0.5, 1.5, 0.8], vec![1.0, 0.3, 2.0]],
    };
    let (z, _) = batch(50, 3, 1, 2);
    let prepared = LaplaceMixture::from_parameters(&p, &device)
        .unwrap()
        .prepare(0.0);
    let e = to_f64_vec(prepared.energy(t2(&z, [50, 3], &device)));
    for i in 0..50 {
        let want = hand_energy(&p, &z[i * 3..i * 3 + 3]);
        assert!(close(e[i], want, 1e-5), "row {i}: {} vs {want}", e[i]);
    }
    // One component in 1-D at its mean: E = log(2b).
    let one = LaplaceParameters {
        weights: vec![1.0],
        means: vec![vec![0.25]],
        scales: vec![vec![0.4]],
    };
    let e = to_f64_vec(
        FittedMixture::Laplacian(one)
            .prepare(&device, 0.0)
            .unwrap()
            .energy(t2(&[0.25, 1.25], [2, 1], &device)),
    );
    assert!(close(e[0], (0.8f64).ln(), 1e-6));
    assert!(close(e[1], (0.8f64).ln() + 1.0 / 0.4, 1e-6));
}

#[test]
fn laplace_energy_is_stable_far_from_every_component() {
    let device = Device::flex();
    let p = LaplaceParameters {
        weights: vec![0.5, 0.5],
        means: vec![vec![0.0], vec![1.0]],
        scales: vec![vec![1e-3], vec![1e-3]],
    };
    let e = to_f64_vec(
        FittedMixture::Laplacian(p.clone())
            .prepare(&device, 0.0)
            .unwrap()
            .energy(t2(&[500.0], [1, 1], &device)),
    );
    // exp(−499 000) underflows; the log-sum-exp keeps the value.
    let want = hand_energy(&p, &[500.0]);
    assert!(
        e[0].is_finite() && close(e[0], want, 1e-5),
        "{} vs {want}",
        e[0]
    );
}

#[test]
fn laplace_penalty_is_sum_of_reciprocal_variances() {
    let device = Device::flex();
    let m = LaplaceMixture {
        weights: Tensor::from_data(TensorData::new(vec![0.5f32, 0.5], [2]), &device),
        means: t2(&[0.0, 0.0, 0.0, 0.0], [2, 2], &device),
        scales: t2(&[0.5, 1.0, 2.0, 0.25], [2, 2], &device),
    };
    let want: f64 = [0.5f64, 1.0, 2.0, 0.25]
        .iter()
        .map(|b| 1.0 / (2.0 * (b + 0.01) * (b + 0.01)))
        .sum();
    assert!(close(to_f64_vec(m.penalty(0.01))[0], want, 1e-6));
}

#[test]
fn laplace_fitter_over_batches_equals_the_one_shot_mixture() {
    let device = Device::flex();
    let (n, d, k) = (90, 3, 3);
    let (z, g) = batch(n, d, k, 3);
    let mut fitter = MixtureFitter::new(MixtureKind::Laplacian, k, d);
    assert_eq!(fitter.passes(), 2);
    for pass in 0..2 {
        for (s, e) in [(0, 25), (25, 64), (64, 90)] {
            fitter
                .add(
                    pass,
                    t2(&g[s * k..e * k], [e - s, k], &device),
                    t2(&z[s * d..e * d], [e - s, d], &device),
                )
                .unwrap();
        }
    }
    let got = match fitter.finish().unwrap() {
        FittedMixture::Laplacian(p) => p,
        other => panic!("expected a Laplace mixture, got {other:?}"),
    };
    let want = hand_parameters(&z, &g, n, d, k);
    for c in 0..k {
        assert!(close(got.weights[c], want.weights[c], 1e-6));
        for j in 0..d {
            assert!(close(got.means[c][j], want.means[c][j], 1e-5));
            assert!(close(got.scales[c][j], want.scales[c][j], 1e-5));
        }
    }
    // A second pass with other rows than the first is refused.
    let mut short = LaplaceAccumulator::new(k, d);
    short
        .add(0, t2(&g, [n, k], &device), t2(&z, [n, d], &device))
        .unwrap();
    assert!(short.finish().is_err());
    let mut gaussian = MixtureFitter::new(MixtureKind::Gaussian, k, d);
    assert_eq!(gaussian.passes(), 1);
    assert!(gaussian
        .add(1, t2(&g, [n, k], &device), t2(&z, [n, d], &device))
        .is_err());
}

#[test]
fn laplace_energy_gradient_reaches_gamma_and_z() {
    let device = Device::flex().autodiff();
    let (n, d, k) = (20, 3, 2);
    let (z, g) = batch(n, d, k, 4);
    let zp = Param::from_tensor(t2(&z, [n, d], &device));
    let logits = Param::from_tensor(t2(&g, [n, k], &device));
    let gamma = burn::tensor::activation::softmax(logits.val(), 1);
    let m = Mixture::from_gamma(MixtureKind::Laplacian, gamma, zp.val());
    let loss = m.prepare(1e-6).energy(zp.val()).mean()
        + m.penalty(1e-6, CovariancePenalty::Diagonal)
            .mul_scalar(0.005);
    let grads = loss.backward();
    for g in [
        to_f64_vec(zp.val().grad(&grads).expect("z gradient")),
        to_f64_vec(logits.val().grad(&grads).expect("gamma gradient")),
    ] {
        assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0));
    }
}

#[test]
fn fitted_mixture_serialises_with_its_family_and_validates() {
    let p = LaplaceParameters {
        weights: vec![1.0],
        means: vec![vec![0.0, 1.0]],
        scales: vec![vec![0.5, -0.1]],
    };
    assert!(p.validate().is_err(), "negative scale");
    let ok = FittedMixture::Laplacian(LaplaceParameters {
        scales: vec![vec![0.5, 0.1]],
        ..p
    });
    let json = serde_json::to_string(&ok).unwrap();
    assert!(json.starts_with("{\"laplacian\""), "{json}");
    let back: FittedMixture = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ok);
    assert_eq!(back.kind(), MixtureKind::Laplacian);
}
