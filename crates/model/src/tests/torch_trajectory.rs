//! Our DAGMM against a PyTorch DAGMM written from the paper (`scripts/bench_torch_dagmm.py`),
//! step by step, from the same weights on the same rows: the fixture
//! (`fixtures/torch_trajectory.json`, made by `scripts/make_torch_trajectory.py`) holds PyTorch's
//! trajectory of 300 full-batch Adam steps with dropout off: the paper's objective without
//! clipping, with the gradients' global norm clipped, and with the precision penalty in place of
//! the paper's diagonal one; each run in float64 (the reference) and in float32.
//!
//! Every quantity of ours must lie within `TIMES` PyTorch's own float32 error of its float64 value
//! (plus a floor of `FLOOR` of the quantity's size, for quantities where PyTorch's float32 happens
//! to land very close): the loss terms before every step, the gradients of the first step (the
//! one-graph step and the two-thread split step), the weights after Adam's first update and after
//! the last step, the whole-set mixture after training, and the energies of the training rows and
//! of held-out rows under it. A wrong term, weight, jitter, norm guard, Adam bias correction or
//! clipping rule moves these by far more (`a_changed_loss_weight_is_caught` checks that the
//! comparison sees a change of λ2 by 1%).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use dagmm_estimation::{CovariancePenalty, FittedMixture};
use ndarray::Array2;
use serde::Deserialize;

use crate::parallel::{split_step, PartThreads};
use crate::train::{rng, Batch, STREAM_DROPOUT};
use crate::*;

const FIXTURE: &str = include_str!("fixtures/torch_trajectory.json");

/// Ours may stray from PyTorch's float64 value by this many times PyTorch's float32 error...
const TIMES: f64 = 10.0;
/// ...plus this share of the quantity's largest magnitude.
const FLOOR: f64 = 2e-6;

#[derive(Deserialize)]
struct Fixture {
    config: FixtureConfig,
    rows: Vec<f32>,
    held_out: Vec<f32>,
    initial: Layers,
    trajectories: Vec<Trajectory>,
}

#[derive(Deserialize)]
struct FixtureConfig {
    input_dim: usize,
    encoder_layers: Vec<usize>,
    estimation_hidden: Vec<usize>,
    n_components: usize,
    dropout: f64,
    norm_eps: f64,
    jitter: f64,
    lambda_energy: f64,
    lambda_cov: f64,
    learning_rate: f64,
    adam_epsilon: f64,
    steps: usize,
    scoring_batch_size: usize,
}

#[derive(Deserialize)]
struct Layers {
    encoder: Vec<Layer>,
    decoder: Vec<Layer>,
    estimation: Vec<Layer>,
}

#[derive(Deserialize)]
struct Layer {
    /// `[d_in, d_out]`, row-major.
    weight: Vec<f64>,
    bias: Vec<f64>,
}

#[derive(Deserialize)]
struct Trajectory {
    grad_clip_norm: Option<f64>,
    penalty: CovariancePenalty,
    float64: Run,
    float32: Run,
}

#[derive(Deserialize)]
struct Run {
    steps: Vec<Step>,
    first_gradients: Layers,
    after_first_step: Layers,
    #[serde(rename = "final")]
    last: Layers,
    mixture: Mixture,
    train_energy: Vec<f64>,
    held_out_energy: Vec<f64>,
}

#[derive(Deserialize)]
struct Step {
    total: f64,
    reconstruction: f64,
    energy: f64,
    penalty: f64,
}

#[derive(Deserialize)]
struct Mixture {
    phi: Vec<f64>,
    /// `[K, d]` row-major.
    mu: Vec<f64>,
    /// `[K, d, d]` row-major.
    cov: Vec<f64>,
}

fn fixture() -> Fixture {
    serde_json::from_str(FIXTURE).expect("the committed fixture parses")
}

impl Layers {
    /// Every value, layer by layer, weight then bias (the order `flat_layers` gives ours in).
    fn flat(&self) -> Vec<f64> {
        [&self.encoder, &self.decoder, &self.estimation]
            .into_iter()
            .flatten()
            .flat_map(|l| l.weight.iter().chain(&l.bias).copied())
            .collect()
    }

    fn plain(&self) -> PlainLayers {
        let group = |ls: &[Layer]| {
            ls.iter()
                .map(|l| LinearValues {
                    d_in: l.weight.len() / l.bias.len(),
                    d_out: l.bias.len(),
                    weight: l.weight.iter().map(|&v| v as f32).collect(),
                    bias: l.bias.iter().map(|&v| v as f32).collect(),
                })
                .collect()
        };
        PlainLayers {
            encoder: group(&self.encoder),
            decoder: group(&self.decoder),
            estimation: group(&self.estimation),
        }
    }
}

fn flat_layers(p: &PlainLayers) -> Vec<f64> {
    [&p.encoder, &p.decoder, &p.estimation]
        .into_iter()
        .flatten()
        .flat_map(|l| l.weight.iter().chain(&l.bias).map(|&v| f64::from(v)))
        .collect()
}

impl Fixture {
    fn x(&self) -> Array2<f32> {
        let d = self.config.input_dim;
        Array2::from_shape_vec((self.rows.len() / d, d), self.rows.clone()).unwrap()
    }

    fn held_out(&self) -> Array2<f32> {
        let d = self.config.input_dim;
        Array2::from_shape_vec((self.held_out.len() / d, d), self.held_out.clone()).unwrap()
    }

    /// The fixture's DAGMM as our config: one batch of all the rows per epoch (so an epoch is one
    /// step), `steps` epochs, on `threads` threads.
    fn config(&self, t: &Trajectory, threads: usize) -> DagmmConfig {
        let f = &self.config;
        let mut c = DagmmConfig::kddcup();
        c.compression.encoder_layers = f.encoder_layers.clone();
        c.compression.norm_eps = f.norm_eps;
        c.estimation.hidden_layers = f.estimation_hidden.clone();
        c.estimation.n_components = f.n_components;
        c.estimation.dropout = f.dropout;
        c.estimation.jitter = f.jitter;
        c.loss.lambda_energy = f.lambda_energy;
        c.loss.lambda_cov = f.lambda_cov;
        c.training.learning_rate = f.learning_rate;
        c.training.adam_epsilon = f.adam_epsilon;
        c.training.batch_size = self.rows.len() / f.input_dim;
        c.training.epochs = f.steps;
        c.training.grad_clip_norm = t.grad_clip_norm;
        c.estimation.penalty = t.penalty;
        c.training.threads = threads;
        c.scoring.batch_size = f.scoring_batch_size;
        c
    }

    /// An untrained model of `config` with the fixture's initial weights.
    fn model(&self, config: DagmmConfig) -> Dagmm {
        let mut model = Dagmm::new(config, self.config.input_dim).unwrap();
        model.set_plain_layers(&self.initial.plain()).unwrap();
        model
    }
}

/// How far `ours` is from PyTorch's float64 values, against what is allowed: `TIMES` PyTorch's
/// float32 error plus `FLOOR` of the largest float64 magnitude. `Err` names the worst element.
fn compare(what: &str, ours: &[f64], t64: &[f64], t32: &[f64]) -> std::result::Result<f64, String> {
    assert_eq!(ours.len(), t64.len(), "{what}: lengths");
    assert_eq!(t32.len(), t64.len(), "{what}: lengths");
    let max_diff = |a: &[f64]| {
        a.iter()
            .zip(t64)
            .map(|(x, y)| (x - y).abs())
            .enumerate()
            .fold(
                (0, 0.0f64),
                |best, (i, d)| if d > best.1 { (i, d) } else { best },
            )
    };
    let scale = t64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (_, err32) = max_diff(t32);
    let allowed = TIMES * err32 + FLOOR * scale;
    let (i, err) = max_diff(ours);
    if err.is_finite() && err <= allowed {
        eprintln!("{what}: {err:.2e} from PyTorch's float64 (its float32: {err32:.2e}; allowed {allowed:.2e})");
        Ok(err)
    } else {
        Err(format!(
            "{what}: element {i} is {} where PyTorch's float64 gives {} (difference {err:.3e}; \
             PyTorch's float32 strays {err32:.3e}; allowed {allowed:.3e})",
            ours[i], t64[i]
        ))
    }
}

/// Every parameter's gradient of the step of `model`'s network on all rows of `x`, in the order
/// of [`flat_layers`]: the one-graph step (`threads = 1`) or the split step.
fn first_gradients(model: &Dagmm, x: &Array2<f32>, threads: usize) -> Vec<f64> {
    let config = model.config();
    let net = model.network().clone().train();
    let device = model.device().autodiff();
    let rows: Vec<usize> = (0..x.nrows()).collect();
    let grads = if threads == 1 {
        let batch = Batch {
            x: x.view().into(),
            rows: &rows,
            device: &device,
        };
        let step = net.batch_step(
            config,
            batch.upload(),
            None,
            Some(&mut rng(0, STREAM_DROPOUT)),
        );
        GradientsParams::from_grads(step.loss.total.backward(), &net)
    } else {
        std::thread::scope(|scope| {
            let parts = PartThreads::start(scope, x.view().into(), threads);
            split_step(
                &net,
                config,
                &parts,
                &rows,
                None,
                &mut rng(0, STREAM_DROPOUT),
            )
            .grads
        })
    };
    visit_order(
        &net,
        |param| grads.get::<2>(param).map(Tensor::into_data),
        |param| grads.get::<1>(param).map(Tensor::into_data),
    )
}

/// Values of every parameter of `net` in visiting order (encoder, decoder, estimation; each
/// layer's weight `[d_in, d_out]`, then its bias), which is [`flat_layers`]' order: what `of2`
/// and `of1` give for the 2-D and 1-D parameters.
fn visit_order(
    net: &DagmmNetwork,
    of2: impl Fn(burn::module::ParamId) -> Option<TensorData>,
    of1: impl Fn(burn::module::ParamId) -> Option<TensorData>,
) -> Vec<f64> {
    struct Collect<F2, F1>(F2, F1, Vec<f64>);
    impl<F2, F1> ModuleVisitor for Collect<F2, F1>
    where
        F2: Fn(burn::module::ParamId) -> Option<TensorData>,
        F1: Fn(burn::module::ParamId) -> Option<TensorData>,
    {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = match D {
                2 => (self.0)(param.id),
                1 => (self.1)(param.id),
                _ => None,
            }
            .expect("a value for every parameter");
            self.2
                .extend(data.convert::<f64>().try_to_vec::<f64>().unwrap());
        }
    }
    let mut c = Collect(of2, of1, Vec::new());
    net.visit(&mut c);
    c.2
}

fn mixture_of(model: &Dagmm) -> [Vec<f64>; 3] {
    let Some(FittedMixture::Gaussian(m)) = model.mixture() else {
        panic!("a Gaussian mixture was fitted")
    };
    [
        m.weights.clone(),
        m.means.iter().flatten().copied().collect(),
        m.covariances.iter().flatten().flatten().copied().collect(),
    ]
}

/// The whole comparison for one trajectory and thread count; `Err` at the first quantity out of
/// tolerance.
fn follow(f: &Fixture, t: &Trajectory, config: DagmmConfig) -> std::result::Result<(), String> {
    let x = f.x();
    let threads = config.training.threads;
    let label = |what: &str| {
        format!(
            "clip {:?}, {:?} penalty, {threads} threads: {what}",
            t.grad_clip_norm, t.penalty
        )
    };
    let (t64, t32) = (&t.float64, &t.float32);

    // The loss before the first step and its gradients.
    let model = f.model(config.clone());
    let grads = first_gradients(&model, &x, threads);
    compare(
        &label("first gradients"),
        &grads,
        &t64.first_gradients.flat(),
        &t32.first_gradients.flat(),
    )?;

    // Adam's first update.
    let mut one = config.clone();
    one.training.epochs = 1;
    let mut model = f.model(one);
    model
        .train(x.view(), &mut |_| {})
        .map_err(|e| e.to_string())?;
    compare(
        &label("weights after the first step"),
        &flat_layers(&model.network().plain_layers().unwrap()),
        &t64.after_first_step.flat(),
        &t32.after_first_step.flat(),
    )?;

    // The whole trajectory: the terms before every step, the last weights.
    let mut model = f.model(config);
    let history = model
        .train(x.view(), &mut |_| {})
        .map_err(|e| e.to_string())?;
    assert_eq!(history.len(), t64.steps.len());
    type Term = fn(&Step) -> f64;
    type Ours = fn(&EpochLosses) -> f64;
    let terms: [(&str, Term, Ours); 4] = [
        ("total", |s| s.total, |e| e.total),
        ("reconstruction", |s| s.reconstruction, |e| e.reconstruction),
        ("energy", |s| s.energy, |e| e.energy),
        ("penalty", |s| s.penalty, |e| e.penalty),
    ];
    for (name, theirs, ours) in terms {
        let ours: Vec<f64> = history.iter().map(ours).collect();
        let a: Vec<f64> = t64.steps.iter().map(theirs).collect();
        let b: Vec<f64> = t32.steps.iter().map(theirs).collect();
        compare(&label(&format!("{name} at every step")), &ours, &a, &b)?;
    }
    compare(
        &label("last weights"),
        &flat_layers(&model.network().plain_layers().unwrap()),
        &t64.last.flat(),
        &t32.last.flat(),
    )?;

    // The whole-set mixture and the energies under it.
    model.fit_mixture(x.view()).map_err(|e| e.to_string())?;
    let ours = mixture_of(&model);
    for (i, name) in ["phi", "mu", "cov"].iter().enumerate() {
        let pick = |m: &Mixture| [&m.phi, &m.mu, &m.cov][i].clone();
        compare(
            &label(&format!("whole-set mixture {name}")),
            &ours[i],
            &pick(&t64.mixture),
            &pick(&t32.mixture),
        )?;
    }
    compare(
        &label("training rows' energies"),
        &model.energies(x.view()).map_err(|e| e.to_string())?,
        &t64.train_energy,
        &t32.train_energy,
    )?;
    compare(
        &label("held-out rows' energies"),
        &model
            .energies(f.held_out().view())
            .map_err(|e| e.to_string())?,
        &t64.held_out_energy,
        &t32.held_out_energy,
    )?;
    Ok(())
}

#[test]
fn the_fixture_starts_where_the_model_does() {
    // Our network built from the fixture's config has the fixture's shapes, and takes its weights.
    let f = fixture();
    let model = f.model(f.config(&f.trajectories[0], 1));
    assert_eq!(
        flat_layers(&model.network().plain_layers().unwrap()),
        f.initial
            .flat()
            .iter()
            .map(|&v| f64::from(v as f32))
            .collect::<Vec<_>>()
    );
    // Parameters are visited in the plain layers' order (what the gradients are read in).
    let net = model.network();
    let weights = |id| {
        let mut found = None;
        struct Find<'a>(burn::module::ParamId, &'a mut Option<TensorData>);
        impl ModuleVisitor for Find<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if param.id == self.0 {
                    *self.1 = Some(param.val().into_data());
                }
            }
        }
        net.visit(&mut Find(id, &mut found));
        found
    };
    assert_eq!(
        visit_order(net, weights, weights),
        flat_layers(&net.plain_layers().unwrap())
    );
    assert_eq!(f.trajectories.len(), 3);
    assert!(f.trajectories[1].grad_clip_norm.is_some());
    assert_eq!(f.trajectories[2].penalty, CovariancePenalty::Precision);
}

#[test]
fn the_one_graph_step_follows_pytorch_for_300_steps() {
    let f = fixture();
    for t in &f.trajectories {
        follow(&f, t, f.config(t, 1)).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_two_thread_step_follows_pytorch_for_300_steps() {
    let f = fixture();
    for t in &f.trajectories {
        follow(&f, t, f.config(t, 2)).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The comparison is not blind: λ2 changed by 1% (0.005 to 0.00505), or the other penalty, parts
/// from PyTorch.
#[test]
fn a_changed_loss_weight_is_caught() {
    let f = fixture();
    let t = &f.trajectories[0];
    let mut config = f.config(t, 1);
    config.loss.lambda_cov *= 1.01;
    let err = follow(&f, t, config).expect_err("a 1% change of λ2 must show");
    assert!(err.contains("clip None"), "{err}");
    // The paper's penalty where PyTorch used the precision penalty parts too.
    let t = &f.trajectories[2];
    let mut config = f.config(t, 1);
    config.estimation.penalty = CovariancePenalty::Diagonal;
    follow(&f, t, config).expect_err("the other penalty must show");
}

/// Weights read in PyTorch's `[d_out, d_in]` order instead of our `[d_in, d_out]` part at once.
#[test]
fn a_misread_weight_layout_is_caught() {
    let f = fixture();
    let mut model = f.model(f.config(&f.trajectories[0], 1));
    let mut swapped = f.initial.plain();
    for l in swapped.encoder.iter_mut().chain(&mut swapped.decoder) {
        let ours = Array2::from_shape_vec((l.d_in, l.d_out), l.weight.clone()).unwrap();
        l.weight = ours.t().iter().copied().collect();
    }
    model.set_plain_layers(&swapped).unwrap();
    let x = f.x();
    let t = &f.trajectories[0];
    let grads = first_gradients(&model, &x, 1);
    assert!(compare(
        "gradients from transposed weights",
        &grads,
        &t.float64.first_gradients.flat(),
        &t.float32.first_gradients.flat()
    )
    .is_err());
}
