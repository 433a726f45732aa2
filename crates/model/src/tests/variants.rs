//! The seed-002 variants tested like the core: every parameter moves after a step, the loss
//! falls, their own quantities against hand computations.

use burn::tensor::{Tensor, TensorData};
use dagmm_compression::CompressionKind;
use dagmm_estimation::{FittedMixture, LaplaceMixture, MixtureKind};
use dagmm_loss::LossKind;
use ndarray::{concatenate, Array2, Axis};

use super::{f64s, kddcup_like, line, parameters, small_config};
use crate::*;

/// A config of each variant on the KDDCUP network, with the labels its training needs.
fn variants(epochs: usize, batch: usize, lr: f64) -> Vec<(&'static str, DagmmConfig)> {
    let base = small_config(vec![60, 30, 10, 1], epochs, batch, lr, 3);
    let mut vae = base.clone();
    vae.compression.kind = CompressionKind::Vae;
    let mut vq = base.clone();
    vq.compression.kind = CompressionKind::VqVae;
    vq.compression.codebook_size = 8;
    let mut laplace = base.clone();
    laplace.estimation.mixture = MixtureKind::Laplacian;
    let mut aware = base.clone();
    aware.loss.kind = LossKind::AnomalyAware;
    let mut recon = base.clone();
    recon.scoring.kind = ScoreKind::EnergyPlusReconstruction;
    vec![
        ("vae", vae),
        ("vq_vae", vq),
        ("laplacian", laplace),
        ("anomaly_aware", aware),
        ("energy_plus_reconstruction", recon),
    ]
}

/// Every 10th row labelled an anomaly.
fn labels(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::from(i % 10 == 0)).collect()
}

#[test]
fn every_variant_moves_every_parameter_tensor_in_one_step() {
    let x = kddcup_like(64, 1);
    let y = labels(64);
    for (name, config) in variants(1, 64, 1e-4) {
        let mut model = Dagmm::new(config.clone(), 118).unwrap();
        let before = parameters(model.network());
        let want = match config.compression.kind {
            CompressionKind::Vae => 22,   // + the log-variance head
            CompressionKind::VqVae => 21, // + the codebook
            CompressionKind::Autoencoder => 20,
        };
        assert_eq!(before.len(), want, "{name}");
        let losses = model
            .train_labelled(x.view(), Some(&y), &mut |_| {})
            .unwrap();
        assert_eq!(losses.len(), 1);
        let after = parameters(model.network());
        for (key, b) in &before {
            let changed = after[key].iter().zip(b).filter(|(a, b)| a != b).count();
            assert!(changed > 0, "{name}: {key} did not move");
        }
    }
}

#[test]
fn every_variant_loss_falls_and_scores_are_finite() {
    let x = kddcup_like(1500, 2);
    let y = labels(1500);
    for (name, config) in variants(5, 128, 1e-3) {
        let (model, losses) =
            Dagmm::fit_labelled(config.clone(), x.view(), Some(&y), &mut |_| {}).unwrap();
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        eprintln!(
            "{name}: total {:.4} → {:.4}, recon {:.4} → {:.4}, reg {:.4} → {:.4}, codes {:?}",
            first.total,
            last.total,
            first.reconstruction,
            last.reconstruction,
            first.regularization,
            last.regularization,
            last.codes_used
        );
        assert!(
            last.total < first.total,
            "{name}: {} → {}",
            first.total,
            last.total
        );
        assert!(last.reconstruction < first.reconstruction, "{name}");
        let scores = model.score(x.view()).unwrap();
        assert!(scores.score.iter().all(|v| v.is_finite()), "{name}");
        match config.compression.kind {
            CompressionKind::Autoencoder => assert!(losses.iter().all(|e| e.regularization == 0.0)),
            _ => assert!(losses.iter().all(|e| e.regularization > 0.0), "{name}"),
        }
        for e in &losses {
            match (config.compression.kind, e.codes_used, e.code_perplexity) {
                (CompressionKind::VqVae, Some(used), Some(p)) => {
                    assert!((1..=8).contains(&used), "{name}: {used} codes");
                    assert!(p >= 1.0 - 1e-9 && p <= used as f64 + 1e-9, "perplexity {p}");
                }
                (CompressionKind::VqVae, ..) => panic!("no codebook usage reported"),
                (_, None, None) => {}
                _ => panic!("{name}: codebook usage without a codebook"),
            }
        }
    }
}

#[test]
fn energy_plus_reconstruction_standardises_on_the_training_rows() {
    let x = kddcup_like(400, 3);
    let test = kddcup_like(100, 4);
    let mut config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 0);
    config.scoring.kind = ScoreKind::EnergyPlusReconstruction;
    config.scoring.reconstruction_weight = 0.5;
    let (model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    let train = model.score(x.view()).unwrap();
    let stats = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        (m, s)
    };
    let (me, se) = stats(&train.energy);
    let (mr, sr) = stats(&train.reconstruction_error);
    let st = *model.standardization().unwrap();
    for (a, b) in [
        (st.energy_mean, me),
        (st.energy_std, se),
        (st.reconstruction_mean, mr),
        (st.reconstruction_std, sr),
    ] {
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // On the training rows the combined score has mean 0 (both terms are centred there).
    assert!(train.score.iter().sum::<f64>().abs() / 400.0 < 1e-9);
    let s = model.score(test.view()).unwrap();
    for i in 0..100 {
        let want = (s.energy[i] - me) / se + 0.5 * (s.reconstruction_error[i] - mr) / sr;
        assert!(
            (s.score[i] - want).abs() < 1e-9 * (1.0 + want.abs()),
            "row {i}"
        );
    }
}

#[test]
fn laplacian_scoring_mixture_is_the_whole_training_set_one_and_survives_save_and_load() {
    let x = kddcup_like(700, 5);
    let mut config = small_config(vec![20, 10, 1], 2, 128, 1e-3, 1);
    config.estimation.mixture = MixtureKind::Laplacian;
    config.scoring.batch_size = 256; // three batches per pass
    let (model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    let v: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let out = model.network().forward(
        Tensor::from_data(TensorData::new(v, [700, 118]), &model.device()),
        None,
    );
    let one_shot = LaplaceMixture::from_gamma(out.gamma, out.compression.z).to_parameters();
    let FittedMixture::Laplacian(fitted) = model.mixture().unwrap() else {
        panic!("expected a Laplace mixture");
    };
    let flat = |p: &dagmm_estimation::LaplaceParameters| -> Vec<f64> {
        let mut v = p.weights.clone();
        v.extend(p.means.iter().flatten());
        v.extend(p.scales.iter().flatten());
        v
    };
    for (a, b) in flat(fitted).iter().zip(flat(&one_shot)) {
        assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = Dagmm::load(dir.path()).unwrap();
    let FittedMixture::Laplacian(back) = loaded.mixture().unwrap() else {
        panic!("the family survives");
    };
    // JSON keeps f64 to the last bit or two; the mixture is used in f32.
    for (a, b) in flat(back).iter().zip(flat(fitted)) {
        assert!((a - b).abs() <= 1e-14 * b.abs(), "{a} vs {b}");
    }
    assert_eq!(
        loaded.score(x.view()).unwrap(),
        model.score(x.view()).unwrap()
    );
}

#[test]
fn anomaly_aware_loss_needs_labels_and_widens_the_energy_gap_over_the_standard_loss() {
    // Both models train on the same contaminated rows from the same weights; only the anomalies'
    // energy term differs (E for the standard loss, w/softplus(E) for the anomaly-aware one).
    let normal = line(600, 21);
    let off = line(60, 22).mapv(|v| 1.0 - v);
    let x = concatenate(Axis(0), &[normal.view(), off.view()]).unwrap();
    let y: Vec<u8> = (0..660).map(|i| u8::from(i >= 600)).collect();
    let mut standard = small_config(vec![8, 4, 1], 30, 64, 1e-2, 0);
    standard.estimation.n_components = 2;
    standard.loss.lambda_energy = 1.0;
    let mut aware = standard.clone();
    aware.loss.kind = LossKind::AnomalyAware;
    assert!(matches!(
        Dagmm::fit(aware.clone(), x.view(), &mut |_| {}),
        Err(ModelError::InvalidConfig {
            field: "loss.kind",
            ..
        })
    ));
    assert!(Dagmm::fit_labelled(aware.clone(), x.view(), Some(&y[..10]), &mut |_| {}).is_err());
    let gap = |config: DagmmConfig| {
        let (m, losses) = Dagmm::fit_labelled(config, x.view(), Some(&y), &mut |_| {}).unwrap();
        assert!(losses.iter().all(|e| e.total.is_finite()));
        let e = m.energies(x.view()).unwrap();
        e[600..].iter().sum::<f64>() / 60.0 - e[..600].iter().sum::<f64>() / 600.0
    };
    let (g_standard, g_aware) = (gap(standard), gap(aware));
    eprintln!("anomaly − normal mean energy: standard {g_standard:.3}, aware {g_aware:.3}");
    assert!(
        g_aware > g_standard,
        "standard {g_standard}, aware {g_aware}"
    );
}

#[test]
fn code_usage_counts_codes_and_perplexity() {
    let (used, p) = crate::train::code_usage(&[5.0, 0.0, 5.0, 0.0]);
    assert_eq!(used, 2);
    assert!(
        (p - 2.0).abs() < 1e-12,
        "two equally used codes: perplexity 2, got {p}"
    );
    let (used, p) = crate::train::code_usage(&[9.0, 1.0]);
    let h: f64 = -(0.9f64 * 0.9f64.ln() + 0.1 * 0.1f64.ln());
    assert_eq!(used, 2);
    assert!((p - h.exp()).abs() < 1e-12);
    let _ = Array2::<f64>::zeros((1, 1));
    let _ = f64s::<1>;
}
