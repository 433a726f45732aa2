//! An EM Gaussian mixture on the input features (`[gmm]`, `dagmm-classic-gmm`), with the number
//! of components chosen by BIC when `select_k` says so. Scores rows by `−log p(x)`.

use std::path::Path;

use dagmm_classic_gmm::{CovarianceType, GmmParams, InitMethod};
use dagmm_data::FeaturesView;
use dagmm_model::{Checkpointing, DeviceChoice};
use serde::{Deserialize, Serialize};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::classic::ClassicDetector;
use crate::config::RunConfig;
use crate::detector::Detector;
use crate::Result;

/// The GMM family.
pub(super) struct Gmm;

/// `[gmm]`: EM's settings (scikit-learn's `GaussianMixture` defaults, as [`GmmParams`]), without
/// the seed (the run's), and `select_k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GmmSection {
    pub n_components: usize,
    pub covariance_type: CovarianceType,
    pub init: InitMethod,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub reg_covar: f64,
    /// Choose the number of components by BIC over `[min, max]` (inclusive) instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select_k: Option<[usize; 2]>,
}

impl Default for GmmSection {
    /// [`GmmParams::default`]'s settings.
    fn default() -> Self {
        let p = GmmParams::default();
        GmmSection {
            n_components: p.n_components,
            covariance_type: p.covariance_type,
            init: p.init,
            n_init: p.n_init,
            max_iter: p.max_iter,
            tol: p.tol,
            reg_covar: p.reg_covar,
            select_k: None,
        }
    }
}

impl GmmSection {
    /// The EM parameters with the run's seed.
    pub fn params(&self, seed: u64) -> GmmParams {
        GmmParams {
            n_components: self.n_components,
            covariance_type: self.covariance_type,
            init: self.init,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            reg_covar: self.reg_covar,
            seed,
        }
    }
}

impl Family for Gmm {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Gmm
    }

    fn name(&self) -> &'static str {
        "gmm"
    }

    fn sections(&self) -> &'static [&'static str] {
        &["gmm"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FITTED_ONCE
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        let g = config.gmm.clone().unwrap_or_default();
        g.params(0).validate().map_err(|e| format!("gmm: {e}"))?;
        if let Some([min, max]) = g.select_k {
            if min == 0 || min > max {
                return Err(format!(
                    "gmm.select_k = [{min}, {max}] must have 1 <= min <= max"
                ));
            }
        }
        Ok(())
    }

    fn resolve(&self, config: &mut RunConfig) {
        config.gmm = Some(config.gmm.clone().unwrap_or_default());
    }

    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        _labels: Option<&[u8]>,
        _checkpoints: Option<&Checkpointing>,
        on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        let section = config.gmm.clone().unwrap_or_default();
        let (detector, fit) = ClassicDetector::fit_gmm(&section, config.seed(), x, &mut |i| {
            on_progress(FitProgress::EmIteration(i))
        })?;
        Ok(Fitted {
            detector: Box::new(detector),
            history: Vec::new(),
            report: FitReport::Classic(Box::new(fit)),
        })
    }

    fn load(&self, dir: &Path, _device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(ClassicDetector::load(dir, DetectorKind::Gmm)?))
    }
}
