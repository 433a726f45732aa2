//! The assembled DAGMM (Zong et al. 2018) on Burn 0.22: [`DagmmConfig`] (serde, unknown fields
//! refused), [`DagmmNetwork`] (compression + estimation as one module), the training loop
//! (Adam with PyTorch's `ε = 1e-8`, mini-batches, optional global gradient-norm clipping, one
//! seed for initialisation, per-epoch reshuffles and dropout masks; optionally a frozen
//! compression network), layer-wise pre-training of the autoencoder ([`PretrainingConfig`]), the
//! scoring path (the mixture of the WHOLE training set, from the trained network's memberships in
//! evaluation mode or by EM on its `z`, then energies of any matrix streamed in batches), the
//! untrained control, and save/load of a model directory. The DAGMM paper's baselines (GMM-EN,
//! PAE, E2E-AE, PAE-GMM-EM, PAE-GMM, DAGMM-p) are settings of this one model. Inputs are any [`dagmm_data::FeaturesView`]
//! (`f64` or `f32` matrices, or encoded rows expanded a batch at a time; an `ArrayView2<f64>`
//! converts with `.into()`); outputs are `Vec<f64>` / `Array2<f64>`; tensors are f32 inside.
//! It is not the command line, the data loading or preprocessing, nor the metrics.
//!
//! Randomness: one `training.seed` gives independent ChaCha8 streams on the host: the weight
//! initialisation (PyTorch's `nn.Linear` default), the per-epoch permutations, the dropout
//! masks, and the pre-training's permutations. Nothing uses Burn's device RNG (process-global on the CPU backends), so the same seed and
//! device give bit-identical losses run to run, even with tests running in parallel. Dropout is on
//! only in the training loop (the networks get the dropout RNG); scoring and mixture fitting run the
//! network without it, on the plain (non-autodiff) device: the trained module is `valid()`-ed.
//!
//! Devices: [`DeviceChoice`] (`flex`, `ndarray`, `wgpu[:adapter]`) is parsed from configs and
//! the command line (`"flex".parse()`); a wgpu device that cannot start is an error, never a CPU
//! fall-back. Training runs on `device.autodiff()`, scoring on the plain device; rows reach the
//! device one batch at a time in both (a storage buffer holds one batch, never the data set).
//!
//! ```no_run
//! use dagmm_model::{Dagmm, DagmmConfig};
//! # let train = ndarray::Array2::<f64>::zeros((100, 118));
//! # let test = train.clone();
//! let config = DagmmConfig::kddcup();
//! let (model, losses) = Dagmm::fit(config.clone(), train.view(), &mut |e| println!("{e:?}"))?;
//! let energies = model.energies(test.view())?;
//! let control = Dagmm::untrained(config, train.view())?.energies(test.view())?;
//! model.save(std::path::Path::new("out/model"))?;
//! # Ok::<(), dagmm_model::ModelError>(())
//! ```

mod baseline;
mod checkpoint;
mod config;
mod dagmm;
mod dcn;
mod device;
mod dsebm;
mod epoch;
mod error;
mod network;
mod parallel;
mod pretrain;
mod tensors;
mod train;

pub use baseline::Schedule;
pub use checkpoint::{CheckpointFile, Checkpointing, CHECKPOINT_FILE};
pub use config::{
    DagmmConfig, EmConfig, PretrainingConfig, ScoreKind, ScoringConfig, ScoringMixture,
    TrainingConfig,
};
pub use dagmm::{Dagmm, ScoreStandardization, Scores, MODEL_FILE, WEIGHTS_FILE};
pub use dcn::{Centroids, Dcn, DcnConfig, DcnScores};
pub use device::{available_devices, AdapterRecord, DeviceChoice, DeviceInfo, WgpuAdapter};
pub use dsebm::{Dsebm, DsebmConfig, DsebmNetwork, DsebmScore, DsebmScores};
pub use epoch::{EpochLosses, TrainingStage};
pub use error::ModelError;
pub use network::{BatchLoss, DagmmNetwork, LinearValues, NetworkOutput, PlainLayers};
pub use train::clip_global_norm;

pub use dagmm_compression as compression;
pub use dagmm_estimation as estimation;
pub use dagmm_loss as loss;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;

#[cfg(test)]
mod tests;
