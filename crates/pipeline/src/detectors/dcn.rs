//! DCN (Yang et al. 2017), the DAGMM paper's deep clustering baseline (`[dcn]`,
//! `dagmm_model::DcnConfig`): an autoencoder pretrained on the reconstruction error, then
//! trained jointly with a k-means loss on its codes, on the config's device. The score is the
//! code's distance to its nearest centroid; the reconstruction error and the cluster are written
//! beside it and the code is the embedding. The untrained control is k-means on the codes of the
//! autoencoder at its initial weights.

use std::path::Path;

use dagmm_data::FeaturesView;
use dagmm_model::{Checkpointing, Dcn as Model, DcnConfig, DeviceChoice};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores, ScoreName};
use crate::Result;

/// The DCN family.
pub(super) struct Dcn;

fn section(config: &RunConfig) -> DcnConfig {
    config.dcn.clone().unwrap_or_default()
}

impl Family for Dcn {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dcn
    }

    fn name(&self) -> &'static str {
        "dcn"
    }

    fn sections(&self) -> &'static [&'static str] {
        &["dcn"]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::TRAINED_IN_ONE_GO
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        section(config).validate().map_err(|e| e.to_string())
    }

    fn resolve(&self, config: &mut RunConfig) {
        config.dcn = Some(section(config));
    }

    fn epochs(&self, config: &RunConfig) -> Option<usize> {
        Some(section(config).training.epochs)
    }

    fn epochs_field(&self) -> Option<&'static str> {
        Some("dcn.training.epochs")
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
            detector: Box::new(DcnDetector { model }),
            history,
            report: FitReport::None,
        })
    }

    fn untrained(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
    ) -> Result<Option<Box<dyn Detector>>> {
        let mut untrained = section(config);
        untrained.pretrain_epochs = 0;
        untrained.training.epochs = 0;
        let (model, _) = Model::fit(untrained, config.device, config.seed(), x, &mut |_| {})?;
        Ok(Some(Box::new(DcnDetector { model })))
    }

    fn load(&self, dir: &Path, device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(DcnDetector {
            model: Model::load(dir, device)?,
        }))
    }
}

/// A fitted DCN.
#[derive(Debug, Clone)]
pub struct DcnDetector {
    model: Model,
}

impl Detector for DcnDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Dcn
    }

    fn score_name(&self) -> ScoreName {
        ScoreName::CentroidDistance
    }

    fn input_dim(&self) -> usize {
        self.model.input_dim()
    }

    fn score(&self, x: FeaturesView<'_>) -> Result<RowScores> {
        let s = self.model.scores(x)?;
        Ok(RowScores {
            score: s.distance,
            columns: vec![
                ("reconstruction_error", s.reconstruction_error),
                ("cluster", s.cluster.into_iter().map(|k| k as f64).collect()),
            ],
            embedding: Some(s.z),
        })
    }

    fn save(&self, dir: &Path) -> Result<()> {
        Ok(self.model.save(dir)?)
    }
}
