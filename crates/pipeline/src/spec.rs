//! A detector before fitting ([`DetectorSpec`]): it fits one, and gives the untrained control
//! where that means something; [`load_detector`] reads a saved one back by its kind.

use std::path::Path;

use dagmm_classic_gmm::EmIteration;
use dagmm_data::{FeaturesView, Precision};
use dagmm_model::{Checkpointing, DeviceChoice, EpochLosses};

use crate::classic::{ClassicDetector, ClassicFit};
use crate::config::{DetectorKind, GaussianSection, GmmSection, RunConfig};
use crate::detector::Detector;
use crate::neural::DagmmDetector;
use crate::Result;

/// What a fit reports while it runs.
pub enum FitProgress<'a> {
    /// An epoch of a neural detector finished (any stage).
    Epoch(&'a EpochLosses),
    /// An EM iteration of a classic mixture finished.
    EmIteration(&'a EmIteration),
}

/// What fitting gave besides the detector.
pub struct Fitted {
    pub detector: Box<dyn Detector>,
    /// Every epoch of every stage (neural detectors; empty for the classic ones).
    pub history: Vec<EpochLosses>,
    /// EM's diagnostics (classic detectors).
    pub classic: Option<ClassicFit>,
}

/// A detector before fitting, with every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectorSpec {
    Dagmm(dagmm_model::DagmmConfig),
    Gmm { section: GmmSection, seed: u64 },
    Gaussian(GaussianSection),
}

impl DetectorSpec {
    /// The detector a run config names.
    pub fn of(config: &RunConfig) -> Self {
        match config.kind() {
            DetectorKind::Dagmm => DetectorSpec::Dagmm(config.dagmm()),
            DetectorKind::Gmm => DetectorSpec::Gmm {
                section: config.gmm.clone().unwrap_or_default(),
                seed: config.seed(),
            },
            DetectorKind::Gaussian => {
                DetectorSpec::Gaussian(config.gaussian.clone().unwrap_or_default())
            }
        }
    }

    /// The precision its rows are stored in: `f32` for the networks, whose tensors are `f32`
    /// (the rows are scaled in `f64` and rounded once, as an upload would), `f64` for EM.
    pub fn precision(&self) -> Precision {
        match self {
            DetectorSpec::Dagmm(_) => Precision::F32,
            DetectorSpec::Gmm { .. } | DetectorSpec::Gaussian(_) => Precision::F64,
        }
    }

    pub fn kind(&self) -> DetectorKind {
        match self {
            DetectorSpec::Dagmm(_) => DetectorKind::Dagmm,
            DetectorSpec::Gmm { .. } => DetectorKind::Gmm,
            DetectorSpec::Gaussian(_) => DetectorKind::Gaussian,
        }
    }

    /// Fits on the rows of `x`. `labels` (1 = anomaly) reach only a detector that trains on
    /// them (the anomaly-aware loss); `on_epoch` sees every epoch of a neural detector.
    /// `checkpoints` (neural detectors; the classic ones fit in one go) saves the training's
    /// checkpoints there and resumes from one as [`dagmm_model::Dagmm::fit_checkpointed`] says.
    pub fn fit(
        &self,
        x: FeaturesView<'_>,
        labels: Option<&[u8]>,
        checkpoints: Option<&Checkpointing>,
        on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        match self {
            DetectorSpec::Dagmm(config) => {
                let labels = labels.filter(|_| config.loss.needs_labels());
                let (model, history) = dagmm_model::Dagmm::fit_checkpointed(
                    config.clone(),
                    x,
                    labels,
                    checkpoints,
                    &mut |e| on_progress(FitProgress::Epoch(e)),
                )?;
                Ok(Fitted {
                    detector: Box::new(DagmmDetector::new(model)),
                    history,
                    classic: None,
                })
            }
            DetectorSpec::Gmm { section, seed } => {
                let (detector, fit) =
                    ClassicDetector::fit_gmm(section, *seed, x.to_f64().view(), &mut |i| {
                        on_progress(FitProgress::EmIteration(i))
                    })?;
                Ok(Fitted {
                    detector: Box::new(detector),
                    history: Vec::new(),
                    classic: Some(fit),
                })
            }
            DetectorSpec::Gaussian(section) => {
                let (detector, fit) = ClassicDetector::fit_gaussian(section, x.to_f64().view())?;
                Ok(Fitted {
                    detector: Box::new(detector),
                    history: Vec::new(),
                    classic: Some(fit),
                })
            }
        }
    }

    /// The untrained control where it means something: a neural detector at the initial
    /// weights its fit starts from, its mixture fitted on `x` by the same protocol. `None` for
    /// the classic detectors (EM has no untrained state to compare with).
    pub fn untrained(&self, x: FeaturesView<'_>) -> Result<Option<Box<dyn Detector>>> {
        match self {
            DetectorSpec::Dagmm(config) => {
                let model = dagmm_model::Dagmm::untrained(config.clone(), x)?;
                Ok(Some(Box::new(DagmmDetector::new(model))))
            }
            DetectorSpec::Gmm { .. } | DetectorSpec::Gaussian(_) => Ok(None),
        }
    }
}

/// Reads a detector of `kind` saved in `dir` by [`Detector::save`]; a neural one goes to
/// `device` when given, else to the device it was trained on.
pub fn load_detector(
    kind: DetectorKind,
    dir: &Path,
    device: Option<DeviceChoice>,
) -> Result<Box<dyn Detector>> {
    Ok(match kind {
        DetectorKind::Dagmm => Box::new(DagmmDetector::load(dir, device)?),
        DetectorKind::Gmm | DetectorKind::Gaussian => Box::new(ClassicDetector::load(dir, kind)?),
    })
}
