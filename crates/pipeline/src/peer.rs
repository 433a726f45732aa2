//! A DAGMM run's starting point, written for a peer implementation (`dagmm export`, read by
//! `scripts/bench_torch_dagmm.py run --setup DIR`): the split's rows as the network sees them
//! (scaled, f32), their labels and row numbers, the network's initial weights, and our untrained
//! control on them (its whole-set mixture, its test energies and its metrics). A PyTorch DAGMM
//! that starts from these gives the same untrained energies when the two compute the same thing,
//! and its training can be paired with ours run by run (same split, same initial weights).
//!
//! The peer implements the paper's DAGMM only: the plain autoencoder, a Gaussian mixture from the
//! estimation network, the standard objective, the energy as the score and the test-percentile
//! cut; any other setting is refused, naming the field.

use std::path::{Path, PathBuf};

use dagmm_data::npz::write_npz;
use dagmm_data::scaling::ScalingKind;
use dagmm_model::estimation::{CovariancePenalty, FittedMixture, MixtureKind};
use dagmm_model::{
    compression::CompressionKind, loss::LossKind, Dagmm, LinearValues, ScoreKind, ScoringMixture,
};
use ndarray::{Array1, Array2, Array3, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::config::{RunConfig, Split, ThresholdRule};
use crate::protocol::{judge, prepare};
use crate::{PipelineError, Result};

/// The setup's description (JSON).
pub const PEER_SETUP_FILE: &str = "setup.json";
/// `train` and `test` (f32, `[n, d]`), `train_labels` and `test_labels` (u8, 1 = anomaly),
/// `test_rows` (i64: each judged row's number in the data file).
pub const PEER_ROWS_FILE: &str = "rows.npz";
/// `encoder.{i}.weight`, `encoder.{i}.bias`, then `decoder.…` and `estimation.…` (input first):
/// f32, weights `[d_out, d_in]` as PyTorch's `nn.Linear.weight` holds them.
pub const PEER_WEIGHTS_FILE: &str = "initial_weights.npz";
/// Our untrained control: the whole-set mixture `phi` `[K]`, `mu` `[K, z]`, `cov` `[K, z, z]`
/// (f64, without the jitter) and the test rows' energies `test_energy` (f64).
pub const PEER_UNTRAINED_FILE: &str = "untrained.npz";

const FORMAT: &str = "dagmm-peer-setup";
const VERSION: u32 = 1;

/// `setup.json`: what the peer needs besides the arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSetup {
    pub format: String,
    pub version: u32,
    /// The data file the rows come from.
    pub data: PathBuf,
    /// The run's seed (the initial weights; the split's unless `split_seed` differs).
    pub seed: u64,
    pub split_seed: u64,
    pub split: Split,
    pub scaling: ScalingKind,
    pub n_train: usize,
    pub n_test: usize,
    pub n_features: usize,
    /// Encoder widths after the input (the last is the code); the decoder mirrors them.
    pub encoder_layers: Vec<usize>,
    pub estimation_hidden: Vec<usize>,
    pub n_components: usize,
    pub dropout: f64,
    /// `ε` of the reconstruction features' norms, `sqrt(Σv² + ε²)`.
    pub norm_eps: f64,
    /// Added to every covariance's diagonal before its Cholesky factor, and in the penalty.
    pub jitter: f64,
    /// The degeneracy penalty: `diagonal` (the paper's) or `precision`.
    pub penalty: CovariancePenalty,
    pub lambda_energy: f64,
    pub lambda_cov: f64,
    pub learning_rate: f64,
    pub adam_epsilon: f64,
    pub batch_size: usize,
    pub epochs: usize,
    pub grad_clip_norm: Option<f64>,
    /// Rows per batch when the whole-set mixture and the energies are computed.
    pub scoring_batch_size: usize,
    /// The top `anomaly_percentile`% of the test energies are flagged.
    pub anomaly_percentile: f64,
    /// Our untrained control on these rows.
    pub untrained: PeerControl,
}

/// A detector's figures on the test rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerControl {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
    pub pr_auc: f64,
}

/// The first setting the peer does not implement, as `(field, value)`.
fn unsupported(config: &RunConfig) -> Option<(&'static str, String)> {
    let dagmm = config.dagmm();
    let checks: [(&'static str, bool, String); 10] = [
        (
            "model.kind",
            config.kind() == crate::DetectorKind::Dagmm,
            format!("{:?}", config.kind()),
        ),
        (
            "compression.kind",
            dagmm.compression.kind == CompressionKind::Autoencoder,
            format!("{:?}", dagmm.compression.kind),
        ),
        (
            "estimation.mixture",
            dagmm.estimation.mixture == MixtureKind::Gaussian,
            format!("{:?}", dagmm.estimation.mixture),
        ),
        (
            "loss.kind",
            dagmm.loss.kind == LossKind::Standard,
            format!("{:?}", dagmm.loss.kind),
        ),
        (
            "loss.reconstruction_weight",
            dagmm.loss.reconstruction_weight == 1.0,
            dagmm.loss.reconstruction_weight.to_string(),
        ),
        (
            "scoring.kind",
            dagmm.scoring.kind == ScoreKind::Energy,
            format!("{:?}", dagmm.scoring.kind),
        ),
        (
            "scoring.mixture",
            dagmm.scoring.mixture == ScoringMixture::EstimationNetwork,
            format!("{:?}", dagmm.scoring.mixture),
        ),
        (
            "pretraining",
            dagmm.pretraining.is_none(),
            "a [pretraining] section".into(),
        ),
        (
            "training.freeze_compression",
            !dagmm.training.freeze_compression,
            "true".into(),
        ),
        (
            "evaluation.threshold",
            config.evaluation.threshold == ThresholdRule::TestPercentile
                && config.evaluation.pu.is_none()
                && config.data.contamination.is_none(),
            format!(
                "{} (or PU, or contamination)",
                config.evaluation.threshold.name()
            ),
        ),
    ];
    checks
        .into_iter()
        .find(|(_, ok, _)| !ok)
        .map(|(field, _, value)| (field, value))
}

/// Writes the setup of `config`'s run into `dir` (created if missing): [`PEER_SETUP_FILE`],
/// [`PEER_ROWS_FILE`], [`PEER_WEIGHTS_FILE`] and [`PEER_UNTRAINED_FILE`]. Loads and splits the
/// data as the run would, draws the same initial weights, and judges the untrained control.
pub fn export_peer_setup(config: &RunConfig, dir: &Path) -> Result<PeerSetup> {
    if let Some((field, value)) = unsupported(config) {
        return Err(PipelineError::Invalid(format!(
            "the peer (scripts/bench_torch_dagmm.py) implements the paper's DAGMM only: \
             `{field}` is {value}"
        )));
    }
    let anomaly_percentile = config.evaluation.anomaly_percentile.ok_or_else(|| {
        PipelineError::Invalid("the peer needs evaluation.anomaly_percentile".into())
    })?;
    let dagmm = config.dagmm();
    let data = prepare(config)?;
    let (train, test) = (data.train.view(), data.test().view());
    let model = Dagmm::untrained(dagmm.clone(), train)?;
    let train_scores = model.score(train)?;
    let test_scores = model.score(test)?;
    let judgement = judge(
        &config.evaluation,
        &train_scores.score,
        &test_scores.score,
        data.test_labels.as_deref(),
    )?;
    let metrics = judgement
        .metrics
        .ok_or_else(|| PipelineError::Invalid("the peer needs test rows of both classes".into()))?;
    let layers = model
        .network()
        .plain_layers()
        .expect("checked: the plain autoencoder");
    let Some(FittedMixture::Gaussian(mixture)) = model.mixture() else {
        unreachable!("checked: a Gaussian mixture from the estimation network, just fitted")
    };

    std::fs::create_dir_all(dir).map_err(|error| PipelineError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    write_npz(&dir.join(PEER_ROWS_FILE), |w| {
        w.array("train", &rows_f32(train))?;
        w.array("test", &rows_f32(test))?;
        if let Some(l) = &data.train_labels {
            w.array("train_labels", &Array1::from(l.clone()))?;
        }
        if let Some(l) = &data.test_labels {
            w.array("test_labels", &Array1::from(l.clone()))?;
        }
        let rows: Vec<i64> = data.test_indices.iter().map(|&i| i as i64).collect();
        w.array("test_rows", &Array1::from(rows))
    })?;
    write_npz(&dir.join(PEER_WEIGHTS_FILE), |w| {
        for (name, group) in [
            ("encoder", &layers.encoder),
            ("decoder", &layers.decoder),
            ("estimation", &layers.estimation),
        ] {
            for (i, layer) in group.iter().enumerate() {
                w.array(&format!("{name}.{i}.weight"), &torch_weight(layer))?;
                w.array(
                    &format!("{name}.{i}.bias"),
                    &Array1::from(layer.bias.clone()),
                )?;
            }
        }
        Ok(())
    })?;
    write_npz(&dir.join(PEER_UNTRAINED_FILE), |w| {
        let (k, zd) = (mixture.n_components(), mixture.dim());
        w.array("phi", &Array1::from(mixture.weights.clone()))?;
        let mu: Vec<f64> = mixture.means.iter().flatten().copied().collect();
        w.array("mu", &Array2::from_shape_vec((k, zd), mu).expect("k × z"))?;
        let cov: Vec<f64> = mixture
            .covariances
            .iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        w.array(
            "cov",
            &Array3::from_shape_vec((k, zd, zd), cov).expect("k × z × z"),
        )?;
        w.array("test_energy", &Array1::from(test_scores.energy.clone()))
    })?;

    let setup = PeerSetup {
        format: FORMAT.into(),
        version: VERSION,
        data: data.path.clone(),
        seed: config.seed(),
        split_seed: config.split_seed(),
        split: config.evaluation.split,
        scaling: config.data.scaling,
        n_train: train.nrows(),
        n_test: test.nrows(),
        n_features: train.ncols(),
        encoder_layers: dagmm.compression.encoder_layers.clone(),
        estimation_hidden: dagmm.estimation.hidden_layers.clone(),
        n_components: dagmm.estimation.n_components,
        dropout: dagmm.estimation.dropout,
        norm_eps: dagmm.compression.norm_eps,
        jitter: dagmm.estimation.jitter,
        penalty: dagmm.estimation.penalty,
        lambda_energy: dagmm.loss.lambda_energy,
        lambda_cov: dagmm.loss.lambda_cov,
        learning_rate: dagmm.training.learning_rate,
        adam_epsilon: dagmm.training.adam_epsilon,
        batch_size: dagmm.training.batch_size,
        epochs: dagmm.training.epochs,
        grad_clip_norm: dagmm.training.grad_clip_norm,
        scoring_batch_size: dagmm.scoring.batch_size,
        anomaly_percentile,
        untrained: PeerControl {
            threshold: metrics.threshold,
            precision: metrics.precision,
            recall: metrics.recall,
            f1: metrics.f1,
            roc_auc: metrics.roc_auc,
            pr_auc: metrics.pr_auc,
        },
    };
    let path = dir.join(PEER_SETUP_FILE);
    let json = serde_json::to_string_pretty(&setup).expect("plain fields");
    dagmm_data::atomic::write_atomically(&path, |tmp| {
        std::io::Write::write_all(tmp, json.as_bytes())
    })
    .map_err(|e| PipelineError::Io {
        path: path.clone(),
        error: e.into_error(|io| io),
    })?;
    Ok(setup)
}

/// The rows as the network sees them: f32, `[n, d]`.
fn rows_f32(x: dagmm_data::FeaturesView<'_>) -> Array2<f32> {
    let (n, d) = (x.nrows(), x.ncols());
    let mut out = Array2::<f32>::zeros((n, d));
    for (i, mut row) in out.rows_mut().into_iter().enumerate() {
        x.row_to_f32(i, row.as_slice_mut().expect("standard layout"));
    }
    out
}

/// A layer's weight as PyTorch holds it, `[d_out, d_in]`.
fn torch_weight(layer: &LinearValues) -> Array2<f32> {
    let ours: ArrayView2<f32> =
        ArrayView2::from_shape((layer.d_in, layer.d_out), &layer.weight).expect("d_in × d_out");
    ours.t().to_owned()
}
