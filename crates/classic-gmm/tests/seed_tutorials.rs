//! The tutorials' numbers (seeds 000 and 001) on their exact data sets, as scikit-learn gives them.
//! A correct EM reaches the same optimum whatever its random numbers, so every seed must pass.
//! Skipped (with a message) where the shared data folder is absent.

use std::path::PathBuf;

use dagmm_classic_gmm::{GaussianMixture, GmmParams};
use dagmm_evaluation::{flag, percentile, Direction};

fn shared(relative: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DAGMM_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = dir.join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found", path.display());
        None
    }
}

#[test]
fn seed_000_blobs_match_scikit_learn_for_every_seed() {
    let Some(path) = shared("seeds/blobs.csv") else {
        return;
    };
    let data = dagmm_data::csv_file::load_csv(&path, Some("label")).unwrap();
    for seed in [0, 1, 2, 42, 1234] {
        let params = GmmParams {
            n_components: 3,
            n_init: 5,
            seed,
            ..GmmParams::default()
        };
        let gmm = GaussianMixture::fit(&params, data.features.view()).unwrap();
        let scores = gmm.score_samples(data.features.view()).unwrap().to_vec();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let cut = percentile(&scores, 4.0).unwrap();
        let flagged = flag(&scores, cut, Direction::LowIsAnomalous)
            .iter()
            .filter(|&&f| f == 1)
            .count();
        assert!(
            (mean - -5.0086).abs() < 0.005,
            "seed {seed}: mean log-likelihood {mean}"
        );
        assert!((cut - -6.56).abs() < 0.02, "seed {seed}: threshold {cut}");
        assert_eq!(flagged, 21, "seed {seed}");
    }
}

#[test]
fn seed_001_moons_reach_scikit_learns_likelihood() {
    let Some(path) = shared("seeds/moons.csv") else {
        return;
    };
    let data = dagmm_data::csv_file::load_csv(&path, Some("label")).unwrap();
    for seed in [0, 7, 42] {
        let params = GmmParams {
            n_components: 3,
            n_init: 10,
            seed,
            ..GmmParams::default()
        };
        let gmm = GaussianMixture::fit(&params, data.features.view()).unwrap();
        let mean = gmm.score(data.features.view()).unwrap();
        assert!(mean >= -1.355, "seed {seed}: mean log-likelihood {mean}");
    }
}
