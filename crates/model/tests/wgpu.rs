//! The core's correctness tests on a wgpu device, and flex against wgpu from the same weights.
//!
//! The device is `$DAGMM_TEST_WGPU` (default `wgpu:cpu`, a software adapter such as Mesa's
//! lavapipe; `wgpu` on a GPU machine). Where it cannot start the tests say `skipped` — unless
//! `DAGMM_REQUIRE_WGPU=1` (CI sets it), where that is a failure.
//!
//! Tolerances: f32 kernels on two backends differ in summation order, so values agree to about
//! 1e-6 relative; we allow 1e-4 relative (+1e-5 absolute) for forward values and losses, and 2e-6
//! absolute for parameters after one Adam step of learning rate 1e-4 (the step itself is ≈ 1e-4
//! per coordinate: Adam's first step is lr·g/(|g| + ε)).

#![cfg(feature = "wgpu")]

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use dagmm_model::estimation::{GaussianMixtureTensors, MixtureParameters};
use dagmm_model::{Dagmm, DagmmConfig, DeviceChoice};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The wgpu device under test, or `None` (skipped) where it cannot start and CI did not ask.
fn wgpu() -> Option<DeviceChoice> {
    let name = std::env::var("DAGMM_TEST_WGPU").unwrap_or_else(|_| "wgpu:cpu".into());
    let choice: DeviceChoice = name.parse().expect("DAGMM_TEST_WGPU names a device");
    match choice.try_device() {
        Ok(_) => Some(choice),
        Err(e) if std::env::var("DAGMM_REQUIRE_WGPU").is_ok_and(|v| v == "1") => {
            panic!("DAGMM_REQUIRE_WGPU=1 but {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn params<M: Module>(m: &M) -> BTreeMap<String, Vec<f64>> {
    #[derive(Default)]
    struct Collect(BTreeMap<String, Vec<f64>>, Vec<String>);
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.1.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.1.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let key = format!("{} #{}", self.1.join("."), self.0.len());
            self.0.insert(key, f64s(p.val()));
        }
    }
    let mut c = Collect::default();
    m.visit(&mut c);
    c.0
}

fn f64s<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

/// Rows in [0, 1] with structure (two latent factors, three groups), `d` features.
fn rows(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w: Vec<[f64; 2]> = (0..d)
        .map(|_| [rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0)])
        .collect();
    Array2::from_shape_fn((n, d), |_| 0.0).map_rows(|_| {
        let (a, b): (f64, f64) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        let g = rng.random_range(0..3) as f64;
        w.iter()
            .map(|wj| 1.0 / (1.0 + (-(wj[0] * a + wj[1] * b + 0.5 * g)).exp()))
            .collect()
    })
}

trait MapRows {
    fn map_rows(self, f: impl FnMut(usize) -> Vec<f64>) -> Self;
}
impl MapRows for Array2<f64> {
    fn map_rows(mut self, mut f: impl FnMut(usize) -> Vec<f64>) -> Self {
        for (i, mut row) in self.rows_mut().into_iter().enumerate() {
            row.assign(&ndarray::Array1::from(f(i)));
        }
        self
    }
}

fn config(device: DeviceChoice, epochs: usize, batch: usize, lr: f64) -> DagmmConfig {
    let mut c = DagmmConfig::kddcup();
    c.device = device;
    c.compression.encoder_layers = vec![20, 10, 1];
    c.training.epochs = epochs;
    c.training.batch_size = batch;
    c.training.learning_rate = lr;
    c.training.seed = 5;
    c
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= abs + rel * b.abs()
}

#[test]
fn energy_on_wgpu_equals_the_closed_form() {
    let Some(choice) = wgpu() else { return };
    let device = choice.device();
    // Two components in 3-D with full covariances.
    let p = MixtureParameters {
        weights: vec![0.3, 0.7],
        means: vec![vec![0.0, 1.0, -1.0], vec![2.0, -0.5, 0.5]],
        covariances: vec![
            vec![
                vec![2.0, 0.3, 0.1],
                vec![0.3, 1.0, -0.2],
                vec![0.1, -0.2, 0.5],
            ],
            vec![
                vec![0.8, 0.0, 0.2],
                vec![0.0, 1.5, 0.4],
                vec![0.2, 0.4, 1.2],
            ],
        ],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let z: Vec<f32> = (0..40 * 3)
        .map(|_| rng.random_range(-3.0..3.0f32))
        .collect();
    let energy = f64s(
        GaussianMixtureTensors::from_parameters(&p, &device)
            .unwrap()
            .prepare(0.0)
            .energy(Tensor::from_data(
                TensorData::new(z.clone(), [40, 3]),
                &device,
            )),
    );
    let arrays = p.covariance_arrays();
    for i in 0..40 {
        let zi: Vec<f64> = z[i * 3..i * 3 + 3].iter().map(|v| *v as f64).collect();
        // log φ_k + log N(z; μ_k, Σ_k) via a hand Cholesky, then log-sum-exp.
        let terms: Vec<f64> = (0..2)
            .map(|k| {
                let a = &arrays[k];
                let mut l = [[0.0f64; 3]; 3];
                for j in 0..3 {
                    let s: f64 = (0..j).map(|q| l[j][q] * l[j][q]).sum();
                    l[j][j] = (a[[j, j]] - s).sqrt();
                    for r in j + 1..3 {
                        let s: f64 = (0..j).map(|q| l[r][q] * l[j][q]).sum();
                        l[r][j] = (a[[r, j]] - s) / l[j][j];
                    }
                }
                let mut y = [0.0f64; 3];
                for r in 0..3 {
                    let s: f64 = (0..r).map(|q| l[r][q] * y[q]).sum();
                    y[r] = (zi[r] - p.means[k][r] - s) / l[r][r];
                }
                let maha: f64 = y.iter().map(|v| v * v).sum();
                let log_det: f64 = 2.0 * (0..3).map(|r| l[r][r].ln()).sum::<f64>();
                p.weights[k].ln() - 0.5 * (3.0 * (2.0 * std::f64::consts::PI).ln() + log_det + maha)
            })
            .collect();
        let m = terms[0].max(terms[1]);
        let want = -(m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln());
        assert!(
            close(energy[i], want, 1e-4, 1e-4),
            "row {i}: {} vs {want}",
            energy[i]
        );
    }
}

#[test]
fn one_step_on_wgpu_moves_every_parameter_and_the_loss_falls() {
    let Some(choice) = wgpu() else { return };
    let x = rows(64, 30, 1);
    let mut model = Dagmm::new(config(choice, 1, 64, 1e-4), 30).unwrap();
    let before = params(model.network());
    assert_eq!(
        before.len(),
        16,
        "6 AE layers + 2 estimation layers, a weight and a bias each"
    );
    model.train(x.view(), &mut |_| {}).unwrap();
    let after = params(model.network());
    for (k, b) in &before {
        assert!(
            after[k].iter().zip(b).any(|(a, b)| a != b),
            "{k} did not move"
        );
    }
    let x = rows(1500, 30, 2);
    let (fitted, losses) = Dagmm::fit(config(choice, 5, 128, 1e-3), x.view(), &mut |_| {}).unwrap();
    let (first, last) = (losses[0].total, losses[4].total);
    assert!(last < 0.8 * first, "total {first} → {last}");
    assert!(fitted
        .energies(x.view())
        .unwrap()
        .iter()
        .all(|e| e.is_finite()));
}

#[test]
fn flex_and_wgpu_agree_on_a_forward_pass_and_one_training_step() {
    let Some(choice) = wgpu() else { return };
    let x = rows(256, 30, 3);
    let flex = Dagmm::new(config(DeviceChoice::Flex, 1, 256, 1e-4), 30).unwrap();
    let gpu = Dagmm::new(config(choice, 1, 256, 1e-4), 30).unwrap();
    assert_eq!(
        params(flex.network()),
        params(gpu.network()),
        "same seed, same weights"
    );
    let forward = |m: &Dagmm| {
        let device = m.device();
        let v: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let out = m.network().forward(
            Tensor::from_data(TensorData::new(v, [256, 30]), &device),
            None,
        );
        [
            f64s(out.compression.z),
            f64s(out.compression.x_hat),
            f64s(out.gamma),
        ]
    };
    for (name, (a, b)) in ["z", "x'", "gamma"]
        .iter()
        .zip(forward(&flex).into_iter().zip(forward(&gpu)))
    {
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert!(close(*q, *p, 1e-4, 1e-5), "{name}[{i}]: flex {p}, wgpu {q}");
        }
    }
    // One Adam step (one batch of 256 rows, dropout masks from the same seed) on each.
    let (mut flex, mut gpu) = (flex, gpu);
    let lf = flex.train(x.view(), &mut |_| {}).unwrap()[0];
    let lg = gpu.train(x.view(), &mut |_| {}).unwrap()[0];
    for (a, b) in [
        (lf.total, lg.total),
        (lf.reconstruction, lg.reconstruction),
        (lf.energy, lg.energy),
        (lf.penalty, lg.penalty),
    ] {
        assert!(close(b, a, 1e-4, 1e-5), "loss terms: flex {a}, wgpu {b}");
    }
    let (pf, pg) = (params(flex.network()), params(gpu.network()));
    for (k, a) in &pf {
        for (i, (p, q)) in a.iter().zip(&pg[k]).enumerate() {
            assert!(
                (p - q).abs() <= 2e-6,
                "{k}[{i}] after one step: flex {p}, wgpu {q}"
            );
        }
    }
    // And the scores of the fitted models.
    flex.fit_mixture(x.view()).unwrap();
    gpu.fit_mixture(x.view()).unwrap();
    let (ef, eg) = (
        flex.energies(x.view()).unwrap(),
        gpu.energies(x.view()).unwrap(),
    );
    for (i, (p, q)) in ef.iter().zip(&eg).enumerate() {
        assert!(close(*q, *p, 1e-3, 1e-3), "energy[{i}]: flex {p}, wgpu {q}");
    }
}

#[test]
fn an_adapter_that_does_not_exist_is_an_error_not_a_cpu_fallback() {
    let missing: DeviceChoice = "wgpu:discrete:97".parse().unwrap();
    let err = Dagmm::new(config(missing, 1, 8, 1e-3), 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wgpu:discrete:97") && err.contains("cannot start"),
        "{err}"
    );
}
