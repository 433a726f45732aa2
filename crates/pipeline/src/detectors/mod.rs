//! Every detector the pipeline runs, one module each: its config sections, their validation and
//! defaults, its capabilities, how it fits, its untrained control and how a saved one is read
//! back ([`Family`]). The rest of the pipeline asks [`DetectorKind::family`] and never names a
//! detector.
//!
//! Adding a detector: a new module here with a [`Family`] and a [`Detector`] (and its section's
//! field on [`RunConfig`]), a variant of [`DetectorKind`]; the compiler then points at the one
//! match in [`DetectorKind::family`] and at [`RunConfig::new`]. A test checks that every section
//! of [`RunConfig`] belongs to exactly one detector or to the common part.

mod dagmm;
mod dcn;
mod dsebm;
mod gaussian;
mod gmm;
mod network;
mod ocsvm;

use std::path::Path;

use dagmm_classic_gmm::EmIteration;
use dagmm_data::{FeaturesView, Precision};
use dagmm_model::{Checkpointing, DeviceChoice, EpochLosses};
use serde::{Deserialize, Serialize};

use crate::classic::ClassicFit;
use crate::config::RunConfig;
use crate::detector::Detector;
use crate::Result;

pub use dagmm::DagmmDetector;
pub use dcn::DcnDetector;
pub use dsebm::DsebmDetector;
pub use gaussian::GaussianSection;
pub use gmm::GmmSection;
pub use ocsvm::{OcSvmDetector, OcSvmFit, OcSvmSection, OCSVM_FILE};

/// Which detector a run fits (`[model] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// DAGMM and every variant and baseline built from its networks (the default: configs and
    /// summaries that name no kind are DAGMM's).
    #[default]
    Dagmm,
    /// An EM Gaussian mixture on the (scaled) input features.
    Gmm,
    /// One Gaussian (multivariate or per-feature) on the input features.
    Gaussian,
    /// The one-class SVM (RBF kernel, ν) on the input features: the paper's OC-SVM baseline.
    Ocsvm,
    /// The deep structured energy-based model: the paper's DSEBM-e and DSEBM-r baselines.
    Dsebm,
    /// The deep clustering network: the paper's DCN baseline.
    Dcn,
}

impl DetectorKind {
    /// Every kind.
    pub const ALL: [DetectorKind; 6] = [
        DetectorKind::Dagmm,
        DetectorKind::Gmm,
        DetectorKind::Gaussian,
        DetectorKind::Ocsvm,
        DetectorKind::Dsebm,
        DetectorKind::Dcn,
    ];

    /// Where everything about this kind lives.
    pub fn family(self) -> &'static dyn Family {
        match self {
            DetectorKind::Dagmm => &dagmm::Dagmm,
            DetectorKind::Gmm => &gmm::Gmm,
            DetectorKind::Gaussian => &gaussian::Gaussian,
            DetectorKind::Ocsvm => &ocsvm::OcSvm,
            DetectorKind::Dsebm => &dsebm::DSEBM,
            DetectorKind::Dcn => &dcn::DCN,
        }
    }

    /// The name configs use (`[model] kind`).
    pub fn name(self) -> &'static str {
        self.family().name()
    }

    /// What the pipeline may ask of this kind.
    pub fn capabilities(self) -> Capabilities {
        self.family().capabilities()
    }

    /// The kind whose config section `section` is, if any.
    pub fn owner_of(section: &str) -> Option<DetectorKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.family().sections().contains(&section))
    }
}

/// What a detector does, for the parts of the pipeline that differ by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// It runs on the config's `device` (checked before the data are read, recorded in the
    /// summary and the manifest).
    pub uses_device: bool,
    /// It trains for epochs: a summary records them, their seconds and throughput and whether
    /// every loss was finite; `--epochs` sets them.
    pub trains_by_epoch: bool,
    /// It saves checkpoints during its fit and resumes from them.
    pub checkpoints: bool,
    /// The precision its rows are stored in.
    pub precision: Precision,
}

impl Capabilities {
    /// A detector fitted once, in memory, on f64 rows: no device, no epochs, no checkpoints (the
    /// EM mixture, the single Gaussian, the one-class SVM).
    pub const FITTED_ONCE: Capabilities = Capabilities {
        uses_device: false,
        trains_by_epoch: false,
        checkpoints: false,
        precision: Precision::F64,
    };

    /// A network trained by epochs on the config's device in one go, on f32 rows, without
    /// checkpoints (DSEBM, DCN).
    pub const TRAINED_IN_ONE_GO: Capabilities = Capabilities {
        uses_device: true,
        trains_by_epoch: true,
        checkpoints: false,
        precision: Precision::F32,
    };
}

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
    /// Every epoch of every stage (neural detectors; empty for the others).
    pub history: Vec<EpochLosses>,
    /// What the fit reports for the summary besides its epochs.
    pub report: FitReport,
}

/// A fit's own figures for the summary.
pub enum FitReport {
    /// Nothing beyond the epochs (the neural detectors).
    None,
    /// EM's diagnostics (the classic mixtures).
    Classic(Box<ClassicFit>),
    /// The one-class SVM's solution and how many rows it was fitted on.
    OcSvm(OcSvmFit),
}

/// Everything about one kind of detector. Every method reads the detector's own sections of a
/// [`RunConfig`] of its kind (missing sections take their defaults).
pub trait Family: Sync {
    /// The kind this family is.
    fn kind(&self) -> DetectorKind;
    /// The name configs use for it.
    fn name(&self) -> &'static str;
    /// The config sections it reads; a config of another kind may not hold them.
    fn sections(&self) -> &'static [&'static str];
    fn capabilities(&self) -> Capabilities;
    /// Checks its sections.
    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String>;
    /// `config` with its sections filled in with their defaults and the run's seed (what a run
    /// folder's `config.toml` records).
    fn resolve(&self, config: &mut RunConfig);
    /// The seed its sections name, for a config whose top level names none (none by default).
    fn section_seed(&self, _config: &RunConfig) -> Option<u64> {
        None
    }
    /// The epochs it trains for, when it trains by epoch (by default it does not).
    fn epochs(&self, _config: &RunConfig) -> Option<usize> {
        None
    }
    /// The config field `--epochs` sets, when it trains by epoch.
    fn epochs_field(&self) -> Option<&'static str> {
        None
    }
    /// Whether it trains on labelled rows (and so on the whole training half; not by default).
    fn needs_training_labels(&self, _config: &RunConfig) -> bool {
        false
    }
    /// Fits on `x`; `labels` (1 = anomaly) only when [`needs_training_labels`](Self::needs_training_labels);
    /// `checkpoints` only when it [checkpoints](Capabilities::checkpoints).
    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        labels: Option<&[u8]>,
        checkpoints: Option<&Checkpointing>,
        on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted>;
    /// The untrained control (the same model before fitting, fitted on `x` by the same protocol),
    /// where it has one worth judging (none by default).
    fn untrained(
        &self,
        _config: &RunConfig,
        _x: FeaturesView<'_>,
    ) -> Result<Option<Box<dyn Detector>>> {
        Ok(None)
    }
    /// Reads a detector saved in `dir` by [`Detector::save`]; one that [uses a
    /// device](Capabilities::uses_device) goes to `device` when given.
    fn load(&self, dir: &Path, device: Option<DeviceChoice>) -> Result<Box<dyn Detector>>;
}

/// Reads a detector of `kind` saved in `dir` by [`Detector::save`].
pub fn load_detector(
    kind: DetectorKind,
    dir: &Path,
    device: Option<DeviceChoice>,
) -> Result<Box<dyn Detector>> {
    kind.family().load(dir, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names_and_families_know_their_kind() {
        for kind in DetectorKind::ALL {
            let family = kind.family();
            assert_eq!(family.kind(), kind);
            let serde_name = serde_json::to_value(kind).unwrap();
            assert_eq!(serde_name.as_str(), Some(kind.name()));
        }
    }

    #[test]
    fn every_section_of_a_run_config_belongs_to_one_detector_or_to_all() {
        // serde lists every field of RunConfig when it meets an unknown one.
        let err = serde_json::from_str::<RunConfig>(r#"{"no_such_section": 1}"#)
            .unwrap_err()
            .to_string();
        let listed = err
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("serde lists the fields: {err}"));
        let fields: Vec<&str> = listed
            .split(',')
            .map(|f| f.trim().trim_matches('`').split('`').next().unwrap())
            .filter(|f| !f.is_empty())
            .collect();
        assert!(fields.len() > crate::config::COMMON_SECTIONS.len());
        for field in fields {
            let owners: Vec<DetectorKind> = DetectorKind::ALL
                .into_iter()
                .filter(|k| k.family().sections().contains(&field))
                .collect();
            let common = crate::config::COMMON_SECTIONS.contains(&field);
            assert!(
                owners.len() + usize::from(common) == 1,
                "`{field}` belongs to {owners:?}{}",
                if common { " and to every kind" } else { "" }
            );
        }
    }
}
