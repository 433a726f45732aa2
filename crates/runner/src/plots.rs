//! The tutorials' pictures, drawn with plotters into PNG files: ground truth beside prediction on
//! the first two features, and the score histogram with the threshold line.
//!
//! Text uses an embedded DejaVu Sans (plotters' `ab_glyph` backend), so no system font or
//! fontconfig is needed on a headless machine.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use dagmm_data::Dataset;
use plotters::prelude::*;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The font is embedded at build time; a failure here is a build defect, not bad input.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font("sans-serif", style, FONT).is_err() {
                panic!("the embedded DejaVu Sans font could not be registered");
            }
        }
    });
}

pub(crate) fn draw_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// The legend of every chart: a light box with a black border at `position`.
pub(crate) fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", font_size))
        .draw()
        .map_err(draw_error)
}

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

/// Two panels on the first two features: ground truth (when labels are known) and the flagged rows.
/// A data set with one feature is drawn against the row index.
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
                    "Ground truth"
                } else {
                    "Data (no labels)"
                },
                truth,
            ),
            ("Prediction (flagged rows)", Some(flagged)),
        ];
        for (panel, (title, marks)) in panels.iter().zip(views) {
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 26))
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
            let normal = RGBColor(66, 103, 178);
            let anomaly = RGBColor(214, 39, 40);
            // Normal rows first, so anomalies are drawn on top.
            for wanted in [0u8, 1u8] {
                let points = (0..xs.len())
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
                let series = chart.draw_series(points).map_err(draw_error)?;
                if marks.is_some() {
                    let (label, color) = if wanted == 1 {
                        ("anomaly", anomaly)
                    } else {
                        ("normal", normal)
                    };
                    series
                        .label(label)
                        .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
                }
            }
            if marks.is_some() {
                draw_legend(&mut chart, SeriesLabelPosition::MiddleRight, 16)?;
            }
        }
        root.present().map_err(draw_error)?;
        Ok(())
    })
}

/// Histogram of the scores (100 bins) with the threshold as a vertical line.
pub fn score_histogram(path: &Path, scores: &[f64], cut: f64, score_name: &str) -> Result<()> {
    register_font();
    let finite: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    let xr = range(
        finite
            .iter()
            .copied()
            .chain(std::iter::once(cut).filter(|c| c.is_finite())),
    );
    let bins = 100;
    let width = (xr.end - xr.start) / bins as f64;
    let mut counts = vec![0usize; bins];
    for s in &finite {
        let b = (((s - xr.start) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
    crate::output::atomically(path, |tmp| {
        let root = BitMapBackend::new(tmp, (1200, 720)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Scores and the threshold ({cut:.3})"),
                ("sans-serif", 26),
            )
            .margin(16)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(xr.clone(), 0.0..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(score_name)
            .y_desc("rows")
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(draw_error)?;
        let bar = RGBColor(66, 103, 178);
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(|(b, &c)| {
                        let x0 = xr.start + b as f64 * width;
                        Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], bar.mix(0.75).filled())
                    }),
            )
            .map_err(draw_error)?;
        if cut.is_finite() {
            let red = RGBColor(214, 39, 40);
            chart
                .draw_series(LineSeries::new(
                    vec![(cut, 0.0), (cut, top)],
                    red.stroke_width(3),
                ))
                .map_err(draw_error)?
                .label("threshold")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(3))
                });
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, 16)?;
        }
        root.present().map_err(draw_error)?;
        Ok(())
    })
}
