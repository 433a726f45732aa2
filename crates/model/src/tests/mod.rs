//! End-to-end tests of the assembled model on small synthetic data made here.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use dagmm_estimation::GaussianMixtureTensors;
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

/// Normal rows: a line in 24 dimensions, `x_j = c_j + a_j t + u_j` with `t ~ U(0,1)` and
/// `u_j ~ U(±0.01)`; `c` and `a` are fixed, only the samples depend on `seed`.
fn line(n: usize, seed: u64) -> Array2<f64> {
    let d = 24;
    let mut line_rng = ChaCha8Rng::seed_from_u64(1234);
    let c: Vec<f64> = (0..d).map(|_| line_rng.random_range(0.2..0.4)).collect();
    let a: Vec<f64> = (0..d).map(|_| line_rng.random_range(-0.3..0.5)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, d));
    for mut row in x.rows_mut() {
        let t: f64 = rng.random_range(0.0..1.0);
        for j in 0..d {
            row[j] = c[j] + a[j] * t + rng.random_range(-0.01..0.01);
        }
    }
    x
}

/// Gram–Schmidt: an orthonormal basis of the span of `vectors`.
fn orthonormal_basis(vectors: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut q: Vec<Vec<f64>> = Vec::new();
    for v in vectors {
        let mut v = v.clone();
        for _ in 0..2 {
            for u in &q {
                let p: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(vi, ui)| *vi -= p * ui);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-9 {
            q.push(v.iter().map(|x| x / norm).collect());
        }
    }
    q
}

fn f64s<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

#[test]
fn training_beats_the_untrained_control_where_random_weights_cannot_separate() {
    // Construction. Normal rows lie on a line (one degree of freedom) in 24 dimensions. Each
    // anomaly starts as a fresh normal row x and is moved, by a reflection, inside the subspace S
    // that the UNTRAINED network cannot see: S is orthogonal to the 8 columns of its first encoder
    // layer and to x' (its reconstruction of x). With p the component of x in S, the anomaly is
    // x − 2p. Then W1ᵀ(x − 2p) = W1ᵀx (same code z_c, same x'), ‖x − 2p‖ = ‖x‖,
    // ‖x − 2p − x'‖ = ‖x − x'‖ and (x − 2p)·x' = x·x': every coordinate of z is unchanged, so the
    // untrained control gives each anomaly the energy of a normal row and is at chance (ROC AUC
    // ≈ 0.5) by construction. The anomaly is far off the line (p has about 15/24 of ‖x‖), so a
    // network that has learnt the line — the trained one — reconstructs it badly and its `z`
    // moves away from the normal rows. Paper settings except the smaller network, K = 2 and a
    // larger learning rate (to keep the test fast).
    let train = line(1000, 10);
    let mut test = line(600, 11);
    let mut config = small_config(vec![8, 4, 1], 100, 128, 1e-2, 0);
    config.estimation.n_components = 2;
    let control = Dagmm::untrained(config.clone(), train.view()).unwrap();
    let d = 24;
    let dagmm_compression::Compression::Autoencoder(ae) = &control.network().compression else {
        panic!("the config asks for an autoencoder");
    };
    let w1 = f64s(ae.encoder[0].weight.val()); // [d, 8], Burn's [d_in, d_out] layout
    let h1 = w1.len() / d;
    let device = control.device();
    let v: Vec<f32> = test.iter().map(|v| *v as f32).collect();
    let x_hat = f64s(
        control
            .network()
            .forward(
                Tensor::from_data(TensorData::new(v, [600, d]), &device),
                None,
            )
            .compression
            .x_hat,
    );
    let mut labels = vec![0u8; 600];
    for i in 500..600 {
        labels[i] = 1;
        let mut span: Vec<Vec<f64>> = (0..h1)
            .map(|k| (0..d).map(|j| w1[j * h1 + k]).collect())
            .collect();
        span.push(x_hat[i * d..(i + 1) * d].to_vec());
        let mut p: Vec<f64> = test.row(i).to_vec();
        for u in orthonormal_basis(&span) {
            let c: f64 = p.iter().zip(&u).map(|(a, b)| a * b).sum();
            p.iter_mut().zip(&u).for_each(|(pi, ui)| *pi -= c * ui);
        }
        for j in 0..d {
            test[[i, j]] -= 2.0 * p[j];
        }
    }
    let before = control.score(line(600, 11).view()).unwrap();
    let scored = control.score(test.view()).unwrap();
    for i in 500..600 {
        for j in 0..3 {
            let (a, b) = (scored.z[[i, j]], before.z[[i, j]]);
            assert!(
                (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                "the untrained network sees anomaly {i}: z {a} vs {b}"
            );
        }
    }
    let auc_control = roc_auc(&scored.energy, &labels, Direction::HighIsAnomalous).unwrap();
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
        (auc_control - 0.5).abs() < 0.15,
        "the untrained control should be at chance, got {auc_control}"
    );
    assert!(auc_trained > 0.95, "trained AUC {auc_trained}");
    assert!(auc_trained > auc_control + 0.3);
}

#[test]
fn loss_gradient_matches_finite_differences() {
    // Directional derivative of the batch loss (evaluation mode: no dropout) along a random
    // direction over ALL parameters, autodiff vs central differences. Catches a detached or
    // mis-wired term in the loss.
    let x = kddcup_like(256, 12);
    let config = small_config(vec![20, 10, 1], 1, 256, 1e-3, 4);
    let device = burn::tensor::Device::flex().autodiff();
    let model = Dagmm::new(config.clone(), 118).unwrap();
    let net = model.network().clone().train();
    let v: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let xb = Tensor::<2>::from_data(TensorData::new(v, [256, 118]), &device);
    let loss = net.batch_loss(&config, xb.clone(), None);
    let grads = GradientsParams::from_grads(loss.total.backward(), &net);
    // Direction: per parameter a deterministic ±1 pattern scaled by h.
    struct Dir<'a> {
        grads: &'a GradientsParams,
        dot: f64,
        i: usize,
    }
    impl ModuleVisitor for Dir<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let g = f64s(
                self.grads
                    .get::<D>(param.id)
                    .expect("every parameter has a gradient"),
            );
            for gv in g {
                self.i += 1;
                self.dot += gv * [-1.0, 1.0, 1.0][self.i % 3];
            }
        }
    }
    let mut dir = Dir {
        grads: &grads,
        dot: 0.0,
        i: 0,
    };
    net.visit(&mut dir);
    struct Shift {
        h: f64,
        i: usize,
    }
    impl burn::module::ModuleMapper for Shift {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, t, _mapper) = param.consume();
            let shape = t.shape();
            let device = t.device();
            let mut v = f64s(t);
            for x in v.iter_mut() {
                self.i += 1;
                *x += self.h * [-1.0, 1.0, 1.0][self.i % 3];
            }
            let v: Vec<f32> = v.iter().map(|x| *x as f32).collect();
            Param::initialized(id, Tensor::from_data(TensorData::new(v, shape), &device))
        }
    }
    let plain = model.network().clone();
    let at = |h: f64| {
        let shifted = plain.clone().map(&mut Shift { h, i: 0 });
        let v: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let xb = Tensor::<2>::from_data(TensorData::new(v, [256, 118]), &model.device());
        f64s(shifted.batch_loss(&config, xb, None).total)[0]
    };
    let h = 1e-3;
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    eprintln!(
        "directional derivative: autodiff {:.6}, finite differences {numeric:.6}",
        dir.dot
    );
    assert!(
        (numeric - dir.dot).abs() < 0.05 * dir.dot.abs().max(1.0),
        "{numeric} vs {}",
        dir.dot
    );
}

/// `n` rows kept encoded as the KDDCUP loader keeps them (4 numbers, a 3- and a 5-way
/// category), min-max scaled on every row.
fn encoded_rows(n: usize, seed: u64) -> dagmm_data::encoded::EncodedFeatures {
    use dagmm_data::encoded::{EncodedField, EncodedLayout};
    use dagmm_data::rows::EncodedRowsBuilder;
    use dagmm_data::scaling::ScalingKind;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut builder = EncodedRowsBuilder::new(4, 2);
    for _ in 0..n {
        let numbers: Vec<f64> = (0..4).map(|_| rng.random_range(-3.0..5.0)).collect();
        let codes = [rng.random_range(0..3u32), rng.random_range(0..5u32)];
        builder.push(&numbers, &codes).unwrap();
    }
    let fields = vec![
        EncodedField::Number { slot: 0, column: 0 },
        EncodedField::Category {
            group: 0,
            first_column: 1,
        },
        EncodedField::Number { slot: 1, column: 4 },
        EncodedField::Number { slot: 2, column: 5 },
        EncodedField::Category {
            group: 1,
            first_column: 6,
        },
        EncodedField::Number {
            slot: 3,
            column: 11,
        },
    ];
    let layout = EncodedLayout::new(fields, vec![vec![2, 0, 1], vec![0, 1, 2, 3, 4]], 12, 4);
    let columns = (0..12).map(|j| format!("c{j}")).collect();
    let rows =
        dagmm_data::LoadedRows::encoded(builder.finish(layout.unwrap()).unwrap(), None, columns)
            .unwrap();
    let all: Vec<usize> = (0..n).collect();
    let scaler = rows.fit_scaler(ScalingKind::MinMax, &all).unwrap();
    match rows.into_parts([&all, &all], &scaler, dagmm_data::Precision::F32) {
        Ok([dagmm_data::Features::Encoded(e), _]) => e,
        other => panic!("encoded f32 parts expected, got {other:?}"),
    }
}

#[test]
fn encoded_dense_f32_and_f64_rows_train_and_score_alike() {
    let encoded = encoded_rows(700, 12);
    let dense = encoded.expand();
    let wide = dense.mapv(f64::from);
    let run = |x: dagmm_data::FeaturesView<'_>| {
        let config = small_config(vec![8, 1], 3, 64, 1e-3, 5);
        let (model, losses) = Dagmm::fit(config, x, &mut |_| {}).unwrap();
        let l: Vec<[f64; 4]> = losses
            .iter()
            .map(|e| [e.total, e.reconstruction, e.energy, e.penalty])
            .collect();
        (l, model.score(x).unwrap())
    };
    let from_encoded = run(dagmm_data::FeaturesView::Encoded(&encoded));
    assert_eq!(from_encoded, run(dense.view().into()), "f32 rows");
    assert_eq!(from_encoded, run(wide.view().into()), "f64 rows");
    assert!(from_encoded.1.energy.iter().all(|e| e.is_finite()));
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
    let one_shot = GaussianMixtureTensors::from_gamma(out.gamma, out.compression.z).to_parameters();
    let fitted = match model.mixture().unwrap() {
        dagmm_estimation::FittedMixture::Gaussian(p) => p,
        other => panic!("expected a Gaussian mixture, got {other:?}"),
    };
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
        let (r, q) = (small.reconstruction_error[i], big.reconstruction_error[i]);
        assert!(
            (r - q).abs() <= 1e-5 * (1.0 + q.abs()),
            "row {i}: {r} vs {q}"
        );
    }
}

#[test]
fn save_and_load_give_identical_energies_config_and_mixture() {
    let x = kddcup_like(200, 6);
    let config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 2);
    let (model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    model.save(&path).unwrap();
    assert!(path.join(MODEL_FILE).exists() && path.join(WEIGHTS_FILE).exists());
    let loaded = Dagmm::load(&path).unwrap();
    assert_eq!(loaded.config(), model.config());
    // JSON keeps the mixture to the last bit (serde_json's `float_roundtrip`).
    let (a, b) = (loaded.mixture().unwrap(), model.mixture().unwrap());
    let flat = |m: &dagmm_estimation::FittedMixture| -> Vec<f64> {
        let dagmm_estimation::FittedMixture::Gaussian(m) = m else {
            panic!("expected a Gaussian mixture")
        };
        let mut v = m.weights.clone();
        v.extend(m.means.iter().flatten());
        v.extend(m.covariances.iter().flatten().flatten());
        v
    };
    assert_eq!(flat(a), flat(b));
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
    #[cfg(feature = "ndarray")]
    {
        let on_ndarray = Dagmm::load_on(&path, DeviceChoice::Ndarray).unwrap();
        for (a, b) in on_ndarray
            .energies(x.view())
            .unwrap()
            .iter()
            .zip(model.energies(x.view()).unwrap())
        {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
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
fn a_last_batch_too_small_for_a_covariance_joins_the_one_before() {
    use crate::train::epoch_batches;
    // 10 rows in batches of 4: the last 2 rows are enough for z of dimension 1, not 3.
    assert_eq!(
        epoch_batches(10, 4, false, 2),
        vec![(0, 4), (4, 8), (8, 10)]
    );
    assert_eq!(epoch_batches(10, 4, false, 4), vec![(0, 4), (4, 10)]);
    assert_eq!(epoch_batches(10, 4, true, 4), vec![(0, 4), (4, 8)]);
    assert_eq!(epoch_batches(8, 4, false, 4), vec![(0, 4), (4, 8)]);
    // One batch only: nothing to join.
    assert_eq!(epoch_batches(3, 4, false, 4), vec![(0, 3)]);
    assert_eq!(epoch_batches(3, 4, true, 4), Vec::<(usize, usize)>::new());
    // In training: 66 rows, batch 64, z of dimension 3; one batch of 66 rows per epoch, and the
    // penalty stays that of a full batch (two rows alone would give about K·3/jitter = 1.2e7).
    let x = kddcup_like(66, 11);
    let config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 3);
    let (_, history) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    for e in &history {
        assert_eq!(e.rows, 66);
        assert!(e.penalty < 1e5, "epoch {}: penalty {}", e.epoch, e.penalty);
    }
}

#[test]
fn a_stored_mixture_that_does_not_fit_the_stored_config_is_an_error() {
    let x = kddcup_like(120, 8);
    let config = small_config(vec![20, 10, 1], 2, 64, 1e-3, 1);
    let (model, _) = Dagmm::fit(config, x.view(), &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let file = dir.path().join(MODEL_FILE);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // The mixture keeps its 4 components (the KDDCUP preset's); the config now says 3.
    json["config"]["estimation"]["n_components"] = serde_json::json!(3);
    std::fs::write(&file, serde_json::to_string(&json).unwrap()).unwrap();
    match Dagmm::load(dir.path()) {
        Err(ModelError::Format { path, message }) => {
            assert_eq!(path, file);
            assert!(
                message.contains("4 components of dimension 3") && message.contains("3 components"),
                "{message}"
            );
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a mismatched mixture was loaded"),
    }
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
    // Threads: 1 to 256, the field named.
    assert_eq!(DagmmConfig::default().training.threads, 2);
    for threads in [0, 257] {
        let mut bad = DagmmConfig::default();
        bad.training.threads = threads;
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("training.threads"), "{err}");
    }
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
        model.energies(Array2::<f64>::zeros((3, 7)).view()),
        Err(ModelError::Data(_))
    ));
}

#[cfg(feature = "ndarray")]
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

mod baselines;
mod checkpoints;
mod external_baselines;
mod torch_dsebm;
mod torch_trajectory;
mod variants;
