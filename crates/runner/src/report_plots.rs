//! The report's pictures, each written as PNG and SVG: lines (F1 against percentile with
//! error bars, ROC and PR curves, training losses) and per-class score histograms with the
//! threshold. Text uses the embedded DejaVu Sans (see `plots`).

use std::ops::Range;
use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::output::atomically;
use crate::plots::{draw_error, draw_legend, register_font};

const SIZE: (u32, u32) = (1000, 650);

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Half-heights of error bars at each point (the standard deviation over seeds).
    pub errors: Option<Vec<f64>>,
}

/// How a line chart is laid out.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_range: Range<f64>,
    pub y_range: Range<f64>,
    /// Draw the `y = x` chance line (ROC).
    pub diagonal: bool,
}

/// Draws `stem.png` and `stem.svg` with the same drawing code (the extension is appended, so a
/// stem with a dot in it keeps its whole name).
macro_rules! render {
    ($stem:expr, $draw:expr) => {{
        register_font();
        let with = |ext: &str| {
            let mut name = $stem.as_os_str().to_owned();
            name.push(ext);
            std::path::PathBuf::from(name)
        };
        atomically(&with(".png"), |tmp| {
            let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
            $draw(&root)?;
            root.present().map_err(draw_error)
        })?;
        atomically(&with(".svg"), |tmp| {
            let root = SVGBackend::new(tmp, SIZE).into_drawing_area();
            $draw(&root)?;
            root.present().map_err(draw_error)
        })
    }};
}

/// Padded range covering `values` (and `0..1` if there are none).
pub fn padded(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad)..(hi + pad)
}

/// A line chart of `series` into `stem.png` and `stem.svg`.
pub fn line_chart(stem: &Path, layout: &LineChart, series: &[Series]) -> Result<()> {
    render!(stem, |root: &DrawingArea<_, Shift>| draw_lines(
        root, layout, series
    ))
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &LineChart,
    series: &[Series],
) -> Result<()> {
    root.fill(&WHITE).map_err(draw_error)?;
    let mut chart = ChartBuilder::on(root)
        .caption(layout.title, ("sans-serif", 24))
        .margin(14)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(layout.x_range.clone(), layout.y_range.clone())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(layout.x_desc)
        .y_desc(layout.y_desc)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(draw_error)?;
    if layout.diagonal {
        let lo = layout.x_range.start.max(layout.y_range.start);
        let hi = layout.x_range.end.min(layout.y_range.end);
        chart
            .draw_series(LineSeries::new(
                vec![(lo, lo), (hi, hi)],
                BLACK.mix(0.3).stroke_width(1),
            ))
            .map_err(draw_error)?;
    }
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
            .map_err(draw_error)?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        if let Some(errors) = &s.errors {
            chart
                .draw_series(s.points.iter().zip(errors).map(|(&(x, y), &e)| {
                    PathElement::new(vec![(x, y - e), (x, y + e)], color.stroke_width(1))
                }))
                .map_err(draw_error)?;
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                )
                .map_err(draw_error)?;
        }
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 14)?;
    Ok(())
}

/// Per-class histogram (counts of normal and anomalous rows in the same bins) with the threshold.
pub struct ClassHistogram<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub edges: &'a [f64],
    pub normal: &'a [f64],
    pub anomaly: &'a [f64],
    pub threshold: Option<f64>,
}

/// The histogram into `stem.png` and `stem.svg` (counts on a square-root scale would hide the
/// small class less, but plain counts are what the reader expects; each class is drawn
/// half-transparent over the other).
pub fn class_histogram(stem: &Path, h: &ClassHistogram) -> Result<()> {
    render!(stem, |root: &DrawingArea<_, Shift>| draw_histogram(root, h))
}

fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &ClassHistogram,
) -> Result<()> {
    root.fill(&WHITE).map_err(draw_error)?;
    let xr = padded(h.edges.iter().copied().chain(h.threshold));
    let top = h
        .normal
        .iter()
        .chain(h.anomaly)
        .copied()
        .fold(1.0, f64::max)
        * 1.08;
    let mut chart = ChartBuilder::on(root)
        .caption(h.title, ("sans-serif", 24))
        .margin(14)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(xr, 0.0..top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(h.x_desc)
        .y_desc("test rows")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(draw_error)?;
    for (counts, name, color) in [
        (h.normal, "normal", RGBColor(66, 103, 178)),
        (h.anomaly, "anomaly", RGBColor(230, 120, 20)),
    ] {
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0.0)
                    .map(|(b, &c)| {
                        Rectangle::new(
                            [(h.edges[b], 0.0), (h.edges[b + 1], c)],
                            color.mix(0.55).filled(),
                        )
                    }),
            )
            .map_err(draw_error)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.filled()));
    }
    if let Some(t) = h.threshold.filter(|t| t.is_finite()) {
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(LineSeries::new(
                vec![(t, 0.0), (t, top)],
                red.stroke_width(3),
            ))
            .map_err(draw_error)?
            .label("threshold")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(3)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 14)?;
    Ok(())
}
