use burn::tensor::Device;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{Autoencoder, Compression, CompressionError, Result, Vae, VqVae};

/// Default `ε` of the norms in the reconstruction features (see [`crate::reconstruction_features`]).
pub const DEFAULT_NORM_EPS: f64 = 1e-6;

/// Which compression network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressionKind {
    /// Deterministic autoencoder (the paper's).
    #[default]
    Autoencoder,
    /// Variational autoencoder (seed 002): uses `kl_weight`.
    Vae,
    /// Vector-quantised autoencoder (seed 002): uses `codebook_size` and `commitment`.
    VqVae,
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
    /// VAE: weight of the KL term (1 = the plain VAE objective).
    #[serde(default = "default_kl_weight")]
    pub kl_weight: f64,
    /// VQ-VAE: number of codes.
    #[serde(default = "default_codebook_size")]
    pub codebook_size: usize,
    /// VQ-VAE: `β`, weight of the commitment loss (van den Oord et al. use 0.25).
    #[serde(default = "default_commitment")]
    pub commitment: f64,
}

fn default_norm_eps() -> f64 {
    DEFAULT_NORM_EPS
}

fn default_kl_weight() -> f64 {
    1.0
}

fn default_codebook_size() -> usize {
    32
}

fn default_commitment() -> f64 {
    0.25
}

impl Default for CompressionConfig {
    /// The paper's KDDCUP network: `d-60-30-10-1`.
    fn default() -> Self {
        Self {
            kind: CompressionKind::Autoencoder,
            encoder_layers: vec![60, 30, 10, 1],
            norm_eps: DEFAULT_NORM_EPS,
            kl_weight: default_kl_weight(),
            codebook_size: default_codebook_size(),
            commitment: default_commitment(),
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
        for (field, v) in [
            ("kl_weight", self.kl_weight),
            ("commitment", self.commitment),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(CompressionError::InvalidConfig {
                    field,
                    message: format!("must be finite and >= 0, got {v}"),
                });
            }
        }
        if self.codebook_size == 0 {
            return Err(CompressionError::InvalidConfig {
                field: "codebook_size",
                message: "must be > 0".into(),
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
        let (layers, eps) = (&self.encoder_layers, self.norm_eps);
        Ok(match self.kind {
            CompressionKind::Autoencoder => {
                Compression::Autoencoder(Autoencoder::new(input_dim, layers, eps, rng, device))
            }
            CompressionKind::Vae => Compression::Vae(Vae::new(
                input_dim,
                layers,
                eps,
                self.kl_weight,
                rng,
                device,
            )),
            CompressionKind::VqVae => Compression::VqVae(VqVae::new(
                input_dim,
                layers,
                eps,
                self.codebook_size,
                self.commitment,
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
