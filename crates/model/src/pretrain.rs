//! Pretraining of the compression network (`[pretraining]`): greedy layer-wise, then fine-tuning
//! of the whole autoencoder on the reconstruction error. The DAGMM paper's pre-trained baselines
//! (PAE, PAE-GMM-EM, PAE-GMM, DAGMM-p) start from its result.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use dagmm_compression::{Autoencoder, Compression, CompressionNetwork, LayerPair};
use dagmm_data::{Features, FeaturesView};
use ndarray::Array2;

use crate::epoch::{EpochLosses, TrainingStage};
use crate::tensors::{read_f32, upload_rows};
use crate::train::{
    rng, run_epochs, EpochPlan, Objective, StageStart, StepOutput, STREAM_PRETRAINING,
};
use crate::{DagmmConfig, DagmmNetwork, ModelError, Result};

/// The pretrained network (only its autoencoder changes) and the epochs of every stage, in order.
/// Without `[pretraining]` the network is returned as it is.
pub(crate) fn pretrain(
    config: &DagmmConfig,
    network: DagmmNetwork,
    x: FeaturesView<'_>,
    on_epoch: &mut dyn FnMut(&EpochLosses),
) -> Result<(DagmmNetwork, Vec<EpochLosses>)> {
    let Some(p) = &config.pretraining else {
        return Ok((network, Vec::new()));
    };
    let DagmmNetwork {
        compression,
        estimation,
    } = network;
    let Compression::Autoencoder(mut ae) = compression else {
        return Err(ModelError::InvalidConfig {
            field: "pretraining",
            message: "pretrains the autoencoder; the compression network is another kind".into(),
        });
    };
    let t = &config.training;
    let plain = config.device.device();
    let device = plain.clone().autodiff();
    let mut shuffle = rng(t.seed, STREAM_PRETRAINING);
    let plan = |stage, epochs| EpochPlan {
        stage,
        epochs,
        batch_size: p.batch_size.unwrap_or(t.batch_size),
        drop_last: t.drop_last,
        min_rows: 1,
        learning_rate: p.learning_rate.unwrap_or(t.learning_rate),
        adam_epsilon: t.adam_epsilon,
        grad_clip_norm: t.grad_clip_norm,
    };
    let mut history = Vec::new();
    if p.layer_epochs > 0 {
        for layer in 0..ae.layer_count() {
            // The layers below are fixed now: their output for every row is this pair's data.
            let h = if layer == 0 {
                x.to_owned()
            } else {
                Features::F32(hidden(&ae, x, layer, config.scoring.batch_size, &plain))
            };
            let (pair, epochs) = run_epochs(
                ae.layer_pair(layer).train(),
                &device,
                h.view(),
                &plan(TrainingStage::Layer(layer + 1), p.layer_epochs),
                &mut shuffle,
                StageStart::fresh(),
                None,
                &mut |pair: &LayerPair, batch| reconstruction_step(pair.loss(batch.upload())),
                on_epoch,
            )?;
            ae = ae.with_layer_pair(pair.valid());
            history.extend(epochs);
        }
    }
    if p.finetune_epochs > 0 {
        let (tuned, epochs) = run_epochs(
            ae.train(),
            &device,
            x,
            &plan(TrainingStage::Finetune, p.finetune_epochs),
            &mut shuffle,
            StageStart::fresh(),
            None,
            &mut |ae: &Autoencoder, batch| {
                let xb = batch.upload();
                reconstruction_step(ae.compress(xb, None).reconstruction_error.mean())
            },
            on_epoch,
        )?;
        ae = tuned.valid();
        history.extend(epochs);
    }
    Ok((
        DagmmNetwork {
            compression: Compression::Autoencoder(ae),
            estimation,
        },
        history,
    ))
}

/// A pretraining step: the loss is the reconstruction term and the total.
fn reconstruction_step(loss: Tensor<1>) -> StepOutput {
    let value = loss.clone().inner();
    let zero = value.clone().zeros_like();
    StepOutput {
        objective: Objective::Graph(loss),
        terms: Tensor::cat(
            vec![value.clone(), value, zero.clone(), zero.clone(), zero],
            0,
        ),
        code_counts: None,
    }
}

/// `h_layer` of every row (the encoder's first `layer` layers), computed in batches and kept in
/// `f32`, the values the device computed (the next pair uploads them as they are: half the
/// memory of `f64`, the same numbers).
fn hidden(
    ae: &Autoencoder,
    x: FeaturesView<'_>,
    layer: usize,
    batch: usize,
    device: &Device,
) -> Array2<f32> {
    let n = x.nrows();
    let mut values = Vec::new();
    let mut width = 0;
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch).min(n);
        let h = ae.encode_layers(upload_rows(x, start..end, device), layer);
        width = h.dims()[1];
        if values.is_empty() {
            values.reserve_exact(n * width);
        }
        values.extend(read_f32(h));
    }
    Array2::from_shape_vec((n, width), values).expect("n × width values")
}
