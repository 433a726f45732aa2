//! One run of a config into a folder, the same for `dagmm train`, `gmm`, `gaussian` and every
//! run of a sweep. The run works in a staging folder beside its target (`OUT.partial`): the
//! config, the training's checkpoints, then `losses.csv` (neural detectors), `model/`,
//! `config.toml`, `scores.csv`, the pictures when asked, `manifest.json` and `summary.json`
//! (whose presence marks a run finished). Only when all are written does the staging folder
//! take the target's place, so a failure at any point leaves the earlier results whole; a
//! failure after a checkpoint keeps the staging folder, and `--resume` (or the sweep, run
//! again) continues from it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dagmm_data::Dataset;
use dagmm_model::Checkpointing;
use dagmm_pipeline::files::write_json;
use dagmm_pipeline::protocol::PreparedData;
use dagmm_pipeline::{run_checkpointed, RunConfig, RunEvent, RunOutput, MODEL_DIR, SUMMARY_FILE};
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

/// Whether a run continues the checkpoint an interrupted run into the same folder left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Start afresh; a checkpoint waiting in the staging folder is an error (it would be lost).
    No,
    /// Continue a checkpoint if there is one, else start afresh (`dagmm sweep`).
    IfAny,
    /// Continue a checkpoint; none is an error (`dagmm train --resume`).
    Required,
}

/// The suffix of a run's staging folder.
pub const STAGING_SUFFIX: &str = ".partial";
/// The staging folder's checkpoint folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// `OUT.partial`, the staging folder of a run into `out`.
pub fn staging_dir(out: &Path) -> Result<PathBuf> {
    let Some(name) = out.file_name() else {
        bail!(
            "--out `{}` must name a folder for the run (e.g. runs/my-run), not `.`, `..` or `/`",
            out.display()
        );
    };
    Ok(out.with_file_name(format!("{}{STAGING_SUFFIX}", name.to_string_lossy())))
}

/// Whether a folder name is a run's staging folder or a replaced run about to be removed (they
/// are not results: `dagmm report` passes them by).
pub fn is_transient(name: &str) -> bool {
    name.ends_with(STAGING_SUFFIX) || name.contains(".replaced-")
}

/// Refuses an `out` that holds something a run must not replace: a folder that is not a run
/// folder (no summary or manifest in it: it may be the user's results folder), or a run of a
/// sweep when this run is not that sweep's.
fn check_target(out: &Path, sweep: Option<&SweepEntryRecord>) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {} is a file; a run writes a folder", out.display());
    }
    let mut entries = std::fs::read_dir(out)
        .with_context(|| format!("cannot read {}", out.display()))?
        .peekable();
    if entries.peek().is_none() {
        return Ok(());
    }
    let manifest = out.join(MANIFEST_FILE);
    if !manifest.is_file() && !out.join(SUMMARY_FILE).is_file() {
        bail!(
            "{} exists and is not a run folder (no {SUMMARY_FILE} or {MANIFEST_FILE} in it); a run \
             replaces its whole folder, so choose a new --out",
            out.display()
        );
    }
    if sweep.is_none() && manifest.is_file() {
        if let Ok(m) = dagmm_pipeline::files::read_json::<Manifest>(&manifest) {
            if let Some(entry) = m.sweep {
                bail!(
                    "{} is run `{}` of a sweep; this run would replace it and mix other figures \
                     into that sweep's report: choose another --out",
                    out.display(),
                    entry.name
                );
            }
        }
    }
    Ok(())
}

/// Moves the finished `staging` folder into `out`'s place (the earlier run there, if any, is
/// removed only once the new one is in place).
fn publish(staging: &Path, out: &Path) -> Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if !out.exists() {
        return std::fs::rename(staging, out)
            .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()));
    }
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let replaced = out.with_file_name(format!("{name}.replaced-{}", std::process::id()));
    std::fs::rename(out, &replaced)
        .with_context(|| format!("cannot move {} aside", out.display()))?;
    if let Err(e) = std::fs::rename(staging, out) {
        let _ = std::fs::rename(&replaced, out);
        return Err(e)
            .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()));
    }
    std::fs::remove_dir_all(&replaced)
        .with_context(|| format!("cannot remove the replaced run {}", replaced.display()))
}

/// Runs `config` (read from `config_file`) into `out`. `bar` shows the epochs; `sweep` is the
/// sweep entry the manifest records; `resume` says what to do with a waiting checkpoint.
pub fn run_into(
    config: &RunConfig,
    config_file: &Path,
    out: &Path,
    bar: &ProgressBar,
    sweep: Option<&SweepEntryRecord>,
    extras: Extras,
    resume: Resume,
) -> Result<RunOutput> {
    let staging = staging_dir(out)?;
    check_target(out, sweep)?;
    let checkpoint_dir = staging.join(CHECKPOINT_DIR);
    let waiting = Checkpointing::read(&checkpoint_dir)?;
    match (resume, &waiting) {
        (Resume::No, Some(c)) => bail!(
            "{} holds the checkpoint of an interrupted run (epoch {} of {}): `dagmm train \
             --resume --out {}` continues it; delete {} to start again",
            staging.display(),
            c.epochs_done,
            c.epochs_planned,
            out.display(),
            staging.display()
        ),
        (Resume::Required, None) => bail!(
            "nothing to resume: {} holds no checkpoint (a run into {} saves one every \
             training.checkpoint_every epochs)",
            checkpoint_dir.display(),
            out.display()
        ),
        _ => {}
    }
    if waiting.is_none() && staging.exists() {
        // What a run that failed before its first checkpoint left.
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    if let Some(c) = &waiting {
        // Said on stderr even without a terminal: a log shows where the run picked up.
        bar.suspend(|| {
            eprintln!(
                "resuming {} from its checkpoint after epoch {} of {}",
                out.display(),
                c.epochs_done,
                c.epochs_planned
            )
        });
    }
    let result = write_run(config, config_file, &staging, bar, sweep, extras, &waiting);
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            return Err(match Checkpointing::read(&checkpoint_dir).ok().flatten() {
                Some(c) => e.context(format!(
                    "the checkpoint after epoch {} is kept in {}; {} continues it",
                    c.epochs_done,
                    checkpoint_dir.display(),
                    match resume {
                        Resume::IfAny => "running the sweep again".to_string(),
                        _ => format!("`dagmm train --resume --out {}`", out.display()),
                    }
                )),
                None => {
                    let _ = std::fs::remove_dir_all(&staging);
                    e
                }
            });
        }
    };
    publish(&staging, out)?;
    Ok(output)
}

/// The run itself, into the staging folder; its checkpoint folder is removed once every result
/// is written.
fn write_run(
    config: &RunConfig,
    config_file: &Path,
    out: &Path,
    bar: &ProgressBar,
    sweep: Option<&SweepEntryRecord>,
    extras: Extras,
    waiting: &Option<dagmm_model::CheckpointFile>,
) -> Result<RunOutput> {
    let (_, started_at) = now();
    // The resolved config first: `dagmm train --resume --out DIR` reads it back.
    write_bytes(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
    let checkpoint_dir = out.join(CHECKPOINT_DIR);
    let checkpoints =
        (config.kind() == dagmm_pipeline::DetectorKind::Dagmm).then(|| Checkpointing {
            dir: checkpoint_dir.clone(),
            resume: waiting.is_some(),
        });
    // The judged rows as scaled, for the scatter plot.
    let mut judged: Option<Dataset> = None;
    let output = run_checkpointed(config, checkpoints.as_ref(), &mut |event| match event {
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
    if !output.history.is_empty() {
        write_losses_csv(&out.join("losses.csv"), &output.history)?;
    }
    let model_dir = out.join(MODEL_DIR);
    output
        .detector
        .save(&model_dir)
        .with_context(|| format!("saving the detector to {}", model_dir.display()))?;
    output.card.save(&model_dir)?;
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
    let mut manifest = Manifest::new(config, config_file, sweep, started_at, output.timings);
    manifest.resumed_after_epoch = waiting.as_ref().map(|c| c.epochs_done);
    write_json(&out.join(MANIFEST_FILE), &manifest)?;
    write_json(&out.join(SUMMARY_FILE), &output.summary)?;
    if checkpoint_dir.exists() {
        std::fs::remove_dir_all(&checkpoint_dir)
            .with_context(|| format!("cannot remove {}", checkpoint_dir.display()))?;
    }
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
