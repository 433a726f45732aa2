use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_loss::LossReport;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{DagmmConfig, DagmmNetwork, ModelError, Result};

/// ChaCha8 stream of the seed used for the weight initialisation.
pub(crate) const STREAM_INIT: u64 = 0;
/// ChaCha8 stream of the seed used for the per-epoch shuffles.
pub(crate) const STREAM_SHUFFLE: u64 = 1;
/// ChaCha8 stream of the seed used for the dropout masks.
pub(crate) const STREAM_DROPOUT: u64 = 2;

pub(crate) fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// The mean loss terms of one epoch (means over the epoch's rows, each batch weighted by its
/// size), as the caller writes them to `losses.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochLosses {
    /// 1-based epoch.
    pub epoch: usize,
    /// Objective `J`.
    pub total: f64,
    /// Mean `‖x − x'‖²`.
    pub reconstruction: f64,
    /// Mean sample energy (before `λ1`).
    pub energy: f64,
    /// Covariance penalty (before `λ2`).
    pub penalty: f64,
    /// The compression variant's term (VAE: weighted KL; VQ-VAE: codebook + β·commitment; 0 for
    /// the autoencoder).
    pub regularization: f64,
    /// VQ-VAE: how many codes at least one row of the epoch chose.
    pub codes_used: Option<usize>,
    /// VQ-VAE: the perplexity `exp(−Σ_k p_k log p_k)` of the epoch's code frequencies (the
    /// effective number of codes in use).
    pub code_perplexity: Option<f64>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
    /// Rows trained on in the epoch.
    pub rows: usize,
}

/// Upload the rows `rows` of an f64 matrix, in that order, as an f32 `[len, d]` tensor: a range
/// for a contiguous batch (scoring), a slice of a permutation for a shuffled one (training).
pub(crate) fn upload_rows(
    x: &ndarray::ArrayView2<f64>,
    rows: impl ExactSizeIterator<Item = usize>,
    device: &Device,
) -> Tensor<2> {
    let (n, d) = (rows.len(), x.ncols());
    let mut v: Vec<f32> = Vec::with_capacity(n * d);
    for i in rows {
        v.extend(x.row(i).iter().map(|v| *v as f32));
    }
    Tensor::from_data(TensorData::new(v, [n, d]), device)
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

/// Train `network` (a plain-device module) on `x`; returns the trained plain-device module and the
/// per-epoch losses. Each epoch draws a new permutation on the host; each batch's rows are gathered
/// on the host and uploaded alone, so the device never holds more than a batch of the data (wgpu
/// adapters cap storage buffers: 128 MiB on lavapipe).
/// `labels` (1 = anomaly) are required by, and only used by, the anomaly-aware objective; they are
/// uploaded once and gathered with the rows.
pub(crate) fn train_network(
    config: &DagmmConfig,
    network: DagmmNetwork,
    x: ndarray::ArrayView2<f64>,
    labels: Option<&[u8]>,
    on_epoch: &mut dyn FnMut(&EpochLosses),
) -> Result<(DagmmNetwork, Vec<EpochLosses>)> {
    let t = &config.training;
    let n = x.nrows();
    let device = config.device.device().autodiff();
    let mut net = network.train();
    let mut optim = AdamConfig::new().with_epsilon(t.adam_epsilon as f32).init();
    let mut shuffle_rng = rng(t.seed, STREAM_SHUFFLE);
    let mut dropout_rng = rng(t.seed, STREAM_DROPOUT);
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
    let batch = t.batch_size.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    let mut history = Vec::with_capacity(t.epochs);
    for epoch in 1..=t.epochs {
        let started = Instant::now();
        order.shuffle(&mut shuffle_rng);
        let mut sums: Option<Tensor<1>> = None;
        let mut code_counts: Option<Tensor<1>> = None;
        let mut rows = 0;
        for (start, end) in epoch_batches(n, batch, t.drop_last, config.z_dim() + 1) {
            // Rows reach the device one batch at a time, gathered on the host.
            let rows_b = &order[start..end];
            let xb = upload_rows(&x, rows_b.iter().copied(), &device);
            let ab = labels.as_ref().map(|l| {
                let v: Vec<f32> = rows_b.iter().map(|&i| l[i]).collect();
                Tensor::<1>::from_data(TensorData::new(v, [rows_b.len()]), &device)
            });
            let step = net.batch_step(config, xb, ab, Some(&mut dropout_rng));
            let loss = step.loss;
            if let Some(c) = step.code_counts {
                code_counts = Some(match code_counts {
                    None => c,
                    Some(acc) => acc + c,
                });
            }
            let terms = loss.terms().mul_scalar((end - start) as f64);
            sums = Some(match sums {
                None => terms,
                Some(s) => s + terms,
            });
            let grads = GradientsParams::from_grads(loss.total.backward(), &net);
            let grads = match t.grad_clip_norm {
                Some(max_norm) => clip_global_norm(&net, grads, max_norm),
                None => grads,
            };
            net = optim.step(t.learning_rate, net, grads);
            rows += end - start;
        }
        let Some(sums) = sums else {
            return Err(ModelError::Data(format!(
                "no full batch of {batch} rows in {n} rows with drop_last"
            )));
        };
        let report = LossReport::from_terms(sums.div_scalar(rows as f64));
        if !report.is_finite() {
            return Err(ModelError::NonFiniteLoss { epoch, report });
        }
        let (codes_used, code_perplexity) = match code_counts {
            Some(c) => {
                let (used, perplexity) = code_usage(&crate::dagmm::read_f64(c));
                (Some(used), Some(perplexity))
            }
            None => (None, None),
        };
        let losses = EpochLosses {
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
