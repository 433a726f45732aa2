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

use crate::output::{write_bytes, write_losses_csv, write_scores_csv};
use crate::plots;
use crate::progress::EpochProgress;
use crate::record::{now, Manifest, SweepEntryRecord, MANIFEST_FILE};

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
    let mut staging = name.to_os_string();
    staging.push(STAGING_SUFFIX);
    Ok(out.with_file_name(staging))
}

/// Whether a folder name is a run's staging folder, a replaced run about to be removed or a
/// run's lock file (they are not results: `dagmm report` passes them by).
pub fn is_transient(name: &str) -> bool {
    name.ends_with(STAGING_SUFFIX)
        || name.contains(".replaced-")
        || name.ends_with(crate::lock::RUN_LOCK_SUFFIX)
}

/// What a run folder holds: anything else in an `--out` folder is the user's, and a run that
/// replaced the folder would lose it.
const RUN_ENTRIES: [&str; 12] = [
    "config.toml",
    "losses.csv",
    "scores.csv",
    "summary.json",
    "manifest.json",
    "model",
    "scatter.png",
    "histogram.png",
    "roc.png",
    "roc.svg",
    "losses.png",
    "losses.svg",
];

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

/// What a run folder holds, as a sweep and a report judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// No `summary.json` (written last): not run, or not to its end.
    Unfinished,
    /// Every file of a finished run is there and reads back.
    Finished,
    /// `summary.json` is there, but a file the run wrote is missing or does not read: the
    /// reason. A sweep runs it again; a report leaves it out.
    Damaged(String),
}

/// Judges the run folder `dir`. A finished run has `config.toml`, `manifest.json` and
/// `summary.json`, each reading back, and its per-row files: `model/` (with its card),
/// `scores.csv` and, for a detector that trains by epoch, `losses.csv`. The repository keeps
/// results without `model/` and `scores.csv` (results/README.md), so a folder lacking both is
/// finished; one lacking only one of them, or `losses.csv` beside them, is not.
pub fn run_state(dir: &Path) -> RunState {
    let summary_path = dir.join(SUMMARY_FILE);
    if !summary_path.is_file() {
        return RunState::Unfinished;
    }
    let damaged = |what: String| RunState::Damaged(what);
    let summary =
        match dagmm_pipeline::files::read_json::<dagmm_pipeline::RunSummary>(&summary_path) {
            Ok(s) => s,
            Err(e) => return damaged(format!("{SUMMARY_FILE} does not read: {e}")),
        };
    for file in ["config.toml", MANIFEST_FILE] {
        if !dir.join(file).is_file() {
            return damaged(format!("it has no {file}"));
        }
    }
    if let Err(e) = dagmm_pipeline::files::read_json::<Manifest>(&dir.join(MANIFEST_FILE)) {
        return damaged(format!("{MANIFEST_FILE} does not read: {e}"));
    }
    let model = dir.join(MODEL_DIR);
    let scores = dir.join("scores.csv");
    match (model.exists(), scores.is_file()) {
        (false, false) => {}
        (true, false) => return damaged("it has model/ but no scores.csv".into()),
        (false, true) => return damaged("it has scores.csv but no model/".into()),
        (true, true) => {
            if !model.join(dagmm_pipeline::CARD_FILE).is_file() {
                return damaged(format!("its model/ has no {}", dagmm_pipeline::CARD_FILE));
            }
            if std::fs::metadata(&scores).map_or(true, |m| m.len() == 0) {
                return damaged("its scores.csv is empty".into());
            }
            if summary.first_loss.is_some() && !dir.join("losses.csv").is_file() {
                return damaged("it has no losses.csv".into());
            }
        }
    }
    RunState::Finished
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
    let _lock = crate::lock::lock_run(out)?;
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
        plots::scatter_truth_vs_prediction(&out.join("scatter.png"), data, &t.flagged)?;
        score_histogram(out, &output)?;
    }
    if extras.run_pictures {
        run_pictures(out, &output, config)?;
    }
    let mut manifest = Manifest::new(config, config_file, sweep, started_at, output.timings);
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

/// One run's pictures: the test scores by class with the cut, the ROC curve with its AUC in the
/// legend (labelled rows), and each loss term per epoch of the main stage (a detector trained by
/// epoch).
fn run_pictures(out: &Path, output: &RunOutput, config: &RunConfig) -> Result<()> {
    use crate::charts::Axis;
    use crate::report_plots::{line_chart, loss_panels, LineChart, LossPanel, Series};
    let s = &output.summary;
    score_histogram(out, output)?;
    // The kind only: a variant's switches would not fit a one-panel figure's title.
    let kind = config.kind().name();
    if let (Some(curves), Some(auc)) = (&s.curves, s.roc_auc) {
        line_chart(
            &out.join("roc"),
            &LineChart {
                title: &format!("ROC curve: {kind}, seed {}", s.seed.unwrap_or(0)),
                x_desc: "false positive rate (log scale)",
                y_desc: "true positive rate",
                x: Axis::log_rate(1e-4),
                y: Axis::linear(0.0, 1.02),
                diagonal: true,
                cut: None,
            },
            &[Series {
                name: format!("ROC AUC {auc:.4}"),
                points: curves.roc.iter().map(|p| (p[0], p[1])).collect(),
                errors: None,
                color: None,
            }],
        )?;
    }
    let main: Vec<&dagmm_model::EpochLosses> = output
        .history
        .iter()
        .filter(|e| e.stage == dagmm_model::TrainingStage::Train)
        .collect();
    if !main.is_empty() {
        let term = |name: &str, f: fn(&dagmm_model::EpochLosses) -> f64| Series {
            name: name.into(),
            points: main.iter().map(|e| (e.epoch as f64, f(e))).collect(),
            errors: None,
            color: None,
        };
        let terms: Vec<Series> = [
            term("objective J", |e| e.total),
            term("reconstruction", |e| e.reconstruction),
            term("sample energy", |e| e.energy),
            term("covariance penalty", |e| e.penalty),
            term("variant's term", |e| e.regularization),
        ]
        .into_iter()
        // A term the method does not optimise (weighed by 0, or zero in every epoch): left out.
        .filter(|s| s.points.iter().any(|p| p.1 != 0.0) && weighs_loss_term(config, &s.name))
        .collect();
        loss_panels(
            &out.join("losses"),
            &format!("Training loss terms: {kind}"),
            &[LossPanel {
                title: format!("seed {}, {} epochs", s.seed.unwrap_or(0), main.len()),
                terms,
            }],
        )?;
    }
    Ok(())
}

/// `histogram.png`: the judged rows' scores by class with the cut. The classic detectors speak
/// log-likelihood on the terminal (`log-likelihood threshold -9.1567`), so their picture does
/// too: the same number, the same sign; every other detector's shows its score.
fn score_histogram(out: &Path, output: &RunOutput) -> Result<()> {
    let (s, t) = (&output.summary, &output.test);
    if s.score == dagmm_pipeline::ScoreName::NegativeLogLikelihood {
        let log_likelihood: Vec<f64> = t.scores.score.iter().map(|v| -v).collect();
        plots::score_histogram(
            &out.join("histogram.png"),
            &log_likelihood,
            t.labels.as_deref(),
            -s.threshold,
            "log-likelihood (rows below the cut are flagged)",
        )
    } else {
        plots::score_histogram(
            &out.join("histogram.png"),
            &t.scores.score,
            t.labels.as_deref(),
            s.threshold,
            &format!("{} (rows above the cut are flagged)", s.score.name()),
        )
    }
}

/// Whether `config`'s objective weighs the loss term `term` (named as the loss plots name it:
/// `reconstruction`, `sample energy`, `covariance penalty`): DAGMM's family computes every term
/// but may weigh one by 0 (E2E-AE: λ1 = λ2 = 0; GMM-EN: no reconstruction), and a term it does
/// not optimise is not drawn. Every other detector's terms are its own objective.
pub fn weighs_loss_term(config: &RunConfig, term: &str) -> bool {
    if config.kind() != dagmm_pipeline::DetectorKind::Dagmm {
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
pub fn detector_words(config: &RunConfig) -> String {
    let kind = config.kind();
    if kind != dagmm_pipeline::DetectorKind::Dagmm {
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
        detector_words(config),
    )
}
