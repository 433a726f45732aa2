use burn::tensor::Device;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{Autoencoder, Compression, CompressionError, Result};

/// Default `ε` of the norms in the reconstruction features (see [`crate::reconstruction_features`]).
pub const DEFAULT_NORM_EPS: f64 = 1e-6;

/// Which compression network. Later variants (`vae`, `vq_vae`) are added here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressionKind {
    /// Deterministic autoencoder (the paper's).
    #[default]
    Autoencoder,
}

/// Configuration of the compression network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// Fields left out of a config file take their default (the paper's KDDCUP values).
#[serde(deny_unknown_fields, default)]
pub struct CompressionConfig {
    /// The variant.
    #[serde(default)]
    pub kind: CompressionKind,
    /// Encoder layer widths after the input, the last being `latent_dim` (KDDCUP: `[60, 30, 10, 1]`
    /// for `d-60-30-10-1`). `tanh` between layers, a linear bottleneck; the decoder mirrors it
    /// (`1-10-30-60-d`, `tanh` between layers, linear output).
    pub encoder_layers: Vec<usize>,
    /// `ε` of the norms in the reconstruction features: `‖v‖ = sqrt(Σv² + ε²)`.
    #[serde(default = "default_norm_eps")]
    pub norm_eps: f64,
}

fn default_norm_eps() -> f64 {
    DEFAULT_NORM_EPS
}

impl Default for CompressionConfig {
    /// The paper's KDDCUP network: `d-60-30-10-1`.
    fn default() -> Self {
        Self {
            kind: CompressionKind::Autoencoder,
            encoder_layers: vec![60, 30, 10, 1],
            norm_eps: DEFAULT_NORM_EPS,
        }
    }
}

impl CompressionConfig {
    /// A config for an autoencoder with these encoder widths (last = latent width).
    pub fn autoencoder(encoder_layers: Vec<usize>) -> Self {
        Self {
            encoder_layers,
            ..Self::default()
        }
    }

    /// Width of `z_c`.
    pub fn latent_dim(&self) -> usize {
        self.encoder_layers.last().copied().unwrap_or(0)
    }

    /// Width of `z` (`latent_dim + 2`).
    pub fn z_dim(&self) -> usize {
        self.latent_dim() + 2
    }

    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if self.encoder_layers.is_empty() || self.encoder_layers.contains(&0) {
            return Err(CompressionError::InvalidConfig {
                field: "encoder_layers",
                message: format!(
                    "needs at least one layer and no zero widths, got {:?}",
                    self.encoder_layers
                ),
            });
        }
        if !(self.norm_eps.is_finite() && self.norm_eps > 0.0) {
            return Err(CompressionError::InvalidConfig {
                field: "norm_eps",
                message: format!("must be finite and > 0, got {}", self.norm_eps),
            });
        }
        Ok(())
    }

    /// Build the network for `input_dim` features on `device`, weights drawn from `rng`.
    pub fn init(
        &self,
        input_dim: usize,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Result<Compression> {
        self.validate()?;
        if input_dim == 0 {
            return Err(CompressionError::InvalidConfig {
                field: "input_dim",
                message: "must be > 0".into(),
            });
        }
        Ok(match self.kind {
            CompressionKind::Autoencoder => Compression::Autoencoder(Autoencoder::new(
                input_dim,
                &self.encoder_layers,
                self.norm_eps,
                rng,
                device,
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_defaults_and_unknown_fields() {
        let c: CompressionConfig =
            serde_json::from_str(r#"{"encoder_layers": [12, 4, 1]}"#).unwrap();
        assert_eq!(c.kind, CompressionKind::Autoencoder);
        assert_eq!(c.norm_eps, DEFAULT_NORM_EPS);
        assert_eq!(c.z_dim(), 3);
        assert!(
            serde_json::from_str::<CompressionConfig>(r#"{"encoder_layers": [1], "typo": 1}"#)
                .is_err()
        );
        assert!(CompressionConfig::autoencoder(vec![]).validate().is_err());
        assert!(CompressionConfig::autoencoder(vec![3, 0])
            .validate()
            .is_err());
    }
}
