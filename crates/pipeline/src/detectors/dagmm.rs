//! DAGMM and every detector built from its networks (the seed-002 variants, the DAGMM paper's
//! baselines): the sections `[compression]`, `[estimation]`, `[loss]`, `[training]`, `[scoring]`
//! and `[pretraining]` (`dagmm_model::DagmmConfig`), fitted with checkpoints on the config's
//! device. The score is what `scoring.kind` says, with the energy and the reconstruction error
//! beside it and `z` as the embedding.

use std::path::Path;

use dagmm_data::{FeaturesView, Precision};
use dagmm_model::{Checkpointing, Dagmm as Model, DagmmConfig, DeviceChoice, ScoreKind};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores, ScoreName};
use crate::Result;

/// The DAGMM family.
pub(super) struct Dagmm;

impl RunConfig {
    /// The DAGMM model's part (defaults for missing sections, the run's seed and device).
    pub fn dagmm(&self) -> DagmmConfig {
        let mut training = self.training.clone().unwrap_or_default();
        training.seed = self.seed();
        DagmmConfig {
            device: self.device,
            compression: self.compression.clone().unwrap_or_default(),
            estimation: self.estimation.clone().unwrap_or_default(),
            loss: self.loss.clone().unwrap_or_default(),
            training,
            scoring: self.scoring.clone().unwrap_or_default(),
            pretraining: self.pretraining.clone(),
        }
    }
}

impl Family for Dagmm {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dagmm
    }

    fn name(&self) -> &'static str {
        "dagmm"
    }

    fn sections(&self) -> &'static [&'static str] {
        &[
            "compression",
            "estimation",
            "loss",
            "training",
            "scoring",
            "pretraining",
        ]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            uses_device: true,
            trains_by_epoch: true,
            checkpoints: true,
            precision: Precision::F32,
        }
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        config.dagmm().validate().map_err(|e| e.to_string())
    }

    fn resolve(&self, config: &mut RunConfig) {
        let d = config.dagmm();
        config.compression = Some(d.compression);
        config.estimation = Some(d.estimation);
        config.loss = Some(d.loss);
        config.training = Some(d.training);
        config.scoring = Some(d.scoring);
    }

    fn section_seed(&self, config: &RunConfig) -> Option<u64> {
        config.training.as_ref().map(|t| t.seed)
    }

    fn epochs(&self, config: &RunConfig) -> Option<usize> {
        Some(config.dagmm().training.epochs)
    }

    fn epochs_field(&self) -> Option<&'static str> {
        Some("training.epochs")
    }

    fn needs_training_labels(&self, config: &RunConfig) -> bool {
        config.loss.as_ref().is_some_and(|l| l.needs_labels())
    }

    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        labels: Option<&[u8]>,
        checkpoints: Option<&Checkpointing>,
        on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        let (model, history) =
            Model::fit_checkpointed(config.dagmm(), x, labels, checkpoints, &mut |e| {
                on_progress(FitProgress::Epoch(e))
            })?;
        Ok(Fitted {
            detector: Box::new(DagmmDetector::new(model)),
            history,
            report: FitReport::None,
        })
    }

    fn untrained(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
    ) -> Result<Option<Box<dyn Detector>>> {
        let model = Model::untrained(config.dagmm(), x)?;
        Ok(Some(Box::new(DagmmDetector::new(model))))
    }

    fn load(&self, dir: &Path, device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(DagmmDetector::load(dir, device)?))
    }
}

/// A fitted DAGMM.
#[derive(Debug, Clone)]
pub struct DagmmDetector {
    model: Model,
}

impl DagmmDetector {
    pub fn new(model: Model) -> Self {
        DagmmDetector { model }
    }

    /// Reads `model.json` and `weights.bpk` from `dir`, onto `device` when given.
    pub fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        let model = match device {
            Some(d) => Model::load_on(dir, d)?,
            None => Model::load(dir)?,
        };
        Ok(DagmmDetector { model })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }
}

impl Detector for DagmmDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dagmm
    }

    fn score_name(&self) -> ScoreName {
        match self.model.config().scoring.kind {
            ScoreKind::Energy => ScoreName::Energy,
            ScoreKind::EnergyPlusReconstruction => ScoreName::EnergyPlusReconstruction,
            ScoreKind::Reconstruction => ScoreName::ReconstructionError,
        }
    }

    fn input_dim(&self) -> usize {
        self.model.input_dim()
    }

    fn score(&self, x: FeaturesView<'_>) -> Result<RowScores> {
        let s = self.model.score(x)?;
        Ok(RowScores {
            score: s.score,
            columns: vec![
                ("energy", s.energy),
                ("reconstruction_error", s.reconstruction_error),
            ],
            embedding: Some(s.z),
        })
    }

    fn save(&self, dir: &Path) -> Result<()> {
        Ok(self.model.save(dir)?)
    }
}
