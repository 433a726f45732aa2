//! One run's pictures, drawn as the run finishes: the score histogram with the cut, the ROC curve
//! and the loss terms per epoch (`dagmm train`), and the tutorials' ground truth beside
//! prediction on the first two features.

use std::path::Path;

use anyhow::Result;
use dagmm_data::Dataset;
use dagmm_pipeline::{RunConfig, RunOutput};
use plotters::prelude::*;

use crate::charts::Axis;
use crate::charts::{draw_error, register_font, ANOMALY, NORMAL};
use crate::drawing::{
    draw_histogram, line_chart, loss_panels, Histogram, LineChart, LossPanel, Series,
};

/// Padded range of `values` for an axis.
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad)..(hi + pad)
}

/// At most about this many rows are drawn in a scatter panel (every k-th beyond it).
const SCATTER_POINTS: usize = 50_000;

/// Two panels on the first two features: ground truth (when labels are known) and the flagged rows.
/// A data set with one feature is drawn against the row index. Past [`SCATTER_POINTS`] rows, every
/// k-th row is drawn.
pub fn scatter_truth_vs_prediction(path: &Path, data: &Dataset, flagged: &[u8]) -> Result<()> {
    register_font();
    let x = &data.features;
    let (xs, ys, x_name, y_name): (Vec<f64>, Vec<f64>, String, String) = if x.ncols() >= 2 {
        (
            x.column(0).to_vec(),
            x.column(1).to_vec(),
            data.columns[0].clone(),
            data.columns[1].clone(),
        )
    } else {
        (
            (0..x.nrows()).map(|i| i as f64).collect(),
            x.column(0).to_vec(),
            "row".into(),
            data.columns[0].clone(),
        )
    };
    let xr = range(xs.iter().copied());
    let yr = range(ys.iter().copied());
    crate::output::atomically(path, |tmp| {
        let root = BitMapBackend::new(tmp, (1600, 720)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let panels = root.split_evenly((1, 2));
        let truth: Option<&[u8]> = data.labels.as_deref();
        let views: [(&str, Option<&[u8]>); 2] = [
            (
                if truth.is_some() {
                    "Ground truth (orange: anomaly, blue: normal)"
                } else {
                    "Data (no labels)"
                },
                truth,
            ),
            ("Prediction (orange: flagged)", Some(flagged)),
        ];
        for (panel, (title, marks)) in panels.iter().zip(views) {
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 24))
                .margin(16)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(xr.clone(), yr.clone())
                .map_err(draw_error)?;
            chart
                .configure_mesh()
                .x_desc(x_name.as_str())
                .y_desc(y_name.as_str())
                .label_style(("sans-serif", 16))
                .draw()
                .map_err(draw_error)?;
            let (normal, anomaly) = (NORMAL, ANOMALY);
            // Normal rows first, so anomalies are drawn on top. Past SCATTER_POINTS rows, every
            // k-th row stands for the rest, in both classes alike so the picture keeps their
            // proportions (half a million circles overlap into one cloud anyway, and drawing them
            // was a tenth of a `dagmm gmm` run).
            let stride = xs.len().div_ceil(SCATTER_POINTS).max(1);
            for wanted in [0u8, 1u8] {
                let points = (0..xs.len())
                    .step_by(stride)
                    .filter(|&i| marks.map_or(0, |m| m[i]) == wanted)
                    .map(|i| {
                        Circle::new(
                            (xs[i], ys[i]),
                            4,
                            if wanted == 1 {
                                anomaly.filled()
                            } else {
                                normal.mix(0.6).filled()
                            },
                        )
                    });
                chart.draw_series(points).map_err(draw_error)?;
            }
        }
        root.present().map_err(draw_error)?;
        Ok(())
    })
}

/// The test scores by class (one class without labels) on a log count axis, over 60 bins between
/// the 0.5th and 99.5th percentiles (a few extreme rows no longer squeeze the rest into two bars;
/// the end bins count the rows beyond), with the cut always in view.
pub fn score_histogram(
    path: &Path,
    scores: &[f64],
    labels: Option<&[u8]>,
    cut: f64,
    score_name: &str,
) -> Result<()> {
    let finite: Vec<(f64, u8)> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .map(|(i, &s)| (s, labels.map_or(0, |l| l[i])))
        .collect();
    let (values, classes): (Vec<f64>, Vec<u8>) = finite.into_iter().unzip();
    let h = dagmm_pipeline::records::class_histogram(&values, &classes, 60)?;
    let as_f64 = |v: &[u64]| v.iter().map(|&c| c as f64).collect::<Vec<f64>>();
    let classes = match labels {
        Some(_) => vec![
            ("normal", as_f64(&h.normal)),
            ("anomaly", as_f64(&h.anomaly)),
        ],
        None => vec![("rows", as_f64(&h.normal))],
    };
    let title = format!("Test scores and the threshold ({cut:.3})");
    let x_desc = score_name.replace('_', " ");
    crate::charts::render_png(path, (1150, 620), |root| {
        draw_histogram(
            root,
            &Histogram {
                title: &title,
                x_desc: &x_desc,
                edges: &h.edges,
                classes,
                threshold: Some(cut),
            },
        )
    })
}

/// One run's pictures: the test scores by class with the cut, the ROC curve with its AUC in the
/// legend (labelled rows), and each loss term per epoch of the main stage (a detector trained by
/// epoch).
pub fn run_pictures(out: &Path, output: &RunOutput, config: &RunConfig) -> Result<()> {
    let s = &output.summary;
    run_histogram(out, output)?;
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
        .filter(|s| s.points.iter().any(|p| p.1 != 0.0) && config.weighs_loss_term(&s.name))
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
pub fn run_histogram(out: &Path, output: &RunOutput) -> Result<()> {
    let (s, t) = (&output.summary, &output.test);
    if s.score == dagmm_pipeline::ScoreName::NegativeLogLikelihood {
        let log_likelihood: Vec<f64> = t.scores.score.iter().map(|v| -v).collect();
        score_histogram(
            &out.join("histogram.png"),
            &log_likelihood,
            t.labels.as_deref(),
            -s.threshold,
            "log-likelihood (rows below the cut are flagged)",
        )
    } else {
        score_histogram(
            &out.join("histogram.png"),
            &t.scores.score,
            t.labels.as_deref(),
            s.threshold,
            &format!("{} (rows above the cut are flagged)", s.score.name()),
        )
    }
}
