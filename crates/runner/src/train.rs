//! `dagmm train` and `dagmm score`: the DAGMM protocol end to end. Prepare the split, score the
//! untrained network (the control), train, fit the mixture on the whole training set, score the
//! test half, threshold the top energies, and write the summary, the losses and the model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use dagmm_data::scaling::Scaler;
use dagmm_data::split::split_halves;
use dagmm_data::{Dataset, LoadOptions};
use dagmm_evaluation::{
    evaluate, flag, percentile_sweep, resolve_threshold, Direction, Metrics, PuConfig, PuThreshold,
    SweepRow, Threshold,
};
use dagmm_model::{Dagmm, EpochLosses, Scores};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, ArrayView2};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::cli::{ScoreArgs, TrainArgs};
use crate::run_config::{data_path, RunConfig, Source};
use crate::{output, record};

/// The split of a run: scaled training rows (the normal rows of the training half, or the whole
/// half when the config trains on it) and scaled test rows with labels.
pub struct Prepared {
    pub path: PathBuf,
    pub train: Array2<f64>,
    /// Labels of the training rows (all 0 unless the whole half is kept).
    pub train_labels: Vec<u8>,
    pub test: Array2<f64>,
    pub test_labels: Vec<u8>,
    /// Row numbers of the test rows in the loaded data set.
    pub test_indices: Vec<usize>,
    pub scaler: Scaler,
    pub columns: Vec<String>,
    pub n_rows: usize,
}

/// Loads the configured data set and applies the DAGMM protocol's split and scaling.
pub fn prepare(config: &RunConfig) -> Result<Prepared> {
    let data = &config.data;
    let path = data_path(data)?;
    let mut ds = dagmm_data::load(
        &path,
        LoadOptions {
            label_column: data.label_column.as_deref(),
            names: data.names.as_deref(),
        },
    )?;
    if data.source == Source::KddcupRev {
        ds = dagmm_data::kddcup::kddcup_rev(&ds, config.split_seed())?;
    }
    if ds.labels.is_none() {
        bail!("{}: the data have no labels; `dagmm train` evaluates against labels (data.label_column)", path.display());
    }
    let split = split_halves(
        &ds,
        data.train_fraction,
        config.split_seed(),
        config.trains_on_whole_half(),
    )?;
    let scaler = Scaler::fit(data.scaling, split.train.features.view())?;
    Ok(Prepared {
        train: scaler.transform(split.train.features.view())?,
        train_labels: split.train.labels.clone().expect("labelled"),
        test: scaler.transform(split.test.features.view())?,
        test_labels: split.test.labels.clone().expect("labelled"),
        test_indices: split.test_indices,
        scaler,
        columns: ds.columns.clone(),
        n_rows: ds.n_rows(),
        path,
    })
}

/// Metrics of energies at the config's percentile, and the sweep.
fn assess(
    config: &RunConfig,
    energy: &[f64],
    labels: &[u8],
) -> Result<(f64, Metrics, Vec<SweepRow>)> {
    if let Some(i) = energy.iter().position(|e| !e.is_finite()) {
        bail!(
            "the score of test row {i} is {}: the model diverged",
            energy[i]
        );
    }
    let direction = Direction::HighIsAnomalous;
    let cut = resolve_threshold(
        energy,
        &Threshold::Percentile(config.evaluation.anomaly_percentile),
        direction,
    )?;
    let metrics = evaluate(energy, labels, cut, direction)?;
    let sweep = percentile_sweep(
        energy,
        labels,
        &config.evaluation.sweep_percentiles,
        direction,
    )?;
    Ok((cut, metrics, sweep))
}

/// The PU decision of seed 002's modification 5 for one model: the classifier's inputs are
/// each row's `[z, energy, ‖x − x'‖²]`; a seeded `labelled_fraction` of the normal training rows
/// is labelled; rows are flagged when `h(x) < c/2`, i.e. when `1 − h/c > 0.5`.
struct PuOutcome {
    metrics: Metrics,
    /// `1 − h/c` of the test rows.
    score: Vec<f64>,
    /// The test rows flagged by `h < c/2`.
    flagged: Vec<u8>,
    threshold: PuThreshold,
    labelled: usize,
}

fn pu_features(s: &Scores) -> Vec<f64> {
    let mut v = Vec::with_capacity(s.energy.len() * (s.z.ncols() + 2));
    for (i, row) in s.z.rows().into_iter().enumerate() {
        v.extend(row.iter());
        v.push(s.energy[i]);
        v.push(s.reconstruction_error[i]);
    }
    v
}

fn pu_assess(
    pu: &PuConfig,
    seed: u64,
    model: &Dagmm,
    prepared: &Prepared,
    test_scores: &Scores,
) -> Result<PuOutcome> {
    let train_scores = model.score(prepared.train.view())?;
    let nf = train_scores.z.ncols() + 2;
    let normal: Vec<usize> = (0..prepared.train_labels.len())
        .filter(|&i| prepared.train_labels[i] == 0)
        .collect();
    let n_labelled = ((normal.len() as f64) * pu.labelled_fraction).round() as usize;
    let mut labelled = vec![false; prepared.train.nrows()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for k in sample(&mut rng, normal.len(), n_labelled.min(normal.len())) {
        labelled[normal[k]] = true;
    }
    let threshold = PuThreshold::fit(&pu_features(&train_scores), nf, &labelled, pu)
        .context("fitting the PU classifier")?;
    let features = pu_features(test_scores);
    let score = threshold.anomaly_score(&features)?;
    let flagged = threshold.flag(&features)?;
    let metrics = evaluate(
        &score,
        &prepared.test_labels,
        0.5,
        Direction::HighIsAnomalous,
    )?;
    Ok(PuOutcome {
        metrics,
        score,
        flagged,
        threshold,
        labelled: n_labelled,
    })
}

fn losses_csv(history: &[EpochLosses]) -> String {
    let mut text = String::from(
        "epoch,total,reconstruction,energy,penalty,regularization,codes_used,code_perplexity,seconds\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for e in history {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            e.epoch,
            e.total,
            e.reconstruction,
            e.energy,
            e.penalty,
            e.regularization,
            opt(e.codes_used.map(|c| c.to_string())),
            opt(e.code_perplexity.map(|c| c.to_string())),
            e.seconds
        ));
    }
    text
}

fn progress_bar(epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:28} epoch {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]",
    ) {
        bar.set_style(style);
    }
    bar
}

/// The overrides `dagmm train`'s shorthands stand for, after the `--set` ones.
pub fn train_overrides(args: &TrainArgs) -> Vec<String> {
    let mut overrides = args.set.clone();
    if let Some(e) = args.epochs {
        overrides.push(format!("training.epochs={e}"));
    }
    if let Some(s) = args.seed {
        overrides.push(format!("training.seed={s}"));
    }
    if let Some(d) = &args.device {
        overrides.push(format!("device=\"{d}\""));
    }
    overrides
}

pub fn run_train(args: &TrainArgs) -> Result<()> {
    let config = RunConfig::load(&args.config, &train_overrides(args))?;
    let bar = progress_bar(config.training.epochs);
    let summary = train_run(&config, &args.config, &args.out, &bar, &Value::Null)?;
    println!(
        "precision {:.4}, recall {:.4}, F1 {:.4}, ROC AUC {:.4} (untrained: F1 {:.4}, ROC AUC {:.4}); {:.0} samples/s; wrote {}",
        summary["precision"].as_f64().unwrap_or(f64::NAN),
        summary["recall"].as_f64().unwrap_or(f64::NAN),
        summary["f1"].as_f64().unwrap_or(f64::NAN),
        summary["roc_auc"].as_f64().unwrap_or(f64::NAN),
        summary["untrained_f1"].as_f64().unwrap_or(f64::NAN),
        summary["untrained_roc_auc"].as_f64().unwrap_or(f64::NAN),
        summary["samples_per_second"].as_f64().unwrap_or(f64::NAN),
        args.out.display()
    );
    Ok(())
}

/// One run of the DAGMM protocol into `out`: `losses.csv`, `model/`, `config.toml`,
/// `scores.csv`, `manifest.json`, and last `summary.json` (its presence marks the run finished).
/// `bar` shows the epochs; `sweep` is recorded in the manifest (the sweep entry, paper figures).
pub fn train_run(
    config: &RunConfig,
    config_file: &Path,
    out: &Path,
    bar: &ProgressBar,
    sweep_entry: &Value,
) -> Result<Value> {
    let wall = Instant::now();
    let (_, started_at) = record::now();
    // The device first: one that cannot start fails the run before the data are read.
    config.device.try_device()?;
    let prepared = prepare(config)?;
    let load_seconds = wall.elapsed().as_secs_f64();
    let model_config = config.model();
    let n_train_anomalies = prepared.train_labels.iter().filter(|&&l| l == 1).count();
    bar.println(format!(
        "{}: {} rows; training on {} rows ({} anomalies{}), testing on {} ({} anomalies); device {}",
        prepared.path.display(),
        prepared.n_rows,
        prepared.train.nrows(),
        n_train_anomalies,
        if config.loss.needs_labels() {
            ", labelled"
        } else if config.evaluation.pu.is_some() {
            ", unlabelled"
        } else {
            ""
        },
        prepared.test.nrows(),
        prepared.test_labels.iter().filter(|&&l| l == 1).count(),
        config.device
    ));
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let untrained_started = Instant::now();

    // The control: the same network at its initial weights, the same protocol.
    let pu_seed = config
        .evaluation
        .pu
        .as_ref()
        .map_or(0, |p| p.seed ^ config.training.seed);
    let untrained = Dagmm::untrained(model_config.clone(), prepared.train.view())?;
    let untrained_scores = untrained.score(prepared.test.view())?;
    let (_, mut untrained_metrics, _) =
        assess(config, &untrained_scores.score, &prepared.test_labels)?;
    if let Some(pu) = &config.evaluation.pu {
        untrained_metrics =
            pu_assess(pu, pu_seed, &untrained, &prepared, &untrained_scores)?.metrics;
    }

    let untrained_seconds = untrained_started.elapsed().as_secs_f64();
    let started = Instant::now();
    let labels = config
        .loss
        .needs_labels()
        .then_some(prepared.train_labels.as_slice());
    let fitted = Dagmm::fit_labelled(
        model_config,
        prepared.train.view(),
        labels,
        &mut |e: &EpochLosses| {
            bar.set_position(e.epoch as u64);
            let codes = e
                .codes_used
                .map(|c| format!(", {c} codes"))
                .unwrap_or_default();
            bar.set_message(format!(
                "loss {:.4} (recon {:.4}, energy {:.3}, penalty {:.2}, reg {:.3}{codes})",
                e.total, e.reconstruction, e.energy, e.penalty, e.regularization
            ));
        },
    );
    let (mut model, history) = fitted?;
    let fit_seconds = started.elapsed().as_secs_f64();
    output::write_bytes(&out.join("losses.csv"), losses_csv(&history).as_bytes())?;
    if let Some(e) = history.iter().find(|e| !e.total.is_finite()) {
        bail!(
            "the loss became {} at epoch {}; losses.csv holds the history",
            e.total,
            e.epoch
        );
    }
    let train_seconds: f64 = history.iter().map(|e| e.seconds).sum();
    let rows_trained: usize = history.iter().map(|e| e.rows).sum();

    let score_started = Instant::now();
    let scores = model.score(prepared.test.view())?;
    let (cut, percentile_metrics, sweep) = assess(config, &scores.score, &prepared.test_labels)?;
    let mut curves = record::curves(&scores.score, &prepared.test_labels, cut)?;
    let mut flagged = flag(&scores.score, cut, Direction::HighIsAnomalous);
    let mut metrics = percentile_metrics.clone();
    let mut pu_summary = Value::Null;
    let mut pu_decision = Value::Null;
    if let Some(pu) = &config.evaluation.pu {
        let outcome = pu_assess(pu, pu_seed, &model, &prepared, &scores)?;
        pu_decision = serde_json::to_value(&outcome.threshold)?;
        flagged = outcome.flagged;
        curves = record::curves(&outcome.score, &prepared.test_labels, 0.5)?;
        pu_summary = json!({
            "c": outcome.threshold.c(),
            "threshold": outcome.threshold.threshold(),
            "labelling_rate": outcome.threshold.labelling_rate(),
            "labelled": outcome.labelled,
            "labelled_fit": outcome.threshold.n_labelled_fit(),
            "held_out": outcome.threshold.n_held_out(),
            "unlabelled": outcome.threshold.n_unlabelled(),
            "classifier_converged": outcome.threshold.classifier().converged(),
            "percentile_metrics": percentile_metrics,
        });
        metrics = outcome.metrics;
    }

    model.set_metadata(json!({
        "scaler": prepared.scaler,
        "columns": prepared.columns,
        "score": model.config().scoring.kind,
        // How the run flagged rows: "percentile" (score above `threshold`) or "pu" (the
        // classifier in `pu`, `h < c/2`); `dagmm score` flags new rows the same way.
        "decision": if config.evaluation.pu.is_some() { "pu" } else { "percentile" },
        "pu": pu_decision,
        "threshold": cut,
        "anomaly_percentile": config.evaluation.anomaly_percentile,
        "data": config.data,
    }));
    let model_dir = out.join("model");
    model
        .save(&model_dir)
        .with_context(|| format!("saving the model to {}", model_dir.display()))?;
    output::write_bytes(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
    write_test_scores(&out.join("scores.csv"), &prepared, &scores, &flagged)?;
    let score_seconds = score_started.elapsed().as_secs_f64();
    let timings = json!({
        "started_at": started_at,
        "load_seconds": load_seconds,
        "untrained_seconds": untrained_seconds,
        "fit_seconds": fit_seconds,
        "train_seconds": train_seconds,
        "score_seconds": score_seconds,
        "wall_seconds": wall.elapsed().as_secs_f64(),
    });
    output::write_json(
        &out.join("manifest.json"),
        &record::manifest(
            &serde_json::to_value(config)?,
            config_file,
            sweep_entry,
            &timings,
        ),
    )?;

    let summary = json!({
        "data": prepared.path.display().to_string(),
        "source": config.data.source,
        "n_rows": prepared.n_rows,
        "n_train": prepared.train.nrows(),
        "n_train_anomalies": n_train_anomalies,
        "decision": if config.evaluation.pu.is_some() { "pu" } else { "percentile" },
        "score": config.scoring.kind,
        "compression": config.compression.kind,
        "mixture": config.estimation.mixture,
        "loss": config.loss.kind,
        "pu": pu_summary,
        "n_test": prepared.test.nrows(),
        "n_features": prepared.train.ncols(),
        "anomaly_percentile": config.evaluation.anomaly_percentile,
        "threshold": cut,
        "flagged": metrics.flagged,
        "precision": metrics.precision,
        "recall": metrics.recall,
        "f1": metrics.f1,
        "roc_auc": metrics.roc_auc,
        "pr_auc": metrics.pr_auc,
        "confusion": metrics.confusion,
        "sweep": sweep,
        "untrained_f1": untrained_metrics.f1,
        "untrained_roc_auc": untrained_metrics.roc_auc,
        "untrained_precision": untrained_metrics.precision,
        "untrained_recall": untrained_metrics.recall,
        "epochs": config.training.epochs,
        "seed": config.training.seed,
        "split_seed": config.split_seed(),
        "device": config.device,
        "train_seconds": train_seconds,
        "wall_seconds": wall.elapsed().as_secs_f64(),
        "samples_per_second": rows_trained as f64 / train_seconds,
        "final_loss": history.last().map(|e| json!(e)).unwrap_or(Value::Null),
        "first_loss": history.first().map(|e| json!(e)).unwrap_or(Value::Null),
        "nan_free": history.iter().all(|e| e.total.is_finite()),
        "curves": curves,
    });
    output::write_json(&out.join("summary.json"), &summary)?;
    Ok(summary)
}

fn write_test_scores(path: &Path, p: &Prepared, s: &Scores, flagged: &[u8]) -> Result<()> {
    let mut text = String::from("row,score,energy,reconstruction_error,flagged,label\n");
    for i in 0..s.energy.len() {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            p.test_indices[i],
            s.score[i],
            s.energy[i],
            s.reconstruction_error[i],
            flagged[i],
            p.test_labels[i]
        ));
    }
    output::write_bytes(path, text.as_bytes())
}

/// Puts the columns of `data` in the order the model was trained on. Missing one-hot columns
/// (`name=value`, a category this file lacks) are zero; a missing plain column is an error; a
/// one-hot column the training data never had is dropped with a warning.
fn align_columns(data: &Dataset, trained: &[String], path: &Path) -> Result<Array2<f64>> {
    if data.columns == trained {
        return Ok(data.features.clone());
    }
    let mut out = Array2::zeros((data.n_rows(), trained.len()));
    for (j, name) in trained.iter().enumerate() {
        match data.columns.iter().position(|c| c == name) {
            Some(k) => out.column_mut(j).assign(&data.features.column(k)),
            None if name.contains('=') => {}
            None => bail!(
                "{}: no column `{name}`, which the model was trained on",
                path.display()
            ),
        }
    }
    let unseen: Vec<&String> = data
        .columns
        .iter()
        .filter(|c| !trained.contains(c))
        .collect();
    if !unseen.is_empty() {
        eprintln!(
            "warning: columns the model never saw are ignored: {}",
            unseen
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(out)
}

pub fn run_score(args: &ScoreArgs) -> Result<()> {
    let mut model = Dagmm::load(&args.model)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    if let Some(d) = &args.device {
        model.set_device(d.parse()?)?;
    }
    let meta = model.metadata().clone();
    let scaler: Scaler = serde_json::from_value(meta["scaler"].clone()).with_context(|| {
        format!(
            "{}: the model has no preprocessing statistics",
            args.model.display()
        )
    })?;
    let columns: Vec<String> = serde_json::from_value(meta["columns"].clone()).unwrap_or_default();
    let cut = meta["threshold"].as_f64();
    // A PU run flags by its classifier (h < c/2 on [z, energy, reconstruction error]), not by
    // the energy cut; its `1 − h/c` is written beside the score.
    let pu: Option<PuThreshold> = match meta["decision"].as_str() {
        Some("pu") => Some(serde_json::from_value(meta["pu"].clone()).with_context(|| {
            format!(
                "{}: a PU model without its classifier in model.json",
                args.model.display()
            )
        })?),
        _ => None,
    };
    let (path, data) = crate::classic::load_data(
        &args.data,
        args.label_column.as_deref(),
        args.names.as_deref(),
    )?;
    let features = if columns.is_empty() {
        data.features.clone()
    } else {
        align_columns(&data, &columns, &path)?
    };
    let x = scaler.transform(features.view())?;
    let scores = model.score(ArrayView2::from(&x))?;
    // The decision score and its cut: `1 − h/c` against 0.5 for PU, else the score and the
    // run's percentile cut.
    let (decision_score, decision_cut, flagged) = match &pu {
        Some(p) => {
            let features = pu_features(&scores);
            (
                Some(p.anomaly_score(&features)?),
                Some(0.5),
                p.flag(&features)?,
            )
        }
        None => (
            None,
            cut,
            match cut {
                Some(c) => flag(&scores.score, c, Direction::HighIsAnomalous),
                None => vec![0; scores.energy.len()],
            },
        ),
    };
    let decided = decision_score.as_deref().unwrap_or(&scores.score);
    let mut text = String::from("index,score,energy,reconstruction_error,");
    if pu.is_some() {
        text.push_str("pu_score,");
    }
    text.push_str(if data.labels.is_some() {
        "flagged,label\n"
    } else {
        "flagged\n"
    });
    for i in 0..scores.energy.len() {
        text.push_str(&format!(
            "{i},{},{},{},",
            scores.score[i], scores.energy[i], scores.reconstruction_error[i]
        ));
        if let Some(d) = &decision_score {
            text.push_str(&format!("{},", d[i]));
        }
        text.push_str(&flagged[i].to_string());
        if let Some(l) = &data.labels {
            text.push_str(&format!(",{}", l[i]));
        }
        text.push('\n');
    }
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    output::write_bytes(&args.out, text.as_bytes())?;
    let n_flagged = flagged.iter().filter(|&&f| f == 1).count();
    print!("{} rows scored, {n_flagged} flagged", scores.energy.len());
    if let (Some(labels), Some(c)) = (&data.labels, decision_cut) {
        if labels.contains(&0) && labels.contains(&1) {
            let m = evaluate(decided, labels, c, Direction::HighIsAnomalous)?;
            print!(
                " (precision {:.4}, recall {:.4}, F1 {:.4}, ROC AUC {:.4})",
                m.precision, m.recall, m.f1, m.roc_auc
            );
        }
    }
    println!("; wrote {}", args.out.display());
    Ok(())
}
