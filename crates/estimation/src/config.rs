use burn::tensor::Device;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{EstimationError, EstimationNetwork, Result};

/// Default absolute jitter added to the covariance diagonals.
pub const DEFAULT_JITTER: f64 = 1e-6;

/// Which mixture family the energy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixtureKind {
    /// Full-covariance Gaussian mixture (the paper's).
    #[default]
    Gaussian,
    /// Axis-aligned Laplace mixture (seed 002, modification 3).
    Laplacian,
}

/// The degeneracy penalty `P(Σ̂)` of the objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovariancePenalty {
    /// The paper's `Σ_k Σ_j 1/(Σ_k,jj + ε)`: small variances along the axes. It does not see a
    /// covariance made singular by correlation (large diagonal, an eigenvalue near 0), which is
    /// how trained DAGMMs on KDDCUP end (`results/README.md`, the PyTorch pairing).
    #[default]
    Diagonal,
    /// `Σ_k tr((Σ_k + εI)⁻¹)`: the sum of the reciprocal eigenvalues. Equal to `Diagonal` for a
    /// diagonal covariance (and for the Laplace mixture, which is axis-aligned), and large
    /// whenever any eigenvalue is small, so it keeps every component's covariance away from
    /// singular in every direction.
    Precision,
}

/// Configuration of the estimation network and mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// Fields left out of a config file take their default (the paper's KDDCUP values).
#[serde(deny_unknown_fields, default)]
pub struct EstimationConfig {
    /// Mixture family.
    #[serde(default)]
    pub mixture: MixtureKind,
    /// Number of mixture components `K` (the MLP's output width).
    pub n_components: usize,
    /// Hidden widths of the MLP (KDDCUP: `[10]` for `z-10-K`), each followed by `tanh` and dropout.
    pub hidden_layers: Vec<usize>,
    /// Dropout probability after each hidden layer, in training only (KDDCUP: 0.5).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Absolute jitter on the covariance diagonals (factorisation and penalty).
    #[serde(default = "default_jitter")]
    pub jitter: f64,
    /// The degeneracy penalty: the paper's `diagonal` (default) or `precision`.
    #[serde(default)]
    pub penalty: CovariancePenalty,
}

fn default_dropout() -> f64 {
    0.5
}

fn default_jitter() -> f64 {
    DEFAULT_JITTER
}

impl Default for EstimationConfig {
    /// The paper's KDDCUP estimation network: `3-10-4`, dropout 0.5.
    fn default() -> Self {
        Self {
            mixture: MixtureKind::Gaussian,
            n_components: 4,
            hidden_layers: vec![10],
            dropout: 0.5,
            jitter: DEFAULT_JITTER,
            penalty: CovariancePenalty::Diagonal,
        }
    }
}

impl EstimationConfig {
    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, message: String| Err(EstimationError::InvalidConfig { field, message });
        if self.n_components == 0 {
            return bad("n_components", "must be > 0".into());
        }
        if self.hidden_layers.contains(&0) {
            return bad(
                "hidden_layers",
                format!("no zero widths, got {:?}", self.hidden_layers),
            );
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return bad(
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            );
        }
        // Zero is refused: a component without mass has Σ = 0, so its penalty 1/(Σ_jj + jitter)
        // would be infinite and its Cholesky pivots would sit at the 1e-30 floor.
        if !(self.jitter.is_finite() && self.jitter > 0.0) {
            return bad(
                "jitter",
                format!("must be finite and > 0, got {}", self.jitter),
            );
        }
        Ok(())
    }

    /// Build the MLP for `z_dim` inputs on `device`, weights drawn from `rng`.
    pub fn init(
        &self,
        z_dim: usize,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Result<EstimationNetwork> {
        self.validate()?;
        if z_dim == 0 {
            return Err(EstimationError::InvalidConfig {
                field: "z_dim",
                message: "must be > 0".into(),
            });
        }
        Ok(EstimationNetwork::new(
            z_dim,
            &self.hidden_layers,
            self.n_components,
            self.dropout,
            rng,
            device,
        ))
    }
}
