//! The DAGMM objective (Zong et al. 2018, eq. 7) on Burn 0.22:
//! `J = (1/N) Σ_i ‖x_i − x'_i‖² + λ1 (1/N) Σ_i E(z_i) + λ2 P(Σ̂)` (+ the compression variant's
//! own regularisation term when it has one), with the reconstruction term weighted by
//! `reconstruction_weight` (1; 0 gives the DAGMM paper's GMM-EN baseline). It returns the total as a tensor on the autodiff
//! graph — nothing is detached, so the gradient reaches every weight of both networks — and each
//! term for reporting ([`LossOutput::report`] reads all of them in one transfer). It is not the
//! networks, the mixture or the optimiser.
//!
//! The objective is selected by [`LossKind`] in [`LossConfig`]: the paper's, or seed 002's
//! anomaly-aware loss (modification 1), which trains on labelled rows of both classes and puts
//! `anomaly_weight / E` in place of `E` for the anomalies. `1/E` as written is undefined where a
//! density exceeds 1 (`E ≤ 0`, which happens: `z` lives in 3 or 4 dimensions) and rewards pushing
//! `E` towards `0⁻` without bound; we use `1/softplus(E)`, which is positive, decreasing in `E`
//! everywhere, and equals `1/E` within 0.7% for `E ≥ 5`.

use burn::tensor::activation::softplus;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of the loss crate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LossError {
    /// A configuration value is out of range.
    #[error("invalid loss config `{field}`: {message}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Which objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// The paper's objective.
    #[default]
    Standard,
    /// Seed 002's modification 1: normal rows add `E`, labelled anomalies
    /// `anomaly_weight / softplus(E)`; needs labels (`LossInputs::anomaly`).
    AnomalyAware,
}

/// Weights of the loss terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// The objective.
    #[serde(default)]
    pub kind: LossKind,
    /// `λ1`, weight of the mean sample energy (paper: 0.1).
    #[serde(default = "default_lambda_energy")]
    pub lambda_energy: f64,
    /// `λ2`, weight of the covariance penalty (paper: 0.005).
    #[serde(default = "default_lambda_cov")]
    pub lambda_cov: f64,
    /// Anomaly-aware loss: weight of the anomalies' `1/E` terms (1 = seed 002's objective).
    #[serde(default = "default_anomaly_weight")]
    pub anomaly_weight: f64,
    /// Weight of the mean reconstruction error (1 = the paper's objective; 0 removes the term,
    /// the DAGMM paper's GMM-EN baseline).
    #[serde(default = "default_reconstruction_weight")]
    pub reconstruction_weight: f64,
}

fn default_reconstruction_weight() -> f64 {
    1.0
}

fn default_anomaly_weight() -> f64 {
    1.0
}

fn default_lambda_energy() -> f64 {
    0.1
}

fn default_lambda_cov() -> f64 {
    0.005
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            kind: LossKind::Standard,
            lambda_energy: default_lambda_energy(),
            lambda_cov: default_lambda_cov(),
            anomaly_weight: default_anomaly_weight(),
            reconstruction_weight: default_reconstruction_weight(),
        }
    }
}

impl LossConfig {
    /// Check the values.
    pub fn validate(&self) -> Result<(), LossError> {
        for (field, v) in [
            ("lambda_energy", self.lambda_energy),
            ("lambda_cov", self.lambda_cov),
            ("anomaly_weight", self.anomaly_weight),
            ("reconstruction_weight", self.reconstruction_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(LossError::InvalidConfig {
                    field,
                    message: format!("must be finite and >= 0, got {v}"),
                });
            }
        }
        Ok(())
    }
}

/// The inputs of the loss for one batch.
#[derive(Debug, Clone)]
pub struct LossInputs {
    /// `‖x_i − x'_i‖²` per row, `[N]`.
    pub reconstruction_error: Tensor<1>,
    /// `E(z_i)` per row, `[N]`.
    pub energy: Tensor<1>,
    /// `P(Σ̂)`, `[1]`.
    pub penalty: Tensor<1>,
    /// The compression variant's extra term, `[1]`, added with weight 1 (none for the AE).
    pub regularization: Option<Tensor<1>>,
    /// Per-row labels as `0.0` (normal) / `1.0` (anomaly), `[N]`: required by the anomaly-aware
    /// loss, ignored by the standard one.
    pub anomaly: Option<Tensor<1>>,
}

/// The loss of one batch: the total to differentiate and each (weighted-free) term.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// `J`, `[1]`, on the autodiff graph: call `backward()` on it.
    pub total: Tensor<1>,
    /// Mean reconstruction error, `[1]`.
    pub reconstruction: Tensor<1>,
    /// The energy term before `λ1`, `[1]`: the mean sample energy (standard loss), or the mean
    /// of `E` over normal rows and `w/softplus(E)` over anomalies (anomaly-aware loss).
    pub energy: Tensor<1>,
    /// Covariance penalty, `[1]` (before `λ2`).
    pub penalty: Tensor<1>,
    /// The variant's regularisation term, `[1]`, if any.
    pub regularization: Option<Tensor<1>>,
}

/// The terms as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LossReport {
    /// `J`.
    pub total: f64,
    /// Mean reconstruction error.
    pub reconstruction: f64,
    /// Mean sample energy (before `λ1`).
    pub energy: f64,
    /// Covariance penalty (before `λ2`).
    pub penalty: f64,
    /// The variant's regularisation term (0 when it has none).
    pub regularization: f64,
}

impl LossReport {
    /// Whether every term is finite.
    pub fn is_finite(&self) -> bool {
        [
            self.total,
            self.reconstruction,
            self.energy,
            self.penalty,
            self.regularization,
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}

impl LossOutput {
    /// The five terms `[total, reconstruction, energy, penalty, regularization]` as one `[5]`
    /// tensor taken off the autodiff graph (for accumulating per-epoch sums on the device).
    pub fn terms(&self) -> Tensor<1> {
        let reg = match &self.regularization {
            Some(r) => r.clone(),
            None => self.total.clone().zeros_like(),
        };
        Tensor::cat(
            vec![
                self.total.clone(),
                self.reconstruction.clone(),
                self.energy.clone(),
                self.penalty.clone(),
                reg,
            ],
            0,
        )
        .inner()
    }

    /// The terms as f64 (one device read).
    pub fn report(&self) -> LossReport {
        LossReport::from_terms(self.terms())
    }
}

impl LossReport {
    /// From a `[5]` tensor laid out as [`LossOutput::terms`] (one device read).
    pub fn from_terms(terms: Tensor<1>) -> Self {
        let v = terms
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .expect("converted to f64");
        Self {
            total: v[0],
            reconstruction: v[1],
            energy: v[2],
            penalty: v[3],
            regularization: v[4],
        }
    }
}

impl LossConfig {
    /// Whether the objective needs per-row labels.
    pub fn needs_labels(&self) -> bool {
        self.kind == LossKind::AnomalyAware
    }
}

/// `J = mean(‖x−x'‖²) + λ1·(energy term) + λ2·P (+ regularisation)`. Nothing is detached.
///
/// # Panics
/// With the anomaly-aware objective and no `inputs.anomaly` (a caller bug: the model checks
/// [`LossConfig::needs_labels`] before training).
pub fn dagmm_loss(config: &LossConfig, inputs: LossInputs) -> LossOutput {
    let reconstruction = inputs.reconstruction_error.mean();
    let energy = match config.kind {
        LossKind::Standard => inputs.energy.mean(),
        LossKind::AnomalyAware => {
            let a = inputs
                .anomaly
                .expect("the anomaly-aware loss needs per-row labels");
            let reciprocal = softplus(inputs.energy.clone(), 1.0)
                .recip()
                .mul_scalar(config.anomaly_weight);
            (inputs.energy * a.clone().neg().add_scalar(1.0) + reciprocal * a).mean()
        }
    };
    let penalty = inputs.penalty;
    // The paper's weight 1 adds no node to the graph, so its gradients are summed in the order
    // they always were (bit-identical training to the runs committed before the weight existed).
    let weighted_reconstruction = if config.reconstruction_weight == 1.0 {
        reconstruction.clone()
    } else {
        reconstruction
            .clone()
            .mul_scalar(config.reconstruction_weight)
    };
    let mut total = weighted_reconstruction
        + energy.clone().mul_scalar(config.lambda_energy)
        + penalty.clone().mul_scalar(config.lambda_cov);
    if let Some(reg) = &inputs.regularization {
        total = total + reg.clone();
    }
    LossOutput {
        total,
        reconstruction,
        energy,
        penalty,
        regularization: inputs.regularization,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::{Device, TensorData};

    fn t1(v: &[f32], device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
    }

    #[test]
    fn total_is_reconstruction_plus_weighted_energy_and_penalty() {
        let device = Device::flex();
        let cfg = LossConfig::default();
        let out = dagmm_loss(
            &cfg,
            LossInputs {
                reconstruction_error: t1(&[1.0, 2.0, 3.0, 6.0], &device),
                energy: t1(&[-1.0, 5.0, 2.0, 6.0], &device),
                penalty: t1(&[40.0], &device),
                regularization: None,
                anomaly: None,
            },
        );
        let r = out.report();
        assert!((r.reconstruction - 3.0).abs() < 1e-6);
        assert!((r.energy - 3.0).abs() < 1e-6);
        assert!((r.penalty - 40.0).abs() < 1e-6);
        assert_eq!(r.regularization, 0.0);
        assert!((r.total - (3.0 + 0.1 * 3.0 + 0.005 * 40.0)).abs() < 1e-6);
        assert!(r.is_finite());
    }

    #[test]
    fn a_zero_reconstruction_weight_drops_the_term_from_the_total_and_its_gradient() {
        let device = Device::flex().autodiff();
        let rec = Param::from_tensor(t1(&[1.0, 3.0], &device));
        let en = Param::from_tensor(t1(&[2.0, 4.0], &device));
        let cfg = LossConfig {
            reconstruction_weight: 0.0,
            ..LossConfig::default()
        };
        let out = dagmm_loss(
            &cfg,
            LossInputs {
                reconstruction_error: rec.val(),
                energy: en.val(),
                penalty: t1(&[10.0], &device),
                regularization: None,
                anomaly: None,
            },
        );
        let r = out.report();
        // The term is still reported, but J = 0.1 * 3 + 0.005 * 10.
        assert!((r.reconstruction - 2.0).abs() < 1e-6);
        assert!((r.total - (0.3 + 0.05)).abs() < 1e-6, "{r:?}");
        let grads = out.total.backward();
        let g = rec.val().grad(&grads).expect("gradient");
        let g = g.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        assert_eq!(g, vec![0.0, 0.0]);
        let bad = LossConfig {
            reconstruction_weight: -1.0,
            ..LossConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn every_term_carries_gradient() {
        let device = Device::flex().autodiff();
        let rec = Param::from_tensor(t1(&[1.0, 2.0], &device));
        let en = Param::from_tensor(t1(&[3.0, 4.0], &device));
        let pen = Param::from_tensor(t1(&[5.0], &device));
        let cfg = LossConfig {
            lambda_energy: 0.5,
            lambda_cov: 0.25,
            ..LossConfig::default()
        };
        let out = dagmm_loss(
            &cfg,
            LossInputs {
                reconstruction_error: rec.val(),
                energy: en.val(),
                penalty: pen.val(),
                regularization: None,
                anomaly: None,
            },
        );
        assert!(out.total.is_tracked(), "the total is on the autodiff graph");
        let grads = out.total.backward();
        let g = |p: &Param<Tensor<1>>| {
            p.val()
                .grad(&grads)
                .expect("gradient")
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap()
        };
        assert_eq!(g(&rec), vec![0.5, 0.5]);
        assert_eq!(g(&en), vec![0.25, 0.25]);
        assert_eq!(g(&pen), vec![0.25]);
    }

    #[test]
    fn anomaly_aware_energy_term_matches_hand_values_and_pushes_anomalies_up() {
        let device = Device::flex().autodiff();
        let energies = [2.0f32, -1.0, 6.0, 0.5];
        let labels = [0.0f32, 1.0, 1.0, 0.0];
        let en = Param::from_tensor(t1(&energies, &device));
        let cfg = LossConfig {
            kind: LossKind::AnomalyAware,
            anomaly_weight: 2.0,
            ..LossConfig::default()
        };
        assert!(cfg.needs_labels() && !LossConfig::default().needs_labels());
        let out = dagmm_loss(
            &cfg,
            LossInputs {
                reconstruction_error: t1(&[1.0, 1.0, 1.0, 1.0], &device),
                energy: en.val(),
                penalty: t1(&[10.0], &device),
                regularization: None,
                anomaly: Some(t1(&labels, &device)),
            },
        );
        let sp = |e: f64| (1.0 + e.exp()).ln();
        let term = |e: f64, a: f32| if a == 1.0 { 2.0 / sp(e) } else { e };
        let want: f64 = energies
            .iter()
            .zip(&labels)
            .map(|(e, a)| term(*e as f64, *a))
            .sum::<f64>()
            / 4.0;
        let r = out.report();
        assert!((r.energy - want).abs() < 1e-6, "{} vs {want}", r.energy);
        assert!((r.total - (1.0 + 0.1 * want + 0.005 * 10.0)).abs() < 1e-6);
        // d/dE: normal rows λ1/N; anomalies −λ1 w σ(E)/(N softplus(E)²) < 0 (raising E lowers J),
        // also for the anomaly whose energy is negative.
        let g = en
            .val()
            .grad(&out.total.backward())
            .unwrap()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap();
        for (i, (e, a)) in energies.iter().zip(&labels).enumerate() {
            let e = *e as f64;
            let want = if *a == 1.0 {
                -0.1 * 2.0 * (1.0 / (1.0 + (-e).exp())) / (4.0 * sp(e) * sp(e))
            } else {
                0.1 / 4.0
            };
            assert!((g[i] - want).abs() < 1e-6, "row {i}: {} vs {want}", g[i]);
        }
        // 1/softplus(E) is within 0.7% of 1/E for E ≥ 5.
        assert!(((1.0 / sp(5.0)) / (1.0 / 5.0) - 1.0).abs() < 0.007);
    }

    #[test]
    fn config_serde() {
        let c: LossConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, LossConfig::default());
        assert!(serde_json::from_str::<LossConfig>(r#"{"lambda1": 0.1}"#).is_err());
        assert!(LossConfig {
            lambda_cov: -1.0,
            ..LossConfig::default()
        }
        .validate()
        .is_err());
    }
}
