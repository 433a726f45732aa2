//! The tutorials' pictures, drawn with plotters into PNG files: ground truth beside prediction on
//! the first two features, and the score histogram with the threshold line.

use std::path::Path;

use anyhow::Result;
use dagmm_data::Dataset;
use plotters::prelude::*;

use crate::charts::{draw_error, register_font, ANOMALY, NORMAL};
use crate::report_plots::{draw_histogram, Histogram};

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
