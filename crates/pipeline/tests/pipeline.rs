//! Every detector through the one pipeline: its scores equal a direct call of the detector on
//! the same rows, a saved detector scores the same after loading, contamination counts are exact,
//! and each split matches a hand computation.

use std::path::{Path, PathBuf};

use dagmm_classic_gmm::{GaussianDensity, GaussianKind, GaussianMixture};
use dagmm_data::scaling::{Scaler, ScalingKind};
use dagmm_data::Features;
use dagmm_model::Dagmm;
use dagmm_pipeline::protocol::prepare;
use dagmm_pipeline::{
    load_detector, run, DataSection, DetectorKind, EvaluationSection, GaussianSection, GmmSection,
    OcSvmDetector, OcSvmSection, RunConfig, RunOutput, SavedDetector, Split, ThresholdRule,
};
use ndarray::Array2;

/// `dir/data.csv`: 600 labelled rows of 6 features: normal rows on two noisy lines, every sixth
/// row an anomaly off them.
fn write_data(dir: &Path) -> PathBuf {
    let mut s = String::from("f0,f1,f2,f3,f4,f5,label\n");
    for i in 0..600 {
        let t = (i as f64 * 0.618).fract();
        let anomaly = i % 6 == 0;
        let side = (i % 2) as f64;
        let row: Vec<String> = (0..6)
            .map(|j| {
                let base = 0.1 + 0.7 * t * (j as f64 + 1.0) / 6.0 + 0.2 * side;
                let v = if anomaly { 1.0 - base } else { base };
                format!("{:.5}", v + 0.02 * ((i * 7 + j * 3) % 11) as f64 / 11.0)
            })
            .collect();
        s.push_str(&format!("{},{}\n", row.join(","), u8::from(anomaly)));
    }
    let p = dir.join("data.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn data(path: &Path) -> DataSection {
    let mut d = DataSection::file(path.to_path_buf(), Some("label".into()), None);
    d.scaling = ScalingKind::MinMax;
    d
}

fn paper_protocol() -> EvaluationSection {
    EvaluationSection {
        anomaly_percentile: Some(16.0),
        ..EvaluationSection::default()
    }
}

fn dagmm_config(path: &Path, edit: impl FnOnce(&mut RunConfig)) -> RunConfig {
    let mut c = RunConfig::new(DetectorKind::Dagmm, data(path), paper_protocol());
    c.seed = Some(3);
    let mut d = dagmm_model::DagmmConfig::kddcup();
    d.compression.encoder_layers = vec![4, 1];
    d.estimation.n_components = 2;
    d.training.epochs = 2;
    d.training.batch_size = 64;
    d.training.learning_rate = 1e-3;
    c.compression = Some(d.compression);
    c.estimation = Some(d.estimation);
    c.training = Some(d.training);
    edit(&mut c);
    c.validate().unwrap();
    c
}

fn gmm_config(path: &Path) -> RunConfig {
    let mut c = RunConfig::new(DetectorKind::Gmm, data(path), paper_protocol());
    c.seed = Some(5);
    c.gmm = Some(GmmSection {
        n_components: 2,
        n_init: 2,
        ..GmmSection::default()
    });
    c
}

fn gaussian_config(path: &Path) -> RunConfig {
    let mut c = RunConfig::new(DetectorKind::Gaussian, data(path), paper_protocol());
    c.gaussian = Some(GaussianSection {
        kind: GaussianKind::PerFeature,
        reg_covar: 1e-6,
    });
    c
}

/// A one-class SVM on at most 150 of the training rows (a seeded subsample).
fn ocsvm_config(path: &Path) -> RunConfig {
    let mut c = RunConfig::new(DetectorKind::Ocsvm, data(path), paper_protocol());
    c.seed = Some(3);
    c.ocsvm = Some(OcSvmSection {
        max_train_rows: 150,
        ..OcSvmSection::default()
    });
    c.validate().unwrap();
    c
}

fn run_quietly(config: &RunConfig) -> RunOutput {
    run(config, &mut |_| {}).unwrap()
}

/// The scaled training and test rows of a config, as the protocol gives them (widened to f64).
fn rows(config: &RunConfig) -> (Array2<f64>, Array2<f64>) {
    let p = prepare(config).unwrap();
    (
        p.train.view().to_f64().into_owned(),
        p.test().view().to_f64().into_owned(),
    )
}

#[test]
fn gmm_scores_through_the_pipeline_equal_a_direct_em_fit() {
    let dir = tempfile::tempdir().unwrap();
    let config = gmm_config(&write_data(dir.path()));
    let out = run_quietly(&config);
    let (train, test) = rows(&config);
    let direct =
        GaussianMixture::fit(&config.gmm.as_ref().unwrap().params(5), train.view()).unwrap();
    let ll = direct.score_samples(test.view()).unwrap();
    let want: Vec<f64> = ll.iter().map(|l| -l).collect();
    assert_eq!(out.test.scores.score, want);
    assert_eq!(
        out.test.scores.column("log_likelihood").unwrap(),
        ll.as_slice().unwrap()
    );
    assert_eq!(out.summary.n_iter, Some(direct.n_iter()));
    assert!(
        out.summary.untrained_f1.is_none(),
        "EM has no untrained control"
    );
}

#[test]
fn gaussian_scores_through_the_pipeline_equal_a_direct_fit() {
    let dir = tempfile::tempdir().unwrap();
    let config = gaussian_config(&write_data(dir.path()));
    let out = run_quietly(&config);
    let (train, test) = rows(&config);
    let direct = GaussianDensity::fit(GaussianKind::PerFeature, train.view(), 1e-6).unwrap();
    let want: Vec<f64> = direct
        .log_density(test.view())
        .unwrap()
        .iter()
        .map(|l| -l)
        .collect();
    assert_eq!(out.test.scores.score, want);
}

#[test]
fn ocsvm_scores_through_the_pipeline_equal_a_direct_fit_on_the_seeded_subsample() {
    let dir = tempfile::tempdir().unwrap();
    let config = ocsvm_config(&write_data(dir.path()));
    let out = run_quietly(&config);
    let (train, test) = rows(&config);
    assert!(train.nrows() > 150, "the cap is below the training rows");
    let (direct, fit) =
        OcSvmDetector::fit(config.ocsvm.as_ref().unwrap(), 3, train.view().into()).unwrap();
    let want: Vec<f64> = test.outer_iter().map(|r| -direct.decision(r)).collect();
    assert_eq!(out.test.scores.score, want);
    let recorded = out
        .summary
        .ocsvm
        .as_ref()
        .expect("the summary records the fit");
    assert_eq!(recorded, &fit);
    assert_eq!(
        (recorded.rows_fitted, recorded.rows_available),
        (150, train.nrows())
    );
    assert!(out.summary.untrained_f1.is_none(), "no untrained control");
    assert_eq!(out.summary.score.name(), "negative_decision_function");
}

#[test]
fn dagmm_scores_through_the_pipeline_equal_a_direct_fit() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_data(dir.path());
    for config in [
        dagmm_config(&path, |_| {}),
        // PAE-GMM-EM: pretraining, no training, an EM scoring mixture.
        dagmm_config(&path, |c| {
            c.pretraining = Some(dagmm_model::PretrainingConfig {
                layer_epochs: 1,
                finetune_epochs: 2,
                learning_rate: None,
                batch_size: None,
            });
            c.training.as_mut().unwrap().epochs = 0;
            c.scoring = Some(dagmm_model::ScoringConfig {
                mixture: dagmm_model::ScoringMixture::Em,
                ..Default::default()
            });
        }),
    ] {
        let out = run_quietly(&config);
        let (train, test) = rows(&config);
        let (model, history) = Dagmm::fit(config.dagmm(), train.view(), &mut |_| {}).unwrap();
        let direct = model.score(test.view()).unwrap();
        assert_eq!(out.test.scores.score, direct.score);
        assert_eq!(
            out.test.scores.column("energy").unwrap(),
            direct.energy.as_slice()
        );
        let totals: Vec<f64> = history.iter().map(|e| e.total).collect();
        let seen: Vec<f64> = out.history.iter().map(|e| e.total).collect();
        assert_eq!(seen, totals, "the same training, epoch by epoch");
        assert!(out.summary.untrained_f1.is_some());
    }
}

#[test]
fn every_detector_kind_scores_the_same_after_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_data(dir.path());
    let mut pu = dagmm_config(&path, |_| {});
    pu.evaluation.pu = Some(dagmm_evaluation::PuConfig::default());
    for (name, config) in [
        ("gmm", gmm_config(&path)),
        ("gaussian", gaussian_config(&path)),
        ("ocsvm", ocsvm_config(&path)),
        ("dagmm", dagmm_config(&path, |_| {})),
        (
            "reconstruction",
            dagmm_config(&path, |c| {
                c.scoring = Some(dagmm_model::ScoringConfig {
                    kind: dagmm_model::ScoreKind::Reconstruction,
                    ..Default::default()
                });
            }),
        ),
        ("pu", pu),
    ] {
        let out = run_quietly(&config);
        let model_dir = dir.path().join(name);
        out.detector.save(&model_dir).unwrap();
        out.card.save(&model_dir).unwrap();
        let (_, test) = rows(&config);
        let back = load_detector(config.kind(), &model_dir, None).unwrap();
        assert_eq!(
            back.score(test.view().into()).unwrap(),
            out.test.scores,
            "{name}"
        );
        // Scoring the data file again flags every judged row as the run did.
        let saved = SavedDetector::load(&model_dir, None).unwrap();
        let ds = dagmm_data::load(
            &path,
            dagmm_data::LoadOptions {
                label_column: Some("label"),
                names: None,
            },
        )
        .unwrap();
        let again = saved.score(&ds, &path).unwrap();
        // Other batches change a neural detector's f32 summation order, so a row within 1e-5 of
        // the cut may fall on either side.
        let (decision, cut) = match &again.pu_score {
            Some(p) => (p.clone(), 0.5),
            None => (again.scores.score.clone(), out.summary.threshold),
        };
        for (k, &row) in out.test.indices.iter().enumerate() {
            let at_cut = (decision[row] - cut).abs() <= 1e-5 * (1.0 + cut.abs());
            assert!(
                again.flagged[row] == out.test.flagged[k] || at_cut,
                "{name}: row {row}"
            );
        }
        assert_eq!(again.pu_score.is_some(), name == "pu");
    }
}

#[test]
fn contamination_puts_the_exact_share_of_anomalies_into_the_training_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_data(dir.path());
    let clean = prepare(&gmm_config(&path)).unwrap();
    assert_eq!(clean.n_train_anomalies(), Some(0));
    for c in [0.01, 0.03, 0.05] {
        let mut config = gmm_config(&path);
        config.data.contamination = Some(c);
        let p = prepare(&config).unwrap();
        let n = clean.train.nrows();
        let want = (c * n as f64 / (1.0 - c)).round() as usize;
        assert_eq!(p.n_train_anomalies(), Some(want), "c = {c}");
        assert_eq!(p.train.nrows(), n + want);
        assert_eq!(p.test_indices, clean.test_indices);
        let out = run_quietly(&config);
        assert_eq!(out.summary.n_train_anomalies, Some(want));
        assert_eq!(out.summary.protocol.unwrap().contamination, Some(c));
    }
}

#[test]
fn the_splits_take_the_rows_a_hand_count_gives() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_data(dir.path());
    // 600 rows, 100 anomalies (every sixth), 500 normal.
    let mut config = gmm_config(&path);
    let paper = prepare(&config).unwrap();
    assert_eq!(paper.test().nrows(), 300);
    assert_eq!(
        paper.train.nrows() + (100 - paper.n_test_anomalies().unwrap()),
        300
    );
    config.evaluation.split = Split::AllAnomaliesInTest;
    let all = prepare(&config).unwrap();
    assert_eq!((all.train.nrows(), all.n_train_anomalies()), (250, Some(0)));
    assert_eq!(
        (all.test().nrows(), all.n_test_anomalies()),
        (350, Some(100))
    );
    config.evaluation.split = Split::NormalRows;
    let normal = prepare(&config).unwrap();
    assert_eq!((normal.train.nrows(), normal.test().nrows()), (500, 600));
    config.evaluation.split = Split::AllRows;
    let every = prepare(&config).unwrap();
    assert!(every.judged_on_training_rows());
    // The scaler is fitted on the training rows: min-max maps them into [0, 1].
    let s = Scaler::fit(ScalingKind::MinMax, every.train.view().to_f64().view()).unwrap();
    assert!(s.offset.iter().all(|o| o.abs() < 1e-12));
    // GOAD's rule on the all-anomalies split: as many flagged as there are anomalies.
    config.evaluation.split = Split::AllAnomaliesInTest;
    config.evaluation.threshold = ThresholdRule::TestContamination;
    let out = run_quietly(&config);
    assert_eq!(out.summary.flagged, 100);
    assert_eq!(out.summary.precision, out.summary.recall);
    assert_eq!(out.summary.threshold_rules.len(), 3);
}

#[test]
fn labels_missing_or_of_one_class_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("normal.csv");
    std::fs::write(&path, "a,b,label\n1,2,1\n2,3,1\n3,1,1\n").unwrap();
    let mut config = gmm_config(&path);
    let err = match run(&config, &mut |_| {}) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("no normal rows to fit on"),
    };
    assert!(
        err.contains("labelled 0") && err.contains("normal.csv"),
        "{err}"
    );
    config.data.label_column = None;
    let err = match run(&config, &mut |_| {}) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("the paper split needs labels"),
    };
    assert!(err.contains("no labels"), "{err}");
}

/// A KDDCUP-layout file of `n` rows: 3 numbers, the 3 one-hot columns, a label.
fn write_kddcup(dir: &Path, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let names = dir.join("kddcup.names");
    std::fs::write(
        &names,
        "back,normal.\nduration: continuous.\nprotocol_type: symbolic.\nservice: symbolic.\n\
         flag: symbolic.\nsrc_bytes: continuous.\nrate: continuous.\n",
    )
    .unwrap();
    let protocols = ["tcp", "udp", "icmp"];
    let services = ["http", "private", "ecr_i", "ftp", "smtp"];
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "{},{},{},{},{},{:.2},{}\n",
            i % 11,
            protocols[i % 3],
            services[(i * 7) % 5],
            if i % 4 == 0 { "REJ" } else { "SF" },
            (i * 7919) % 100_003,
            (i % 17) as f64 / 16.0,
            if i % 5 == 0 { "normal." } else { "back." }
        ));
    }
    let data = dir.join("kddcup.data");
    std::fs::write(&data, text).unwrap();
    (data, names)
}

#[test]
fn kddcup_rows_stay_encoded_for_networks_and_expand_to_the_f64_rows_rounded() {
    let dir = tempfile::tempdir().unwrap();
    let (path, names) = write_kddcup(dir.path(), 3000);
    let data = DataSection::file(path.clone(), None, Some(names));
    for scaling in [ScalingKind::MinMax, ScalingKind::ZScore] {
        let mut data = data.clone();
        data.scaling = scaling;
        let mut gmm = gmm_config(&path);
        gmm.data = data.clone();
        // The same seed: the same split.
        let neural = dagmm_config(&path, |c| {
            c.data = data.clone();
            c.seed = gmm.seed;
        });
        let wide = prepare(&gmm).unwrap();
        let narrow = prepare(&neural).unwrap();
        assert_eq!(wide.scaler, narrow.scaler);
        assert_eq!(wide.test_indices, narrow.test_indices);
        assert_eq!(wide.columns.len(), 3 + 3 + 5 + 2);
        for (f64_part, encoded) in [(&wide.train, &narrow.train), (wide.test(), narrow.test())] {
            let (Features::EncodedF64(x), Features::Encoded(e)) = (f64_part, encoded) else {
                panic!("EM reads encoded f64 rows, the networks encoded f32 rows")
            };
            assert_eq!(e.expand(), x.expand().mapv(|v| v as f32), "{scaling:?}");
        }
    }
}

/// `dagmm export`'s setup holds the rows, weights and untrained control the run itself uses: the
/// rows as the network sees them, the initial weights of `Dagmm::new` in PyTorch's layout, and the
/// same untrained F1 and ROC AUC as the run's own control.
#[test]
fn the_peer_setup_holds_the_runs_rows_weights_and_untrained_control() {
    use dagmm_data::npz::read_npz_array;
    use dagmm_pipeline::peer::{
        export_peer_setup, PEER_ROWS_FILE, PEER_UNTRAINED_FILE, PEER_WEIGHTS_FILE,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write_data(dir.path());
    let config = dagmm_config(&path, |c| {
        if let Some(t) = c.training.as_mut() {
            t.epochs = 0;
        }
    });
    let out = dir.path().join("setup");
    let setup = export_peer_setup(&config, &out).unwrap();
    let data = prepare(&config).unwrap();
    assert_eq!(
        (setup.n_train, setup.n_test, setup.n_features),
        (data.train.nrows(), data.test().nrows(), 6)
    );
    let read = |file: &str, name: &str| read_npz_array(&out.join(file), name).unwrap().unwrap();
    let train = read(PEER_ROWS_FILE, "train");
    assert_eq!(train.shape(), [data.train.nrows(), 6]);
    let mut row = [0f32; 6];
    data.train.view().row_to_f32(5, &mut row);
    for (j, v) in row.iter().enumerate() {
        assert_eq!(train[[5, j]], f64::from(*v));
    }
    let labels = read(PEER_ROWS_FILE, "test_labels");
    assert_eq!(
        labels.iter().map(|&v| v as u8).collect::<Vec<_>>(),
        data.test_labels.clone().unwrap()
    );
    let test_rows = read(PEER_ROWS_FILE, "test_rows");
    assert_eq!(
        test_rows.iter().map(|&v| v as usize).collect::<Vec<_>>(),
        data.test_indices
    );
    // The first encoder layer, [d_out, d_in] = [4, 6], is the transpose of ours.
    let model = Dagmm::new(config.dagmm(), 6).unwrap();
    let ours = &model.network().plain_layers().unwrap().encoder[0];
    let w = read(PEER_WEIGHTS_FILE, "encoder.0.weight");
    assert_eq!(w.shape(), [4, 6]);
    for i in 0..6 {
        for o in 0..4 {
            assert_eq!(w[[o, i]], f64::from(ours.weight[i * 4 + o]));
        }
    }
    assert!(
        read_npz_array(&out.join(PEER_WEIGHTS_FILE), "estimation.1.bias")
            .unwrap()
            .is_some()
    );
    assert_eq!(read(PEER_UNTRAINED_FILE, "test_energy").len(), setup.n_test);
    assert_eq!(read(PEER_UNTRAINED_FILE, "cov").shape(), [2, 3, 3]);
    // The run's own untrained control gives the same figures.
    let summary = run_quietly(&config).summary;
    assert_eq!(summary.untrained_f1, Some(setup.untrained.f1));
    assert_eq!(summary.untrained_roc_auc, Some(setup.untrained.roc_auc));
    // What the peer does not implement is refused, naming the field.
    let vae = dagmm_config(&path, |c| {
        c.compression.as_mut().unwrap().kind = dagmm_model::compression::CompressionKind::Vae;
    });
    let err = export_peer_setup(&vae, &dir.path().join("vae"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("compression.kind"), "{err}");
}
