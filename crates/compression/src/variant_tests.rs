//! Hand computations for the VAE and VQ-VAE variants.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{Compression, CompressionConfig, CompressionKind, CompressionNetwork, Vae, VqVae};

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

fn rows(n: usize, d: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f32> = (0..n * d).map(|_| rng.random_range(0.0..1.0f32)).collect();
    Tensor::from_data(TensorData::new(v, [n, d]), device)
}

fn build(kind: CompressionKind, d: usize, layers: &[usize], device: &Device) -> Compression {
    let config = CompressionConfig {
        kind,
        kl_weight: 0.7,
        codebook_size: 5,
        commitment: 0.25,
        ..CompressionConfig::autoencoder(layers.to_vec())
    };
    config
        .init(d, &mut ChaCha8Rng::seed_from_u64(3), device)
        .unwrap()
}

fn vae(d: usize, layers: &[usize], device: &Device) -> Vae {
    match build(CompressionKind::Vae, d, layers, device) {
        Compression::Vae(v) => v,
        other => panic!("asked for a VAE, got {other:?}"),
    }
}

fn vq(d: usize, layers: &[usize], device: &Device) -> VqVae {
    match build(CompressionKind::VqVae, d, layers, device) {
        Compression::VqVae(v) => v,
        other => panic!("asked for a VQ-VAE, got {other:?}"),
    }
}

#[test]
fn vae_kl_matches_the_closed_form_and_is_weighted() {
    let device = Device::flex();
    let net = vae(6, &[4, 2], &device);
    let x = rows(7, 6, 1, &device);
    let enc = net.encode(x.clone());
    let (mu, lv) = (to_vec(enc.mean.clone()), to_vec(enc.log_var.clone()));
    let want: f64 = mu
        .iter()
        .zip(&lv)
        .map(|(m, l)| -0.5 * (1.0 + l - m * m - l.exp()))
        .sum::<f64>()
        / 7.0;
    let got = to_vec(enc.kl)[0];
    assert!((got - want).abs() < 1e-5, "KL {got} vs {want}");
    let reg = to_vec(net.compress(x, None).regularization.expect("KL term"))[0];
    assert!((reg - 0.7 * want).abs() < 1e-5, "weighted KL {reg}");
}

#[test]
fn vae_with_zero_log_variance_has_kl_half_mean_square() {
    let device = Device::flex();
    let mut net = vae(5, &[3], &device);
    // A zero log-variance head: σ = 1, so KL = ½ Σ μ² per row.
    net.log_var.weight = Param::from_tensor(net.log_var.weight.val().zeros_like());
    net.log_var.bias = Some(Param::from_tensor(
        net.log_var.bias.as_ref().unwrap().val().zeros_like(),
    ));
    let enc = net.encode(rows(4, 5, 2, &device));
    let mu = to_vec(enc.mean);
    let want = 0.5 * mu.iter().map(|m| m * m).sum::<f64>() / 4.0;
    assert!((to_vec(enc.kl)[0] - want).abs() < 1e-6);
}

#[test]
fn vae_samples_in_training_and_uses_the_mean_at_scoring() {
    let device = Device::flex();
    let net = vae(6, &[4, 2], &device);
    let x = rows(5, 6, 4, &device);
    let enc = net.encode(x.clone());
    let (mu, lv) = (to_vec(enc.mean), to_vec(enc.log_var));
    let eval = net.compress(x.clone(), None);
    assert_eq!(to_vec(eval.z_c), mu, "scoring uses the mean");
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let train = to_vec(net.compress(x, Some(&mut rng)).z_c);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for i in 0..mu.len() {
        let eps: f32 = StandardNormal.sample(&mut rng);
        let want = mu[i] + (0.5 * lv[i]).exp() * eps as f64;
        assert!(
            (train[i] - want).abs() < 1e-5,
            "sample {i}: {} vs {want}",
            train[i]
        );
    }
}

#[test]
fn vae_gradient_reaches_the_log_variance_head_through_sample_and_kl() {
    let device = Device::flex().autodiff();
    let net = vae(6, &[4, 2], &device);
    let out = net.compress(
        rows(8, 6, 5, &device),
        Some(&mut ChaCha8Rng::seed_from_u64(1)),
    );
    let loss = out.reconstruction_error.mean() + out.regularization.unwrap();
    let grads = loss.backward();
    let g = to_vec(net.log_var.weight.val().grad(&grads).expect("gradient"));
    assert!(g.iter().any(|v| *v != 0.0) && g.iter().all(|v| v.is_finite()));
    assert_eq!(net.num_params(), {
        // 6-4-2 encoder, 2-4-6 decoder, 4→2 log-variance head.
        (6 * 4 + 4) + (4 * 2 + 2) + (2 * 4 + 4) + (4 * 6 + 6) + (4 * 2 + 2)
    });
}

#[test]
fn vq_picks_the_nearest_code_and_reconstructs_from_it() {
    let device = Device::flex();
    let net = vq(6, &[4, 2], &device);
    let x = rows(9, 6, 6, &device);
    let q = net.quantize(x.clone());
    let ze = to_vec(q.z_e.clone());
    let book = to_vec(net.codebook.val());
    let codes: Vec<i64> = q
        .codes
        .clone()
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    let zq = to_vec(q.z_q.clone());
    let mut dist_sum = 0.0;
    for i in 0..9 {
        let d2 = |k: usize| -> f64 {
            (0..2)
                .map(|j| (ze[i * 2 + j] - book[k * 2 + j]).powi(2))
                .sum()
        };
        let best = (0..5)
            .min_by(|a, b| d2(*a).partial_cmp(&d2(*b)).unwrap())
            .unwrap();
        assert_eq!(codes[i] as usize, best, "row {i}");
        for j in 0..2 {
            assert!(
                (zq[i * 2 + j] - book[best * 2 + j]).abs() < 1e-6,
                "z_q is the code"
            );
        }
        dist_sum += d2(best);
    }
    let mean = dist_sum / 9.0;
    assert!((to_vec(q.codebook_loss)[0] - mean).abs() < 1e-5);
    assert!((to_vec(q.commitment_loss)[0] - mean).abs() < 1e-5);
    let out = net.compress(x, None);
    let reg = to_vec(out.regularization.unwrap())[0];
    assert!(
        (reg - 1.25 * mean).abs() < 1e-5,
        "codebook + 0.25 commitment"
    );
    let counts = to_vec(out.code_counts.expect("counts"));
    for (k, c) in counts.iter().enumerate() {
        assert_eq!(
            *c as usize,
            codes.iter().filter(|&&v| v as usize == k).count()
        );
    }
    assert_eq!(to_vec(out.z_c), zq);
}

#[test]
fn vq_gradient_passes_straight_through_and_the_codebook_loss_moves_the_codes() {
    let device = Device::flex().autodiff();
    let net = vq(6, &[4, 2], &device);
    let x = rows(10, 6, 7, &device);
    // d Σ z_q / d bias of the encoder's last layer = n per unit (straight-through: dz_q/dz_e = I).
    let q = net.quantize(x.clone());
    let grads = q.z_q.sum().backward();
    let last = net.autoencoder.encoder.last().unwrap();
    let gb = to_vec(
        last.bias
            .as_ref()
            .unwrap()
            .val()
            .grad(&grads)
            .expect("bias grad"),
    );
    for g in gb {
        assert!((g - 10.0).abs() < 1e-4, "straight-through gradient {g}");
    }
    // Codebook loss alone: d/d e_k = −(2/n) Σ_{i: k_i = k} (z_e,i − e_k).
    let q = net.quantize(x);
    let ze = to_vec(q.z_e.clone());
    let codes: Vec<i64> = q
        .codes
        .clone()
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    let book = to_vec(net.codebook.val());
    let grads = q.codebook_loss.backward();
    let g = to_vec(net.codebook.val().grad(&grads).expect("codebook grad"));
    for k in 0..5 {
        for j in 0..2 {
            let want: f64 = (0..10)
                .filter(|&i| codes[i] as usize == k)
                .map(|i| -2.0 / 10.0 * (ze[i * 2 + j] - book[k * 2 + j]))
                .sum();
            assert!(
                (g[k * 2 + j] - want).abs() < 1e-5,
                "code {k}.{j}: {} vs {want}",
                g[k * 2 + j]
            );
        }
    }
    assert!(
        last.weight.val().grad(&grads).is_none() || {
            // The codebook loss stops the gradient at z_e: the encoder gets nothing from it.
            to_vec(last.weight.val().grad(&grads).unwrap())
                .iter()
                .all(|v| *v == 0.0)
        }
    );
}

#[test]
fn config_builds_each_variant_and_checks_its_fields() {
    let device = Device::flex();
    for kind in [
        CompressionKind::Autoencoder,
        CompressionKind::Vae,
        CompressionKind::VqVae,
    ] {
        let net = build(kind, 8, &[4, 1], &device);
        assert_eq!((net.input_dim(), net.latent_dim(), net.z_dim()), (8, 1, 3));
        assert_eq!(
            net.codebook_size().is_some(),
            kind == CompressionKind::VqVae
        );
    }
    let c: CompressionConfig =
        serde_json::from_str(r#"{"kind": "vq_vae", "codebook_size": 8, "commitment": 0.5}"#)
            .unwrap();
    assert_eq!(
        (c.kind, c.codebook_size, c.commitment),
        (CompressionKind::VqVae, 8, 0.5)
    );
    for bad in [
        CompressionConfig {
            codebook_size: 0,
            ..CompressionConfig::default()
        },
        CompressionConfig {
            kl_weight: -1.0,
            ..CompressionConfig::default()
        },
        CompressionConfig {
            commitment: f64::NAN,
            ..CompressionConfig::default()
        },
    ] {
        assert!(bad.validate().is_err());
    }
    assert!(serde_json::from_str::<CompressionConfig>(r#"{"kind": "vqvae"}"#).is_err());
}
