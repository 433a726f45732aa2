//! A DAGMM training step over several threads (`training.threads`), for the CPU devices.
//!
//! Burn's flex backend runs each op on one thread, and the paper's small layers (a 1024 × 118
//! batch through 118-60-30-10-1) are below the size where its matrix products go parallel, so a
//! step kept one core busy; and most of a step was not the matrix products but the element-wise
//! ops around them and their autodiff bookkeeping. The step splits instead, by the chain rule:
//!
//! 1. the batch's rows are cut into `P` contiguous parts; each part's thread (the first part on
//!    the calling thread, the others on `P − 1` helper threads) gathers its rows and runs the
//!    autoencoder forward on the host ([`HostAutoencoder`]: a matrix product and
//!    one fused bias-and-`tanh` pass per layer), and hands back its `z` and squared errors;
//! 2. this thread joins the parts' `z`, runs the estimation network on the graph (one dropout
//!    mask for the whole batch, drawn as the one-thread step draws it), the batch's mixture (for
//!    the Gaussian family on the host in f64, [`BatchGaussianMixture`]), the energies, the
//!    penalty and the objective `J`, and differentiates: the estimation network's gradients and
//!    `∂J/∂z`;
//! 3. each part's thread differentiates `Σ_i ∂J/∂z_i · z_i + (w/N) Σ_i ‖x_i − x'_i‖²` over its
//!    rows (the terms of `J` that reach the autoencoder through that part) by the written-out
//!    backward pass, and the parts' gradients are summed.
//!
//! A thread waiting for the next stage of a step polls its channel for a while before it blocks
//! ([`receive`]): on these virtual machines a blocked thread took tens of microseconds to wake,
//! four times a step, and the waits inside a step are shorter than a millisecond.
//!
//! The gradients are those of the one-graph step up to f32 rounding (the tests check them
//! against it). The parts are fixed by `training.threads`, not by the machine, so a run gives
//! the same numbers on any machine; 1 is the one-graph step of earlier versions.

use std::sync::mpsc::{self, RecvError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::module::ParamId;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_compression::{Autoencoder, Compression, HostAutoencoder, HostGradient, LayerGradients};
use dagmm_data::FeaturesView;
use dagmm_estimation::{BatchGaussianMixture, HostEstimationNetwork, MixtureKind};
use dagmm_loss::{dagmm_loss, LossInputs};
use ndarray::{Array2, Axis};
use rand::RngCore;

use crate::network::DagmmNetwork;
use crate::{DagmmConfig, DeviceChoice};

/// What a split step computed: the gradients of every parameter and the five reported terms.
pub(crate) struct SplitStep {
    pub grads: GradientsParams,
    pub terms: Tensor<1>,
}

/// Whether `network` under `config` can take the split step with `parts` parts: the plain
/// autoencoder (the variants add terms and code counts per batch), trained (not frozen), on a CPU
/// device, and more than one part.
pub(crate) fn can_split(config: &DagmmConfig, network: &DagmmNetwork, parts: usize) -> bool {
    parts > 1
        && matches!(network.compression, Compression::Autoencoder(_))
        && !config.training.freeze_compression
        && !matches!(config.device, DeviceChoice::Wgpu(_))
}

/// The `(start, end)` rows of each part of a batch of `n` rows: `parts` contiguous slices, the
/// first ones one row longer when `n` does not divide.
pub(crate) fn part_bounds(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, n.max(1));
    let (base, extra) = (n / parts, n % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let end = start + base + usize::from(p < extra);
            let b = (start, end);
            start = end;
            b
        })
        .collect()
}

/// What a helper thread is asked to do for one step.
struct PartJob {
    /// The autoencoder's weights of this step.
    autoencoder: Arc<HostAutoencoder>,
    /// The part's rows, indices into the stage's matrix.
    rows: Vec<usize>,
    /// `w/N`, the weight of each row's squared error in `J`.
    error_weight: f32,
    forward_tx: mpsc::Sender<(Array2<f32>, Vec<f32>)>,
    grad_rx: mpsc::Receiver<Array2<f32>>,
    done_tx: mpsc::Sender<Vec<LayerGradients>>,
}

/// The parts of the split step: the calling thread takes the first, one helper thread each of
/// the others, alive for a whole training stage (threads started per step cost more than they
/// saved: each new thread's allocator heap starts from fresh pages, which the kernel zeroes on
/// first touch).
pub(crate) struct PartThreads<'env> {
    helpers: Vec<mpsc::Sender<PartJob>>,
    /// The stage's rows, which the calling thread's part gathers from.
    x: FeaturesView<'env>,
}

/// How long a waiting thread polls its channel before it blocks.
const POLL: Duration = Duration::from_millis(1);

/// The next message of `rx`: polled for up to [`POLL`], giving the core to whatever else is
/// runnable between polls (so that a sweep's other runs lose little), then waited for blocked.
fn receive<T>(rx: &mpsc::Receiver<T>) -> Result<T, RecvError> {
    let started = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Disconnected) => return Err(RecvError),
            Err(TryRecvError::Empty) if started.elapsed() > POLL => return rx.recv(),
            Err(TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
}

impl<'env> PartThreads<'env> {
    /// `parts − 1` helper threads in `scope`, each gathering its rows from `x`.
    pub(crate) fn start<'scope>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        x: FeaturesView<'env>,
        parts: usize,
    ) -> Self {
        let helpers = (1..parts.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel::<PartJob>();
                scope.spawn(move || {
                    while let Ok(job) = receive(&rx) {
                        let Some(grads) = compression_part(&job, x) else {
                            break;
                        };
                        if job.done_tx.send(grads).is_err() {
                            break;
                        }
                    }
                });
                tx
            })
            .collect();
        Self { helpers, x }
    }

    /// Number of parts.
    pub(crate) fn parts(&self) -> usize {
        self.helpers.len() + 1
    }
}

/// The rows `rows` of `x` gathered as f32, `[rows, d]`.
fn gather(x: FeaturesView<'_>, rows: &[usize]) -> Array2<f32> {
    let mut xb = Array2::<f32>::zeros((rows.len(), x.ncols()));
    for (mut out, &i) in xb.axis_iter_mut(Axis(0)).zip(rows) {
        x.row_to_f32(i, out.as_slice_mut().expect("a standard-layout row"));
    }
    xb
}

/// A helper's part of a step: gathers its rows of `x` (as f32), sends `z` and the squared errors,
/// waits for `∂J/∂z` of its rows and returns the gradients of the autoencoder's weights (`None`
/// when the step was abandoned).
fn compression_part(job: &PartJob, x: FeaturesView<'_>) -> Option<Vec<LayerGradients>> {
    let xb = gather(x, &job.rows);
    let pass = job.autoencoder.forward(xb.view());
    job.forward_tx
        .send((pass.z.clone(), pass.squared_error.clone()))
        .ok()?;
    let dz = receive(&job.grad_rx).ok()?;
    Some(
        job.autoencoder
            .backward(xb.view(), &pass, dz.view(), job.error_weight),
    )
}

/// The training step of `network` on the rows `rows` split among `threads`' parts (see the
/// module's notes). `anomaly` are the rows' labels for the anomaly-aware objective; the dropout
/// mask comes from `rng` as in the one-thread step.
pub(crate) fn split_step(
    network: &DagmmNetwork,
    config: &DagmmConfig,
    threads: &PartThreads,
    rows: &[usize],
    anomaly: Option<Tensor<1>>,
    rng: &mut dyn RngCore,
) -> SplitStep {
    let on_host = config.estimation.mixture == MixtureKind::Gaussian;
    split_step_with(network, config, threads, rows, anomaly, rng, on_host)
}

/// [`split_step`], the batch's mixture on the host (`on_host`, Gaussian only) or on the graph.
fn split_step_with(
    network: &DagmmNetwork,
    config: &DagmmConfig,
    threads: &PartThreads,
    rows: &[usize],
    anomaly: Option<Tensor<1>>,
    rng: &mut dyn RngCore,
    on_host: bool,
) -> SplitStep {
    let Compression::Autoencoder(ae) = &network.compression else {
        panic!("can_split admits the plain autoencoder only");
    };
    let n = rows.len();
    let bounds = part_bounds(n, threads.parts());
    let autoencoder = Arc::new(HostAutoencoder::of(ae));
    // The reconstruction term of J is w · mean ‖x − x'‖²: each part's rows carry w/N.
    let error_weight = (config.loss.reconstruction_weight / n as f64) as f32;
    let mut forwards = Vec::with_capacity(bounds.len());
    let mut grad_txs = Vec::with_capacity(bounds.len());
    let mut dones = Vec::with_capacity(bounds.len());
    for (jobs, &(start, end)) in threads.helpers.iter().zip(&bounds[1..]) {
        let (forward_tx, forward_rx) = mpsc::channel();
        let (grad_tx, grad_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        jobs.send(PartJob {
            autoencoder: Arc::clone(&autoencoder),
            rows: rows[start..end].to_vec(),
            error_weight,
            forward_tx,
            grad_rx,
            done_tx,
        })
        .expect("the part threads live as long as the stage");
        forwards.push(forward_rx);
        grad_txs.push(grad_tx);
        dones.push(done_rx);
    }
    let device = network_device(ae);
    // The first part, here.
    let own_rows = &rows[bounds[0].0..bounds[0].1];
    let own_x = gather(threads.x, own_rows);
    let own = autoencoder.forward(own_x.view());
    let z_dim = own.z.ncols();
    let mut z_rows = Vec::with_capacity(n * z_dim);
    let mut errors = Vec::with_capacity(n);
    z_rows.extend(own.z.iter().copied());
    errors.extend(own.squared_error.iter().copied());
    for rx in &forwards {
        let (z, e) = receive(rx).expect("a compression part sends its forward pass");
        z_rows.extend(z.iter().copied());
        errors.extend(e);
    }
    let z = Array2::from_shape_vec((n, z_dim), z_rows).expect("[n, z_dim]");
    let errors = Tensor::<1>::from_data(TensorData::new(errors, [n]), &device);
    let MixtureStep {
        mut params,
        dz,
        terms,
    } = if on_host {
        host_mixture_step(network, config, z, errors, anomaly, rng)
    } else {
        let z = Tensor::<2>::from_data(
            TensorData::new(z.into_raw_vec_and_offset().0, [n, z_dim]),
            &device,
        );
        graph_mixture_step(network, config, z, errors, anomaly, rng)
    };
    for (tx, &(start, end)) in grad_txs.iter().zip(&bounds[1..]) {
        tx.send(dz.slice(ndarray::s![start..end, ..]).to_owned())
            .expect("a compression part waits for its gradient");
    }
    let (own_start, own_end) = bounds[0];
    let own_grads = autoencoder.backward(
        own_x.view(),
        &own,
        dz.slice(ndarray::s![own_start..own_end, ..]),
        error_weight,
    );
    let mut sum: Option<Vec<LayerGradients>> = Some(own_grads);
    for rx in &dones {
        let part = receive(rx).expect("a compression part finishes its step");
        sum = Some(match sum {
            None => part,
            Some(mut acc) => {
                for (a, p) in acc.iter_mut().zip(part) {
                    a.weight += &p.weight;
                    if let (Some(ab), Some(pb)) = (&mut a.bias, p.bias) {
                        *ab += &pb;
                    }
                }
                acc
            }
        });
    }
    ae.host_gradients(sum.expect("at least one part"), &mut |id, g| {
        register(&mut params, id, g, &device)
    });
    SplitStep {
        grads: params,
        terms,
    }
}

/// The plain (non-autodiff) device of `ae`'s weights.
fn network_device(ae: &Autoencoder) -> Device {
    ae.encoder[0].weight.val().device().inner()
}

/// Registers a host gradient as a tensor on `device`.
fn register(params: &mut GradientsParams, id: ParamId, g: HostGradient, device: &Device) {
    match g {
        HostGradient::Matrix(m) => {
            let shape = [m.nrows(), m.ncols()];
            let values = m.into_raw_vec_and_offset().0;
            params.register::<2>(
                id,
                Tensor::from_data(TensorData::new(values, shape), device),
            );
        }
        HostGradient::Vector(v) => {
            let len = v.len();
            params.register::<1>(
                id,
                Tensor::from_data(TensorData::new(v.to_vec(), [len]), device),
            );
        }
    }
}

/// What the whole-batch part of a split step gives: the estimation network's gradients, `∂J/∂z`
/// (`[N, z_dim]`) and the five reported terms.
struct MixtureStep {
    params: GradientsParams,
    dz: Array2<f32>,
    terms: Tensor<1>,
}

/// The estimation network, the batch's mixture and the objective on the autodiff graph, from the
/// parts' `z` and reconstruction errors (plain): any mixture family.
fn graph_mixture_step(
    network: &DagmmNetwork,
    config: &DagmmConfig,
    z: Tensor<2>,
    errors: Tensor<1>,
    anomaly: Option<Tensor<1>>,
    rng: &mut dyn RngCore,
) -> MixtureStep {
    let [n, z_dim] = z.dims();
    let z = z.autodiff().require_grad();
    let loss = network.estimate_and_loss(config, z.clone(), errors.autodiff(), anomaly, rng);
    let terms = loss.terms();
    let mut grads = loss.total.backward();
    let dz = z
        .grad_remove(&mut grads)
        .expect("z is a leaf of the objective");
    MixtureStep {
        params: GradientsParams::from_grads(grads, network),
        dz: Array2::from_shape_vec((n, z_dim), f32s(dz)).expect("[n, z_dim]"),
        terms,
    }
}

/// [`graph_mixture_step`] for the Gaussian family, on the host: the estimation network
/// ([`HostEstimationNetwork`], the same dropout draws) and the batch's mixture
/// ([`BatchGaussianMixture`], f64), their backward passes written out. Only the objective is
/// Burn's: `dagmm_loss` over the energies and the penalty as leaves, which gives `∂J/∂E_i` and
/// `∂J/∂P` for whichever loss is configured.
fn host_mixture_step(
    network: &DagmmNetwork,
    config: &DagmmConfig,
    z: Array2<f32>,
    errors: Tensor<1>,
    anomaly: Option<Tensor<1>>,
    rng: &mut dyn RngCore,
) -> MixtureStep {
    let (n, d) = z.dim();
    let plain = errors.device();
    let device = plain.clone().autodiff();
    let estimation = HostEstimationNetwork::of(&network.estimation);
    let pass = estimation.forward(z.view(), Some(rng));
    let k = pass.gamma.ncols();
    let mixture = BatchGaussianMixture::fit(
        z.as_slice().expect("standard layout"),
        pass.gamma.as_slice().expect("standard layout"),
        n,
        d,
        k,
        config.estimation.jitter,
    );
    let energy_values: Vec<f32> = mixture.energies().iter().map(|&e| e as f32).collect();
    let energy =
        Tensor::<1>::from_data(TensorData::new(energy_values, [n]), &device).require_grad();
    let penalty = Tensor::<1>::from_data(
        TensorData::new(vec![mixture.penalty(config.estimation.penalty) as f32], [1]),
        &device,
    )
    .require_grad();
    let loss = dagmm_loss(
        &config.loss,
        LossInputs {
            reconstruction_error: errors.autodiff(),
            energy: energy.clone(),
            penalty: penalty.clone(),
            regularization: None,
            anomaly,
        },
    );
    let terms = loss.terms();
    let loss_grads = loss.total.backward();
    let energy_weights: Vec<f64> = f32s(energy.grad(&loss_grads).expect("E is a leaf of J"))
        .into_iter()
        .map(f64::from)
        .collect();
    let penalty_weight = f64::from(f32s(penalty.grad(&loss_grads).expect("P is a leaf of J"))[0]);
    let (dz_mixture, dgamma) =
        mixture.gradients(&energy_weights, penalty_weight, config.estimation.penalty);
    let dgamma = Array2::from_shape_vec((n, k), to_f32(&dgamma)).expect("[n, k]");
    let (grads, mut dz) = estimation.backward(z.view(), &pass, dgamma.view());
    dz.iter_mut()
        .zip(&dz_mixture)
        .for_each(|(a, b)| *a += *b as f32);
    let mut params = GradientsParams::new();
    network
        .estimation
        .host_gradients(grads, &mut |id, g| register(&mut params, id, g, &plain));
    MixtureStep { params, dz, terms }
}

fn f32s<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32")
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{rng, Batch, STREAM_DROPOUT};
    use crate::Dagmm;
    use burn::module::{Module, ModuleVisitor, Param};
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rows(n: usize, d: usize, seed: u64) -> Array2<f64> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, d), |(i, j)| {
            ((i % 3) as f64 * 0.3 + (j % 5) as f64 * 0.1 + r.random_range(0.0..0.2)).min(1.0)
        })
    }

    fn config(threads: usize) -> DagmmConfig {
        let mut c = DagmmConfig::default();
        c.compression.encoder_layers = vec![8, 4, 1];
        c.training.threads = threads;
        c.training.batch_size = 64;
        c
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    /// Every parameter's gradient, in visiting order.
    fn gradients(net: &DagmmNetwork, grads: &GradientsParams) -> Vec<Vec<f64>> {
        struct Collect<'a>(&'a GradientsParams, Vec<Vec<f64>>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let g = self
                    .0
                    .get::<D>(param.id)
                    .expect("every parameter has a gradient");
                self.1.push(values(g));
            }
        }
        let mut c = Collect(grads, Vec::new());
        net.visit(&mut c);
        c.1
    }

    #[test]
    fn parts_cover_the_batch_in_order() {
        assert_eq!(part_bounds(10, 3), vec![(0, 4), (4, 7), (7, 10)]);
        assert_eq!(part_bounds(4, 4), vec![(0, 1), (1, 2), (2, 3), (3, 4)]);
        // Never an empty part: more parts than rows gives one row each.
        assert_eq!(part_bounds(2, 5), vec![(0, 1), (1, 2)]);
        assert_eq!(part_bounds(7, 1), vec![(0, 7)]);
    }

    /// The split step's gradients and terms are the one-graph step's, with the same dropout mask
    /// (same seed), for 1 to 3 parts and rows in shuffled order, the mixture on the graph or on
    /// the host in f64: within 1e-3 of the largest entry of each parameter's gradient. That is
    /// f32 rounding, not slack: on these rows a component's variance is near the jitter, and
    /// merely summing the one-graph step's rows in three parts moves a gradient by 2e-4 of it; a
    /// missing or mis-wired term moves it by its whole size.
    #[test]
    fn split_gradients_equal_the_one_graph_gradients() {
        let x = rows(101, 12, 1);
        let order: Vec<usize> = (0..101).map(|i| (i * 37) % 101).collect();
        let model = Dagmm::new(config(1), 12).unwrap();
        let net = model.network().clone().train();
        let device = model.device().autodiff();
        let batch = Batch {
            x: x.view().into(),
            rows: &order,
            device: &device,
        };
        let one = net.batch_step(
            &config(1),
            batch.upload(),
            None,
            Some(&mut rng(5, STREAM_DROPOUT)),
        );
        let one_terms = values(one.loss.terms());
        let one_grads = gradients(
            &net,
            &GradientsParams::from_grads(one.loss.total.backward(), &net),
        );
        for (parts, on_host) in [(1, false), (2, false), (3, false), (1, true), (2, true)] {
            let tolerance = 1e-3;
            let step = std::thread::scope(|scope| {
                let threads = PartThreads::start(scope, x.view().into(), parts);
                split_step_with(
                    &net,
                    &config(parts),
                    &threads,
                    &order,
                    None,
                    &mut rng(5, STREAM_DROPOUT),
                    on_host,
                )
            });
            let terms = values(step.terms);
            for (a, b) in terms.iter().zip(&one_terms) {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "{parts} parts: terms {terms:?} vs {one_terms:?}"
                );
            }
            let grads = gradients(&net, &step.grads);
            assert_eq!(grads.len(), one_grads.len());
            for (p, (g, h)) in grads.iter().zip(&one_grads).enumerate() {
                let scale = h.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
                for (a, b) in g.iter().zip(h) {
                    assert!(
                        (a - b).abs() <= tolerance * scale,
                        "{parts} parts, host {on_host}, parameter {p}: {a} vs {b} (largest {scale})"
                    );
                }
            }
        }
    }

    /// Training with two threads is deterministic (same losses bit for bit on a rerun) and stays
    /// within f32 rounding of the one-thread run over a few epochs.
    #[test]
    fn two_thread_training_is_repeatable_and_follows_one_thread() {
        let x = rows(300, 12, 2);
        let mut c = config(2);
        c.training.epochs = 3;
        let fit = |c: DagmmConfig| {
            let (_, losses) = Dagmm::fit(c, x.view(), &mut |_| {}).unwrap();
            losses.iter().map(|e| e.total).collect::<Vec<_>>()
        };
        let two = fit(c.clone());
        assert_eq!(two, fit(c.clone()));
        c.training.threads = 1;
        let one = fit(c);
        for (a, b) in two.iter().zip(&one) {
            assert!((a - b).abs() <= 1e-4 * b.abs(), "{two:?} vs {one:?}");
        }
    }
}
