//! The report's figures: one function per figure, held in [`DATA_SET_FIGURES`] (drawn for each
//! data set, in the page's order) and [`REPORT_FIGURES`] (across data sets). A figure function
//! draws when the runs hold what it shows (curves, losses, a contamination grid, two devices)
//! and lists itself with its caption for the page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dagmm_pipeline::{DecisionKind, Metric};

use crate::charts::Axis;
use crate::drawing::{
    cd_diagram, class_histogram, line_chart, loss_panels, Histogram, LineChart, LossPanel, Series,
};
use crate::groups::{mean_std, name, seed, seeds_note, values, Group, Groups, MethodKey, Run};
use crate::page::Figure;
use crate::tables::{configured_cut, sweep_rows};

/// A data set or method folder as part of a file name: letters, digits, `-` and `_` kept, every
/// other character `_` (`lambda_cov/loss.lambda_cov=0.05` → `lambda_cov_loss_lambda_cov_0_05`).
pub(crate) fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The series of one figure, or, past ten (which would reuse colours), one figure per experiment
/// entry (`(entry, series)`: the entry's name, empty for the single figure), the entry's grid
/// points (ordered values of one setting) on a sequential palette.
pub(crate) fn facets(series: Vec<(&str, Series)>) -> Vec<(String, Vec<Series>)> {
    let mut entries: Vec<&str> = series.iter().map(|(b, _)| *b).collect();
    entries.dedup();
    if series.len() <= 10 || entries.len() == series.len() {
        if series.is_empty() {
            return Vec::new();
        }
        // One figure; past ten methods without grids (Table 2's twelve), twenty colours.
        let many = series.len() > 10;
        let list = series
            .into_iter()
            .enumerate()
            .map(|(i, (_, mut s))| {
                if many {
                    s.color = Some(crate::charts::color20(i));
                }
                s
            })
            .collect();
        return vec![(String::new(), list)];
    }
    let mut out: Vec<(String, Vec<Series>)> = Vec::new();
    for (base, s) in series {
        match out.iter_mut().find(|(b, _)| b == base) {
            Some((_, list)) => list.push(s),
            None => out.push((base.to_string(), vec![s])),
        }
    }
    for (_, list) in out.iter_mut() {
        let n = list.len();
        if n > 1 {
            for (i, s) in list.iter_mut().enumerate() {
                s.color = Some(crate::charts::sequential(i, n));
            }
        }
    }
    out
}

/// Whether a run's objective weighs the loss term `term` (as [`LOSS_TERMS`] names it; the
/// config its manifest records, `RunConfig::weighs_loss_term`). Without a manifest, every
/// term.
pub(crate) fn optimised(run: &Run, term: &str) -> bool {
    run.manifest
        .as_ref()
        .is_none_or(|m| m.config.weighs_loss_term(term))
}

pub(crate) fn points(v: &[[f64; 2]]) -> Vec<(f64, f64)> {
    v.iter().map(|p| (p[0], p[1])).collect()
}

/// One data set's runs, as a figure of it sees them: its name and its methods (folder, runs) in
/// the tables' order.
pub(crate) struct DataSetRuns<'a> {
    pub(crate) data: &'a str,
    pub(crate) methods: Vec<(&'a str, &'a Group)>,
}

/// The report's `plots/` folder and the figures drawn into it, in the page's order.
pub(crate) struct Plots {
    dir: PathBuf,
    pub(crate) figures: Vec<Figure>,
}

impl Plots {
    /// Lists the figure `<data>_<what>` of `data` with its caption; returns the stem to draw.
    fn add(&mut self, data: &str, what: &str, caption: String) -> PathBuf {
        let stem = format!("{}_{what}", file_part(data));
        self.figures.push(Figure {
            stem: stem.clone(),
            caption,
            data: data.to_string(),
        });
        self.dir.join(stem)
    }
}

/// A figure of one data set: draws itself into `plots` when the runs hold what it shows.
type DataSetFigure = fn(&DataSetRuns, &mut Plots) -> Result<()>;

/// Every figure of a data set, in the page's order.
pub(crate) const DATA_SET_FIGURES: &[(&str, DataSetFigure)] = &[
    ("F1 against the share of rows flagged", f1_vs_percentile),
    ("ROC curves", roc_curves),
    ("precision-recall curves", pr_curves),
    (
        "F1 against the training rows' contamination",
        f1_vs_contamination,
    ),
    ("training loss terms per epoch", loss_terms_per_epoch),
    ("loss differences between devices", device_differences),
    ("score histograms", score_histograms),
];

/// A figure across data sets.
type ReportFigure = fn(&Groups, &mut Plots) -> Result<()>;

/// Every figure across data sets, after the data sets' own.
pub(crate) const REPORT_FIGURES: &[(&str, ReportFigure)] =
    &[("critical difference diagram", critical_difference)];

/// Draws every figure of the report into `dir/plots`, and lists them.
pub(crate) fn write_plots(dir: &Path, groups: &Groups) -> Result<Vec<Figure>> {
    let plots_dir = dir.join("plots");
    std::fs::create_dir_all(&plots_dir)
        .with_context(|| format!("cannot create {}", plots_dir.display()))?;
    let mut plots = Plots {
        dir: plots_dir,
        figures: Vec::new(),
    };
    let mut by_data: BTreeMap<&str, Vec<(&str, &Group)>> = BTreeMap::new();
    for ((data, MethodKey(method)), g) in groups {
        by_data.entry(data).or_default().push((method, g));
    }
    for (data, methods) in by_data {
        let runs = DataSetRuns { data, methods };
        for (what, figure) in DATA_SET_FIGURES {
            figure(&runs, &mut plots).with_context(|| format!("drawing {data}'s {what}"))?;
        }
    }
    for (what, figure) in REPORT_FIGURES {
        figure(groups, &mut plots).with_context(|| format!("drawing the {what}"))?;
    }
    Ok(plots.figures)
}

/// F1 against the share of test rows flagged, mean ± std over seeds, the configured cut marked.
fn f1_vs_percentile(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    let data = d.data;
    let f1: Vec<(&str, Series)> = d
        .methods
        .iter()
        .filter_map(|(m, g)| {
            let rows = sweep_rows(g);
            (!rows.is_empty()).then(|| {
                let stats: Vec<(f64, (f64, f64))> = rows
                    .iter()
                    .map(|(p, v)| {
                        (
                            *p as f64 / 1000.0,
                            mean_std(&v.iter().map(|r| r[2]).collect::<Vec<_>>()),
                        )
                    })
                    .collect();
                let several = g.runs.len() > 1;
                (
                    m.split('/').next().unwrap_or(m),
                    Series {
                        name: format!("{} ({})", name(m, g), seeds_note(g)),
                        points: stats.iter().map(|(p, (m, _))| (*p, *m)).collect(),
                        errors: several.then(|| stats.iter().map(|(_, (_, s))| *s).collect()),
                        color: None,
                    },
                )
            })
        })
        .collect();
    for (base, f1) in facets(f1) {
        let cuts: Vec<f64> = d
            .methods
            .iter()
            .flat_map(|(_, g)| g.runs.iter().filter_map(|r| configured_cut(&r.summary)))
            .collect();
        let cut = cuts
            .first()
            .filter(|c| cuts.iter().all(|d| d == *c))
            .map(|c| (*c, format!("configured cut: top {c}%")));
        let hi = f1
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(0.0, f64::max);
        let (what, of) = if base.is_empty() {
            ("f1_vs_percentile".to_string(), String::new())
        } else {
            (
                format!("f1_vs_percentile_{}", file_part(&base)),
                format!(", {base}"),
            )
        };
        let stem = plots.add(
            data,
            &what,
            format!(
                "{data}{of}: F1 when the top P% of test scores are flagged (error bars: standard \
                 deviation over seeds)"
            ),
        );
        line_chart(
            &stem,
            &LineChart {
                title: &format!("{data}: F1 against the share of test rows flagged{of}"),
                x_desc: "test rows flagged (%)",
                y_desc: "F1",
                x: Axis::linear(0.0, hi * 1.05),
                y: Axis::linear(0.0, 1.02),
                diagonal: false,
                cut,
            },
            &f1,
        )?;
    }
    Ok(())
}

/// Which curve of a run's summary a figure draws.
#[derive(Clone, Copy, PartialEq)]
enum Curve {
    Roc,
    PrecisionRecall,
}

/// ROC curves of each method's first seed, on a log false positive rate, AUCs in the legend.
fn roc_curves(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    curves(d, plots, Curve::Roc)
}

/// Precision-recall curves of each method's first seed.
fn pr_curves(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    curves(d, plots, Curve::PrecisionRecall)
}

fn curves(d: &DataSetRuns, plots: &mut Plots, curve: Curve) -> Result<()> {
    let data = d.data;
    let (key, title, x_desc, y_desc) = match curve {
        Curve::Roc => (
            "roc",
            "ROC curves",
            "false positive rate (log scale)",
            "true positive rate",
        ),
        Curve::PrecisionRecall => ("pr", "precision-recall curves", "recall", "precision"),
    };
    let series: Vec<(&str, Series)> = d
        .methods
        .iter()
        .filter_map(|(m, g)| {
            let r = &g.runs[0];
            let c = r.summary.curves.as_ref()?;
            let pts = points(match curve {
                Curve::Roc => &c.roc,
                Curve::PrecisionRecall => &c.pr,
            });
            let auc = match (curve, r.summary.roc_auc) {
                (Curve::Roc, Some(a)) => format!(", AUC {a:.4}"),
                _ => String::new(),
            };
            (!pts.is_empty()).then(|| {
                (
                    m.split('/').next().unwrap_or(m),
                    Series {
                        name: format!("{} (seed {}){auc}", name(m, g), seed(r)),
                        points: pts,
                        errors: None,
                        color: None,
                    },
                )
            })
        })
        .collect();
    for (base, series) in facets(series) {
        let (what, caption) = if base.is_empty() {
            (
                key.to_string(),
                format!("{data}: {title} of each method's first seed"),
            )
        } else {
            (
                format!("{key}_{}", file_part(&base)),
                format!("{data}: {title} of {base}'s grid points (first seed each)"),
            )
        };
        let stem = plots.add(data, &what, caption);
        let heading = if base.is_empty() {
            format!("{data}: {title}")
        } else {
            format!("{data}: {title}, {base}")
        };
        line_chart(
            &stem,
            &LineChart {
                title: &heading,
                x_desc,
                y_desc,
                // Good detectors' ROC curves crowd below a false positive rate of 0.05: a log
                // axis spreads them (a rate of 0 is drawn at its left end).
                x: match curve {
                    Curve::Roc => Axis::log_rate(1e-4),
                    Curve::PrecisionRecall => Axis::linear(0.0, 1.0),
                },
                y: Axis::linear(0.0, 1.02),
                diagonal: curve == Curve::Roc,
                cut: None,
            },
            &series,
        )?;
    }
    Ok(())
}

/// F1 against the training rows' contamination (the DAGMM paper's Table 3 as a figure): one line
/// per method whose grid varies `data.contamination`, mean ± std over seeds.
fn f1_vs_contamination(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    let data = d.data;
    let mut by_contamination: BTreeMap<String, Vec<(f64, Vec<f64>)>> = BTreeMap::new();
    for (m, g) in &d.methods {
        let Some((base, point)) = m.rsplit_once('/') else {
            continue;
        };
        let Some(c) = point
            .strip_prefix("data.contamination=")
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        if let Some(v) = values(&g.runs, Metric::F1) {
            let label = g
                .label
                .as_deref()
                .and_then(|l| l.split(" (").next())
                .unwrap_or(base)
                .to_string();
            by_contamination
                .entry(label)
                .or_default()
                .push((100.0 * c, v));
        }
    }
    if by_contamination.is_empty() {
        return Ok(());
    }
    let series: Vec<Series> = by_contamination
        .into_iter()
        .map(|(label, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: label,
                points: points.iter().map(|(c, v)| (*c, mean_std(v).0)).collect(),
                errors: Some(points.iter().map(|(_, v)| mean_std(v).1).collect()),
                color: None,
            }
        })
        .collect();
    let hi = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0, f64::max);
    let stem = plots.add(
        data,
        "f1_vs_contamination",
        format!(
            "{data}: F1 against the share of anomalies mixed into the training rows \
             (data.contamination), mean ± std over seeds"
        ),
    );
    line_chart(
        &stem,
        &LineChart {
            title: &format!("{data}: F1 against the training rows' contamination"),
            x_desc: "anomalies among the training rows (%)",
            y_desc: "F1",
            x: Axis::linear(0.0, hi * 1.1),
            y: Axis::linear(0.0, 1.02),
            diagonal: false,
            cut: None,
        },
        &series,
    )
}

/// Training loss terms per epoch, mean over seeds, one panel per method; the methods without a
/// training loss are named in the caption.
fn loss_terms_per_epoch(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    let data = d.data;
    let panels: Vec<LossPanel> = d
        .methods
        .iter()
        .filter_map(|(m, g)| {
            let first = &g.runs[0].losses;
            let terms: Vec<Series> = first
                .iter()
                .filter(|(term, _)| optimised(&g.runs[0], term))
                .filter_map(|(term, _)| {
                    let columns: Vec<&Vec<f64>> = g
                        .runs
                        .iter()
                        .filter_map(|r| r.losses.iter().find(|(t, _)| t == term).map(|c| &c.1))
                        .collect();
                    let n = columns.iter().map(|c| c.len()).min().unwrap_or(0);
                    (columns.len() == g.runs.len() && n > 0).then(|| Series {
                        name: term.to_string(),
                        points: (0..n)
                            .map(|e| {
                                let v: Vec<f64> = columns.iter().map(|c| c[e]).collect();
                                ((e + 1) as f64, mean_std(&v).0)
                            })
                            .collect(),
                        errors: None,
                        color: None,
                    })
                })
                .collect();
            (!terms.is_empty()).then(|| LossPanel {
                title: format!("{} ({})", name(m, g), seeds_note(g)),
                terms,
            })
        })
        .collect();
    if panels.is_empty() {
        return Ok(());
    }
    // Say which methods have no panel rather than leave them out silently.
    let without: Vec<String> = d
        .methods
        .iter()
        .filter(|(_, g)| g.runs[0].losses.is_empty())
        .map(|(m, g)| name(m, g))
        .collect();
    let stem = plots.add(
        data,
        "losses",
        format!(
            "{data}: each loss term the method optimises, per training epoch (mean over seeds), \
             on a symmetric-log axis{}",
            if without.is_empty() {
                String::new()
            } else {
                format!(
                    "; no training loss to draw (not trained by epoch): {}",
                    without.join(", ")
                )
            }
        ),
    );
    loss_panels(&stem, &format!("{data}: training loss terms"), &panels)
}

/// The config a run's manifest records (none without a manifest).
fn config_of(r: &Run) -> Option<&dagmm_pipeline::RunConfig> {
    r.manifest.as_ref().map(|m| &m.config)
}

/// The smallest relative difference the device figure draws; smaller ones (and 0) sit on it.
const SMALLEST_DIFFERENCE: f64 = 1e-9;

/// Where two methods ran the same config on different devices (flex and wgpu, say) their loss
/// curves coincide on the loss figure: this one draws how far apart they are, per loss term and
/// epoch, as the relative difference `|other − reference| / |reference|`, the largest over the
/// seeds both ran, on a log axis: one line per loss term for one pair of methods, one line per
/// pair (the largest over its terms) for several (a grid run on two devices). The reference is
/// the first such method in the table's order.
fn device_differences(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    let data = d.data;
    let (references, series) = device_difference_series(d);
    if series.is_empty() {
        return Ok(());
    }
    let largest = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(SMALLEST_DIFFERENCE, f64::max);
    let smallest = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0, f64::min);
    let hi = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let stem = plots.add(
        data,
        "device_differences",
        format!(
            "{data}: the same config on two devices: the relative difference of each loss term \
             per epoch, |other − reference| / |reference|, the largest over the seeds both ran \
             (reference: {}; largest of all {largest:.1e}; differences below {SMALLEST_DIFFERENCE:.0e}, and none at all, are drawn at the axis's \
             end)",
            references.join(", ")
        ),
    );
    line_chart(
        &stem,
        &LineChart {
            title: &format!("{data}: how far apart the devices' loss terms are"),
            x_desc: "epoch",
            y_desc: "relative difference (log scale)",
            x: Axis::linear(0.0, hi + 1.0),
            y: Axis::log_rate(smallest),
            diagonal: false,
            cut: None,
        },
        &series,
    )
}

/// Two methods that ran one config on two devices, compared seed by seed.
struct DevicePair {
    /// The reference's and the other method's names.
    reference: String,
    other: String,
    /// The seeds both ran, as a legend says it (`one seed`, `largest over 5 seeds`).
    over: String,
    terms: Vec<TermDifferences>,
}

/// One loss term's relative differences: per epoch, one per seed.
struct TermDifferences {
    term: &'static str,
    /// `wgpu:cpu vs flex`.
    devices: String,
    epochs: Vec<Vec<f64>>,
}

impl TermDifferences {
    /// Adds one seed's relative differences `|v − w| / |w|` of `values` from `base`.
    fn add(&mut self, values: &[f64], base: &[f64]) {
        for (e, (v, w)) in values.iter().zip(base).enumerate() {
            if self.epochs.len() <= e {
                self.epochs.push(Vec::new());
            }
            self.epochs[e].push((v - w).abs() / w.abs().max(f64::MIN_POSITIVE));
        }
    }
}

/// The largest of each epoch's differences, drawn at the axis's floor when below it.
fn largest_per_epoch(epochs: &[Vec<f64>]) -> Vec<(f64, f64)> {
    epochs
        .iter()
        .enumerate()
        .map(|(e, v)| {
            let largest = v.iter().fold(0.0, |a: f64, b| a.max(*b));
            ((e + 1) as f64, largest.max(SMALLEST_DIFFERENCE))
        })
        .collect()
}

/// The pair of `reference` and `other` where their runs of a seed share a config but for the
/// device (none when no seed does).
fn device_pair(reference: (&str, &Group), other: (&str, &Group)) -> Option<DevicePair> {
    let (ref_m, ref_g) = reference;
    let (m, g) = other;
    let mut terms: Vec<TermDifferences> = Vec::new();
    let mut seeds = 0;
    for r in &g.runs {
        let Some(base_run) = ref_g.runs.iter().find(|q| q.summary.seed == r.summary.seed) else {
            continue;
        };
        let (Some(a), Some(b)) = (config_of(base_run), config_of(r)) else {
            continue;
        };
        if a.device == b.device || r.losses.is_empty() {
            continue;
        }
        let mut same = b.clone();
        same.device = a.device;
        if same != *a {
            continue;
        }
        seeds += 1;
        let devices = format!("{} vs {}", b.device, a.device);
        for (term, values) in &r.losses {
            if !optimised(r, term) {
                continue;
            }
            let Some((_, base)) = base_run.losses.iter().find(|(t, _)| t == term) else {
                continue;
            };
            match terms
                .iter_mut()
                .find(|t| t.term == *term && t.devices == devices)
            {
                Some(t) => t.add(values, base),
                None => {
                    let mut t = TermDifferences {
                        term,
                        devices: devices.clone(),
                        epochs: Vec::new(),
                    };
                    t.add(values, base);
                    terms.push(t);
                }
            }
        }
    }
    (seeds > 0).then(|| DevicePair {
        reference: name(ref_m, ref_g),
        other: name(m, g),
        over: if seeds == 1 {
            "one seed".to_string()
        } else {
            format!("largest over {seeds} seeds")
        },
        terms,
    })
}

/// The series of [`device_differences`], and the reference methods' names: a line per loss term
/// for one pair of methods, a line per pair (the largest over its terms) for several.
pub(crate) fn device_difference_series(d: &DataSetRuns) -> (Vec<String>, Vec<Series>) {
    let mut pairs: Vec<(DevicePair, &str)> = Vec::new();
    for (i, &(ref_m, ref_g)) in d.methods.iter().enumerate() {
        if pairs.iter().any(|(_, other)| *other == ref_m) {
            continue; // already compared as the other method of an earlier reference
        }
        for &(m, g) in &d.methods[i + 1..] {
            if let Some(pair) = device_pair((ref_m, ref_g), (m, g)) {
                pairs.push((pair, m));
            }
        }
    }
    let several = pairs.len() > 1;
    let mut series = Vec::new();
    for (pair, _) in &pairs {
        if several {
            // One line per pair (a grid of batch sizes on two devices): every term's largest.
            let mut all: Vec<Vec<f64>> = Vec::new();
            for t in &pair.terms {
                for (e, v) in t.epochs.iter().enumerate() {
                    if all.len() <= e {
                        all.push(Vec::new());
                    }
                    all[e].extend(v);
                }
            }
            series.push(Series {
                name: format!(
                    "{} vs {}: every loss term ({})",
                    pair.other, pair.reference, pair.over
                ),
                points: largest_per_epoch(&all),
                errors: None,
                color: None,
            });
        } else {
            for t in &pair.terms {
                series.push(Series {
                    name: format!("{}: {} ({})", t.term, t.devices, pair.over),
                    points: largest_per_epoch(&t.epochs),
                    errors: None,
                    color: None,
                });
            }
        }
    }
    let mut references: Vec<String> = pairs.into_iter().map(|(p, _)| p.reference).collect();
    references.dedup();
    (references, series)
}

/// Score histograms of each method's first seed, by class, with the cut.
fn score_histograms(d: &DataSetRuns, plots: &mut Plots) -> Result<()> {
    let data = d.data;
    for (m, g) in &d.methods {
        let r = &g.runs[0];
        let Some(c) = &r.summary.curves else {
            continue;
        };
        let h = &c.histogram;
        let counts = |v: &[u64]| v.iter().map(|&c| c as f64).collect::<Vec<f64>>();
        if h.edges.len() < 2
            || h.normal.len() + 1 != h.edges.len()
            || h.anomaly.len() != h.normal.len()
        {
            continue;
        }
        let is_pu = r.summary.decision == DecisionKind::Pu;
        let stem = plots.add(
            data,
            &format!("histogram_{}", file_part(m)),
            format!(
                "{data}: {} (seed {}): test scores by class and the cut",
                name(m, g),
                seed(r)
            ),
        );
        class_histogram(
            &stem,
            &Histogram {
                title: &format!("{data}: {} (seed {})", name(m, g), seed(r)),
                x_desc: &if is_pu {
                    "1 − h(x)/c (PU)".to_string()
                } else {
                    format!("score ({})", r.summary.score.name().replace('_', " "))
                },
                edges: &h.edges,
                classes: vec![
                    ("normal", counts(&h.normal)),
                    ("anomaly", counts(&h.anomaly)),
                ],
                threshold: Some(c.threshold),
            },
        )?;
    }
    Ok(())
}

/// Across data sets: the methods that ran on every data set, ranked by mean F1 on each, with the
/// Nemenyi critical difference (Demšar 2006, as ADBench reports).
fn critical_difference(groups: &Groups, plots: &mut Plots) -> Result<()> {
    let datasets: Vec<&str> = {
        let mut d: Vec<&str> = groups.keys().map(|(d, _)| d.as_str()).collect();
        d.dedup();
        d
    };
    let everywhere: Vec<&MethodKey> = {
        let mut m: Vec<&MethodKey> = groups.keys().map(|(_, m)| m).collect();
        m.sort();
        m.dedup();
        m.into_iter()
            .filter(|m| {
                datasets.iter().all(|d| {
                    groups
                        .get(&(d.to_string(), (*m).clone()))
                        .and_then(|g| values(&g.runs, Metric::F1))
                        .is_some()
                })
            })
            .collect()
    };
    if datasets.len() < 2 || everywhere.len() < 2 {
        return Ok(());
    }
    let Some(cd) =
        dagmm_evaluation::paired::nemenyi_critical_difference(everywhere.len(), datasets.len())
    else {
        return Ok(());
    };
    let figures_by_data: Vec<Vec<f64>> = datasets
        .iter()
        .map(|d| {
            everywhere
                .iter()
                .map(|m| {
                    let g = &groups[&(d.to_string(), (*m).clone())];
                    mean_std(&values(&g.runs, Metric::F1).unwrap_or_default()).0
                })
                .collect()
        })
        .collect();
    let ranks = dagmm_evaluation::paired::average_ranks(&figures_by_data);
    let named: Vec<(String, f64)> = everywhere
        .iter()
        .zip(&ranks)
        .map(|(m, r)| {
            let g = &groups[&(datasets[0].to_string(), (*m).clone())];
            (name(&m.0, g), *r)
        })
        .collect();
    let stem = "all_cd_f1".to_string();
    plots.figures.push(Figure {
        stem: stem.clone(),
        caption: format!(
            "Average rank of mean F1 over the {} data sets ({}), 1 = best; methods joined by a \
             bar are within the critical difference of each other (not apart)",
            datasets.len(),
            datasets.join(", ")
        ),
        data: "across data sets".into(),
    });
    cd_diagram(
        &plots.dir.join(&stem),
        "Critical difference diagram: F1 ranks across data sets",
        &named,
        cd,
    )
}
