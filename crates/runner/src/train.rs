//! `dagmm train` and `dagmm score`: the DAGMM protocol end to end. Prepare the split, score the
//! untrained network (the control), train, fit the mixture on the whole training set, score the
//! test half, threshold the top energies, and write the summary, the losses and the model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use dagmm_data::scaling::Scaler;
use dagmm_data::split::anomaly_split;
use dagmm_data::{Dataset, LoadOptions};
use dagmm_evaluation::{
    evaluate, flag, percentile_sweep, resolve_threshold, Direction, Metrics, SweepRow, Threshold,
};
use dagmm_model::{Dagmm, EpochLosses};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, ArrayView2};
use serde_json::{json, Value};

use crate::cli::{ScoreArgs, TrainArgs};
use crate::output;
use crate::run_config::{data_path, RunConfig, Source};

/// The split of a run: scaled training rows (normal only) and scaled test rows with labels.
pub struct Prepared {
    pub path: PathBuf,
    pub train: Array2<f64>,
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
    let split = anomaly_split(&ds, data.train_fraction, config.split_seed())?;
    let scaler = Scaler::fit(data.scaling, split.train.features.view())?;
    Ok(Prepared {
        train: scaler.transform(split.train.features.view())?,
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
            "the energy of test row {i} is {}: the model diverged",
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

fn losses_csv(history: &[EpochLosses]) -> String {
    let mut text = String::from("epoch,total,reconstruction,energy,penalty,seconds\n");
    for e in history {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            e.epoch, e.total, e.reconstruction, e.energy, e.penalty, e.seconds
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

pub fn run_train(args: &TrainArgs) -> Result<()> {
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
    let config = RunConfig::load(&args.config, &overrides)?;
    let prepared = prepare(&config)?;
    let model_config = config.model();
    eprintln!(
        "{}: {} rows; training on {} normal rows, testing on {} ({} anomalies); device {}",
        prepared.path.display(),
        prepared.n_rows,
        prepared.train.nrows(),
        prepared.test.nrows(),
        prepared.test_labels.iter().filter(|&&l| l == 1).count(),
        config.device
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    // The control: the same network at its initial weights, the same protocol.
    let untrained = Dagmm::untrained(model_config.clone(), prepared.train.view())?;
    let untrained_energy = untrained.energies(prepared.test.view())?;
    let (_, untrained_metrics, _) = assess(&config, &untrained_energy, &prepared.test_labels)?;

    let bar = progress_bar(config.training.epochs);
    let started = Instant::now();
    let fitted = Dagmm::fit(
        model_config,
        prepared.train.view(),
        &mut |e: &EpochLosses| {
            bar.set_position(e.epoch as u64);
            bar.set_message(format!(
                "loss {:.4} (recon {:.4}, energy {:.3}, penalty {:.2})",
                e.total, e.reconstruction, e.energy, e.penalty
            ));
        },
    );
    bar.finish_and_clear();
    let (mut model, history) = fitted?;
    let wall_seconds = started.elapsed().as_secs_f64();
    output::write_bytes(
        &args.out.join("losses.csv"),
        losses_csv(&history).as_bytes(),
    )?;
    if let Some(e) = history.iter().find(|e| !e.total.is_finite()) {
        bail!(
            "the loss became {} at epoch {}; losses.csv holds the history",
            e.total,
            e.epoch
        );
    }
    let train_seconds: f64 = history.iter().map(|e| e.seconds).sum();
    let rows_trained: usize = history.iter().map(|e| e.rows).sum();

    let scores = model.score(prepared.test.view())?;
    let (cut, metrics, sweep) = assess(&config, &scores.energy, &prepared.test_labels)?;
    let flagged = flag(&scores.energy, cut, Direction::HighIsAnomalous);

    model.set_metadata(json!({
        "scaler": prepared.scaler,
        "columns": prepared.columns,
        "threshold": cut,
        "anomaly_percentile": config.evaluation.anomaly_percentile,
        "data": config.data,
    }));
    let model_dir = args.out.join("model");
    model
        .save(&model_dir)
        .with_context(|| format!("saving the model to {}", model_dir.display()))?;
    output::write_bytes(&args.out.join("config.toml"), config.to_toml()?.as_bytes())?;
    write_test_scores(
        &args.out.join("scores.csv"),
        &prepared,
        &scores.energy,
        &scores.reconstruction_error,
        &flagged,
    )?;

    let summary = json!({
        "data": prepared.path.display().to_string(),
        "source": config.data.source,
        "n_rows": prepared.n_rows,
        "n_train": prepared.train.nrows(),
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
        "wall_seconds": wall_seconds,
        "samples_per_second": rows_trained as f64 / train_seconds,
        "final_loss": history.last().map(|e| json!(e)).unwrap_or(Value::Null),
        "first_loss": history.first().map(|e| json!(e)).unwrap_or(Value::Null),
    });
    output::write_json(&args.out.join("summary.json"), &summary)?;
    println!(
        "precision {:.4}, recall {:.4}, F1 {:.4}, ROC AUC {:.4} (untrained: F1 {:.4}, ROC AUC {:.4}); {:.0} samples/s; wrote {}",
        metrics.precision,
        metrics.recall,
        metrics.f1,
        metrics.roc_auc,
        untrained_metrics.f1,
        untrained_metrics.roc_auc,
        rows_trained as f64 / train_seconds,
        args.out.display()
    );
    Ok(())
}

fn write_test_scores(
    path: &Path,
    p: &Prepared,
    energy: &[f64],
    recon: &[f64],
    flagged: &[u8],
) -> Result<()> {
    let mut text = String::from("row,energy,reconstruction_error,flagged,label\n");
    for i in 0..energy.len() {
        text.push_str(&format!(
            "{},{},{},{},{}\n",
            p.test_indices[i], energy[i], recon[i], flagged[i], p.test_labels[i]
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
        model.set_device(d.parse()?);
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
    let flagged: Vec<u8> = match cut {
        Some(c) => flag(&scores.energy, c, Direction::HighIsAnomalous),
        None => vec![0; scores.energy.len()],
    };
    let mut text = String::from(if data.labels.is_some() {
        "index,energy,reconstruction_error,flagged,label\n"
    } else {
        "index,energy,reconstruction_error,flagged\n"
    });
    for i in 0..scores.energy.len() {
        text.push_str(&format!(
            "{i},{},{},{}",
            scores.energy[i], scores.reconstruction_error[i], flagged[i]
        ));
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
    if let (Some(labels), Some(c)) = (&data.labels, cut) {
        if labels.contains(&0) && labels.contains(&1) {
            let m = evaluate(&scores.energy, labels, c, Direction::HighIsAnomalous)?;
            print!(
                " (precision {:.4}, recall {:.4}, F1 {:.4}, ROC AUC {:.4})",
                m.precision, m.recall, m.f1, m.roc_auc
            );
        }
    }
    println!("; wrote {}", args.out.display());
    Ok(())
}
