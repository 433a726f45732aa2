//! The config a run gets when it names none: DAGMM on a data file of any width, under the DAGMM
//! paper's protocol where the rows are labelled. The paper's networks are tied to its data sets
//! (KDDCUP's 118 features: 60-30-10-1, four components; Thyroid's 6: 12-4-1, two components);
//! here the shape follows the width the same way, and the epochs follow the rows so that a run
//! takes about the paper's number of optimiser steps (KDDCUP: 200 epochs of 242 batches, about
//! 48,000 steps; Thyroid: 20,000 epochs of 2 batches, about 40,000).

use std::path::Path;

use serde::Deserialize;

use crate::config::{apply_override, RunConfig};
use crate::detectors::DetectorKind;
use crate::{PipelineError, Result};

/// What the default config needs to know of the data: read from the file first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataShape {
    pub rows: usize,
    pub features: usize,
    /// Whether the rows carry 0/1 labels.
    pub labelled: bool,
}

/// The optimiser steps a default run aims at (the paper's KDDCUP and Thyroid runs take 40,000
/// to 48,000).
pub const DEFAULT_STEPS: usize = 40_000;
/// Rows per batch (the paper's 1024).
pub const DEFAULT_BATCH: usize = 1024;

/// The encoder widths after the input, and the mixture's components, for `features` inputs:
/// KDDCUP's network from 64 features up, Thyroid's below.
pub fn default_network(features: usize) -> (Vec<usize>, usize) {
    if features >= 64 {
        (vec![60, 30, 10, 1], 4)
    } else {
        (vec![12, 4, 1], 2)
    }
}

/// Epochs of `DEFAULT_BATCH` rows that make about [`DEFAULT_STEPS`] steps on `train_rows` rows,
/// between 200 (KDDCUP's) and 20,000 (Thyroid's).
pub fn default_epochs(train_rows: usize) -> usize {
    let steps_per_epoch = train_rows.div_ceil(DEFAULT_BATCH).max(1);
    DEFAULT_STEPS.div_ceil(steps_per_epoch).clamp(200, 20_000)
}

/// The default config's TOML for the data file `path` (`label_column` for a CSV) of `shape`, for
/// a detector of `kind`. Labelled rows: the paper's protocol (a seeded half split, fit on the
/// normal rows of one half, the cut at the judged half's anomaly ratio). Unlabelled rows: fit
/// on every row and flag `evaluation.anomaly_percentile` percent of them, which the caller must
/// then set. DAGMM gets the network and epochs above; DCN the same autoencoder and clusters; the
/// other detectors their own defaults.
pub fn default_config_toml(
    path: &Path,
    label_column: Option<&str>,
    shape: DataShape,
    kind: DetectorKind,
) -> String {
    let (layers, components) = default_network(shape.features);
    let train_rows = if shape.labelled {
        shape.rows / 2
    } else {
        shape.rows
    };
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = format!(
        "# The default config for {file}: {kind} on {features} features.\n\
         [model]\nkind = \"{kind}\"\n\
         [data]\nsource = \"file\"\npath = {path}\nscaling = \"min_max\"\n",
        file = path.display(),
        kind = kind.name(),
        features = shape.features,
        path = quote(&path.display().to_string()),
    );
    if let Some(label) = label_column {
        text.push_str(&format!("label_column = {}\n", quote(label)));
    }
    text.push_str(if shape.labelled {
        "[evaluation]\nsplit = \"paper\"\nthreshold = \"test_contamination\"\n"
    } else {
        "[evaluation]\nsplit = \"all_rows\"\n"
    });
    match kind {
        DetectorKind::Dagmm => text.push_str(&format!(
            "[compression]\nencoder_layers = {layers:?}\n\
             [estimation]\nn_components = {components}\nhidden_layers = [10]\n\
             [training]\nbatch_size = {DEFAULT_BATCH}\nepochs = {}\nlearning_rate = 1e-4\n",
            default_epochs(train_rows)
        )),
        DetectorKind::Dcn => text.push_str(&format!(
            "[dcn]\nencoder_layers = {layers:?}\nn_clusters = {components}\n"
        )),
        DetectorKind::Gmm => text.push_str(&format!("[gmm]\nn_components = {components}\n")),
        DetectorKind::Gaussian | DetectorKind::Ocsvm | DetectorKind::Dsebm => {}
    }
    text
}

/// The detector the overrides choose (`model.kind=...`), DAGMM if none does.
fn kind_of(overrides: &[String]) -> Result<DetectorKind> {
    let mut table = toml::Table::new();
    for o in overrides {
        if o.split_once('=')
            .is_some_and(|(k, _)| k.trim() == "model.kind")
        {
            apply_override(&mut table, o).map_err(PipelineError::Invalid)?;
        }
    }
    match table.get("model").and_then(|m| m.get("kind")) {
        None => Ok(DetectorKind::Dagmm),
        Some(v) => DetectorKind::deserialize(v.clone())
            .map_err(|e| PipelineError::Invalid(format!("override `model.kind={v}`: {e}"))),
    }
}

/// The default config for `path` of `shape`, with `overrides` applied (as `--set`); a
/// `model.kind` among them chooses the detector whose defaults are laid down first.
pub fn default_config(
    path: &Path,
    label_column: Option<&str>,
    shape: DataShape,
    overrides: &[String],
) -> Result<RunConfig> {
    let sets = |key: &str| {
        overrides
            .iter()
            .any(|o| o.split_once('=').is_some_and(|(k, _)| k.trim() == key))
    };
    if !shape.labelled && !sets("evaluation.anomaly_percentile") && !sets("evaluation.threshold") {
        return Err(PipelineError::Invalid(format!(
            "{} has no labels{}: say which share of its rows to flag, e.g. --set \
             evaluation.anomaly_percentile=5 (a sweep entry: set = [\"evaluation.anomaly_percentile=5\"])",
            path.display(),
            if label_column.is_none() {
                " (a CSV names its label column with --label-column)"
            } else {
                ""
            }
        )));
    }
    let text = default_config_toml(path, label_column, shape, kind_of(overrides)?);
    RunConfig::from_toml(
        &text,
        overrides,
        Path::new(&format!("the default config for {}", path.display())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_and_the_epochs_follow_the_data_as_the_papers_do() {
        // KDDCUP (118 features, 247,000 training rows): the paper's 60-30-10-1, K = 4, 200 epochs.
        assert_eq!(default_network(118), (vec![60, 30, 10, 1], 4));
        assert_eq!(default_epochs(247_000), 200);
        // Thyroid (6 features, 1,886 training rows): 12-4-1, K = 2, 20,000 epochs.
        assert_eq!(default_network(6), (vec![12, 4, 1], 2));
        assert_eq!(default_epochs(1_886), 20_000);
        // In between: about 40,000 steps.
        assert_eq!(default_epochs(20_480), 2_000);

        let shape = DataShape {
            rows: 4_000,
            features: 21,
            labelled: true,
        };
        let c = default_config(Path::new("my data.csv"), Some("label"), shape, &[]).unwrap();
        assert_eq!(c.kind(), DetectorKind::Dagmm);
        assert_eq!(c.data.path.as_deref(), Some(Path::new("my data.csv")));
        assert_eq!(c.data.label_column.as_deref(), Some("label"));
        let d = c.dagmm();
        assert_eq!(d.compression.encoder_layers, vec![12, 4, 1]);
        assert_eq!(d.estimation.n_components, 2);
        assert_eq!(d.training.epochs, 20_000);
        assert_eq!(d.training.batch_size, 1024);

        // Overrides apply on top, and name the default config when they are wrong; another
        // detector gets its own sections.
        let gmm = default_config(
            Path::new("x.npz"),
            None,
            shape,
            &["model.kind=\"gmm\"".into()],
        )
        .unwrap();
        assert_eq!(gmm.kind(), DetectorKind::Gmm);
        assert_eq!(gmm.gmm.as_ref().unwrap().n_components, 2);
        let dcn =
            default_config(Path::new("x.npz"), None, shape, &["model.kind=dcn".into()]).unwrap();
        assert_eq!(dcn.dcn.as_ref().unwrap().encoder_layers, vec![12, 4, 1]);
        for kind in ["gaussian", "ocsvm", "dsebm"] {
            let c = default_config(
                Path::new("x.npz"),
                None,
                shape,
                &[format!("model.kind={kind}")],
            )
            .unwrap();
            assert_eq!(c.kind().name(), kind);
        }
        assert!(
            default_config(Path::new("x.npz"), None, shape, &["model.kind=svm".into()]).is_err()
        );
        let c = default_config(
            Path::new("x.npz"),
            None,
            shape,
            &[
                "training.epochs=3".into(),
                "estimation.n_components=5".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.dagmm().training.epochs, 3);
        assert_eq!(c.dagmm().estimation.n_components, 5);
        let err = default_config(
            Path::new("x.npz"),
            None,
            shape,
            &["training.epochz=3".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("the default config for x.npz"), "{err}");

        // Unlabelled rows: every row is fitted on and judged; the share to flag is the caller's.
        let unlabelled = DataShape {
            labelled: false,
            ..shape
        };
        let err = default_config(Path::new("x.npz"), None, unlabelled, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("anomaly_percentile"), "{err}");
        let c = default_config(
            Path::new("x.npz"),
            None,
            unlabelled,
            &["evaluation.anomaly_percentile=5".into()],
        )
        .unwrap();
        assert_eq!(c.evaluation.anomaly_percentile, Some(5.0));
    }
}
