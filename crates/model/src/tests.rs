//! End-to-end tests of the assembled model on small synthetic data made here.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use dagmm_estimation::GaussianMixture;
use dagmm_evaluation::{roc_auc, Direction};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

/// Every float parameter of a module by its path, as f64 values.
fn parameters<M: Module>(m: &M) -> BTreeMap<String, Vec<f64>> {
    #[derive(Default)]
    struct Collect {
        path: Vec<String>,
        out: BTreeMap<String, Vec<f64>>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param
                .val()
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap();
            let key = format!("{} #{}", self.path.join("."), self.out.len());
            self.out.insert(key, v);
        }
    }
    let mut c = Collect::default();
    m.visit(&mut c);
    c.out
}

/// KDDCUP-shaped rows in [0, 1]: three one-hot blocks (3, 66 and 11 categories, like
/// protocol/service/flag) and 38 continuous columns driven by two latent factors.
fn kddcup_like(n: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cont = 118 - 3 - 66 - 11;
    let w: Vec<[f64; 2]> = (0..cont)
        .map(|_| [rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0)])
        .collect();
    Array2::from_shape_fn((n, 118), |_| 0.0).tap_rows(|row| {
        let (a, b): (f64, f64) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        let cluster = rng.random_range(0..3usize);
        row[cluster] = 1.0;
        row[3 + (cluster * 7 + rng.random_range(0..3usize)) % 66] = 1.0;
        row[69 + (cluster * 3) % 11] = 1.0;
        for (j, wj) in w.iter().enumerate() {
            let s = wj[0] * a + wj[1] * b + cluster as f64 * 0.5 + rng.random_range(-0.1..0.1);
            row[80 + j] = 1.0 / (1.0 + (-s).exp());
        }
    })
}

trait TapRows {
    fn tap_rows(self, f: impl FnMut(&mut ndarray::ArrayViewMut1<f64>)) -> Self;
}
impl TapRows for Array2<f64> {
    fn tap_rows(mut self, mut f: impl FnMut(&mut ndarray::ArrayViewMut1<f64>)) -> Self {
        for mut row in self.rows_mut() {
            f(&mut row);
        }
        self
    }
}

fn small_config(
    encoder: Vec<usize>,
    epochs: usize,
    batch: usize,
    lr: f64,
    seed: u64,
) -> DagmmConfig {
    let mut c = DagmmConfig::kddcup();
    c.compression.encoder_layers = encoder;
    c.training.epochs = epochs;
    c.training.batch_size = batch;
    c.training.learning_rate = lr;
    c.training.seed = seed;
    c
}

#[test]
fn one_optimiser_step_changes_every_parameter_tensor() {
    let x = kddcup_like(64, 1);
    let mut model = Dagmm::new(small_config(vec![60, 30, 10, 1], 1, 64, 1e-4, 3), 118).unwrap();
    let before = parameters(model.network());
    // KDDCUP network: 8 AE layers + 2 estimation layers, weight and bias each.
    assert_eq!(before.len(), 20, "{:?}", before.keys().collect::<Vec<_>>());
    let losses = model.train(x.view(), &mut |_| {}).unwrap();
    assert_eq!(losses.len(), 1); // one epoch of one batch = one step
    let after = parameters(model.network());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, b) in &before {
        let a = &after[name];
        let changed = a.iter().zip(b).filter(|(x, y)| x != y).count();
        assert!(changed > 0, "{name} did not change");
        // Adam's first step moves every coordinate with a non-zero gradient by about lr.
        let max_step = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(max_step < 2e-4, "{name} moved by {max_step}");
        eprintln!("{name}: {changed}/{} elements changed", b.len());
    }
}

#[test]
fn loss_falls_over_the_first_epochs_on_kddcup_shaped_data() {
    let x = kddcup_like(2000, 2);
    let mut seen = Vec::new();
    let config = small_config(vec![60, 30, 10, 1], 5, 128, 1e-3, 0);
    let (model, losses) = Dagmm::fit(config, x.view(), &mut |e| seen.push(*e)).unwrap();
    assert_eq!(seen, losses, "callback saw every epoch");
    for e in &losses {
        eprintln!(
            "epoch {} total {:.4} rec {:.4} energy {:.4} penalty {:.4} ({:.2}s)",
            e.epoch, e.total, e.reconstruction, e.energy, e.penalty, e.seconds
        );
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(
        last.total < 0.8 * first.total,
        "total {} → {}",
        first.total,
        last.total
    );
    assert!(last.reconstruction < first.reconstruction);
    assert!(model.mixture().is_some());
    let e = model.energies(x.view()).unwrap();
    assert!(e.iter().all(|v| v.is_finite()));
}

/// Normal rows lie on a line in 16 dimensions, `x_j = c_j + a_j t` with one `t ~ U(0,1)` per row
/// (plus ±0.01 noise); anomalies use the SAME formula with an independent `t_j` for every column.
/// So every column has exactly the same marginal distribution in both classes and the means are
/// equal; what differs is only the joint structure (one degree of freedom vs sixteen). A network
/// with random weights is close to linear at this scale, and its code `z_c ≈ wᵀx` has the same
/// mean and, on average over `w`, the same variance for both classes; anomalies even have less
/// spread in `‖x‖` (a sum of independent terms), so their reconstruction features under a random
/// decoder look typical. A trained 1-dimensional bottleneck learns the line: normal rows
/// reconstruct almost exactly, anomalies cannot (they are off the line), and the relative
/// reconstruction error in `z` separates them.
fn line_vs_shuffled(n_normal: usize, n_anomalies: usize, seed: u64) -> (Array2<f64>, Vec<u8>) {
    let d = 16;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c: Vec<f64> = (0..d).map(|_| rng.random_range(0.3..0.5)).collect();
    let a: Vec<f64> = (0..d).map(|_| rng.random_range(-0.3..0.5)).collect();
    let n = n_normal + n_anomalies;
    let mut x = Array2::zeros((n, d));
    let mut labels = vec![0u8; n];
    for i in 0..n {
        let anomaly = i >= n_normal;
        labels[i] = anomaly as u8;
        let t: f64 = rng.random_range(0.0..1.0);
        for j in 0..d {
            let tj = if anomaly {
                rng.random_range(0.0..1.0)
            } else {
                t
            };
            x[[i, j]] = c[j] + a[j] * tj + rng.random_range(-0.01..0.01);
        }
    }
    (x, labels)
}

#[test]
fn training_beats_the_untrained_control_where_random_weights_cannot_separate() {
    let (train, _) = line_vs_shuffled(1000, 0, 10);
    let (test, labels) = line_vs_shuffled(500, 100, 11);
    let mut config = small_config(vec![8, 4, 1], 60, 128, 3e-3, 5);
    config.estimation.n_components = 2;
    let control = Dagmm::untrained(config.clone(), train.view()).unwrap();
    let auc_control = roc_auc(
        &control.energies(test.view()).unwrap(),
        &labels,
        Direction::HighIsAnomalous,
    )
    .unwrap();
    let (model, losses) = Dagmm::fit(config, train.view(), &mut |_| {}).unwrap();
    let auc_trained = roc_auc(
        &model.energies(test.view()).unwrap(),
        &labels,
        Direction::HighIsAnomalous,
    )
    .unwrap();
    eprintln!(
        "ROC AUC untrained {auc_control:.4}, trained {auc_trained:.4}; loss {:.4} → {:.4}",
        losses[0].total,
        losses[losses.len() - 1].total
    );
    assert!(
        auc_control < 0.75,
        "the construction should defeat random weights, got {auc_control}"
    );
    assert!(auc_trained > 0.95, "trained AUC {auc_trained}");
    assert!(auc_trained > auc_control + 0.2);
}

#[test]
fn same_seed_same_losses_and_energies_other_seed_differs() {
    let x = kddcup_like(300, 4);
    let run = |seed| {
        let config = small_config(vec![20, 10, 1], 3, 64, 1e-3, seed);
        let (model, losses) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
        let l: Vec<[f64; 4]> = losses
            .iter()
            .map(|e| [e.total, e.reconstruction, e.energy, e.penalty])
            .collect();
        (l, model.energies(x.view()).unwrap())
    };
    let (a, ea) = run(7);
    let (b, eb) = run(7);
    assert_eq!(a, b, "identical losses run to run");
    assert_eq!(ea, eb, "identical energies run to run");
    let (c, _) = run(8);
    assert_ne!(a, c);
}

#[test]
fn scoring_mixture_is_the_whole_training_set_one_and_batching_does_not_matter() {
    let x = kddcup_like(700, 5);
    let mut config = small_config(vec![20, 10, 1], 2, 128, 1e-3, 1);
    config.scoring.batch_size = 96; // 8 batches, the last one partial
    let (model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    // One-shot mixture of all 700 rows with the evaluation-mode network.
    let device = model.device();
    let v: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let out = model.network().forward(
        Tensor::from_data(TensorData::new(v, [700, 118]), &device),
        None,
    );
    let one_shot = GaussianMixture::from_gamma(out.gamma, out.compression.z).to_parameters();
    let fitted = model.mixture().unwrap();
    for k in 0..4 {
        assert!((fitted.weights[k] - one_shot.weights[k]).abs() < 1e-5);
        for i in 0..3 {
            assert!(
                (fitted.means[k][i] - one_shot.means[k][i]).abs()
                    < 1e-4 * (1.0 + one_shot.means[k][i].abs())
            );
            for j in 0..3 {
                let (a, b) = (fitted.covariances[k][i][j], one_shot.covariances[k][i][j]);
                assert!(
                    (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "Σ[{k}][{i}][{j}] {a} vs {b}"
                );
            }
        }
    }
    let small = model.score(x.view()).unwrap();
    let mut big_model = model.clone();
    big_model.set_scoring_batch_size(10_000).unwrap();
    let big = big_model.score(x.view()).unwrap();
    assert_eq!(small.z.dim(), (700, 3));
    for i in 0..700 {
        let (a, b) = (small.energy[i], big.energy[i]);
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "row {i}: {a} vs {b}"
        );
        assert!(
            (small.reconstruction_error[i] - big.reconstruction_error[i]).abs()
                <= 1e-6 * (1.0 + b.abs())
        );
    }
}

#[test]
fn save_and_load_give_identical_energies_config_and_metadata() {
    let x = kddcup_like(200, 6);
    let config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 2);
    let (mut model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    model.set_metadata(serde_json::json!({"scaler": {"min": [0.0], "max": [1.0]}}));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    model.save(&path).unwrap();
    assert!(path.join(MODEL_FILE).exists() && path.join(WEIGHTS_FILE).exists());
    let loaded = Dagmm::load(&path).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.mixture(), model.mixture());
    assert_eq!(loaded.metadata(), model.metadata());
    assert_eq!(
        parameters(loaded.network())
            .into_values()
            .collect::<Vec<_>>(),
        parameters(model.network())
            .into_values()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        loaded.energies(x.view()).unwrap(),
        model.energies(x.view()).unwrap()
    );
    // The same directory onto the other CPU backend scores the same to f32 precision.
    let on_ndarray = Dagmm::load_on(&path, DeviceChoice::Ndarray).unwrap();
    for (a, b) in on_ndarray
        .energies(x.view())
        .unwrap()
        .iter()
        .zip(model.energies(x.view()).unwrap())
    {
        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // A config written with an unknown field is refused.
    let text = std::fs::read_to_string(path.join(MODEL_FILE)).unwrap();
    std::fs::write(
        path.join(MODEL_FILE),
        text.replace("\"batch_size\"", "\"batchsize\""),
    )
    .unwrap();
    assert!(matches!(Dagmm::load(&path), Err(ModelError::Json { .. })));
}

#[test]
fn untrained_control_uses_the_initial_weights_of_training() {
    let x = kddcup_like(100, 7);
    let config = small_config(vec![20, 10, 1], 1, 50, 1e-3, 9);
    let control = Dagmm::untrained(config.clone(), x.view()).unwrap();
    let fresh = Dagmm::new(config.clone(), 118).unwrap();
    assert_eq!(
        parameters(control.network())
            .into_values()
            .collect::<Vec<_>>(),
        parameters(fresh.network())
            .into_values()
            .collect::<Vec<_>>()
    );
    assert!(control.mixture().is_some());
    assert!(matches!(
        fresh.energies(x.view()),
        Err(ModelError::NotFitted)
    ));
    let (trained, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    assert_ne!(
        trained.energies(x.view()).unwrap(),
        control.energies(x.view()).unwrap()
    );
}

#[test]
fn global_norm_clipping_scales_all_gradients_together() {
    let device = burn::tensor::Device::flex().autodiff();
    let a = Param::from_tensor(Tensor::<1>::from_data(
        TensorData::new(vec![1.0f32, 2.0], [2]),
        &device,
    ));
    let b = Param::from_tensor(Tensor::<2>::from_data(
        TensorData::new(vec![3.0f32, 4.0], [1, 2]),
        &device,
    ));
    #[derive(Module, Debug)]
    struct Two {
        a: Param<Tensor<1>>,
        b: Param<Tensor<2>>,
    }
    let m = Two { a, b };
    // loss = 3·Σa + 4·Σb → gradients (3, 3) and (4, 4): global norm sqrt(18 + 32) = sqrt(50).
    let loss = m.a.val().sum().mul_scalar(3.0) + m.b.val().sum().mul_scalar(4.0);
    let grads = GradientsParams::from_grads(loss.backward(), &m);
    let grads = clip_global_norm(&m, grads, 1.0);
    let ga = grads
        .get::<1>(m.a.id)
        .unwrap()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    let gb = grads
        .get::<2>(m.b.id)
        .unwrap()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    let s = 50f64.sqrt();
    for (g, w) in ga
        .iter()
        .chain(&gb)
        .zip([3.0 / s, 3.0 / s, 4.0 / s, 4.0 / s])
    {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
    // Below the limit nothing changes.
    let loss = m.a.val().sum().mul_scalar(3.0) + m.b.val().sum().mul_scalar(4.0);
    let grads = clip_global_norm(&m, GradientsParams::from_grads(loss.backward(), &m), 100.0);
    let ga = grads
        .get::<1>(m.a.id)
        .unwrap()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    assert!((ga[0] - 3.0).abs() < 1e-5);
}

#[test]
fn config_files_parse_and_unknown_fields_are_refused() {
    let text = r#"
device = "ndarray"
[compression]
encoder_layers = [12, 4, 1]
[estimation]
n_components = 2
hidden_layers = [10]
[training]
epochs = 5
grad_clip_norm = 5.0
seed = 3
"#;
    let c: DagmmConfig = toml::from_str(text).unwrap();
    assert_eq!(c.device, DeviceChoice::Ndarray);
    assert_eq!(c.estimation.jitter, 1e-6);
    assert_eq!(c.training.adam_epsilon, 1e-8);
    assert_eq!(c.training.batch_size, 1024);
    assert_eq!(c.training.grad_clip_norm, Some(5.0));
    assert_eq!(c.loss.lambda_energy, 0.1);
    c.validate().unwrap();
    assert!(toml::from_str::<DagmmConfig>("devise = \"flex\"").is_err());
    assert!(toml::from_str::<DagmmConfig>("[training]\nepoch = 3").is_err());
    assert!(toml::from_str::<DagmmConfig>(
        "[estimation]\nn_components = 2\nhidden_layers = [10]\nk = 3"
    )
    .is_err());
    let json = serde_json::to_string(&DagmmConfig::thyroid()).unwrap();
    assert_eq!(
        serde_json::from_str::<DagmmConfig>(&json).unwrap(),
        DagmmConfig::thyroid()
    );
    assert_eq!("FLEX".parse::<DeviceChoice>().unwrap(), DeviceChoice::Flex);
    assert!("cuda".parse::<DeviceChoice>().is_err());
    assert_eq!(DagmmConfig::preset("kddcup-rev").unwrap().z_dim(), 4);
    let mut bad = DagmmConfig::default();
    bad.training.batch_size = 0;
    assert!(bad.validate().is_err());
}

#[test]
fn bad_input_is_refused() {
    let mut x = kddcup_like(10, 8);
    let config = small_config(vec![20, 10, 1], 1, 8, 1e-3, 0);
    x[[3, 5]] = f64::NAN;
    assert!(matches!(
        Dagmm::fit(config.clone(), x.view(), &mut |_| {}),
        Err(ModelError::Data(_))
    ));
    let model = Dagmm::untrained(config, kddcup_like(10, 8).view()).unwrap();
    assert!(matches!(
        model.energies(Array2::zeros((3, 7)).view()),
        Err(ModelError::Data(_))
    ));
}

#[test]
fn ndarray_device_trains_too() {
    let x = kddcup_like(200, 9);
    let mut config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 0);
    config.device = DeviceChoice::Ndarray;
    let (model, losses) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    assert!(losses.iter().all(|e| e.total.is_finite()));
    assert!(model
        .energies(x.view())
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));
}
