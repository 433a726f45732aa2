//! `dagmm gmm` and `dagmm gaussian`: fit a classic Gaussian model, score every row by its
//! log-likelihood, flag the lowest, and write scores, a summary and the tutorials' pictures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use dagmm_classic_gmm::{select_by_bic, GaussianDensity, GaussianMixture, GmmParams};
use dagmm_data::scaling::{Scaler, ScalingKind};
use dagmm_data::{Dataset, LoadOptions};
use dagmm_evaluation::{
    best_f1_threshold, evaluate, flag, resolve_threshold, Direction, Threshold,
};
use ndarray::Array2;
use serde_json::{json, Value};

use crate::cli::{GaussianArgs, GmmArgs, InputArgs, RuleArgs};
use crate::{output, plots};

/// Finds the data file: the path as given, else under `$DAGMM_DATA_DIR`, else under the cache.
pub fn locate(path: &Path) -> Result<PathBuf> {
    let builtin = path
        .to_str()
        .is_some_and(|p| p.starts_with(dagmm_data::load::BUILTIN_PREFIX));
    if builtin || path.exists() || path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    dagmm_data::fetch::resolve(&path.to_string_lossy(), None)
        .with_context(|| format!("{} does not exist", path.display()))
}

/// The loaded rows and the features the model sees (scaled as asked).
struct Input {
    path: PathBuf,
    data: Dataset,
}

/// Finds and reads a data file given on the command line.
pub fn load_data(
    data: &Path,
    label_column: Option<&str>,
    names: Option<&Path>,
) -> Result<(PathBuf, Dataset)> {
    let path = locate(data)?;
    let dataset = dagmm_data::load(
        &path,
        LoadOptions {
            label_column,
            names,
        },
    )?;
    Ok((path, dataset))
}

fn read_input(args: &InputArgs) -> Result<Input> {
    let (path, data) = load_data(
        &args.data,
        args.label_column.as_deref(),
        args.names.as_deref(),
    )?;
    Ok(Input { path, data })
}

fn threshold_rule(rule: &RuleArgs) -> Result<(Threshold, Value)> {
    match (rule.percentile, rule.threshold, rule.epsilon) {
        (Some(p), None, None) => Ok((Threshold::Percentile(p), json!({ "percentile": p }))),
        (None, Some(v), None) => Ok((Threshold::Value(v), json!({ "value": v }))),
        (None, None, Some(e)) => {
            if !(e > 0.0) {
                bail!("--epsilon must be a density > 0, got {e}");
            }
            Ok((Threshold::Value(e.ln()), json!({ "epsilon": e })))
        }
        _ => bail!("give exactly one of --percentile, --threshold, --epsilon"),
    }
}

pub fn run_gmm(args: &GmmArgs) -> Result<()> {
    let (threshold, rule) = threshold_rule(&args.rule)?;
    let input = read_input(&args.input)?;
    let scaler = Scaler::fit(args.input.scale.into(), input.data.features.view())?;
    let x = scaler.transform(input.data.features.view())?;
    let params = GmmParams {
        n_components: args.components,
        covariance_type: args.covariance.into(),
        init: args.init.into(),
        n_init: args.n_init,
        max_iter: args.max_iter,
        tol: args.tol,
        reg_covar: args.reg_covar,
        seed: args.seed,
    };
    let started = Instant::now();
    let (gmm, selection) = match args.select_k {
        Some((min, max)) => {
            let s = select_by_bic(&params, x.view(), min, max)?;
            let table: Vec<Value> = s
                .bics
                .iter()
                .map(|(k, b)| json!({ "k": k, "bic": b }))
                .collect();
            eprintln!(
                "selected K = {} by BIC over {min}..{max} ({})",
                s.best.n_components(),
                s.bics
                    .iter()
                    .map(|(k, b)| format!("K={k}: {b:.1}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let chosen = s.best.n_components();
            (
                s.best,
                Some(
                    json!({ "criterion": "bic", "range": [min, max], "selected_k": chosen, "bic_by_k": table }),
                ),
            )
        }
        None => (GaussianMixture::fit(&params, x.view())?, None),
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    if !gmm.converged() {
        eprintln!(
            "warning: EM did not converge in {} iterations (tol {})",
            gmm.n_iter(),
            args.tol
        );
    }
    let scores = gmm.score_samples(x.view())?.to_vec();
    let model = json!({
        "kind": "gaussian_mixture",
        "n_components": gmm.n_components(),
        "covariance_type": gmm.covariances().covariance_type(),
        "init": params.init,
        "n_init": params.n_init,
        "seed": params.seed,
        "tol": params.tol,
        "max_iter": params.max_iter,
        "reg_covar": params.reg_covar,
        "weights": gmm.weights(),
        "means": gmm.means().rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "n_iter": gmm.n_iter(),
        "converged": gmm.converged(),
        "lower_bound": gmm.lower_bound(),
    });
    let mut extra = json!({
        "n_iter": gmm.n_iter(),
        "converged": gmm.converged(),
        "bic": gmm.bic(x.view())?,
        "aic": gmm.aic(x.view())?,
        "fit_seconds": fit_seconds,
        "model": model,
    });
    if let Some(selection) = selection {
        extra["selection"] = selection;
    }
    finish(
        &args.input,
        &input,
        &scaler,
        &scores,
        threshold,
        rule,
        extra,
    )
}

pub fn run_gaussian(args: &GaussianArgs) -> Result<()> {
    let (threshold, rule) = threshold_rule(&args.rule)?;
    let input = read_input(&args.input)?;
    let fit_rows: Array2<f64> = if args.fit_on_normal {
        let labels = input
            .data
            .labels
            .as_ref()
            .context("--fit-on-normal needs labels (--label-column)")?;
        let normal: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == 0).collect();
        input.data.select_rows(&normal).features
    } else {
        input.data.features.clone()
    };
    let scaler = Scaler::fit(args.input.scale.into(), fit_rows.view())?;
    let started = Instant::now();
    let model = GaussianDensity::fit(
        args.kind.into(),
        scaler.transform(fit_rows.view())?.view(),
        args.reg_covar,
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let x = scaler.transform(input.data.features.view())?;
    let scores = model.log_density(x.view())?.to_vec();
    let mixture = model.as_mixture();
    let extra = json!({
        "fit_seconds": fit_seconds,
        "fit_rows": fit_rows.nrows(),
        "model": {
            "kind": model.kind(),
            "mean": mixture.means().row(0).to_vec(),
            "covariance": mixture.covariances().component(0, mixture.n_features()).rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            "reg_covar": args.reg_covar,
        },
    });
    finish(
        &args.input,
        &input,
        &scaler,
        &scores,
        threshold,
        rule,
        extra,
    )
}

/// Thresholds the log-likelihoods, evaluates against labels when known, and writes every output.
fn finish(
    args: &InputArgs,
    input: &Input,
    scaler: &Scaler,
    scores: &[f64],
    threshold: Threshold,
    rule: Value,
    extra: Value,
) -> Result<()> {
    let direction = Direction::LowIsAnomalous;
    let cut = resolve_threshold(scores, &threshold, direction)?;
    let flagged = flag(scores, cut, direction);
    let n_flagged = flagged.iter().filter(|&&f| f == 1).count();
    let data = &input.data;
    let mut summary = json!({
        "data": input.path.display().to_string(),
        "n_rows": data.n_rows(),
        "n_features": data.n_features(),
        "scaling": if scaler.kind == ScalingKind::None { json!("none") } else { json!(scaler.kind) },
        "score": "log_likelihood",
        "threshold_rule": rule,
        "threshold": cut,
        "flagged": n_flagged,
        "flagged_fraction": n_flagged as f64 / scores.len() as f64,
        "mean_log_likelihood": scores.iter().sum::<f64>() / scores.len() as f64,
    });
    if let Some(labels) = &data.labels {
        summary["n_anomalies"] = json!(labels.iter().filter(|&&l| l == 1).count());
        if labels.contains(&0) && labels.contains(&1) {
            let m = evaluate(scores, labels, cut, direction)?;
            let best = best_f1_threshold(scores, labels, direction)?;
            for (key, value) in [
                ("precision", json!(m.precision)),
                ("recall", json!(m.recall)),
                ("f1", json!(m.f1)),
                ("roc_auc", json!(m.roc_auc)),
                ("pr_auc", json!(m.pr_auc)),
                ("confusion", json!(m.confusion)),
                ("best_f1", json!(best)),
            ] {
                summary[key] = value;
            }
        } else {
            eprintln!("note: the labels hold one class only; no precision, recall or ROC AUC");
        }
    }
    if let (Value::Object(s), Value::Object(e)) = (&mut summary, extra) {
        s.extend(e);
    }

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory {}", args.out.display()))?;
    output::write_scores_csv(
        &args.out.join("scores.csv"),
        scores,
        &flagged,
        data.labels.as_deref(),
    )?;
    plots::scatter_truth_vs_prediction(&args.out.join("scatter.png"), data, &flagged)?;
    plots::score_histogram(
        &args.out.join("histogram.png"),
        scores,
        cut,
        "log-likelihood",
    )?;
    output::write_json(&args.out.join("summary.json"), &summary)?;
    println!(
        "threshold {cut:.4}: {n_flagged} of {} rows flagged{}; wrote {}",
        scores.len(),
        summary
            .get("f1")
            .map(|f| {
                let get = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
                format!(
                    " (precision {:.3}, recall {:.3}, F1 {:.3})",
                    get(&summary["precision"]),
                    get(&summary["recall"]),
                    get(f)
                )
            })
            .unwrap_or_default(),
        args.out.display()
    );
    Ok(())
}
