//! What the pipeline does alike for the networks of `dagmm-model` that are detectors of their
//! own (DSEBM, DCN): one config section with its training schedule inside, a device and epochs but
//! no checkpoints, an untrained control, a model folder. Each implements [`NetworkModel`] and
//! gets its [`Family`] from [`NetworkFamily`].

use std::marker::PhantomData;
use std::path::Path;

use dagmm_data::FeaturesView;
use dagmm_model::{Checkpointing, DeviceChoice, EpochLosses};

use super::{Capabilities, DetectorKind, Family, FitProgress, FitReport, Fitted};
use crate::config::RunConfig;
use crate::detector::Detector;
use crate::Result;

/// A network detector of `dagmm-model` as the pipeline fits, controls and loads it.
pub(super) trait NetworkModel: Detector + Sized + 'static {
    /// Its config section.
    type Config: Clone + Default;
    const KIND: DetectorKind;
    const NAME: &'static str;
    /// Its config sections (one).
    const SECTIONS: &'static [&'static str];
    /// The config field `--epochs` sets.
    const EPOCHS_FIELD: &'static str;
    /// Its section of `config`, if given.
    fn section(config: &RunConfig) -> &Option<Self::Config>;
    fn section_mut(config: &mut RunConfig) -> &mut Option<Self::Config>;
    fn validate(section: &Self::Config) -> dagmm_model::Result<()>;
    fn epochs(section: &Self::Config) -> usize;
    /// Trains one on `x`.
    fn fit(
        section: Self::Config,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
        on_epoch: &mut dyn FnMut(&EpochLosses),
    ) -> Result<(Self, Vec<EpochLosses>)>;
    /// The same model at its initial weights, fitted by the same protocol.
    fn untrained(
        section: Self::Config,
        device: DeviceChoice,
        seed: u64,
        x: FeaturesView<'_>,
    ) -> Result<Self>;
    fn load(dir: &Path, device: Option<DeviceChoice>) -> Result<Self>;

    /// Its section, or the defaults.
    fn section_or_default(config: &RunConfig) -> Self::Config {
        Self::section(config).clone().unwrap_or_default()
    }
}

/// The [`Family`] of a [`NetworkModel`].
pub(super) struct NetworkFamily<M>(pub PhantomData<fn() -> M>);

impl<M: NetworkModel> Family for NetworkFamily<M> {
    fn kind(&self) -> DetectorKind {
        M::KIND
    }

    fn name(&self) -> &'static str {
        M::NAME
    }

    fn sections(&self) -> &'static [&'static str] {
        M::SECTIONS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::TRAINED_IN_ONE_GO
    }

    fn validate(&self, config: &RunConfig) -> std::result::Result<(), String> {
        M::validate(&M::section_or_default(config)).map_err(|e| e.to_string())
    }

    fn resolve(&self, config: &mut RunConfig) {
        let section = M::section_or_default(config);
        *M::section_mut(config) = Some(section);
    }

    fn epochs(&self, config: &RunConfig) -> Option<usize> {
        Some(M::epochs(&M::section_or_default(config)))
    }

    fn epochs_field(&self) -> Option<&'static str> {
        Some(M::EPOCHS_FIELD)
    }

    fn fit(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
        _labels: Option<&[u8]>,
        _checkpoints: Option<&Checkpointing>,
        on_progress: &mut dyn FnMut(FitProgress<'_>),
    ) -> Result<Fitted> {
        let (model, history) = M::fit(
            M::section_or_default(config),
            config.device,
            config.seed(),
            x,
            &mut |e| on_progress(FitProgress::Epoch(e)),
        )?;
        Ok(Fitted {
            detector: Box::new(model),
            history,
            report: FitReport::None,
        })
    }

    fn untrained(
        &self,
        config: &RunConfig,
        x: FeaturesView<'_>,
    ) -> Result<Option<Box<dyn Detector>>> {
        let model = M::untrained(
            M::section_or_default(config),
            config.device,
            config.seed(),
            x,
        )?;
        Ok(Some(Box::new(model)))
    }

    fn load(&self, dir: &Path, device: Option<DeviceChoice>) -> Result<Box<dyn Detector>> {
        Ok(Box::new(M::load(dir, device)?))
    }
}
