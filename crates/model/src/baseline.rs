//! What the deep external baselines of the DAGMM paper (DSEBM, DCN) share: the schedule of a
//! training stage ([`Schedule`]); and what they share with DAGMM: a model folder of a JSON
//! description beside Burn weights, and the batches rows are scored in.

use std::fs;
use std::path::Path;

use burn::module::Module;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{check_format, parse_json};
use crate::epoch::TrainingStage;
use crate::train::EpochPlan;
use crate::{ModelError, Result, MODEL_FILE, WEIGHTS_FILE};

/// How one network of a baseline trains: Adam (PyTorch's `ε = 1e-8`), seeded reshuffles every
/// epoch, the last shorter batch kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
}

impl Default for Schedule {
    /// The DAGMM paper's KDDCUP schedule: 200 epochs of 1,024 rows at 1e-4.
    fn default() -> Self {
        Schedule {
            epochs: 200,
            batch_size: 1024,
            learning_rate: 1e-4,
        }
    }
}

impl Schedule {
    /// Checks the values; `section` names the config section in the message.
    pub fn validate(&self, section: &'static str) -> Result<()> {
        if self.batch_size == 0 {
            return Err(ModelError::InvalidConfig {
                field: section,
                message: "training.batch_size must be > 0".into(),
            });
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ModelError::InvalidConfig {
                field: section,
                message: format!(
                    "training.learning_rate must be finite and > 0, got {}",
                    self.learning_rate
                ),
            });
        }
        Ok(())
    }

    /// The plan of a stage of `epochs` epochs on this schedule.
    pub(crate) fn plan(&self, stage: TrainingStage, epochs: usize) -> EpochPlan {
        EpochPlan {
            stage,
            epochs,
            batch_size: self.batch_size,
            drop_last: false,
            min_rows: 1,
            learning_rate: self.learning_rate,
            adam_epsilon: 1e-8,
            grad_clip_norm: None,
        }
    }
}

/// Writes `dir/model.json` (`description`, with its `format` and `version` inside) and
/// `dir/weights.bpk` (`module`), creating `dir`.
pub(crate) fn save_folder<M: Module, T: Serialize>(
    dir: &Path,
    module: &M,
    description: &T,
) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| ModelError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let weights = dir.join(WEIGHTS_FILE);
    module
        .clone()
        .save_file(&weights)
        .map_err(|e| ModelError::Weights {
            path: weights.clone(),
            message: e.to_string(),
        })?;
    let path = dir.join(MODEL_FILE);
    let json = serde_json::to_string_pretty(description).map_err(|source| ModelError::Json {
        path: path.clone(),
        source,
    })?;
    fs::write(&path, json).map_err(|source| ModelError::Io { path, source })
}

/// A model file's format and version, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// Reads `dir/model.json` as a `T` of format `format`, version `version`.
pub(crate) fn read_description<T: DeserializeOwned>(
    dir: &Path,
    format: &str,
    version: u32,
) -> Result<T> {
    let path = dir.join(MODEL_FILE);
    let text = fs::read_to_string(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    let header: Header = parse_json(&path, &text)?;
    check_format(&path, (&header.format, header.version), (format, version))?;
    parse_json(&path, &text)
}

/// `module` with the weights of `dir/weights.bpk`, every one of them finite.
pub(crate) fn load_weights<M: Module>(dir: &Path, module: M) -> Result<M> {
    let weights = dir.join(WEIGHTS_FILE);
    let error = |message: String| ModelError::Weights {
        path: weights.clone(),
        message,
    };
    match fs::metadata(&weights) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(error(
                "missing: the model folder holds its description but not its weights; train \
                 the model again"
                    .into(),
            ))
        }
        Ok(m) if m.len() == 0 => {
            return Err(error(
                "empty (0 bytes): the weights were not saved whole; train the model again".into(),
            ))
        }
        _ => {}
    }
    let module = module.try_load_file(&weights).map_err(|e| {
        error(format!(
            "not readable as this model's weights (cut short, damaged, or another model's): {e}"
        ))
    })?;
    let mut check = NonFinite::default();
    module.visit(&mut check);
    if let Some(name) = check.first {
        return Err(error(format!(
            "the weights of `{name}` are not finite (NaN or infinity): a model whose training \
             diverged, or a damaged file; train the model again"
        )));
    }
    Ok(module)
}

/// Finds the first parameter holding a NaN or an infinity, by its path in the module.
#[derive(Default)]
struct NonFinite {
    path: Vec<String>,
    first: Option<String>,
}

impl burn::module::ModuleVisitor for NonFinite {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<D>>,
    ) {
        if self.first.is_none() && param.val().to_data().iter::<f64>().any(|v| !v.is_finite()) {
            self.first = Some(if self.path.is_empty() {
                "a parameter".into()
            } else {
                self.path.join(".")
            });
        }
    }
}

/// The `(start, end)` bounds of `n` rows cut into batches of `batch` (scoring).
pub(crate) fn batches(n: usize, batch: usize) -> impl Iterator<Item = (usize, usize)> {
    let b = batch.max(1);
    (0..n).step_by(b).map(move |s| (s, (s + b).min(n)))
}

#[cfg(test)]
mod weight_file_tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Tensor};

    fn linear() -> Linear {
        LinearConfig::new(3, 2).init(&Device::flex())
    }

    #[test]
    fn missing_empty_cut_and_non_finite_weights_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = |dir: &Path| load_weights(dir, linear()).unwrap_err().to_string();
        assert!(err(dir.path()).contains("weights.bpk: missing"));
        let path = dir.path().join(WEIGHTS_FILE);
        fs::write(&path, b"").unwrap();
        assert!(err(dir.path()).contains("weights.bpk: empty (0 bytes)"));

        linear().save_file(&path).unwrap();
        assert!(load_weights(dir.path(), linear()).is_ok());
        let whole = fs::read(&path).unwrap();
        fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        assert!(err(dir.path()).contains("cut short"), "{}", err(dir.path()));

        // A NaN in the bias: named by its path in the module.
        let mut nan = linear();
        let bias = nan.bias.take().unwrap();
        nan.bias = Some(bias.map(|b| b.clone().add_scalar(f32::NAN) + Tensor::zeros_like(&b)));
        nan.save_file(&path).unwrap();
        let message = err(dir.path());
        assert!(
            message.contains("the weights of `bias` are not finite"),
            "{message}"
        );
    }
}
