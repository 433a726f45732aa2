//! DSEBM (Zhai et al. 2016), the DAGMM paper's DSEBM-e and DSEBM-r baselines (`[dsebm]`,
//! `dagmm_model::DsebmConfig`): an energy network trained by denoising score matching on the
//! config's device. `dsebm.score` picks the score: the energy (DSEBM-e) or the reconstruction
//! error `‖∂E/∂x‖²` (DSEBM-r); both are written beside it. The untrained control is the network
//! at its initial weights.

use std::marker::PhantomData;
use std::path::Path;

use dagmm_data::FeaturesView;
use dagmm_model::{DeviceChoice, Dsebm as Model, DsebmConfig, DsebmScore, EpochLosses};

use super::network::{NetworkFamily, NetworkModel};
use super::DetectorKind;
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores, ScoreName};
use crate::Result;

/// The DSEBM family.
pub(super) static DSEBM: NetworkFamily<DsebmDetector> = NetworkFamily(PhantomData);

/// A fitted DSEBM.
#[derive(Debug, Clone)]
pub struct DsebmDetector {
    model: Model,
}

impl NetworkModel for DsebmDetector {
    type Config = DsebmConfig;
    const KIND: DetectorKind = DetectorKind::Dsebm;
    const NAME: &'static str = "dsebm";
    const SECTIONS: &'static [&'static str] = &["dsebm"];
    const EPOCHS_FIELD: &'static str = "dsebm.training.epochs";

    fn section(config: &RunConfig) -> &Option<DsebmConfig> {
        &config.dsebm
    }

    fn section_mut(config: &mut RunConfig) -> &mut Option<DsebmConfig> {
        &mut config.dsebm
    }

    fn validate(section: &DsebmConfig) -> dagmm_model::Result<()> {
        section.validate()
    }

    fn epochs(section: &DsebmConfig) -> usize {
        section.training.epochs
    }

    fn fit(
        section: DsebmConfig,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        let (model, history) = Model::fit(section, device, seed, x, on_epoch)?;
        Ok((DsebmDetector { model }, history))
    }

    fn untrained(
        section: DsebmConfig,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
    ) -> Result<Self> {
        let model = Model::new(section, device, seed, x.ncols())?;
        Ok(DsebmDetector { model })
    }

    fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        Ok(DsebmDetector {
            model: Model::load(dir, device)?,
        })
    }
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
