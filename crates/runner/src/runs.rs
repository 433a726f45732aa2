//! One run of a config into a folder, the same for `dagmm train`, `gmm`, `gaussian` and every
//! run of a sweep: the pipeline runs it, then `losses.csv` (neural detectors), `model/`,
//! `config.toml`, `scores.csv`, the pictures when asked, `manifest.json`, and last
//! `summary.json` (its presence marks the run finished).

use std::path::Path;

use anyhow::{Context, Result};
use dagmm_data::Dataset;
use dagmm_pipeline::files::write_json;
use dagmm_pipeline::protocol::PreparedData;
use dagmm_pipeline::{run, RunConfig, RunEvent, RunOutput, MODEL_DIR, SUMMARY_FILE};
use indicatif::ProgressBar;

use crate::output::{write_bytes, write_losses_csv, write_scores_csv};
use crate::plots;
use crate::record::{now, Manifest, SweepEntryRecord, MANIFEST_FILE};

/// What a run writes besides its usual files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    /// `scatter.png` (truth beside prediction on the first two features) and `histogram.png`
    /// (test scores with the cut): the tutorials' pictures.
    pub pictures: bool,
}

/// Runs `config` (read from `config_file`) into `out`. `bar` shows the epochs; `sweep` is the
/// sweep entry the manifest records.
pub fn run_into(
    config: &RunConfig,
    config_file: &Path,
    out: &Path,
    bar: &ProgressBar,
    sweep: Option<&SweepEntryRecord>,
    extras: Extras,
) -> Result<RunOutput> {
    let (_, started_at) = now();
    // The judged rows as scaled, for the scatter plot.
    let mut judged: Option<Dataset> = None;
    let output = run(config, &mut |event| match event {
        RunEvent::Prepared(p) => {
            bar.println(describe(config, p));
            if extras.pictures {
                judged =
                    Dataset::new(p.test.clone(), p.test_labels.clone(), p.columns.clone()).ok();
            }
        }
        RunEvent::Epoch(e) => {
            if e.stage == dagmm_model::TrainingStage::Train {
                bar.set_position(e.epoch as u64);
            }
            let codes = e
                .codes_used
                .map(|c| format!(", {c} codes"))
                .unwrap_or_default();
            bar.set_message(format!(
                "{} loss {:.4} (recon {:.4}, energy {:.3}, penalty {:.2}, reg {:.3}{codes})",
                e.stage, e.total, e.reconstruction, e.energy, e.penalty, e.regularization
            ));
        }
    })?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    if !output.history.is_empty() {
        write_losses_csv(&out.join("losses.csv"), &output.history)?;
    }
    let model_dir = out.join(MODEL_DIR);
    output
        .detector
        .save(&model_dir)
        .with_context(|| format!("saving the detector to {}", model_dir.display()))?;
    output.card.save(&model_dir)?;
    write_bytes(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
    let t = &output.test;
    write_scores_csv(
        &out.join("scores.csv"),
        &t.indices,
        &t.scores,
        t.pu_score.as_deref(),
        &t.flagged,
        t.labels.as_deref(),
    )?;
    if let Some(data) = &judged {
        plots::scatter_truth_vs_prediction(&out.join("scatter.png"), data, &t.flagged)?;
        plots::score_histogram(
            &out.join("histogram.png"),
            &t.scores.score,
            output.summary.threshold,
            output.summary.score.as_str(),
        )?;
    }
    write_json(
        &out.join(MANIFEST_FILE),
        &Manifest::new(config, config_file, sweep, started_at, output.timings),
    )?;
    write_json(&out.join(SUMMARY_FILE), &output.summary)?;
    Ok(output)
}

/// One line about the rows: the file, the parts, the device.
fn describe(config: &RunConfig, p: &PreparedData) -> String {
    let anomalies = |n: Option<usize>| n.map_or(String::new(), |a| format!(" ({a} anomalies)"));
    let labelled = if config.needs_training_labels() {
        ", labelled"
    } else if config.evaluation.pu.is_some() {
        ", unlabelled"
    } else {
        ""
    };
    let device = if config.kind() == dagmm_pipeline::DetectorKind::Dagmm {
        format!("; device {}", config.device)
    } else {
        String::new()
    };
    format!(
        "{}: {} rows; {} split: fitting on {} rows{}{labelled}, judging {} rows{}; {}{device}",
        p.path.display(),
        p.n_rows,
        config.evaluation.split.name(),
        p.train.nrows(),
        anomalies(p.n_train_anomalies()),
        p.test.nrows(),
        anomalies(p.n_test_anomalies()),
        config.kind().name(),
    )
}
