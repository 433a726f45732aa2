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
    /// Its colour, where the series are ordered values of one setting (a sequential palette);
    /// the categorical palette by position otherwise.
    pub color: Option<RGBColor>,
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
        // y = x, drawn through the axes' scales (a curve on a log x axis).
        let (lo, hi) = (x.scale_value(x.lo), x.scale_value(x.hi).min(1.0));
        let chance: Vec<(f64, f64)> = (0..=200)
            .map(|i| {
                let v = match x.scale {
                    crate::charts::Scale::Linear => lo + (hi - lo) * i as f64 / 200.0,
                    _ => lo * (hi / lo).powf(i as f64 / 200.0),
                };
                (x.at_clamped(v), y.at(v))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(chance, BLACK.mix(0.3).stroke_width(1)))
            .map_err(draw_error)?;
        keys.push(Key {
            name: "chance".into(),
            color: RGBColor(170, 170, 170),
            mark: Mark::Line,
        });
    }
    for (i, s) in series.iter().enumerate() {
        let c = s.color.unwrap_or_else(|| color(i));
        let page: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(a, b)| (x.at_clamped(a), y.at(b)))
            .collect();
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
    // Bins of unequal widths (equal on a non-linear scale: skewed scores) are drawn one unit
    // each on a bin axis; equal bins on a linear one.
    let widths: Vec<f64> = h.edges.windows(2).map(|w| w[1] - w[0]).collect();
    let (narrow, wide) = widths
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), w| (a.min(*w), b.max(*w)));
    let x = if widths.len() > 1 && wide > 1.5 * narrow {
        Axis::bins(h.edges, cut.into_iter())
    } else {
        Axis::padded(h.edges.iter().copied().chain(cut))
    };
    let top = h
        .classes
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .fold(1.0, f64::max);
    let y = Axis::log_counts(top);
    let x_desc = if x.scale == crate::charts::Scale::Bins {
        format!(
            "{} (non-linear axis: bins fine around the bulk, coarse in the tail)",
            h.x_desc
        )
    } else {
        h.x_desc.to_string()
    };
    let mut chart = frame(&data, h.title, (&x, &x_desc), (&y, "rows (log scale)"))?;
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
                            [(x.at(h.edges[b]), y.lo), (x.at(h.edges[b + 1]), y.at(n))],
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
                vec![(x.at(t), y.lo), (x.at(t), y.hi)],
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

/// A critical-difference diagram (Demšar 2006): each method at its average rank over the data
/// sets (1 = best, on the left), the Nemenyi test's critical difference as a bar, and a thick
/// line under each group of methods whose ranks lie within it of each other (not apart).
pub fn cd_diagram(stem: &Path, title: &str, ranks: &[(String, f64)], cd: f64) -> Result<()> {
    let mut sorted: Vec<(String, f64)> = ranks.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let k = sorted.len();
    // Maximal runs of methods within `cd` of each other (each a group that is not apart).
    let mut cliques: Vec<(usize, usize)> = Vec::new();
    for i in 0..k {
        let mut j = i;
        while j + 1 < k && sorted[j + 1].1 - sorted[i].1 < cd {
            j += 1;
        }
        if j > i && !cliques.iter().any(|&(a, b)| a <= i && j <= b) {
            cliques.push((i, j));
        }
    }
    let half = k.div_ceil(2);
    let rows = half.max(k - half);
    let label = |(m, r): &(String, f64)| format!("{m} ({r:.2})");
    // Room for the longest name on each side (about 7 pixels a character at 14 px).
    let width_of = |labels: &[(String, f64)]| {
        labels
            .iter()
            .map(|l| label(l).chars().count())
            .max()
            .unwrap_or(0) as f64
            * 7.2
            + 40.0
    };
    let (left_room, right_room) = (width_of(&sorted[..half]), width_of(&sorted[half..]));
    let size = (
        (500.0 + left_room + right_room) as u32,
        110 + 26 * rows as u32 + 12 * cliques.len() as u32,
    );
    render_both!(stem, size, |root: &DrawingArea<_, Shift>| {
        root.fill(&WHITE).map_err(draw_error)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(draw_error)?;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = (left_room, w as f64 - right_room);
        let axis_y = 60;
        let at = |r: f64| (left + (r - 1.0) / ((k.max(2) - 1) as f64) * (right - left)) as i32;
        let black = ShapeStyle::from(&BLACK).stroke_width(1);
        root.draw(&PathElement::new(
            vec![(at(1.0), axis_y), (at(k as f64), axis_y)],
            black,
        ))
        .map_err(draw_error)?;
        let font = ("sans-serif", 14).into_font();
        for r in 1..=k {
            let x = at(r as f64);
            root.draw(&PathElement::new(vec![(x, axis_y - 6), (x, axis_y)], black))
                .map_err(draw_error)?;
            root.draw(&Text::new(
                format!("{r}"),
                (x - 4, axis_y - 24),
                font.clone(),
            ))
            .map_err(draw_error)?;
        }
        // The critical difference, above the axis on the left.
        let cd_end = at(1.0 + cd.min((k - 1) as f64));
        let red = ShapeStyle::from(&CUT).stroke_width(3);
        root.draw(&PathElement::new(vec![(at(1.0), 24), (cd_end, 24)], red))
            .map_err(draw_error)?;
        root.draw(&Text::new(
            format!("CD = {cd:.2} (Nemenyi, α = 0.05)"),
            (cd_end + 8, 16),
            font.clone(),
        ))
        .map_err(draw_error)?;
        // The groups that are not apart, as thick bars under the axis.
        for (i, &(a, b)) in cliques.iter().enumerate() {
            let y = axis_y + 12 + 12 * i as i32;
            root.draw(&PathElement::new(
                vec![(at(sorted[a].1) - 4, y), (at(sorted[b].1) + 4, y)],
                ShapeStyle::from(&BLACK).stroke_width(4),
            ))
            .map_err(draw_error)?;
        }
        // Each method: a line down from its rank to its name, the better half on the left.
        let below = axis_y + 24 + 12 * cliques.len() as i32;
        for (i, (method, r)) in sorted.iter().enumerate() {
            let x = at(*r);
            let (row, on_left) = if i < half {
                (i, true)
            } else {
                (k - 1 - i, false)
            };
            let y = below + 26 * row as i32;
            let end = if on_left {
                left as i32 - 10
            } else {
                right as i32 + 10
            };
            root.draw(&PathElement::new(
                vec![(x, axis_y), (x, y), (end, y)],
                black,
            ))
            .map_err(draw_error)?;
            let label = label(&(method.clone(), *r));
            let text_x = if on_left {
                end - 8 - 7 * label.chars().count() as i32
            } else {
                end + 8
            };
            root.draw(&Text::new(label, (text_x.max(2), y - 8), font.clone()))
                .map_err(draw_error)?;
        }
        Ok::<(), anyhow::Error>(())
    })
}
