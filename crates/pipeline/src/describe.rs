//! How a config's detector is named in a line and which loss terms its objective weighs.

use crate::RunConfig;

impl RunConfig {
    /// Whether `config`'s objective weighs the loss term `term` (named as the loss plots name it:
    /// `reconstruction`, `sample energy`, `covariance penalty`): DAGMM's family computes every term
    /// but may weigh one by 0 (E2E-AE: λ1 = λ2 = 0; GMM-EN: no reconstruction), and a term it does
    /// not optimise is not drawn. Every other detector's terms are its own objective.
    pub fn weighs_loss_term(&self, term: &str) -> bool {
        let config = self;
        if config.kind() != crate::DetectorKind::Dagmm {
            return true;
        }
        let loss = config.dagmm().loss;
        match term {
            "reconstruction" => loss.reconstruction_weight != 0.0,
            "sample energy" => loss.lambda_energy != 0.0,
            "covariance penalty" => loss.lambda_cov != 0.0,
            _ => true,
        }
    }

    /// The detector as a line names it: its kind, and for DAGMM's family the switches that make it
    /// a variant or a baseline (`dagmm (reconstruction loss only, scored by the reconstruction
    /// error)` is the paper's E2E-AE).
    pub fn detector_words(&self) -> String {
        let config = self;
        let kind = config.kind();
        if kind != crate::DetectorKind::Dagmm {
            return kind.name().to_string();
        }
        use dagmm_model::compression::CompressionKind;
        use dagmm_model::estimation::MixtureKind;
        use dagmm_model::loss::LossKind;
        use dagmm_model::{ScoreKind, ScoringMixture};
        let d = config.dagmm();
        let mut switches: Vec<&str> = Vec::new();
        match d.compression.kind {
            CompressionKind::Autoencoder => {}
            CompressionKind::Vae => switches.push("VAE compression"),
            CompressionKind::VqVae => switches.push("VQ-VAE compression"),
        }
        if d.estimation.mixture == MixtureKind::Laplacian {
            switches.push("Laplacian mixture");
        }
        if d.loss.kind == LossKind::AnomalyAware {
            switches.push("anomaly-aware loss");
        }
        if d.loss.lambda_energy == 0.0 && d.loss.lambda_cov == 0.0 {
            switches.push("reconstruction loss only");
        }
        if d.loss.reconstruction_weight == 0.0 {
            switches.push("no reconstruction loss");
        }
        if d.pretraining.is_some() {
            switches.push("layer-wise pretrained");
        }
        if d.training.freeze_compression {
            switches.push("compression frozen");
        }
        if d.training.epochs == 0 {
            switches.push("not trained");
        }
        match d.scoring.kind {
            ScoreKind::Energy => {}
            ScoreKind::EnergyPlusReconstruction => {
                switches.push("scored by energy + reconstruction error")
            }
            ScoreKind::Reconstruction => switches.push("scored by the reconstruction error"),
        }
        if d.scoring.mixture == ScoringMixture::Em {
            switches.push("mixture refitted by EM");
        }
        if switches.is_empty() {
            "dagmm".into()
        } else {
            format!("dagmm ({})", switches.join(", "))
        }
    }
}
