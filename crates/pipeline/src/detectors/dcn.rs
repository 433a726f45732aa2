//! DCN (Yang et al. 2017), the DAGMM paper's deep clustering baseline (`[dcn]`,
//! `dagmm_model::DcnConfig`): an autoencoder pretrained on the reconstruction error, then
//! trained jointly with a k-means loss on its codes, on the config's device. The score is the
//! code's distance to its nearest centroid; the reconstruction error and the cluster are written
//! beside it and the code is the embedding. The untrained control is k-means on the codes of the
//! autoencoder at its initial weights.

use std::marker::PhantomData;
use std::path::Path;

use dagmm_data::FeaturesView;
use dagmm_model::{Dcn as Model, DcnConfig, DeviceChoice, EpochLosses};

use super::network::{NetworkFamily, NetworkModel};
use super::DetectorKind;
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores, ScoreName};
use crate::Result;

/// The DCN family.
pub(super) static DCN: NetworkFamily<DcnDetector> = NetworkFamily(PhantomData);

/// A fitted DCN.
#[derive(Debug, Clone)]
pub struct DcnDetector {
    model: Model,
}

impl NetworkModel for DcnDetector {
    type Config = DcnConfig;
    const KIND: DetectorKind = DetectorKind::Dcn;
    const NAME: &'static str = "dcn";
    const SECTIONS: &'static [&'static str] = &["dcn"];
    const EPOCHS_FIELD: &'static str = "dcn.training.epochs";

    fn section(config: &RunConfig) -> &Option<DcnConfig> {
        &config.dcn
    }

    fn section_mut(config: &mut RunConfig) -> &mut Option<DcnConfig> {
        &mut config.dcn
    }

    fn validate(section: &DcnConfig) -> dagmm_model::Result<()> {
        section.validate()
    }

    fn epochs(section: &DcnConfig) -> usize {
        section.training.epochs
    }

    fn fit(
        section: DcnConfig,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)> {
        let (model, history) = Model::fit(section, device, seed, x, on_epoch)?;
        Ok((DcnDetector { model }, history))
    }

    fn untrained(
        mut section: DcnConfig,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
    ) -> Result<Self> {
        section.pretrain_epochs = 0;
        section.training.epochs = 0;
        Self::fit(section, device, seed, x, &mut |_| {}).map(|(d, _)| d)
    }

    fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self> {
        Ok(DcnDetector {
            model: Model::load(dir, device)?,
        })
    }
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
