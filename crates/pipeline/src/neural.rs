//! DAGMM and every detector built from its networks (the seed-002 variants, the DAGMM paper's
//! baselines) behind [`Detector`]: the score is what `scoring.kind` says, with the energy and the
//! reconstruction error beside it and `z` as the embedding.

use std::path::Path;

use dagmm_data::FeaturesView;
use dagmm_model::{Dagmm, DeviceChoice, ScoreKind};

use crate::config::DetectorKind;
use crate::detector::{Detector, RowScores};
use crate::Result;

/// A fitted [`Dagmm`].
#[derive(Debug, Clone)]
pub struct DagmmDetector {
    model: Dagmm,
}

impl DagmmDetector {
    pub fn new(model: Dagmm) -> Self {
        DagmmDetector { model }
    }

    /// Reads `model.json` and `weights.bpk` from `dir`, onto `device` when given.
    pub fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        let model = match device {
            Some(d) => Dagmm::load_on(dir, d)?,
            None => Dagmm::load(dir)?,
        };
        Ok(DagmmDetector { model })
    }

    pub fn model(&self) -> &Dagmm {
        &self.model
    }
}

impl Detector for DagmmDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dagmm
    }

    fn score_name(&self) -> &'static str {
        match self.model.config().scoring.kind {
            ScoreKind::Energy => "energy",
            ScoreKind::EnergyPlusReconstruction => "energy_plus_reconstruction",
            ScoreKind::Reconstruction => "reconstruction_error",
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
