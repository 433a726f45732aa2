//! The report's pictures, each written as PNG and SVG: line charts (F1 against the share of rows
//! flagged, ROC and PR curves), the training loss terms with one panel per method, and score
//! histograms by class on a log count axis with the cut. Legends sit in a column beside the data.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::charts::{
    color, draw_error, frame, legend, legend_height, with_legend_column, Axis, Key, Mark, ANOMALY,
    CUT, NORMAL,
};
use crate::render_both;

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Half-heights of error bars at each point (the standard deviation over seeds).
    pub errors: Option<Vec<f64>>,
}

/// A series this short is drawn with a marker at each point, so a single point shows.
const MARKED_UP_TO: usize = 40;

/// How a line chart is laid out.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x: Axis,
    pub y: Axis,
    /// Draw the `y = x` chance line (ROC).
    pub diagonal: bool,
    /// A vertical line at this x with its legend name (the configured cut).
    pub cut: Option<(f64, String)>,
}

/// A line chart of `series` into `stem.png` and `stem.svg`.
pub fn line_chart(stem: &Path, layout: &LineChart, series: &[Series]) -> Result<()> {
    // Taller than usual when the legend needs it (a grid of a dozen points).
    let names = series
        .iter()
        .map(|s| s.name.as_str())
        .chain(layout.diagonal.then_some("chance"))
        .chain(layout.cut.as_ref().map(|(_, n)| n.as_str()));
    let height = legend_height(names).max(620);
    render_both!(stem, (1150, height), |root: &DrawingArea<_, Shift>| {
        draw_lines(root, layout, series)
    })
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &LineChart,
    series: &[Series],
) -> Result<()> {
    root.fill(&WHITE).map_err(draw_error)?;
    let (data, side) = with_legend_column(root);
    let (x, y) = (&layout.x, &layout.y);
    let mut chart = frame(&data, layout.title, (x, layout.x_desc), (y, layout.y_desc))?;
    let mut keys = Vec::new();
    if layout.diagonal {
        let lo = x.lo.max(y.lo);
        let hi = x.hi.min(y.hi);
        chart
            .draw_series(LineSeries::new(
                vec![(lo, lo), (hi, hi)],
                BLACK.mix(0.3).stroke_width(1),
            ))
            .map_err(draw_error)?;
        keys.push(Key {
            name: "chance".into(),
            color: RGBColor(170, 170, 170),
            mark: Mark::Line,
        });
    }
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        let page: Vec<(f64, f64)> = s.points.iter().map(|&(a, b)| (x.at(a), y.at(b))).collect();
        chart
            .draw_series(LineSeries::new(page.clone(), c.stroke_width(2)))
            .map_err(draw_error)?;
        if let Some(errors) = &s.errors {
            chart
                .draw_series(s.points.iter().zip(errors).filter(|(_, e)| **e > 0.0).map(
                    |(&(a, b), &e)| {
                        PathElement::new(
                            vec![(x.at(a), y.at(b - e)), (x.at(a), y.at(b + e))],
                            c.stroke_width(1),
                        )
                    },
                ))
                .map_err(draw_error)?;
        }
        if s.errors.is_some() || s.points.len() <= MARKED_UP_TO {
            chart
                .draw_series(page.iter().map(|&p| Circle::new(p, 4, c.filled())))
                .map_err(draw_error)?;
        }
        keys.push(Key {
            name: s.name.clone(),
            color: c,
            mark: Mark::Line,
        });
    }
    if let Some((at, name)) = &layout.cut {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x.at(*at), y.lo), (x.at(*at), y.hi)],
                8,
                6,
                CUT.stroke_width(2),
            ))
            .map_err(draw_error)?;
        keys.push(Key {
            name: name.clone(),
            color: CUT,
            mark: Mark::Cut,
        });
    }
    legend(&side, &keys)
}

/// One method's loss terms per epoch.
pub struct LossPanel {
    pub title: String,
    pub terms: Vec<Series>,
}

const PANEL: (u32, u32) = (560, 380);

/// The loss terms of every method, one panel each, on a symmetric-log axis (a VQ-VAE's first
/// epochs at 10⁴ beside a reconstruction error of 0.1, and an energy below 0, all stay
/// readable). A term keeps its colour in every panel; one legend names them.
pub fn loss_panels(stem: &Path, title: &str, panels: &[LossPanel]) -> Result<()> {
    let cols = match panels.len() {
        0..=1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (
        cols as u32 * PANEL.0 + crate::charts::LEGEND_WIDTH,
        rows as u32 * PANEL.1 + 50,
    );
    let mut names: Vec<&str> = Vec::new();
    for s in panels.iter().flat_map(|p| &p.terms) {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    render_both!(stem, size, |root: &DrawingArea<_, Shift>| {
        root.fill(&WHITE).map_err(draw_error)?;
        let root = root.titled(title, ("sans-serif", 24)).map_err(draw_error)?;
        let (data, side) = with_legend_column(&root);
        for (area, panel) in data.split_evenly((rows, cols)).iter().zip(panels) {
            let values = panel
                .terms
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1));
            let y = Axis::symlog(values);
            let x = Axis::padded(
                panel
                    .terms
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.0)),
            );
            let mut chart = frame(
                area,
                &panel.title,
                (&x, "epoch"),
                (&y, "mean over the epoch"),
            )?;
            for s in &panel.terms {
                let i = names.iter().position(|n| *n == s.name).unwrap_or(0);
                let page: Vec<(f64, f64)> =
                    s.points.iter().map(|&(a, b)| (x.at(a), y.at(b))).collect();
                chart
                    .draw_series(LineSeries::new(page.clone(), color(i).stroke_width(2)))
                    .map_err(draw_error)?;
                if page.len() <= MARKED_UP_TO {
                    chart
                        .draw_series(page.iter().map(|&p| Circle::new(p, 3, color(i).filled())))
                        .map_err(draw_error)?;
                }
            }
        }
        let keys: Vec<Key> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Key {
                name: n.to_string(),
                color: color(i),
                mark: Mark::Line,
            })
            .collect();
        legend(&side, &keys)
    })
}

/// Counts of each class in the same bins, with the cut.
pub struct Histogram<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub edges: &'a [f64],
    /// Each class's name and counts (one per bin).
    pub classes: Vec<(&'a str, Vec<f64>)>,
    pub threshold: Option<f64>,
}

/// The histogram into `stem.png` and `stem.svg`.
pub fn class_histogram(stem: &Path, h: &Histogram) -> Result<()> {
    render_both!(stem, (1150, 620), |root: &DrawingArea<_, Shift>| {
        draw_histogram(root, h)
    })
}

/// A histogram on a log count axis (a class of 60 rows stays visible beside bars of 200,000);
/// the x-axis covers the bins and the cut. Classes are drawn half-transparent, one over the
/// other.
pub fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &Histogram,
) -> Result<()> {
    root.fill(&WHITE).map_err(draw_error)?;
    let (data, side) = with_legend_column(root);
    let cut = h.threshold.filter(|t| t.is_finite());
    let x = Axis::padded(h.edges.iter().copied().chain(cut));
    let top = h
        .classes
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .fold(1.0, f64::max);
    let y = Axis::log_counts(top);
    let mut chart = frame(&data, h.title, (&x, h.x_desc), (&y, "rows (log scale)"))?;
    let mut keys = Vec::new();
    for (k, (name, counts)) in h.classes.iter().enumerate() {
        let c = if h.classes.len() == 1 || k == 0 {
            NORMAL
        } else {
            ANOMALY
        };
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0.0)
                    .map(|(b, &n)| {
                        Rectangle::new(
                            [(h.edges[b], y.lo), (h.edges[b + 1], y.at(n))],
                            c.mix(0.55).filled(),
                        )
                    }),
            )
            .map_err(draw_error)?;
        let total: f64 = counts.iter().sum();
        keys.push(Key {
            name: format!("{name} ({total} rows)"),
            color: c,
            mark: Mark::Bar,
        });
    }
    if let Some(t) = cut {
        chart
            .draw_series(LineSeries::new(
                vec![(t, y.lo), (t, y.hi)],
                CUT.stroke_width(3),
            ))
            .map_err(draw_error)?;
        keys.push(Key {
            name: format!("threshold {}", short(t)),
            color: CUT,
            mark: Mark::Cut,
        });
    }
    keys.push(Key {
        name: "the end bins also count the rows beyond them".into(),
        color: WHITE,
        mark: Mark::Bar,
    });
    legend(&side, &keys)
}

/// A number in four significant digits.
fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}
