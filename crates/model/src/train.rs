use std::cell::RefCell;
use std::time::Instant;

use crate::checkpoint::{Checkpointing, Resumed};
use crate::epoch::{EpochLosses, TrainingStage};
use crate::parallel::{can_split, split_step, PartThreads};
use crate::tensors::{read_f64, upload_rows};
use crate::{DagmmConfig, DagmmNetwork, ModelError, Result};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_data::FeaturesView;
use dagmm_loss::LossReport;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// ChaCha8 stream of the seed used for the weight initialisation.
pub(crate) const STREAM_INIT: u64 = 0;
/// ChaCha8 stream of the seed used for the per-epoch shuffles.
pub(crate) const STREAM_SHUFFLE: u64 = 1;
/// ChaCha8 stream of the seed used for the dropout masks.
pub(crate) const STREAM_DROPOUT: u64 = 2;
/// ChaCha8 stream of the seed used for the shuffles of the pretraining stages.
pub(crate) const STREAM_PRETRAINING: u64 = 3;

pub(crate) fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Scale every gradient by `min(1, max_norm / (‖g‖ + 1e-6))`, `‖g‖` the norm over ALL parameters
/// together (PyTorch's `clip_grad_norm_`; Burn's own `GradientClipping::Norm` clips each tensor
/// separately). The scale stays on the device (no host read).
pub fn clip_global_norm<M: Module>(
    module: &M,
    grads: GradientsParams,
    max_norm: f64,
) -> GradientsParams {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        acc: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s = g.square().sum();
                self.acc = Some(match self.acc.take() {
                    None => s,
                    Some(a) => a + s,
                });
            }
        }
    }
    struct Scale {
        grads: GradientsParams,
        coef: Tensor<1>,
    }
    impl ModuleVisitor for Scale {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                let c: Tensor<D> = self.coef.clone().reshape([1usize; D]);
                self.grads.register(param.id, g * c);
            }
        }
    }
    let mut sums = SumSquares {
        grads: &grads,
        acc: None,
    };
    module.visit(&mut sums);
    let Some(acc) = sums.acc else { return grads };
    let coef = acc
        .sqrt()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    let mut scale = Scale { grads, coef };
    module.visit(&mut scale);
    scale.grads
}

/// What one optimiser step computed: the objective (to differentiate, or already
/// differentiated), its five reported terms (`[total, reconstruction, energy, penalty,
/// regularization]`, off the graph) and the VQ-VAE's code counts of the batch.
pub(crate) struct StepOutput {
    pub objective: Objective,
    pub terms: Tensor<1>,
    pub code_counts: Option<Tensor<1>>,
}

/// A step's objective: on the autodiff graph, or its gradients (the split step of
/// [`crate::parallel`] differentiates part by part). One per step and moved at once, so the size
/// of a tensor handle against a map's is of no account.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Objective {
    Graph(Tensor<1>),
    Gradients(GradientsParams),
}

/// How a stage walks over the rows: epochs, rows per batch, the optimiser's settings.
pub(crate) struct EpochPlan {
    pub stage: TrainingStage,
    pub epochs: usize,
    pub batch_size: usize,
    pub drop_last: bool,
    /// A last batch of fewer rows joins the one before (see [`epoch_batches`]).
    pub min_rows: usize,
    pub learning_rate: f64,
    pub adam_epsilon: f64,
    pub grad_clip_norm: Option<f64>,
}

/// Where a stage starts: the epochs already trained and Adam's state after them (a resumed
/// run), or the beginning.
pub(crate) struct StageStart {
    pub epochs_done: usize,
    pub optimizer: Option<ModuleOptimizer>,
}

impl StageStart {
    /// The first epoch, a fresh Adam.
    pub fn fresh() -> Self {
        StageStart {
            epochs_done: 0,
            optimizer: None,
        }
    }
}

/// How a stage saves checkpoints: after every `every`-th epoch (0: never on the way) and after
/// its last, `save` gets the module, Adam's state, the epoch and the stage's epochs so far.
pub(crate) struct StageCheckpoints<'a, M> {
    pub every: usize,
    /// The epoch of the checkpoint already on disk, if any (what a failure leaves to resume).
    pub last: Option<usize>,
    #[allow(clippy::type_complexity)]
    pub save: &'a mut dyn FnMut(&M, &ModuleOptimizer, usize, &[EpochLosses]) -> Result<()>,
}

/// The five loss terms, in [`LossReport::from_terms`]'s order.
const TERM_NAMES: [&str; 5] = [
    "total",
    "reconstruction",
    "energy",
    "penalty",
    "regularization",
];

/// Trains `module` (on the autodiff device, in training mode) on the rows of `x` for
/// `plan.epochs` epochs with its own Adam state: each epoch draws a new permutation from
/// `shuffle_rng`; `step` computes the objective of each [`Batch`] (its rows' indices, which it
/// gathers on the host and uploads alone or part by part, so the device never holds more than a
/// batch of the data: wgpu adapters cap storage buffers, 128 MiB on lavapipe). A resumed stage
/// (`start`) replays the permutations of the epochs it skips, so the rest of the stage sees the
/// same batches as a run never interrupted. Returns the trained module and the per-epoch mean
/// terms of the epochs it ran. An epoch whose mean loss is not finite is an error naming its
/// first non-finite batch and terms; the checkpoint on disk then stays the last good one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_epochs<M: Module>(
    mut module: M,
    device: &Device,
    x: FeaturesView<'_>,
    plan: &EpochPlan,
    shuffle_rng: &mut ChaCha8Rng,
    start: StageStart,
    mut checkpoints: Option<StageCheckpoints<'_, M>>,
    step: &mut dyn FnMut(&M, &Batch<'_>) -> StepOutput,
    on_epoch: &mut dyn FnMut(&EpochLosses),
) -> Result<(M, Vec<EpochLosses>)> {
    let n = x.nrows();
    let mut optim = start.optimizer.unwrap_or_else(|| adam(plan));
    let batch = plan.batch_size.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..start.epochs_done {
        order.shuffle(shuffle_rng);
    }
    let bounds = epoch_batches(n, batch, plan.drop_last, plan.min_rows);
    if bounds.is_empty() && start.epochs_done < plan.epochs {
        return Err(ModelError::Data(format!(
            "no full batch of {batch} rows in {n} rows with drop_last"
        )));
    }
    let mut history =
        Vec::with_capacity(plan.epochs.saturating_sub(start.epochs_done).min(100_000));
    for epoch in start.epochs_done + 1..=plan.epochs {
        let started = Instant::now();
        order.shuffle(shuffle_rng);
        let mut sums: Option<Tensor<1>> = None;
        let mut batch_terms: Vec<Tensor<1>> = Vec::with_capacity(bounds.len());
        let mut code_counts: Option<Tensor<1>> = None;
        let mut rows = 0;
        for &(start, end) in &bounds {
            let out = step(
                &module,
                &Batch {
                    x: x.reborrow(),
                    rows: &order[start..end],
                    device,
                },
            );
            if let Some(c) = out.code_counts {
                code_counts = Some(match code_counts {
                    None => c,
                    Some(acc) => acc + c,
                });
            }
            batch_terms.push(out.terms.clone());
            let terms = out.terms.mul_scalar((end - start) as f64);
            sums = Some(match sums {
                None => terms,
                Some(s) => s + terms,
            });
            let grads = match out.objective {
                Objective::Graph(total) => GradientsParams::from_grads(total.backward(), &module),
                Objective::Gradients(grads) => grads,
            };
            let grads = match plan.grad_clip_norm {
                Some(max_norm) => clip_global_norm(&module, grads, max_norm),
                None => grads,
            };
            module = optim.step(plan.learning_rate, module, grads);
            rows += end - start;
        }
        let sums = sums.expect("at least one batch per epoch");
        let report = LossReport::from_terms(sums.div_scalar(rows as f64));
        if !report.is_finite() {
            // One read of every batch's terms finds where the loss first left the reals.
            let values = read_f64(Tensor::cat(batch_terms, 0));
            let (batch, terms) = values
                .chunks(TERM_NAMES.len())
                .enumerate()
                .find_map(|(b, t)| {
                    let bad: Vec<String> = t
                        .iter()
                        .zip(TERM_NAMES)
                        .filter(|(v, _)| !v.is_finite())
                        .map(|(v, name)| format!("{name} = {v}"))
                        .collect();
                    (!bad.is_empty()).then(|| (b + 1, bad.join(", ")))
                })
                .unwrap_or((bounds.len(), format!("{report:?}")));
            return Err(ModelError::NonFiniteLoss {
                stage: plan.stage,
                epoch,
                batch,
                batches: bounds.len(),
                terms,
                last_checkpoint: checkpoints.as_ref().and_then(|c| c.last),
            });
        }
        let (codes_used, code_perplexity) = match code_counts {
            Some(c) => {
                let (used, perplexity) = code_usage(&read_f64(c));
                (Some(used), Some(perplexity))
            }
            None => (None, None),
        };
        let losses = EpochLosses {
            stage: plan.stage,
            epoch,
            total: report.total,
            reconstruction: report.reconstruction,
            energy: report.energy,
            penalty: report.penalty,
            regularization: report.regularization,
            codes_used,
            code_perplexity,
            seconds: started.elapsed().as_secs_f64(),
            rows,
        };
        on_epoch(&losses);
        history.push(losses);
        if let Some(c) = checkpoints.as_mut() {
            if epoch == plan.epochs || (c.every > 0 && epoch % c.every == 0) {
                (c.save)(&module, &optim, epoch, &history)?;
                c.last = Some(epoch);
            }
        }
    }
    Ok((module, history))
}

/// One batch of a stage: which rows of the stage's matrix it takes, not yet on the device. Rows
/// reach the device one batch at a time, gathered on the host ([`Batch::upload`]), or part by part
/// on the threads of a split step.
pub(crate) struct Batch<'a> {
    pub x: FeaturesView<'a>,
    pub rows: &'a [usize],
    /// The stage's device (autodiff).
    pub device: &'a Device,
}

impl Batch<'_> {
    /// The batch's rows as one f32 `[rows, d]` tensor on the stage's device.
    pub fn upload(&self) -> Tensor<2> {
        upload_rows(self.x, self.rows.iter().copied(), self.device)
    }
}

/// A fresh Adam of the plan's settings.
fn adam(plan: &EpochPlan) -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(plan.adam_epsilon as f32)
        .init()
}

/// Where the main stage saves checkpoints, and what it resumes from.
pub(crate) struct TrainCheckpoints<'a> {
    pub target: &'a Checkpointing,
    /// [`data_digest`](crate::checkpoint::data_digest) of the training rows.
    pub digest: &'a str,
    /// The epochs before this stage's (pretraining; the resumed run's), which every checkpoint
    /// repeats so that a resumed run's `losses.csv` is whole.
    pub earlier: &'a [EpochLosses],
    /// The epoch of the checkpoint already on disk, if any.
    pub last: Option<usize>,
}

/// Train `network` (a plain-device module) on `x` by the DAGMM objective (`[training]`); returns
/// the trained plain-device module and the per-epoch losses of the epochs it ran. Dropout masks
/// come from the seed's dropout stream. `labels` (1 = anomaly) are required by, and only used by,
/// the anomaly-aware objective; each batch takes its rows' labels. With
/// `training.freeze_compression` only the estimation network learns. `resumed` continues a
/// checkpoint (its weights must already be in `network`); `checkpoints` saves new ones.
pub(crate) fn train_network(
    config: &DagmmConfig,
    network: DagmmNetwork,
    x: FeaturesView<'_>,
    labels: Option<&[u8]>,
    resumed: Option<&Resumed>,
    checkpoints: Option<TrainCheckpoints<'_>>,
    on_epoch: &mut dyn FnMut(&EpochLosses),
) -> Result<(DagmmNetwork, Vec<EpochLosses>)> {
    let t = &config.training;
    let n = x.nrows();
    let labels: Option<Vec<f32>> = match (config.loss.needs_labels(), labels) {
        (false, _) => None,
        (true, None) => {
            return Err(ModelError::InvalidConfig {
                field: "loss.kind",
                message: "the anomaly-aware loss trains on labelled rows; none were given".into(),
            })
        }
        (true, Some(l)) if l.len() != n => {
            return Err(ModelError::Data(format!("{} labels for {n} rows", l.len())))
        }
        (true, Some(l)) => Some(l.iter().map(|&v| f32::from(v == 1)).collect()),
    };
    if t.epochs == 0 {
        return Ok((network, Vec::new()));
    }
    let dropout_rng = RefCell::new(rng(t.seed, STREAM_DROPOUT));
    let plan = EpochPlan {
        stage: TrainingStage::Train,
        epochs: t.epochs,
        batch_size: t.batch_size,
        drop_last: t.drop_last,
        min_rows: config.z_dim() + 1,
        learning_rate: t.learning_rate,
        adam_epsilon: t.adam_epsilon,
        grad_clip_norm: t.grad_clip_norm,
    };
    let start = match resumed {
        Some(r) => {
            dropout_rng.borrow_mut().set_word_pos(r.dropout_word_pos()?);
            StageStart {
                epochs_done: r.epochs_done(),
                optimizer: Some(r.optimizer(adam(&plan))?),
            }
        }
        None => StageStart::fresh(),
    };
    let mut save = checkpoints.as_ref().map(|c| {
        let dropout_rng = &dropout_rng;
        move |net: &DagmmNetwork, optim: &ModuleOptimizer, epoch: usize, stage: &[EpochLosses]| {
            c.target.save(
                config,
                x,
                c.digest,
                net,
                Some(optim),
                epoch,
                dropout_rng.borrow().get_word_pos(),
                &[c.earlier, stage],
            )
        }
    });
    let stage_checkpoints =
        checkpoints
            .as_ref()
            .zip(save.as_mut())
            .map(|(c, save)| StageCheckpoints {
                every: t.checkpoint_every,
                last: c.last,
                save,
            });
    let split = can_split(config, &network, t.threads);
    let mut network = network.train();
    if t.freeze_compression {
        // No graph for the compression network at all. Detaching its outputs alone (as
        // `batch_step` also does) left each step's compression graph alive, since its parameters
        // require gradients; burn's autodiff scans every live graph at each backward, so a step
        // cost grew with the step count (a 200-epoch KDDCUP run did not finish in an hour).
        network.compression = network.compression.no_grad();
    }
    let (mut net, history) = std::thread::scope(|scope| {
        // The split step's threads live as long as the stage.
        let parts = split.then(|| PartThreads::start(scope, x, t.threads));
        run_epochs(
            network,
            &config.device.device().autodiff(),
            x,
            &plan,
            &mut rng(t.seed, STREAM_SHUFFLE),
            start,
            stage_checkpoints,
            &mut |net: &DagmmNetwork, batch| {
                let ab = labels.as_ref().map(|l| {
                    let v: Vec<f32> = batch.rows.iter().map(|&i| l[i]).collect();
                    Tensor::<1>::from_data(TensorData::new(v, [batch.rows.len()]), batch.device)
                });
                let rng = &mut *dropout_rng.borrow_mut();
                if let Some(parts) = &parts {
                    let step = split_step(net, config, parts, batch.rows, ab, rng);
                    return StepOutput {
                        objective: Objective::Gradients(step.grads),
                        terms: step.terms,
                        code_counts: None,
                    };
                }
                let step = net.batch_step(config, batch.upload(), ab, Some(rng));
                StepOutput {
                    terms: step.loss.terms(),
                    objective: Objective::Graph(step.loss.total),
                    code_counts: step.code_counts,
                }
            },
            on_epoch,
        )
    })?;
    if t.freeze_compression {
        net.compression = net.compression.set_require_grad(true);
    }
    Ok((net.valid(), history))
}

/// The `(start, end)` bounds of one epoch's batches over `n` shuffled rows, `batch` rows each.
/// With `drop_last` a shorter last batch is left out. Without it, a last batch of fewer than
/// `min_rows` rows (training passes `z_dim + 1`) joins the batch before it: in a batch of at most
/// `z_dim` rows every component's covariance of `z` is singular, so that step would see energies
/// lowered by the jitter alone and a covariance penalty near `K·z_dim/jitter`.
pub(crate) fn epoch_batches(
    n: usize,
    batch: usize,
    drop_last: bool,
    min_rows: usize,
) -> Vec<(usize, usize)> {
    let mut bounds: Vec<(usize, usize)> = (0..n)
        .step_by(batch.max(1))
        .map(|start| (start, (start + batch).min(n)))
        .collect();
    if let Some(&(start, end)) = bounds.last() {
        if end - start < batch {
            if drop_last {
                bounds.pop();
            } else if end - start < min_rows && bounds.len() > 1 {
                bounds.pop();
                bounds.last_mut().expect("two batches").1 = end;
            }
        }
    }
    bounds
}

/// How many codes were chosen at least once, and the perplexity `exp(H)` of the code frequencies.
pub(crate) fn code_usage(counts: &[f64]) -> (usize, f64) {
    let total: f64 = counts.iter().sum();
    let used = counts.iter().filter(|&&c| c > 0.0).count();
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0.0)
        .map(|&c| {
            let p = c / total;
            -p * p.ln()
        })
        .sum();
    (used, entropy.exp())
}
