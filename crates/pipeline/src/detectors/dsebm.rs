//! DSEBM (Zhai et al. 2016), the DAGMM paper's DSEBM-e and DSEBM-r baselines (`[dsebm]`,
//! `dagmm_model::DsebmConfig`): an energy network trained by denoising score matching on the
//! config's device. `dsebm.score` picks the score: the energy (DSEBM-e) or the reconstruction
//! error `‖∂E/∂x‖²` (DSEBM-r); both are written beside it. The untrained control is the network
//! at its initial weights.

use std::path::Path;

use dagmm_data::FeaturesView;
use dagmm_model::{Checkpointing, DeviceChoice, Dsebm as Model, DsebmConfig, DsebmScore};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores, ScoreName};
use crate::Result;

/// The DSEBM family.
pub(super) struct Dsebm;

fn section(config: &RunConfig) -> DsebmConfig {
    config.dsebm.clone().unwrap_or_default()
}

impl Family for Dsebm {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dsebm
    }

    fn name(&self) -> &'static str {
        "dsebm"
    }

    fn sections(&self) -> &'static [&'static str] {
        &["dsebm"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::TRAINED_IN_ONE_GO
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        section(config).validate().map_err(|e| e.to_string())
    }

    fn resolve(&self, config: &mut RunConfig) {
        config.dsebm = Some(section(config));
    }

    fn epochs(&self, config: &RunConfig) -> Option<usize> {
        Some(section(config).training.epochs)
    }

    fn epochs_field(&self) -> Option<&'static str> {
        Some("dsebm.training.epochs")
    }

    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        _labels: Option<&[u8]>,
        _checkpoints: Option<&Checkpointing>,
        on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        let (model, history) =
            Model::fit(section(config), config.device, config.seed(), x, &mut |e| {
                on_progress(FitProgress::Epoch(e))
            })?;
        Ok(Fitted {
            detector: Box::new(DsebmDetector { model }),
            history,
            report: FitReport::None,
        })
    }

    fn untrained(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
    ) -> Result<Option<Box<dyn Detector>>> {
        let model = Model::new(section(config), config.device, config.seed(), x.ncols())?;
        Ok(Some(Box::new(DsebmDetector { model })))
    }

    fn load(&self, dir: &Path, device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(DsebmDetector {
            model: Model::load(dir, device)?,
        }))
    }
}

/// A fitted DSEBM.
#[derive(Debug, Clone)]
pub struct DsebmDetector {
    model: Model,
}

impl Detector for DsebmDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dsebm
    }

    fn score_name(&self) -> ScoreName {
        match self.model.config().score {
            DsebmScore::Energy => ScoreName::Energy,
            DsebmScore::Reconstruction => ScoreName::ReconstructionError,
        }
    }

    fn input_dim(&self) -> usize {
        self.model.input_dim()
    }

    fn score(&self, x: FeaturesView<'_>) -> Result<RowScores> {
        let s = self.model.scores(x)?;
        Ok(RowScores {
            score: s.score(self.model.config().score).to_vec(),
            columns: vec![
                ("energy", s.energy),
                ("reconstruction_error", s.reconstruction_error),
            ],
            embedding: None,
        })
    }

    fn save(&self, dir: &Path) -> Result<()> {
        Ok(self.model.save(dir)?)
    }
}
