//! What every picture shares: the embedded font, a palette whose neighbours differ, axes with
//! ticks we choose (linear, symmetric-log, log counts), a legend in its own column beside the
//! data, and one drawing written as PNG and SVG.
//!
//! Text uses an embedded DejaVu Sans (plotters' `ab_glyph` backend), so no system font or
//! fontconfig is needed on a headless machine.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::output::atomically;

/// DejaVu Sans with every glyph's box reaching the ascender (`scripts/align_font_glyph_tops.py`),
/// so that plotters puts a decimal point on the baseline of a PNG's text, not a pixel above it.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansAligned.ttf");
static REGISTER: Once = Once::new();

pub fn register_font() {
    REGISTER.call_once(|| {
        // The font is embedded at build time; a failure here is a build defect, not bad input.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font("sans-serif", style, FONT).is_err() {
                panic!("the embedded DejaVu Sans font could not be registered");
            }
        }
    });
}

pub fn draw_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// Tableau's ten colours: neighbours in a legend never look alike.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The `i`-th of `n` ordered values (a grid over contamination, say) on a sequential palette,
/// light blue to dark blue: its order shows in its shade.
pub fn sequential(i: usize, n: usize) -> RGBColor {
    let (a, b) = ((158.0, 202.0, 225.0), (8.0, 48.0, 107.0));
    let t = if n > 1 {
        i as f64 / (n - 1) as f64
    } else {
        1.0
    };
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The `i`-th of twenty distinct colours: the palette, then a lighter shade of each (for figures
/// of more than ten series that cannot be faceted).
pub fn color20(i: usize) -> RGBColor {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    if (i / PALETTE.len()) % 2 == 0 {
        RGBColor(r, g, b)
    } else {
        let light = |c: u8| (c as u16 + (255 - c as u16) / 2) as u8;
        RGBColor(light(r), light(g), light(b))
    }
}

/// The `i`-th colour of the palette (it repeats after ten).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub const NORMAL: RGBColor = RGBColor(31, 119, 180);
pub const ANOMALY: RGBColor = RGBColor(255, 127, 14);
pub const CUT: RGBColor = RGBColor(214, 39, 40);

/// How an axis maps values to the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    /// `sign(v)·log10(1 + |v|)`: logarithmic far from 0, linear near it, defined for negative
    /// values (an energy term) as for positive ones.
    SymLog,
    /// `log10(v)` for counts of 1 or more.
    LogCount,
    /// `log10(v)` for rates in (0, 1] (a ROC curve's false positive rate, where good detectors
    /// crowd below 0.05); values at or below the axis's end are drawn at it.
    LogRate,
    /// A histogram's bins, each one unit wide on the page, whatever their widths in value
    /// (bins equal on a non-linear scale: `Axis::bins`).
    Bins,
}

impl Scale {
    pub fn to_page(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::SymLog => v.signum() * v.abs().ln_1p() / std::f64::consts::LN_10,
            Scale::LogCount => v.max(f64::MIN_POSITIVE).log10(),
            Scale::LogRate => v.max(1e-12).log10(),
            Scale::Bins => v,
        }
    }

    fn value_at(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::SymLog => t.signum() * (10f64.powf(t.abs()) - 1.0),
            Scale::LogCount | Scale::LogRate => 10f64.powf(t),
            Scale::Bins => t,
        }
    }
}

/// One axis: its scale, its range and ticks on the page (after the scale), and the decimals its
/// linear labels need.
#[derive(Debug, Clone)]
pub struct Axis {
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    decimals: usize,
    /// [`Scale::Bins`]: the increasing bin edges, each bin one unit wide on the page.
    edges: Vec<f64>,
}

impl Axis {
    /// A linear axis over `lo..hi` with about six round ticks.
    pub fn linear(lo: f64, hi: f64) -> Axis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        let raw = (hi - lo) / 6.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let decimals = (-(step.log10().floor()) as i64).max(0) as usize
            + usize::from((step / magnitude - 2.5).abs() < 1e-9);
        let unit = 10f64.powi(decimals as i32);
        let ticks = (first..=last)
            .map(|k| (k as f64 * step * unit).round() / unit)
            .collect();
        Axis {
            scale: Scale::Linear,
            lo,
            hi,
            ticks,
            decimals,
            edges: Vec::new(),
        }
    }

    /// A linear axis covering `values` with 5% of padding on each side.
    pub fn padded(values: impl Iterator<Item = f64>) -> Axis {
        let (lo, hi) = finite_bounds(values).unwrap_or((0.0, 1.0));
        let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
        Axis::linear(lo - pad, hi + pad)
    }

    /// A symmetric-log axis covering `values`, ticked at 0 and at ±1, ±10, ±100, ...; values that
    /// all lie within ±1 (where the symmetric log is nearly linear and no decade is ticked) get a
    /// padded linear axis instead.
    pub fn symlog(values: impl Iterator<Item = f64>) -> Axis {
        let (lo, hi) = finite_bounds(values).unwrap_or((0.0, 1.0));
        if lo > -1.0 && hi < 1.0 {
            return Axis::padded([lo, hi].into_iter());
        }
        let (plo, phi) = (Scale::SymLog.to_page(lo), Scale::SymLog.to_page(hi));
        let pad = if phi > plo { 0.04 * (phi - plo) } else { 0.3 };
        let (plo, phi) = (plo - pad, phi + pad);
        let top = phi.abs().max(plo.abs()).ceil() as i32;
        let mut ticks: Vec<f64> = vec![0.0];
        // ±1 sits close to 0 on the page; left out where the axis spans several decades.
        let first = i32::from(top > 3);
        for k in first..=top {
            let v = Scale::SymLog.to_page(10f64.powi(k));
            ticks.extend([v, -v]);
        }
        ticks.retain(|t| *t >= plo && *t <= phi);
        ticks.sort_by(f64::total_cmp);
        // Every other decade when there are many.
        if ticks.len() > 9 {
            let zero = ticks.iter().position(|t| *t == 0.0).unwrap_or(0);
            ticks = ticks
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as i64 - zero as i64) % 2 == 0)
                .map(|(_, t)| *t)
                .collect();
        }
        Axis {
            scale: Scale::SymLog,
            lo: plo,
            hi: phi,
            ticks,
            decimals: 0,
            edges: Vec::new(),
        }
    }

    /// A log axis for counts from 1 to `max`, ticked at 1, 10, 100, ...; bars start a little
    /// below 1 so that a count of one shows.
    pub fn log_counts(max: f64) -> Axis {
        let top = max.max(1.0).log10() + 0.25;
        let ticks = (0..=top.floor() as i32).map(f64::from).collect();
        Axis {
            scale: Scale::LogCount,
            lo: -0.2,
            hi: top,
            ticks,
            decimals: 0,
            edges: Vec::new(),
        }
    }

    /// A log axis for rates from `lowest` to 1, ticked at each decade (`0.001`, `0.01`, `0.1`,
    /// `1`); a rate below `lowest` (a zero) is drawn at the axis's left end.
    pub fn log_rate(lowest: f64) -> Axis {
        let lo = lowest.max(1e-9).log10().floor();
        let ticks = (lo as i32..=0).map(f64::from).collect();
        Axis {
            scale: Scale::LogRate,
            lo,
            hi: 0.02,
            ticks,
            decimals: 0,
            edges: Vec::new(),
        }
    }

    /// The page coordinate of `v`, kept inside the axis for a log rate (a rate of 0 at its
    /// left end).
    pub fn at_clamped(&self, v: f64) -> f64 {
        match self.scale {
            Scale::LogRate => self.at(v).clamp(self.lo, self.hi),
            _ => self.at(v),
        }
    }

    /// The value at page coordinate `t`.
    pub fn scale_value(&self, t: f64) -> f64 {
        self.scale.value_at(t)
    }

    /// An axis on which each bin of `edges` (increasing) is one unit wide, so that bins equal on
    /// a non-linear scale (a histogram of skewed scores) are drawn equal; values beyond the ends
    /// (a cut) continue at the end bins' widths. Ticked at round values (0, ±1, ±2, ±5, ±10, …)
    /// at least six bins apart, labelled with their values.
    pub fn bins(edges: &[f64], also: impl Iterator<Item = f64>) -> Axis {
        let mut axis = Axis {
            scale: Scale::Bins,
            lo: 0.0,
            hi: (edges.len().max(2) - 1) as f64,
            ticks: Vec::new(),
            decimals: 0,
            edges: edges.to_vec(),
        };
        for v in also.filter(|v| v.is_finite()) {
            let t = axis.at(v);
            axis.lo = axis.lo.min(t - 0.5);
            axis.hi = axis.hi.max(t + 0.5);
        }
        // Candidates by roundness: 0, the powers of ten, then their doubles and fives.
        let mut candidates = vec![0.0];
        for m in [1.0, 5.0, 2.0] {
            for k in -3..=7 {
                let v = m * 10f64.powi(k);
                candidates.extend([v, -v]);
            }
        }
        let (first, last) = (edges[0], edges[edges.len() - 1]);
        // And the middle of the narrowest bin (where the bins are finest: the bulk of the rows),
        // which round values may all miss.
        if let Some(b) = (0..edges.len() - 1)
            .min_by(|&i, &j| (edges[i + 1] - edges[i]).total_cmp(&(edges[j + 1] - edges[j])))
        {
            candidates.push((edges[b] + edges[b + 1]) / 2.0);
        }
        let mut ticks: Vec<f64> = Vec::new();
        for v in candidates {
            if v < first || v > last {
                continue;
            }
            let t = axis.at(v);
            if ticks.iter().all(|u| (u - t).abs() >= 6.0) {
                ticks.push(t);
            }
        }
        ticks.sort_by(f64::total_cmp);
        axis.ticks = ticks;
        axis
    }

    /// The page coordinate of `v`.
    pub fn at(&self, v: f64) -> f64 {
        if self.scale == Scale::Bins && self.edges.len() >= 2 {
            let e = &self.edges;
            let n = e.len() - 1;
            let b = e[1..n].partition_point(|x| *x <= v);
            return b as f64 + (v - e[b]) / (e[b + 1] - e[b]);
        }
        self.scale.to_page(v)
    }

    /// The value at page coordinate `t` on a [`Scale::Bins`] axis.
    fn bin_value(&self, t: f64) -> f64 {
        let e = &self.edges;
        let n = e.len() - 1;
        let b = (t.floor().max(0.0) as usize).min(n - 1);
        e[b] + (t - b as f64) * (e[b + 1] - e[b])
    }

    /// The label of a tick at page coordinate `t`.
    pub fn label(&self, t: f64) -> String {
        match self.scale {
            Scale::Linear => {
                let s = format!("{:.*}", self.decimals, t);
                if s.trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
                {
                    "0".into()
                } else {
                    s.replace('-', "−")
                }
            }
            Scale::SymLog | Scale::LogCount => round_number(self.scale.value_at(t)),
            // Down to 0.0001 as decimals (a ROC axis), below as powers of ten: `1e−6`.
            Scale::LogRate => match t.round() {
                e if e >= -4.0 => format!("{}", self.scale.value_at(e)),
                e => format!("1e−{}", -e),
            },
            Scale::Bins => {
                let v = self.bin_value(t);
                // Most ticks sit on round values (1, 2 or 5 times a power of ten); the bulk's
                // tick is written to four significant digits.
                let mag = 10f64.powf(v.abs().max(1e-9).log10().floor());
                let r = [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .map(|m| m * mag)
                    .min_by(|a, b| (a - v.abs()).abs().total_cmp(&(b - v.abs()).abs()))
                    .unwrap_or(v.abs());
                let sign = if v < 0.0 { "−" } else { "" };
                if v.abs() < 1e-9 {
                    "0".into()
                } else if (r - v.abs()).abs() > 1e-6 * r {
                    format!("{sign}{}", short_value(v.abs()))
                } else if r >= 1.0 {
                    format!("{sign}{}", round_number(r))
                } else {
                    format!("{sign}{r}")
                }
            }
        }
    }

    /// Whether `v` lies on the axis.
    #[cfg(test)]
    fn holds(&self, v: f64) -> bool {
        let t = self.at(v);
        t >= self.lo && t <= self.hi
    }
}

/// Plotters draws an [`Axis`] on the page coordinates with our ticks and labels.
impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.lo..self.hi).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

/// Smallest and largest finite value.
pub fn finite_bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    lo.is_finite().then_some((lo, hi))
}

/// A power of ten (or 0) as a tick shows it: `0`, `1`, `100`, `10k`, `1M`, `−10`.
/// `v` (positive) to four significant digits, without trailing zeros.
fn short_value(v: f64) -> String {
    let decimals = (3 - v.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn round_number(v: f64) -> String {
    let sign = if v < 0.0 { "−" } else { "" };
    let a = v.abs().round();
    let text = match a {
        a if a >= 1e9 => format!("{}G", a / 1e9),
        a if a >= 1e6 => format!("{}M", a / 1e6),
        a if a >= 1e3 => format!("{}k", a / 1e3),
        a => format!("{a}"),
    };
    format!("{sign}{text}")
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    Line,
    Bar,
    Cut,
}

/// One legend entry.
pub struct Key {
    pub name: String,
    pub color: RGBColor,
    pub mark: Mark,
}

/// Width of the legend column beside the data.
pub const LEGEND_WIDTH: u32 = 290;
const TEXT: u32 = 15;

/// The chart type every picture draws on.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// A chart on `area` with a title, both axes and their descriptions.
pub fn frame<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    (x, x_desc): (&Axis, &str),
    (y, y_desc): (&Axis, &str),
) -> Result<Chart<'a, DB>> {
    let width = area.dim_in_pixel().0;
    let mut chart = ChartBuilder::on(area)
        .caption(fit(title, width, 20), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(x.clone(), y.clone())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", TEXT))
        .axis_desc_style(("sans-serif", TEXT + 1))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// `text` cut to what fits `width` pixels at `size` (an ellipsis marks the cut).
fn fit(text: &str, width: u32, size: u32) -> String {
    let room = (width as f64 / (size as f64 * 0.55)) as usize;
    if text.chars().count() <= room {
        text.to_string()
    } else {
        let kept: String = text.chars().take(room.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// `text` broken into lines of at most `width` characters at spaces (a longer word is split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if line.is_empty() {
            line = word;
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Pixels the legend of these entry names takes, top to bottom (see [`legend`]).
pub fn legend_height<'a>(names: impl Iterator<Item = &'a str>) -> u32 {
    let chars = legend_chars(LEGEND_WIDTH);
    58 + names
        .map(|n| wrap(n, chars).len() as u32 * (TEXT + 4) + 8)
        .sum::<u32>()
}

/// Characters of a legend line in a column `width` pixels wide.
fn legend_chars(width: u32) -> usize {
    (((width.saturating_sub(46)) as f64 / (TEXT as f64 * 0.56)) as usize).max(8)
}

/// The legend, top-down in its own column (`area`), each name wrapped to the column's width.
pub fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, keys: &[Key]) -> Result<()> {
    let (w, _) = area.dim_in_pixel();
    let chars = legend_chars(w);
    let style = ("sans-serif", TEXT).into_font().color(&BLACK);
    let mut y = 58i32;
    for key in keys {
        let c = key.color;
        match key.mark {
            Mark::Line => area.draw(&PathElement::new(
                vec![(8, y + 8), (32, y + 8)],
                c.stroke_width(3),
            )),
            Mark::Bar => area.draw(&Rectangle::new(
                [(10, y + 2), (30, y + 14)],
                c.mix(0.6).filled(),
            )),
            Mark::Cut => area.draw(&PathElement::new(
                vec![(20, y), (20, y + 16)],
                c.stroke_width(3),
            )),
        }
        .map_err(draw_error)?;
        for line in wrap(&key.name, chars) {
            area.draw(&Text::new(line, (40, y), style.clone()))
                .map_err(draw_error)?;
            y += TEXT as i32 + 4;
        }
        y += 8;
    }
    Ok(())
}

/// The drawing area for the data and the legend column to its right.
pub fn with_legend_column<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (w, _) = root.dim_in_pixel();
    root.split_horizontally(w.saturating_sub(LEGEND_WIDTH))
}

/// Draws `stem.png` and `stem.svg` of `size` pixels with the same drawing code (the extension is
/// appended, so a stem with a dot in it keeps its whole name).
#[macro_export]
macro_rules! render_both {
    ($stem:expr, $size:expr, $draw:expr) => {{
        $crate::charts::register_font();
        let png = $crate::charts::with_extension($stem, "png");
        $crate::output::atomically(&png, |tmp| {
            let root = plotters::prelude::BitMapBackend::new(tmp, $size).into_drawing_area();
            $draw(&root)?;
            root.present().map_err($crate::charts::draw_error)
        })?;
        let svg = $crate::charts::with_extension($stem, "svg");
        $crate::output::atomically(&svg, |tmp| {
            let root = plotters::prelude::SVGBackend::new(tmp, $size).into_drawing_area();
            $draw(&root)?;
            root.present().map_err($crate::charts::draw_error)
        })
    }};
}

/// `stem` with `.ext` appended (not replacing what follows a dot in the stem).
pub fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// A PNG of `size` pixels drawn by `draw`.
pub fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<()> {
    register_font();
    atomically(path, |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(draw_error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bottom row of each run of inked columns of a white image (a glyph each, for text
    /// whose glyphs do not touch).
    fn glyph_bottoms(buf: &[u8], w: usize, h: usize) -> Vec<usize> {
        let inked = |x: usize, y: usize| buf[(y * w + x) * 3] < 160;
        let mut bottoms = Vec::new();
        let mut current: Option<usize> = None;
        for x in 0..w {
            let bottom = (0..h).rev().find(|&y| inked(x, y));
            match (bottom, current) {
                (Some(b), Some(c)) => current = Some(c.max(b)),
                (Some(b), None) => current = Some(b),
                (None, Some(c)) => {
                    bottoms.push(c);
                    current = None;
                }
                (None, None) => {}
            }
        }
        bottoms.extend(current);
        bottoms
    }

    #[test]
    fn a_decimal_point_sits_on_the_baseline_in_pngs() {
        register_font();
        for size in [11.0, 12.0, 13.0, 14.0, 16.0, 20.0] {
            let (w, h) = (160usize, 60usize);
            let mut buf = vec![255u8; w * h * 3];
            {
                let root =
                    BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
                root.draw(&Text::new(
                    "0.2 1.5",
                    (8, 12),
                    ("sans-serif", size).into_font(),
                ))
                .unwrap();
                root.present().unwrap();
            }
            // Six glyphs (two may touch at small sizes and count as one).
            let bottoms = glyph_bottoms(&buf, w, h);
            assert!(bottoms.len() >= 5, "size {size}: {bottoms:?}");
            assert!(
                bottoms.iter().all(|&b| b == bottoms[0]),
                "size {size}: glyph bottoms {bottoms:?} (0 . 2 1 . 5)"
            );
        }
    }

    #[test]
    fn a_log_rate_axis_writes_decimals_to_a_ten_thousandth_then_powers_of_ten() {
        let a = Axis::log_rate(3e-7);
        assert_eq!(a.ticks.first(), Some(&-7.0));
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(
            labels,
            ["1e−7", "1e−6", "1e−5", "0.0001", "0.001", "0.01", "0.1", "1"]
        );
    }

    #[test]
    fn a_bin_axis_draws_each_bin_one_unit_wide_and_ticks_round_values() {
        // Bins fine around -4 and coarse out to -28 (log-likelihoods of a skewed set).
        let mut edges: Vec<f64> = (0..=30).map(|i| -28.0 + 21.0 * i as f64 / 30.0).collect();
        edges.extend((1..=30).map(|i| -7.0 + 4.7 * i as f64 / 30.0));
        let a = Axis::bins(&edges, [-6.8].into_iter());
        assert_eq!(a.at(edges[0]), 0.0);
        assert!((a.at(edges[45]) - 45.0).abs() < 1e-9);
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert!(
            labels.contains(&"−10".to_string()) && labels.contains(&"−5".to_string()),
            "{labels:?}"
        );
        assert!(a.ticks.windows(2).all(|w| w[1] - w[0] >= 6.0));
    }

    #[test]
    fn a_log_rate_axis_ticks_each_decade_and_puts_a_zero_rate_at_its_end() {
        let a = Axis::log_rate(1e-4);
        assert_eq!(a.ticks, vec![-4.0, -3.0, -2.0, -1.0, 0.0]);
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(labels, ["0.0001", "0.001", "0.01", "0.1", "1"]);
        assert_eq!(a.at_clamped(0.0), a.lo);
        assert!((a.at_clamped(0.01) - (-2.0)).abs() < 1e-12);
        // A linear axis is not clamped.
        assert_eq!(Axis::linear(0.0, 1.0).at_clamped(-0.5), -0.5);
    }

    #[test]
    fn linear_ticks_are_round_and_inside() {
        let a = Axis::linear(0.0, 1.02);
        assert_eq!(a.ticks, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(a.label(0.4), "0.4");
        let b = Axis::linear(-3.0, 57.0);
        assert_eq!(b.ticks, vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(b.label(20.0), "20");
        assert_eq!(Axis::linear(0.0, 1.3).label(0.25), "0.25");
    }

    #[test]
    fn symlog_maps_signs_and_decades() {
        let s = Scale::SymLog;
        assert_eq!(s.to_page(0.0), 0.0);
        assert!((s.to_page(9.0) - 1.0).abs() < 1e-12);
        assert!((s.to_page(-99.0) + 2.0).abs() < 1e-12);
        assert!((s.value_at(s.to_page(-1234.5)) + 1234.5).abs() < 1e-9);
        let a = Axis::symlog([-8.0, 120.0].into_iter());
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(labels, ["−10", "−1", "0", "1", "10", "100"]);
        let a = Axis::symlog([-8.0, 12000.0].into_iter());
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(labels, ["−10", "0", "10", "100", "1k", "10k"]);
        assert!(a.holds(-8.0) && a.holds(12000.0));
        // Within ±1 no decade would be ticked: a linear axis with ticks inside the range.
        let a = Axis::symlog([0.021, 0.048].into_iter());
        assert!(a.holds(0.021) && a.holds(0.048));
        let inside = a.ticks.iter().filter(|t| a.holds(**t)).count();
        assert!(inside >= 3, "{:?}", a.ticks);
    }

    #[test]
    fn count_axis_starts_below_one() {
        let a = Axis::log_counts(197_091.0);
        assert!(a.at(1.0) > a.lo && a.holds(197_091.0));
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(labels, ["1", "10", "100", "1k", "10k", "100k"]);
    }

    #[test]
    fn long_names_wrap_at_spaces() {
        assert_eq!(
            wrap("DAGMM (loss.lambda_cov=0.05) seed 0", 16),
            ["DAGMM", "(loss.lambda_cov", "=0.05) seed 0"]
        );
        assert_eq!(fit("abcdefghij", 55, 10), "abcdefghij");
        assert_eq!(fit("abcdefghij", 50, 10), "abcdefgh…");
    }
}
