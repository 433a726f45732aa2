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
use dagmm_model::{Checkpointing, CHECKPOINT_FILE};
use dagmm_pipeline::files::write_json;
use dagmm_pipeline::protocol::PreparedData;
use dagmm_pipeline::{run_checkpointed, RunConfig, RunEvent, RunOutput, MODEL_DIR, SUMMARY_FILE};

use dagmm_report::run_pictures::{run_histogram, run_pictures, scatter_truth_vs_prediction};
use dagmm_run_folder::lock;
use dagmm_run_folder::manifest::{now, Manifest, SweepEntryRecord, MANIFEST_FILE};
use dagmm_run_folder::state::{CHECKPOINT_DIR, RUN_ENTRIES, STAGING_SUFFIX};

use crate::output::{write_bytes, write_losses_csv, write_scores_csv};
use crate::progress::EpochProgress;
use crate::record::new_manifest;

/// What a run writes besides its usual files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    /// `scatter.png` (truth beside prediction on the first two features) and `histogram.png`
    /// (test scores with the cut): the tutorials' pictures.
    pub pictures: bool,
    /// `histogram.png`, `roc.png`/`.svg` (labelled rows) and `losses.png`/`.svg` (a detector
    /// trained by epoch): one run's pictures (`dagmm train`).
    pub run_pictures: bool,
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

/// `OUT.partial`, the staging folder of a run into `out`.
pub fn staging_dir(out: &Path) -> Result<PathBuf> {
    let Some(name) = out.file_name() else {
        bail!(
            "--out `{}` must name a folder for the run (e.g. runs/my-run), not `.`, `..` or `/`",
            out.display()
        );
    };
    let mut staging = name.to_os_string();
    staging.push(STAGING_SUFFIX);
    Ok(out.with_file_name(staging))
}

/// Refuses an `out` that holds something a run must not replace: a folder that is not a run
/// folder of this tool (its manifest must read as one), a run folder with files a run does not
/// write, or a run of a sweep when this run is not that sweep's.
fn check_target(out: &Path, sweep: Option<&SweepEntryRecord>) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {} is a file; a run writes a folder", out.display());
    }
    let names: Vec<String> = std::fs::read_dir(out)
        .with_context(|| format!("cannot read {}", out.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let manifest = out.join(MANIFEST_FILE);
    let only_run_files = names.iter().all(|n| RUN_ENTRIES.contains(&n.as_str()));
    let Ok(m) = dagmm_pipeline::files::read_json::<Manifest>(&manifest) else {
        if sweep.is_some() && only_run_files && out.join(SUMMARY_FILE).is_file() {
            // A run of this sweep that lost its manifest: the sweep runs it again.
            return Ok(());
        }
        bail!(
            "{} exists and is not a run folder (no dagmm {MANIFEST_FILE} in it); a run replaces \
             its whole folder, so choose a new --out",
            out.display()
        );
    };
    let foreign: Vec<&String> = names
        .iter()
        .filter(|n| !RUN_ENTRIES.contains(&n.as_str()))
        .collect();
    if !foreign.is_empty() {
        bail!(
            "{} is a run folder holding files a run does not write ({}); a run replaces its \
             whole folder, so move them or choose another --out",
            out.display(),
            foreign
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let (None, Some(entry)) = (sweep, m.sweep) {
        bail!(
            "{} is run `{}` of a sweep; this run would replace it and mix other figures into that \
             sweep's report: choose another --out",
            out.display(),
            entry.name
        );
    }
    Ok(())
}

/// Finishes a publication a kill interrupted: `OUT` moved aside as `OUT.replaced-PID` and the
/// finished staging folder not yet in its place (it is put there), or the replaced run not yet
/// removed (it is removed).
pub fn recover_interrupted_publish(out: &Path) -> Result<()> {
    let staging = staging_dir(out)?;
    let staged_and_finished = staging.join(SUMMARY_FILE).is_file()
        && !staging.join(CHECKPOINT_DIR).join(CHECKPOINT_FILE).is_file();
    if !out.exists() && staged_and_finished {
        std::fs::rename(&staging, out)
            .with_context(|| format!("cannot move {} to {}", staging.display(), out.display()))?;
    }
    let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!("{}.replaced-", name.to_string_lossy());
    if out.exists() {
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    std::fs::remove_dir_all(e.path()).with_context(|| {
                        format!("cannot remove the replaced run {}", e.path().display())
                    })?;
                }
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

/// Runs `config` (read from `config_file`) into `out`. `progress` shows the epochs; `sweep` is the
/// sweep entry the manifest records; `resume` says what to do with a waiting checkpoint.
pub fn run_into(
    config: &RunConfig,
    config_file: &Path,
    out: &Path,
    progress: &EpochProgress,
    sweep: Option<&SweepEntryRecord>,
    extras: Extras,
    resume: Resume,
) -> Result<RunOutput> {
    let staging = staging_dir(out)?;
    // This process owns `out`, its staging folder and its publication until the run ends.
    let _lock = lock::lock_run(out)?;
    recover_interrupted_publish(out)?;
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
    if let Some(c) = &waiting {
        if resume != Resume::No {
            Checkpointing::check(&checkpoint_dir, c).map_err(|e| {
                anyhow::anyhow!(
                    "{e}: the checkpoint in {} is damaged and cannot be continued; delete {} to \
                     start the run again",
                    checkpoint_dir.display(),
                    staging.display()
                )
            })?;
        }
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
        progress.suspend(|| {
            eprintln!(
                "resuming {} from its checkpoint after epoch {} of {}",
                out.display(),
                c.epochs_done,
                c.epochs_planned
            )
        });
    }
    let resumed_after = waiting.map(|c| c.epochs_done);
    let result = write_run(
        config,
        config_file,
        &staging,
        progress,
        sweep,
        extras,
        resumed_after,
    );
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            let cause = format!("{e:#}");
            return Err(match Checkpointing::read(&checkpoint_dir).ok().flatten() {
                // A checkpoint file that does not load (its weights or Adam state cut short or
                // damaged): the file first, and no advice to resume it again.
                Some(c)
                    if resumed_after == Some(c.epochs_done)
                        && cause.starts_with(&checkpoint_dir.display().to_string()) =>
                {
                    anyhow::anyhow!(
                        "{cause}: the checkpoint in {} is damaged and cannot be continued; \
                         delete {} to start the run again",
                        checkpoint_dir.display(),
                        staging.display()
                    )
                }
                Some(c) => e.context(format!(
                    "{} holds the checkpoint after epoch {}: {} continues from it (a loss that \
                     went non-finite wants a changed setting, e.g. --set \
                     training.learning_rate=...); delete {} to start again",
                    checkpoint_dir.display(),
                    c.epochs_done,
                    match resume {
                        Resume::IfAny => "running the sweep again".to_string(),
                        _ => format!("`dagmm train --resume --out {}`", out.display()),
                    },
                    staging.display()
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

/// The run itself, into the staging folder, continuing the checkpoint there when
/// `resumed_after` says one waits; its checkpoint folder is removed once every result is
/// written.
fn write_run(
    config: &RunConfig,
    config_file: &Path,
    out: &Path,
    progress: &EpochProgress,
    sweep: Option<&SweepEntryRecord>,
    extras: Extras,
    resumed_after: Option<usize>,
) -> Result<RunOutput> {
    let (_, started_at) = now();
    // The resolved config first: `dagmm train --resume --out DIR` reads it back.
    write_bytes(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
    let checkpoint_dir = out.join(CHECKPOINT_DIR);
    let checkpoints = config
        .kind()
        .capabilities()
        .checkpoints
        .then(|| Checkpointing {
            dir: checkpoint_dir.clone(),
            resume: resumed_after.is_some(),
        });
    // The judged rows' first two columns as scaled: all the scatter plot draws.
    let mut judged: Option<Dataset> = None;
    let output = run_checkpointed(config, checkpoints.as_ref(), &mut |event| match event {
        RunEvent::Prepared(p) => {
            progress.println(&describe(config, p));
            if let Some(w) = numeric_header_warning(&p.path, &p.columns) {
                progress.suspend(|| eprintln!("{w}"));
            }
            if p.train.ncols() > p.train.nrows() {
                // Said even without a terminal: it explains a poor or singular fit.
                progress.suspend(|| {
                    eprintln!(
                        "warning: {} features outnumber the {} rows fitted on: a covariance \
                         estimated from them is singular (held up only by its regularisation) \
                         and a network can memorise them; consider fewer features or more rows",
                        p.train.ncols(),
                        p.train.nrows()
                    )
                });
            }
            if extras.pictures {
                let x = p.test().view().leading_columns_f64(2);
                let columns = p.columns[..x.ncols()].to_vec();
                judged = Dataset::new(x, p.test_labels.clone(), columns).ok();
            }
        }
        RunEvent::Epoch(e) => progress.epoch(e),
        RunEvent::EmIteration(i) => progress.em_iteration(i),
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
        scatter_truth_vs_prediction(&out.join("scatter.png"), data, &t.flagged)?;
        run_histogram(out, &output)?;
    }
    if extras.run_pictures {
        run_pictures(out, &output, config)?;
    }
    let mut manifest = new_manifest(config, config_file, sweep, started_at, output.timings);
    manifest.resumed_after_epoch = resumed_after;
    write_json(&out.join(MANIFEST_FILE), &manifest)?;
    write_json(&out.join(SUMMARY_FILE), &output.summary)?;
    if checkpoint_dir.exists() {
        std::fs::remove_dir_all(&checkpoint_dir)
            .with_context(|| format!("cannot remove {}", checkpoint_dir.display()))?;
    }
    Ok(output)
}

/// A warning for a CSV file whose every header cell reads as a number: most likely a file
/// without a header, whose first row was taken as the column names and is not among the rows.
pub fn numeric_header_warning(path: &Path, columns: &[String]) -> Option<String> {
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    (csv && !columns.is_empty() && columns.iter().all(|c| c.trim().parse::<f64>().is_ok())).then(
        || {
            format!(
                "warning: every cell of the first line of {} is a number ({}, …), and it was \
                 read as the header (the column names): if the file has no header, its first \
                 row is missing from the data; add a header line",
                path.display(),
                columns
                    .iter()
                    .take(3)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    )
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
    let device = if config.kind().capabilities().uses_device {
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
        p.test().nrows(),
        anomalies(p.n_test_anomalies()),
        config.detector_words(),
    )
}
