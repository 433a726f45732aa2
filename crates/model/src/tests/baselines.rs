//! The training regimes of the DAGMM paper's baselines: layer-wise pretraining and fine-tuning,
//! a frozen compression network, reconstruction-error scoring and an EM scoring mixture.

use dagmm_classic_gmm::{CovarianceType, GaussianMixture, GmmParams, InitMethod};

use super::{kddcup_like, parameters, small_config};
use crate::*;

fn pretraining(layer_epochs: usize, finetune_epochs: usize) -> PretrainingConfig {
    PretrainingConfig {
        layer_epochs,
        finetune_epochs,
        learning_rate: Some(1e-3),
        batch_size: None,
    }
}

/// Parameters whose path starts with `prefix` (`compression`, `estimation`).
fn part(model: &Dagmm, prefix: &str) -> Vec<Vec<f64>> {
    parameters(model.network())
        .into_iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn pretraining_runs_each_layer_pair_then_finetunes_and_lowers_each_stages_loss() {
    let x = kddcup_like(600, 11);
    let mut config = small_config(vec![20, 10, 1], 0, 100, 1e-3, 4);
    config.pretraining = Some(pretraining(4, 6));
    let fresh = Dagmm::new(config.clone(), 118).unwrap();
    let (model, history) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    let stages: Vec<String> = history.iter().map(|e| e.stage.to_string()).collect();
    let mut want = Vec::new();
    for layer in ["layer1", "layer2", "layer3"] {
        want.extend(std::iter::repeat_n(layer.to_string(), 4));
    }
    want.extend(std::iter::repeat_n("finetune".to_string(), 6));
    assert_eq!(
        stages, want,
        "three layer pairs, then fine-tuning; no training epochs"
    );
    for stage in ["layer1", "layer2", "layer3", "finetune"] {
        let losses: Vec<f64> = history
            .iter()
            .filter(|e| e.stage.to_string() == stage)
            .map(|e| e.total)
            .collect();
        assert!(
            losses.last() < losses.first(),
            "{stage}: {losses:?} does not fall"
        );
    }
    // Fine-tuning reports the reconstruction error as the whole objective.
    let last = history.last().unwrap();
    assert_eq!(
        (last.total, last.energy, last.penalty),
        (last.reconstruction, 0.0, 0.0)
    );
    // Every autoencoder layer moved; the estimation network did not.
    for (a, b) in part(&model, "compression")
        .iter()
        .zip(part(&fresh, "compression"))
    {
        assert_ne!(a, &b);
    }
    assert_eq!(part(&model, "estimation"), part(&fresh, "estimation"));
    // The pretrained autoencoder reconstructs better than the random one.
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let untrained = Dagmm::untrained(model.config().clone(), x.view()).unwrap();
    let before = mean(untrained.score(x.view()).unwrap().reconstruction_error);
    let after = mean(model.score(x.view()).unwrap().reconstruction_error);
    assert!(
        after < 0.8 * before,
        "reconstruction error {before} → {after}"
    );
}

#[test]
fn pretraining_is_seeded_and_refused_for_other_compression_networks() {
    let x = kddcup_like(300, 3);
    let mut config = small_config(vec![10, 1], 0, 100, 1e-3, 8);
    config.pretraining = Some(pretraining(2, 2));
    let (a, la) = Dagmm::fit(config.clone(), x.view(), &mut |_| {}).unwrap();
    let (b, lb) = Dagmm::fit(config.clone(), x.view(), &mut |_| {}).unwrap();
    let totals = |h: &[EpochLosses]| h.iter().map(|e| e.total).collect::<Vec<_>>();
    assert_eq!(totals(&la), totals(&lb));
    assert_eq!(parameters(a.network()), parameters(b.network()));
    config.compression.kind = compression::CompressionKind::Vae;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("pretraining"), "{err}");
}

#[test]
fn a_frozen_compression_network_keeps_its_weights_while_the_estimation_network_learns() {
    let x = kddcup_like(256, 5);
    let mut config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 1);
    config.training.freeze_compression = true;
    let fresh = Dagmm::new(config.clone(), 118).unwrap();
    let (model, history) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(part(&model, "compression"), part(&fresh, "compression"));
    for (a, b) in part(&model, "estimation")
        .iter()
        .zip(part(&fresh, "estimation"))
    {
        assert_ne!(a, &b, "every estimation tensor learns");
    }
    // The reconstruction error of a frozen network is the same every epoch (up to the order in
    // which the shuffled batches are summed).
    let (r1, r2) = (history[0].reconstruction, history[1].reconstruction);
    assert!((r1 - r2).abs() < 1e-5 * r1, "{r1} vs {r2}");
}

#[test]
fn reconstruction_scoring_scores_by_the_reconstruction_error() {
    let x = kddcup_like(200, 6);
    let mut config = small_config(vec![10, 1], 1, 100, 1e-3, 2);
    config.scoring.kind = ScoreKind::Reconstruction;
    config.loss.lambda_energy = 0.0;
    config.loss.lambda_cov = 0.0;
    let (model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    let s = model.score(x.view()).unwrap();
    assert_eq!(s.score, s.reconstruction_error);
    assert_ne!(s.score, s.energy);
}

#[test]
fn the_em_scoring_mixture_is_classic_em_on_z_and_its_energies_are_minus_the_log_likelihood() {
    let x = kddcup_like(400, 9);
    let mut config = small_config(vec![20, 10, 1], 1, 100, 1e-3, 6);
    config.estimation.n_components = 3;
    config.scoring.mixture = ScoringMixture::Em;
    config.scoring.em.n_init = 2;
    let (model, _) = Dagmm::fit(config.clone(), x.view(), &mut |_| {}).unwrap();
    let s = model.score(x.view()).unwrap();
    // The same EM, called directly on the model's z.
    let direct = GaussianMixture::fit(
        &GmmParams {
            n_components: 3,
            covariance_type: CovarianceType::Full,
            init: InitMethod::KMeans,
            n_init: 2,
            max_iter: 100,
            tol: 1e-3,
            reg_covar: 1e-6, // estimation.jitter
            seed: 6,
        },
        s.z.view(),
    )
    .unwrap();
    let estimation::FittedMixture::Gaussian(fitted) = model.mixture().unwrap() else {
        panic!("EM gives a Gaussian mixture");
    };
    for (a, b) in fitted.weights.iter().zip(direct.weights()) {
        assert!((a - b).abs() < 1e-12, "weights {a} vs {b}");
    }
    let ll = direct.score_samples(s.z.view()).unwrap();
    let mut worst: f64 = 0.0;
    for (e, l) in s.energy.iter().zip(ll.iter()) {
        // f32 on the device against f64 on the host.
        let gap = (e + l).abs() / (1.0 + l.abs());
        worst = worst.max(gap);
    }
    assert!(worst < 1e-3, "energy against −log-likelihood: {worst}");
    // It survives save and load.
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let back = Dagmm::load(dir.path()).unwrap();
    assert_eq!(back.score(x.view()).unwrap().energy, s.energy);
    config.estimation.mixture = estimation::MixtureKind::Laplacian;
    assert!(config.validate().is_err(), "EM fits Gaussians only");
}
