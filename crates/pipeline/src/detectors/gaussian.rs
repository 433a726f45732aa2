//! One Gaussian on the input features (`[gaussian]`): multivariate (full covariance) or the
//! product of per-feature Gaussians (seed 003). Scores rows by `−log p(x)`.

use std::path::Path;

use dagmm_classic_gmm::GaussianKind;
use dagmm_data::FeaturesView;
use dagmm_model::{Checkpointing, DeviceChoice};
use serde::{Deserialize, Serialize};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::classic::ClassicDetector;
use crate::config::RunConfig;
use crate::detector::Detector;
use crate::Result;

/// The single-Gaussian family.
pub(super) struct Gaussian;

/// `[gaussian]`: which Gaussian, and the variance added to its diagonal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussianSection {
    pub kind: GaussianKind,
    pub reg_covar: f64,
}

impl Default for GaussianSection {
    fn default() -> Self {
        GaussianSection {
            kind: GaussianKind::Multivariate,
            reg_covar: dagmm_classic_gmm::GmmParams::default().reg_covar,
        }
    }
}

impl Family for Gaussian {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Gaussian
    }

    fn name(&self) -> &'static str {
        "gaussian"
    }

    fn sections(&self) -> &'static [&'static str] {
        &["gaussian"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FITTED_ONCE
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        let r = config.gaussian.clone().unwrap_or_default().reg_covar;
        if !(r.is_finite() && r >= 0.0) {
            return Err(format!(
                "gaussian.reg_covar must be finite and >= 0, got {r}"
            ));
        }
        Ok(())
    }

    fn resolve(&self, config: &mut RunConfig) {
        config.gaussian = Some(config.gaussian.clone().unwrap_or_default());
    }

    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        _labels: Option<&[u8]>,
        _checkpoints: Option<&Checkpointing>,
        _on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        let section = config.gaussian.clone().unwrap_or_default();
        let (detector, fit) = ClassicDetector::fit_gaussian(&section, x.to_f64().view())?;
        Ok(Fitted {
            detector: Box::new(detector),
            history: Vec::new(),
            report: FitReport::Classic(Box::new(fit)),
        })
    }

    fn load(&self, dir: &Path, _device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(ClassicDetector::load(
            dir,
            DetectorKind::Gaussian,
        )?))
    }
}
