//! `dagmm gmm` and `dagmm gaussian`: the tutorials' detectors from the command line. Each builds
//! a run config (`[model] kind = "gmm"` or `"gaussian"`, the `all_rows` or `normal_rows` split, a
//! threshold rule) and runs it like any other, writing the tutorials' pictures too. Thresholds
//! are given as the tutorials give them, on the log-likelihood (`--threshold`) or the density
//! (`--epsilon`); the runs score by the negative log-likelihood (higher = more anomalous).

use std::path::Path;

use anyhow::{bail, Result};
use dagmm_pipeline::{
    DataSection, DetectorKind, EvaluationSection, GaussianSection, GmmSection, RunConfig,
    RunSummary, Split, ThresholdRule,
};

use crate::cli::{GaussianArgs, GmmArgs, InputArgs, RuleArgs};
use crate::progress::EpochProgress;
use crate::runs::{run_into, Extras, Resume};

/// The protocol of a tutorial run: the rule given on the command line, on the anomaly score.
fn evaluation(rule: &RuleArgs, split: Split) -> Result<EvaluationSection> {
    let (threshold, anomaly_percentile, threshold_value) =
        match (rule.percentile, rule.threshold, rule.epsilon) {
            (Some(p), None, None) => (ThresholdRule::TestPercentile, Some(p), None),
            (None, Some(v), None) => (ThresholdRule::Value, None, Some(-v)),
            (None, None, Some(e)) => {
                if !(e > 0.0) {
                    bail!("--epsilon must be a density > 0, got {e}");
                }
                (ThresholdRule::Value, None, Some(-e.ln()))
            }
            _ => bail!("give exactly one of --percentile, --threshold, --epsilon"),
        };
    Ok(EvaluationSection {
        split,
        threshold,
        anomaly_percentile,
        threshold_value,
        ..EvaluationSection::default()
    })
}

fn data(input: &InputArgs) -> DataSection {
    let mut d = DataSection::file(
        input.data.clone(),
        input.label_column.clone(),
        input.names.clone(),
    );
    d.scaling = input.scale.into();
    d
}

fn finish(config: RunConfig, out: &Path) -> Result<()> {
    let progress = EpochProgress::em_only();
    let output = run_into(
        &config,
        Path::new("(command line)"),
        out,
        &progress,
        None,
        Extras {
            pictures: true,
            ..Extras::default()
        },
        Resume::No,
    )?;
    progress.finish(None);
    let s = &output.summary;
    if let Some(sel) = &s.selection {
        eprintln!(
            "selected K = {} by BIC over {}..{} ({})",
            sel.selected_k,
            sel.range[0],
            sel.range[1],
            sel.bic_by_k
                .iter()
                .map(|r| format!("K={}: {:.1}", r.k, r.bic))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if s.converged == Some(false) {
        eprintln!(
            "warning: EM did not converge in {} iterations",
            s.n_iter.unwrap_or(0)
        );
    }
    if s.f1.is_none() && s.n_test_anomalies.is_some() {
        eprintln!("note: the labels hold one class only; no precision, recall or ROC AUC");
    }
    println!("{}; wrote {}", line(s), out.display());
    Ok(())
}

/// `log-likelihood threshold -6.5600: 21 of 520 rows flagged (precision …, recall …, F1 …)`.
fn line(s: &RunSummary) -> String {
    let metrics = match (s.precision, s.recall, s.f1) {
        (Some(p), Some(r), Some(f)) => format!(" (precision {p:.3}, recall {r:.3}, F1 {f:.3})"),
        _ => String::new(),
    };
    format!(
        "log-likelihood threshold {:.4}: {} of {} rows flagged{metrics}",
        s.log_likelihood_threshold.unwrap_or(-s.threshold),
        s.flagged,
        s.n_test.unwrap_or(s.n_rows)
    )
}

pub fn run_gmm(args: &GmmArgs) -> Result<()> {
    let mut config = RunConfig::new(
        DetectorKind::Gmm,
        data(&args.input),
        evaluation(&args.rule, Split::AllRows)?,
    );
    config.seed = Some(args.seed);
    config.gmm = Some(GmmSection {
        n_components: args.components,
        covariance_type: args.covariance.into(),
        init: args.init.into(),
        n_init: args.n_init,
        max_iter: args.max_iter,
        tol: args.tol,
        reg_covar: args.reg_covar,
        select_k: args.select_k.map(|(min, max)| [min, max]),
    });
    config.validate().map_err(anyhow::Error::msg)?;
    finish(config, &args.input.out)
}

pub fn run_gaussian(args: &GaussianArgs) -> Result<()> {
    let split = if args.fit_on_normal {
        Split::NormalRows
    } else {
        Split::AllRows
    };
    let mut config = RunConfig::new(
        DetectorKind::Gaussian,
        data(&args.input),
        evaluation(&args.rule, split)?,
    );
    config.gaussian = Some(GaussianSection {
        kind: args.kind.into(),
        reg_covar: args.reg_covar,
    });
    config.validate().map_err(anyhow::Error::msg)?;
    finish(config, &args.input.out)
}
