//! `dagmm report DIR`: gathers every finished run below DIR (`summary.json` beside `losses.csv`;
//! several shards' folders merge by lying under one DIR) and writes
//!
//! * `table.md`, `table.csv`: per data set and method, the mean ± sample standard deviation over
//!   seeds of precision, recall, F1 (at the run's threshold) and ROC AUC, the untrained control,
//!   the published figures where the experiment file gives them, whether every run stayed
//!   NaN-free, and the training speed;
//! * `percentiles.md`, `percentiles.csv`: precision, recall and F1 at each swept percentile (seed
//!   002's Tables 1-5), mean ± std over seeds;
//! * `rules.md`, `rules.csv`: precision, recall and F1 of the same scores under every threshold
//!   rule (test percentile, train+test percentile, test contamination), mean ± std and the range
//!   over seeds: how one run's figures move with the protocol's cut;
//! * `plots/<data set>_*.{png,svg}`: F1 against percentile per method, ROC and PR curves (first
//!   seed), the training loss per epoch (mean over seeds), and per-method score histograms.
//!
//! A run's data set is the first folder below DIR, its method the folders between that and the
//! seed folder (`kddcup/dagmm_vae/seed0` → `kddcup`, `dagmm_vae`). Labels and the paper's
//! figures come from the run's manifest (written by `dagmm sweep`), else from DIR's
//! `experiment.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dagmm_pipeline::files::read_json;
use dagmm_pipeline::{DecisionKind, Metric, RunSummary, ThresholdRule, SUMMARY_FILE};

use crate::charts::Axis;
use crate::output;
use crate::record::{Manifest, MANIFEST_FILE};
use crate::report_html::Figure;
use crate::report_plots::{
    class_histogram, line_chart, loss_panels, Histogram, LineChart, LossPanel, Series,
};
use crate::runs::{run_state, RunState};
use crate::sweep::{Experiment, EXPERIMENT_FILE};

const METRICS: &[(Metric, &str)] = &[
    (Metric::Precision, "precision"),
    (Metric::Recall, "recall"),
    (Metric::F1, "F1"),
    (Metric::RocAuc, "ROC AUC"),
    (Metric::UntrainedF1, "untrained F1"),
    (Metric::UntrainedRocAuc, "untrained ROC AUC"),
];
/// The published figures a table puts beside ours, as experiment files name them.
const PAPER: &[(Metric, &str)] = &[
    (Metric::Precision, "precision"),
    (Metric::Recall, "recall"),
    (Metric::F1, "F1"),
    (Metric::RocAuc, "ROC AUC"),
];

/// One finished run.
struct Run {
    summary: RunSummary,
    /// Its manifest (none in a folder written by hand or by an old version).
    manifest: Option<Manifest>,
    /// The main stage's loss terms per epoch (none for a detector without epochs).
    losses: Vec<(&'static str, Vec<f64>)>,
}

/// A method folder below a data set (`name` or `name/grid point`), ordered so that the numbers in
/// it compare as numbers: `batch_size=4096` before `batch_size=16384`, `0.005` before `0.05`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MethodKey(String);

impl Ord for MethodKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        natural_tokens(&self.0)
            .partial_cmp(&natural_tokens(&other.0))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for MethodKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A piece of a name for [`MethodKey`]'s order: a run of text or a number (digits with at most
/// one decimal point); numbers sort before text.
#[derive(Debug, PartialEq, PartialOrd)]
enum Token<'a> {
    Number(f64),
    Text(&'a str),
}

fn natural_tokens(s: &str) -> Vec<Token<'_>> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            let mut point = false;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit()
                    || (bytes[i] == b'.'
                        && !point
                        && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
            {
                point |= bytes[i] == b'.';
                i += 1;
            }
            out.push(Token::Number(s[start..i].parse().unwrap_or(f64::MAX)));
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Token::Text(&s[start..i]));
        }
    }
    out
}

type Groups = BTreeMap<(String, MethodKey), Group>;

/// The runs of one method on one data set.
#[derive(Default)]
struct Group {
    label: Option<String>,
    paper: BTreeMap<String, f64>,
    runs: Vec<Run>,
}

fn summaries(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let transient = path
            .file_name()
            .is_some_and(|n| crate::runs::is_transient(&n.to_string_lossy()));
        if path.is_dir() && !transient {
            summaries(&path, found)?;
        } else if path.file_name().is_some_and(|n| n == SUMMARY_FILE) {
            found.push(path);
        }
    }
    Ok(())
}

/// Removes the temporary files an earlier report left in `dir` when it was killed mid-write
/// (`table.tmp-1a2b.md`: `dagmm_data::atomic`); the caller holds the report's lock, so none is
/// being written.
fn remove_temporaries(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if dagmm_data::atomic::is_temporary(&e.file_name().to_string_lossy())
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            std::fs::remove_file(e.path()).with_context(|| {
                format!(
                    "cannot remove {}, left by a killed report",
                    e.path().display()
                )
            })?;
        }
    }
    Ok(())
}

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// A table cell: the mean ± sample standard deviation over seeds, or the one seed's value.
fn cell(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    if values.len() > 1 {
        format!("{m:.4} ± {s:.4}")
    } else {
        format!("{m:.4}")
    }
}

/// The loss terms of `losses.csv` a report draws, with their names on the plots.
const LOSS_TERMS: &[(&str, &str)] = &[
    ("total", "objective J"),
    ("reconstruction", "reconstruction"),
    ("energy", "sample energy"),
    ("penalty", "covariance penalty"),
    ("regularization", "variant's term (KL, VQ; DCN's k-means)"),
];

/// The main stage's loss terms per epoch, as named in [`LOSS_TERMS`] (pretraining rows are left
/// out; a term that is zero in every epoch is too). Empty when the run has no `losses.csv` (a
/// classic detector).
fn loss_terms(path: &Path) -> Result<Vec<(&'static str, Vec<f64>)>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let stage = header.iter().position(|h| *h == "stage");
    let columns: Vec<(usize, &'static str)> = LOSS_TERMS
        .iter()
        .filter_map(|(key, name)| header.iter().position(|h| h == key).map(|c| (c, *name)))
        .collect();
    let mut terms: Vec<(&'static str, Vec<f64>)> = columns
        .iter()
        .map(|(_, name)| (*name, Vec::new()))
        .collect();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if stage.is_some_and(|s| cells.get(s).is_some_and(|v| *v != "train")) {
            continue;
        }
        for ((c, name), (_, values)) in columns.iter().zip(terms.iter_mut()) {
            let v = cells
                .get(*c)
                .and_then(|v| v.parse().ok())
                .with_context(|| {
                    format!("{} line {}: no number for {name}", path.display(), i + 2)
                })?;
            values.push(v);
        }
    }
    terms.retain(|(name, values)| *name == LOSS_TERMS[0].1 || values.iter().any(|v| *v != 0.0));
    Ok(terms)
}

fn load_groups(dir: &Path) -> Result<Groups> {
    let mut found = Vec::new();
    summaries(dir, &mut found)?;
    found.sort();
    if found.is_empty() {
        bail!("no run summaries (summary.json) under {}", dir.display());
    }
    let experiment = match dir.join(EXPERIMENT_FILE) {
        p if p.is_file() => Some(Experiment::load(&p)?),
        _ => None,
    };
    let mut groups = Groups::new();
    for path in &found {
        let run_dir = path.parent().expect("a file has a parent");
        if let RunState::Damaged(why) = run_state(run_dir) {
            eprintln!(
                "warning: {} is left out of the report: not a whole run ({why})",
                run_dir.display()
            );
            continue;
        }
        let rel = run_dir
            .parent()
            .and_then(|g| g.strip_prefix(dir).ok())
            .map(|g| {
                g.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let (data, method) = match rel.as_slice() {
            // DIR is one run's folder: the data set from its file, the method from its folder.
            [] if run_dir == dir => {
                let summary: RunSummary = read_json(path)?;
                let data = Path::new(&summary.data)
                    .file_name()
                    .map_or("data".into(), |n| n.to_string_lossy().into_owned());
                let data = data
                    .split('.')
                    .next()
                    .filter(|d| !d.is_empty())
                    .unwrap_or("data")
                    .to_string();
                let method = dir
                    .canonicalize()
                    .ok()
                    .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "run".into());
                (data, method)
            }
            [] => (".".to_string(), ".".to_string()),
            [only] => (".".to_string(), only.clone()),
            [first, rest @ ..] => (first.clone(), rest.join("/")),
        };
        let manifest_path = run_dir.join(MANIFEST_FILE);
        let manifest = if manifest_path.is_file() {
            Some(read_json::<Manifest>(&manifest_path)?)
        } else {
            None
        };
        let entry = manifest.as_ref().and_then(|m| m.sweep.clone());
        let group = groups
            .entry((data.clone(), MethodKey(method.clone())))
            .or_default();
        if let Some(entry) = entry {
            group.label = Some(with_grid_point(&entry.label, &method));
            group.paper.extend(entry.paper);
        }
        if let Some(exp) = &experiment {
            let base = method.split('/').next().unwrap_or("");
            if let Some(e) = exp
                .runs
                .iter()
                .find(|e| e.name == base && e.data_folder() == data)
            {
                group.label.get_or_insert_with(|| {
                    with_grid_point(e.label.as_deref().unwrap_or(&e.name), &method)
                });
                for (k, v) in &e.paper {
                    group.paper.entry(k.clone()).or_insert(*v);
                }
            }
        }
        group.runs.push(Run {
            summary: read_json(path)?,
            manifest,
            losses: loss_terms(&run_dir.join("losses.csv"))?,
        });
    }
    if groups.is_empty() {
        bail!(
            "no whole run under {} (each run found lacks a file, as said above)",
            dir.display()
        );
    }
    for g in groups.values_mut() {
        g.runs.sort_by_key(|r| r.summary.seed.unwrap_or(u64::MAX));
    }
    Ok(groups)
}

/// A data set or method folder as part of a file name: letters, digits, `-` and `_` kept, every
/// other character `_` (`lambda_cov/loss.lambda_cov=0.05` → `lambda_cov_loss_lambda_cov_0_05`).
fn file_part(name: &str) -> String {
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

/// An entry's label with its grid point (the method folder below the entry's name), so that the
/// points of one grid stay apart in the tables and plots: `DAGMM (loss.lambda_cov=0.05)`.
fn with_grid_point(label: &str, method: &str) -> String {
    match method.split_once('/') {
        Some((_, point)) => format!("{label} ({point})"),
        None => label.to_string(),
    }
}

fn values(runs: &[Run], metric: Metric) -> Option<Vec<f64>> {
    runs.iter().map(|r| r.summary.metric(metric)).collect()
}

/// The runs the experiment lists that `dir` holds no whole run of, one line per method and data
/// set (`kddcup/dagmm: seeds 1, 2, 3, 4 (4 of 5)`). Entries that name neither a config nor a data
/// set (a sweep's `--data` names their folder) are not checked.
fn missing_runs(experiment: &Experiment, file: &Path, dir: &Path) -> Vec<String> {
    let mut by_method: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for task in experiment.tasks(file, dir, None) {
        let entry = experiment.runs.iter().find(|r| r.name == task.entry.name);
        if entry.is_some_and(|e| e.config.is_none() && e.data.is_none()) {
            continue;
        }
        let method = task
            .dir
            .parent()
            .and_then(|p| p.strip_prefix(dir).ok())
            .map_or_else(|| task.entry.name.clone(), |p| p.display().to_string());
        let slot = by_method.entry(method).or_default();
        slot.1 += 1;
        if run_state(&task.dir) != RunState::Finished {
            let seed = task
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().trim_start_matches("seed").to_string())
                .unwrap_or_default();
            slot.0.push(seed);
        }
    }
    by_method
        .into_iter()
        .filter(|(_, (absent, _))| !absent.is_empty())
        .map(|(method, (absent, all))| {
            format!(
                "{method}: seed{} {} ({} of {all})",
                if absent.len() == 1 { "" } else { "s" },
                absent.join(", "),
                absent.len()
            )
        })
        .collect()
}

/// The series of one figure, or, past ten (which would reuse colours), one figure per experiment
/// entry (`(entry, series)`: the entry's name, empty for the single figure), the entry's grid
/// points (ordered values of one setting) on a sequential palette.
fn facets(series: Vec<(&str, Series)>) -> Vec<(String, Vec<Series>)> {
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
/// config its manifest records, [`crate::runs::weighs_loss_term`]). Without a manifest, every
/// term.
fn optimised(run: &Run, term: &str) -> bool {
    run.manifest
        .as_ref()
        .is_none_or(|m| crate::runs::weighs_loss_term(&m.config, term))
}

/// The paired test of two methods' (or a method and its control's) figures on the seeds both
/// have.
fn paired_on_common_seeds(
    a: &BTreeMap<u64, f64>,
    b: &BTreeMap<u64, f64>,
) -> dagmm_evaluation::paired::PairedTest {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .filter_map(|(s, v)| b.get(s).map(|w| (*v, *w)))
        .unzip();
    dagmm_evaluation::paired::paired_test(&x, &y)
}

/// A paired test's cells of a comparisons table: pairs, mean difference, both p, `apart`.
fn test_cells(t: &dagmm_evaluation::paired::PairedTest) -> String {
    format!(
        "{} | {:+.4} | {} | {} | {}",
        t.n,
        t.mean_difference,
        p_cell(t.t_p),
        p_cell(t.wilcoxon_p),
        if apart(t) { "apart" } else { "" }
    )
}

/// F1 by seed of a group's runs (runs without a seed or an F1 left out).
fn f1_by_seed(g: &Group, metric: Metric) -> BTreeMap<u64, f64> {
    g.runs
        .iter()
        .filter_map(|r| Some((r.summary.seed?, r.summary.metric(metric)?)))
        .collect()
}

/// A p-value as tables show it.
fn p_cell(p: Option<f64>) -> String {
    match p {
        None => "–".into(),
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
    }
}

/// Whether a paired comparison is apart at 0.05: both tests say so (the Wilcoxon test alone
/// cannot reach 0.05 with fewer than six pairs, so five seeds rest on the t-test too).
fn apart(t: &dagmm_evaluation::paired::PairedTest) -> bool {
    let t_p = t.t_p.unwrap_or(1.0);
    let w_p = t.wilcoxon_p.unwrap_or(1.0);
    t_p < 0.05 && (w_p < 0.05 || t.n < 6)
}

/// The paired comparisons of a report, per data set: every method against the best one (by
/// mean F1) on the seeds both ran, and every trained network against its untrained control on
/// the same seeds; written as `paired.md` (`scripts/table_comparisons.py` writes its own
/// `comparisons.md`, the same tests by scipy, with the paper's figures beside). Returns its text and the summary's sentences
/// (which method is best where, by how much, with what confidence; where training lowered F1).
fn write_comparisons(dir: &Path, groups: &Groups) -> Result<(String, Vec<String>)> {
    let mut md = String::from(
        "Each method against the data set's best (highest mean F1) on the seeds both ran: the \
         mean F1 difference, the paired t-test's and the Wilcoxon signed-rank test's two-sided p \
         (Wilcoxon: exact; it cannot go below 0.0625 with five pairs). `apart`: p < 0.05 (both \
         tests from six pairs on).\n",
    );
    let mut summary = Vec::new();
    let mut by_data: BTreeMap<&str, Vec<(&str, &Group)>> = BTreeMap::new();
    for ((data, MethodKey(method)), g) in groups {
        by_data.entry(data).or_default().push((method, g));
    }
    for (data, methods) in &by_data {
        let mean_f1 = |g: &Group| values(&g.runs, Metric::F1).map(|v| mean_std(&v).0);
        let mut ranked: Vec<(&str, &Group, f64)> = methods
            .iter()
            .filter_map(|(m, g)| mean_f1(g).map(|f| (*m, *g, f)))
            .collect();
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2));
        let Some(&(best_m, best_g, best_f1)) = ranked.first() else {
            continue;
        };
        let best_name = name(best_m, best_g);
        md.push_str(&format!(
            "\n### {data}\n\n| method | mean F1 | seeds paired | F1 − {best_name} | paired t p | Wilcoxon p | |\n|---|---|---|---|---|---|---|\n"
        ));
        let best_seeds = f1_by_seed(best_g, Metric::F1);
        md.push_str(&format!(
            "| {best_name} | {best_f1:.4} | {} | best | – | – | |\n",
            best_seeds.len()
        ));
        let mut runner_up = None;
        for &(m, g, f1) in &ranked[1..] {
            let t = paired_on_common_seeds(&f1_by_seed(g, Metric::F1), &best_seeds);
            md.push_str(&format!(
                "| {} | {f1:.4} | {} |\n",
                name(m, g),
                test_cells(&t)
            ));
            if runner_up.is_none() {
                runner_up = Some((name(m, g), f1, t));
            }
        }
        let n_best = best_g.runs.len();
        let mut sentence = format!(
            "On {data}, {best_name} has the highest F1 ({best_f1:.3}, {} run{})",
            n_best,
            if n_best == 1 { "" } else { "s" }
        );
        match runner_up {
            Some((second, f1, t)) if t.n >= 2 => sentence.push_str(&format!(
                ", {:.3} above {second} ({f1:.3}); over their {} common seeds the difference is {} \
                 (paired t p {}, Wilcoxon p {})",
                best_f1 - f1,
                t.n,
                if apart(&t) { "apart from zero" } else { "not apart from zero" },
                p_cell(t.t_p),
                p_cell(t.wilcoxon_p)
            )),
            Some((second, f1, _)) => sentence.push_str(&format!(
                ", {:.3} above {second} ({f1:.3}); too few common seeds to test the difference",
                best_f1 - f1
            )),
            None => {}
        }
        sentence.push('.');
        summary.push(sentence);

        // Trained against untrained, seed by seed.
        let mut lowered = Vec::new();
        let mut rows = String::new();
        for (m, g) in methods {
            let t = paired_on_common_seeds(
                &f1_by_seed(g, Metric::F1),
                &f1_by_seed(g, Metric::UntrainedF1),
            );
            if t.n == 0 {
                continue;
            }
            rows.push_str(&format!("| {} | {} |\n", name(m, g), test_cells(&t)));
            if t.mean_difference < 0.0 {
                lowered.push(format!(
                    "{} ({:+.3}{})",
                    name(m, g),
                    t.mean_difference,
                    if apart(&t) { ", apart" } else { "" }
                ));
            }
        }
        if !rows.is_empty() {
            md.push_str(&format!(
                "\nTrained against untrained (the same network at its initial weights, the same \
                 seeds):\n\n| method | seeds | F1 − untrained F1 | paired t p | Wilcoxon p | |\n|---|---|---|---|---|---|\n{rows}"
            ));
        }
        if !lowered.is_empty() {
            summary.push(format!(
                "On {data}, training lowered the mean F1 below the untrained network's for {}.",
                lowered.join(", ")
            ));
        }
    }
    output::write_bytes(&dir.join("paired.md"), md.as_bytes())?;
    Ok((md, summary))
}

/// A run's seed as tables show it (`?` when the summary lacks one).
fn seed(r: &Run) -> String {
    r.summary.seed.map_or("?".into(), |s| s.to_string())
}

fn name(method: &str, g: &Group) -> String {
    g.label.clone().unwrap_or_else(|| method.to_string())
}

/// What `dagmm report` wrote.
pub struct Written {
    /// `table.md`'s text.
    pub table: String,
    /// Every file, the pictures' last.
    pub files: Vec<PathBuf>,
}

/// `dagmm report DIR`: writes the report and prints the main table and the files it wrote
/// (the pictures as one line per folder).
pub fn print_report(source: &Path, out: Option<&Path>) -> Result<()> {
    let dir = &out.map_or_else(|| default_report_dir(source), Path::to_path_buf);
    let written = run_report_to(source, dir)?;
    print!("{}", written.table);
    println!("\nwrote:");
    let pictures = written
        .files
        .iter()
        .filter(|f| f.parent().is_some_and(|p| p.ends_with("plots")))
        .count();
    for f in written
        .files
        .iter()
        .filter(|f| !f.parent().is_some_and(|p| p.ends_with("plots")))
    {
        println!("  {}", f.display());
    }
    if pictures > 0 {
        println!(
            "  {}: {} plots, each as .png and .svg",
            dir.join("plots").display(),
            pictures / 2
        );
    }
    Ok(())
}

/// Writes every file of the report of the runs under `dir` into `dir`.
pub fn run_report(dir: &Path) -> Result<Written> {
    run_report_to(dir, dir)
}

/// Where `dagmm report DIR` writes without `--out`: into DIR, or, when DIR is one run's folder,
/// beside it (`RUN-report`), so that the run folder keeps only a run's files (a later `train
/// --out RUN` may replace it).
pub fn default_report_dir(dir: &Path) -> PathBuf {
    if dir.join(SUMMARY_FILE).is_file() {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_os_string()))
            .unwrap_or_else(|| "run".into());
        let mut report = name;
        report.push("-report");
        match dir.file_name().and(dir.parent()) {
            Some(parent) => parent.join(report),
            None => dir.join("..").join(report),
        }
    } else {
        dir.to_path_buf()
    }
}

/// Writes every file of the report of the runs under `dir` into `out`.
pub fn run_report_to(dir: &Path, out: &Path) -> Result<Written> {
    if !dir.is_dir() {
        bail!("{} is not a folder of runs", dir.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // One report at a time into a folder; what a killed one left half-written goes.
    let _lock = crate::lock::lock_report(out)?;
    remove_temporaries(out)?;
    remove_temporaries(&out.join("plots"))?;
    let groups = load_groups(dir)?;
    let source = dir;
    let dir = out;
    let mut written = Vec::new();
    let table = write_tables(dir, &groups)?;
    let mut tables = vec![("Results", table.clone())];
    written.extend(["table.md", "table.csv"].map(|f| dir.join(f)));
    if let Some(md) = write_rules(dir, &groups)? {
        tables.push(("Threshold rules", md));
        written.extend(["rules.md", "rules.csv"].map(|f| dir.join(f)));
    }
    let (comparisons, summary) = write_comparisons(dir, &groups)?;
    tables.push(("Paired comparisons", comparisons));
    written.push(dir.join("paired.md"));
    tables.push(("F1 at each percentile", write_percentiles(dir, &groups)?));
    written.extend(["percentiles.md", "percentiles.csv"].map(|f| dir.join(f)));
    let figures = write_plots(dir, &groups)?;
    for f in &figures {
        for ext in ["png", "svg"] {
            written.push(dir.join("plots").join(format!("{}.{ext}", f.stem)));
        }
    }
    let experiment_file = source.join(EXPERIMENT_FILE);
    let mut missing = Vec::new();
    let experiment = if experiment_file.is_file() {
        let text = std::fs::read_to_string(&experiment_file)
            .with_context(|| format!("cannot read {}", experiment_file.display()))?;
        let loaded = Experiment::load(&experiment_file)?;
        missing = missing_runs(&loaded, &experiment_file, source);
        for m in &missing {
            eprintln!("warning: the experiment lists runs this report lacks: {m}");
        }
        let description = loaded.description;
        Some((
            text,
            (!description.trim().is_empty()).then_some(description),
        ))
    } else {
        None
    };
    let runs: Vec<&Run> = groups.values().flat_map(|g| &g.runs).collect();
    crate::report_html::write_html(&crate::report_html::Page {
        dir,
        experiment,
        tables,
        figures: &figures,
        manifests: runs.iter().filter_map(|r| r.manifest.as_ref()).collect(),
        runs: runs.len(),
        summary,
        missing,
    })?;
    written.insert(written.len() - 2 * figures.len(), dir.join("report.html"));
    Ok(Written {
        table,
        files: written,
    })
}

/// Which commits of dagmm made a report's runs, and how many each (from their manifests), so a
/// table made by an older binary says so: `Runs made by dagmm commit 6dc7f99313 (12 runs),
/// fbc67ddd5a (40 runs).`
fn provenance_line(groups: &Groups) -> String {
    let mut by_commit: BTreeMap<String, usize> = BTreeMap::new();
    for r in groups.values().flat_map(|g| &g.runs) {
        let commit = match r.manifest.as_ref().map(|m| &m.git) {
            Some(git) => match &git.commit {
                Some(c) => {
                    let short: String = c.chars().take(10).collect();
                    if git.dirty == Some(true) {
                        format!("{short} (with uncommitted changes)")
                    } else {
                        short
                    }
                }
                None => "unknown (not a git checkout)".into(),
            },
            None => "unknown (no manifest)".into(),
        };
        *by_commit.entry(commit).or_insert(0) += 1;
    }
    let parts: Vec<String> = by_commit
        .iter()
        .map(|(c, n)| format!("{c} ({n} run{})", if *n == 1 { "" } else { "s" }))
        .collect();
    format!(
        "Runs made by dagmm commit{} {}.\n\n",
        if parts.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

fn write_tables(dir: &Path, groups: &Groups) -> Result<String> {
    let mut md = provenance_line(groups);
    md.push_str("| data set | method | seeds | epochs |");
    let mut csv = String::from("data_set,method,label,seeds,epochs");
    for (metric, title) in METRICS {
        let key = metric.key();
        md.push_str(&format!(" {title} |"));
        csv.push_str(&format!(",{key}_mean,{key}_std"));
    }
    for (metric, title) in PAPER {
        md.push_str(&format!(" paper {title} |"));
        csv.push_str(&format!(",paper_{}", metric.key()));
    }
    md.push_str(" F1 − paper | NaN-free | samples/s |\n|---|---|---|---|");
    md.push_str(&"---|".repeat(METRICS.len() + PAPER.len() + 3));
    md.push('\n');
    csv.push_str(",f1_minus_paper,nan_free,samples_per_second_mean\n");
    // The best mean of each judged metric on each data set, marked in bold.
    let marked = [
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::RocAuc,
    ];
    let mut best: BTreeMap<(&str, Metric), f64> = BTreeMap::new();
    for ((data, _), g) in groups {
        for metric in marked {
            if let Some(v) = values(&g.runs, metric) {
                let m = mean_std(&v).0;
                let b = best.entry((data.as_str(), metric)).or_insert(m);
                *b = b.max(m);
            }
        }
    }
    for ((data, MethodKey(method)), g) in groups {
        let seeds: Vec<String> = g.runs.iter().map(seed).collect();
        let epochs = g.runs[0]
            .summary
            .epochs
            .map_or("–".into(), |e| e.to_string());
        let label = name(method, g);
        md.push_str(&format!(
            "| {data} | {label} | {} | {epochs} |",
            seeds.join(", ")
        ));
        csv.push_str(&format!(
            "{data},{method},\"{}\",{},{epochs}",
            label.replace('"', "'"),
            seeds.join(" ")
        ));
        for (metric, _) in METRICS {
            match values(&g.runs, *metric) {
                Some(v) => {
                    let (m, s) = mean_std(&v);
                    if best.get(&(data.as_str(), *metric)) == Some(&m) {
                        md.push_str(&format!(" **{}** |", cell(&v)));
                    } else {
                        md.push_str(&format!(" {} |", cell(&v)));
                    }
                    csv.push_str(&format!(",{m},{s}"));
                }
                None => {
                    md.push_str(" n/a |");
                    csv.push_str(",,");
                }
            }
        }
        for (metric, _) in PAPER {
            match g.paper.get(metric.key()) {
                Some(v) => {
                    md.push_str(&format!(" {v:.4} |"));
                    csv.push_str(&format!(",{v}"));
                }
                None => {
                    md.push_str(" – |");
                    csv.push(',');
                }
            }
        }
        // Our mean F1 less the published one, where the experiment gives it.
        let f1 = values(&g.runs, Metric::F1).map(|v| mean_std(&v).0);
        match (f1, g.paper.get(Metric::F1.key())) {
            (Some(ours), Some(paper)) => {
                md.push_str(&format!(" {:+.4} |", ours - paper));
                csv.push_str(&format!(",{}", ours - paper));
            }
            _ => {
                md.push_str(" – |");
                csv.push(',');
            }
        }
        // Runs from before `nan_free` was recorded finished, and a NaN loss stops a run.
        let nan_free = g.runs.iter().all(|r| r.summary.nan_free.unwrap_or(true));
        let speed = values(&g.runs, Metric::SamplesPerSecond).map(|v| mean_std(&v).0);
        md.push_str(&format!(
            " {} | {} |\n",
            if nan_free { "yes" } else { "NO" },
            speed.map_or("n/a".into(), |s| format!("{s:.0}"))
        ));
        csv.push_str(&format!(
            ",{nan_free},{}\n",
            speed.map_or(String::new(), |s| s.to_string())
        ));
    }
    output::write_bytes(&dir.join("table.md"), md.as_bytes())?;
    output::write_bytes(&dir.join("table.csv"), csv.as_bytes())?;
    Ok(md)
}

/// Per percentile: (precision, recall, F1) of every seed. The run's own cut joins the swept
/// percentiles when the run flagged the top P% of its test scores (the sweep's rule), so a
/// Thyroid run cut at 2.5% shows there too.
fn sweep_rows(g: &Group) -> BTreeMap<i64, Vec<[f64; 3]>> {
    let mut rows: BTreeMap<i64, Vec<[f64; 3]>> = BTreeMap::new();
    for r in &g.runs {
        let s = &r.summary;
        let mut own: BTreeMap<i64, [f64; 3]> = s
            .sweep
            .iter()
            .map(|row| {
                (
                    per_mille(row.percentile),
                    [row.precision, row.recall, row.f1],
                )
            })
            .collect();
        if let Some(p) = configured_cut(s) {
            if let (Some(pr), Some(re), Some(f1)) = (s.precision, s.recall, s.f1) {
                own.entry(per_mille(p)).or_insert([pr, re, f1]);
            }
        }
        for (p, v) in own {
            rows.entry(p).or_default().push(v);
        }
    }
    rows
}

fn per_mille(percentile: f64) -> i64 {
    (percentile * 1000.0).round() as i64
}

/// The percentile a run cut its test scores at, when it used the sweep's rule.
fn configured_cut(s: &RunSummary) -> Option<f64> {
    let rule = s.decision == DecisionKind::TestPercentile;
    (rule && !s.sweep.is_empty())
        .then_some(s.anomaly_percentile)
        .flatten()
}

fn write_percentiles(dir: &Path, groups: &Groups) -> Result<String> {
    let mut md = String::from(
        "Precision, recall and F1 when the top P% of test scores are flagged (mean ± std over seeds; the value alone for one seed).\n",
    );
    let mut csv = String::from(
        "data_set,method,percentile,seeds,precision_mean,precision_std,recall_mean,recall_std,f1_mean,f1_std\n",
    );
    for ((data, MethodKey(method)), g) in groups {
        let rows = sweep_rows(g);
        if rows.is_empty() {
            continue;
        }
        md.push_str(&format!(
            "\n### {data}: {}\n\n| percentile | seeds | precision | recall | F1 |\n|---|---|---|---|---|\n",
            name(method, g)
        ));
        for (p, v) in &rows {
            let p = *p as f64 / 1000.0;
            md.push_str(&format!("| {p} | {} |", v.len()));
            csv.push_str(&format!("{data},{method},{p},{}", v.len()));
            for k in 0..3 {
                let column: Vec<f64> = v.iter().map(|r| r[k]).collect();
                let (m, s) = mean_std(&column);
                md.push_str(&format!(" {} |", cell(&column)));
                csv.push_str(&format!(",{m},{s}"));
            }
            md.push('\n');
            csv.push('\n');
        }
    }
    output::write_bytes(&dir.join("percentiles.md"), md.as_bytes())?;
    output::write_bytes(&dir.join("percentiles.csv"), csv.as_bytes())?;
    Ok(md)
}

/// `rules.md`/`rules.csv`: every threshold rule on the same scores, per data set and method.
fn write_rules(dir: &Path, groups: &Groups) -> Result<Option<String>> {
    let mut md = String::from(
        "The same test scores cut by each threshold rule: the top `anomaly_percentile`% of the \
         test scores (the DAGMM paper), of the training and test scores together \
         (danieltan07/dagmm), or as many rows as the test set has anomalies (GOAD; precision = \
         recall = F1). Mean ± std over seeds, and the lowest and highest F1 of a single seed.\n\n\
         | data set | method | split | rule | seeds | precision | recall | F1 | F1 min | F1 max |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = String::from(
        "data_set,method,split,rule,seeds,precision_mean,precision_std,recall_mean,recall_std,f1_mean,f1_std,f1_min,f1_max\n",
    );
    let mut any = false;
    for ((data, MethodKey(method)), g) in groups {
        let split = g.runs[0]
            .summary
            .protocol
            .as_ref()
            .map_or("paper", |p| p.split.name());
        for rule in ThresholdRule::COMPARABLE {
            let outcomes: Vec<_> = g.runs.iter().filter_map(|r| r.summary.rule(rule)).collect();
            if outcomes.is_empty() {
                continue;
            }
            any = true;
            let column = |f: fn(&dagmm_pipeline::RuleOutcome) -> f64| {
                outcomes.iter().map(|o| f(o)).collect::<Vec<_>>()
            };
            let stat = |f: fn(&dagmm_pipeline::RuleOutcome) -> f64| mean_std(&column(f));
            let (p, r, f) = (stat(|o| o.precision), stat(|o| o.recall), stat(|o| o.f1));
            let lo = outcomes.iter().map(|o| o.f1).fold(f64::INFINITY, f64::min);
            let hi = outcomes
                .iter()
                .map(|o| o.f1)
                .fold(f64::NEG_INFINITY, f64::max);
            md.push_str(&format!(
                "| {data} | {} | {split} | {} | {} | {} | {} | {} | {lo:.4} | {hi:.4} |\n",
                name(method, g),
                rule.name(),
                outcomes.len(),
                cell(&column(|o| o.precision)),
                cell(&column(|o| o.recall)),
                cell(&column(|o| o.f1)),
            ));
            csv.push_str(&format!(
                "{data},{method},{split},{},{},{},{},{},{},{},{},{lo},{hi}\n",
                rule.name(),
                outcomes.len(),
                p.0,
                p.1,
                r.0,
                r.1,
                f.0,
                f.1
            ));
        }
    }
    if !any {
        return Ok(None);
    }
    output::write_bytes(&dir.join("rules.md"), md.as_bytes())?;
    output::write_bytes(&dir.join("rules.csv"), csv.as_bytes())?;
    Ok(Some(md))
}

fn points(v: &[[f64; 2]]) -> Vec<(f64, f64)> {
    v.iter().map(|p| (p[0], p[1])).collect()
}

/// How a legend names a group's runs: `(3 seeds)` for a mean, `(seed 0)` for one run.
fn seeds_note(g: &Group) -> String {
    match g.runs.as_slice() {
        [one] => format!("seed {}", seed(one)),
        runs => format!("{} seeds", runs.len()),
    }
}

fn write_plots(dir: &Path, groups: &Groups) -> Result<Vec<Figure>> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)
        .with_context(|| format!("cannot create {}", plots.display()))?;
    let mut by_data: BTreeMap<&str, Vec<(&str, &Group)>> = BTreeMap::new();
    for ((data, MethodKey(method)), g) in groups {
        by_data.entry(data).or_default().push((method, g));
    }
    let mut figures = Vec::new();
    for (data, methods) in by_data {
        let mut figure = |what: &str, caption: String| -> PathBuf {
            let stem = format!("{}_{what}", file_part(data));
            figures.push(Figure {
                stem: stem.clone(),
                caption,
                data: data.to_string(),
            });
            plots.join(stem)
        };
        // F1 against the flagged percentile, the configured cut marked.
        let f1: Vec<(&str, Series)> = methods
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
            let cuts: Vec<f64> = methods
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
            let stem = figure(
                &what,
                format!(
                    "{data}{of}: F1 when the top P% of test scores are flagged (error bars: \
                     standard deviation over seeds)"
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
        // ROC and PR curves of each method's first seed.
        for (key, title, x_desc, y_desc, diagonal) in [
            (
                "roc",
                "ROC curves",
                "false positive rate (log scale)",
                "true positive rate",
                true,
            ),
            (
                "pr",
                "precision-recall curves",
                "recall",
                "precision",
                false,
            ),
        ] {
            let series: Vec<(&str, Series)> = methods
                .iter()
                .filter_map(|(m, g)| {
                    let r = &g.runs[0];
                    let c = r.summary.curves.as_ref()?;
                    let pts = points(if key == "roc" { &c.roc } else { &c.pr });
                    let auc = match (key, r.summary.roc_auc) {
                        ("roc", Some(a)) => format!(", AUC {a:.4}"),
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
                let stem = figure(&what, caption);
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
                        // Good detectors' ROC curves crowd below a false positive rate of 0.05:
                        // a log axis spreads them (a rate of 0 is drawn at its left end).
                        x: if key == "roc" {
                            Axis::log_rate(1e-4)
                        } else {
                            Axis::linear(0.0, 1.0)
                        },
                        y: Axis::linear(0.0, 1.02),
                        diagonal,
                        cut: None,
                    },
                    &series,
                )?;
            }
        }
        // F1 against the training rows' contamination (the DAGMM paper's Table 3 as a figure): one
        // line per method whose grid varies `data.contamination`, mean ± std over seeds.
        let mut by_contamination: BTreeMap<String, Vec<(f64, Vec<f64>)>> = BTreeMap::new();
        for (m, g) in &methods {
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
        if !by_contamination.is_empty() {
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
            let stem = figure(
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
            )?;
        }
        // Training loss terms per epoch, mean over seeds, one panel per method.
        let panels: Vec<LossPanel> = methods
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
        if !panels.is_empty() {
            // Say which methods have no panel rather than leave them out silently.
            let without: Vec<String> = methods
                .iter()
                .filter(|(_, g)| g.runs[0].losses.is_empty())
                .map(|(m, g)| name(m, g))
                .collect();
            let stem = figure(
                "losses",
                format!(
                    "{data}: each loss term the method optimises, per training epoch (mean over \
                     seeds), on a symmetric-log axis{}",
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
            loss_panels(&stem, &format!("{data}: training loss terms"), &panels)?;
        }
        // Score histograms of each method's first seed.
        for (m, g) in &methods {
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
            let stem = figure(
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
    }
    // Across data sets: the methods that ran on every data set, ranked by mean F1 on each, with
    // the Nemenyi critical difference (Demšar 2006, as ADBench reports).
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
    if datasets.len() >= 2 && everywhere.len() >= 2 {
        if let Some(cd) =
            dagmm_evaluation::paired::nemenyi_critical_difference(everywhere.len(), datasets.len())
        {
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
            figures.push(Figure {
                stem: stem.clone(),
                caption: format!(
                    "Average rank of mean F1 over the {} data sets ({}), 1 = best; methods joined \
                     by a bar are within the critical difference of each other (not apart)",
                    datasets.len(),
                    datasets.join(", ")
                ),
                data: "across data sets".into(),
            });
            crate::report_plots::cd_diagram(
                &plots.join(&stem),
                "Critical difference diagram: F1 ranks across data sets",
                &named,
                cd,
            )?;
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }

    /// A summary with the fields every run has, and these metrics.
    fn summary(seed: u64, epochs: usize, precision: f64, f1: f64) -> RunSummary {
        RunSummary {
            data: "data.csv".into(),
            score: dagmm_pipeline::ScoreName::Energy,
            decision: DecisionKind::TestPercentile,
            n_rows: 10,
            n_features: 2,
            seed: Some(seed),
            epochs: Some(epochs),
            precision: Some(precision),
            recall: Some(precision),
            f1: Some(f1),
            roc_auc: Some(0.9),
            ..RunSummary::default()
        }
    }

    /// A finished run's folder as a report reads it: the summary, a config and a manifest.
    fn write_summary(run: &Path, s: &RunSummary) {
        std::fs::create_dir_all(run).unwrap();
        output::write_json(&run.join(SUMMARY_FILE), s).unwrap();
        let config = dagmm_pipeline::RunConfig::new(
            dagmm_pipeline::DetectorKind::Dagmm,
            dagmm_pipeline::DataSection::file("data.csv".into(), None, None),
            Default::default(),
        );
        std::fs::write(run.join("config.toml"), config.to_toml().unwrap()).unwrap();
        let manifest = Manifest::new(
            &config,
            Path::new("c.toml"),
            None,
            "now".into(),
            Default::default(),
        );
        output::write_json(&run.join(MANIFEST_FILE), &manifest).unwrap();
    }

    #[test]
    fn groups_seed_folders_and_writes_tables() {
        let dir = tempfile::tempdir().unwrap();
        for (seed, f1) in [(0, 0.9), (1, 0.8)] {
            let run = dir.path().join("kddcup/dagmm").join(format!("seed{seed}"));
            let mut s = summary(seed, 200, 0.5, f1);
            s.roc_auc = Some(0.99);
            s.untrained_f1 = Some(0.7);
            s.untrained_roc_auc = Some(0.9);
            s.samples_per_second = Some(1000.0);
            s.sweep = vec![dagmm_evaluation::SweepRow {
                percentile: 10.0,
                threshold: 1.0,
                precision: 1.0,
                recall: 0.5,
                f1,
                flagged: 1,
            }];
            s.threshold_rules = vec![dagmm_pipeline::RuleOutcome {
                rule: ThresholdRule::TestContamination,
                threshold: 1.0,
                flagged: 3,
                precision: f1,
                recall: f1,
                f1,
            }];
            write_summary(&run, &s);
            std::fs::write(run.join("losses.csv"), "epoch,total\n1,3.0\n2,2.0\n").unwrap();
        }
        // A classic detector beside it: no losses, no epochs.
        let mut g = summary(0, 0, 0.4, 0.4);
        g.epochs = None;
        write_summary(&dir.path().join("kddcup/gmm/seed0"), &g);
        run_report(dir.path()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
        assert!(md.contains("| kddcup | dagmm | 0, 1 | 200 |"), "{md}");
        assert!(md.contains("0.8500 ± 0.0707"), "{md}");
        assert!(
            md.contains("| kddcup | gmm | 0 | – | 0.4000 | 0.4000 |"),
            "{md}"
        );
        let csv = std::fs::read_to_string(dir.path().join("table.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3);
        let rules = std::fs::read_to_string(dir.path().join("rules.md")).unwrap();
        assert!(
            rules.contains("| kddcup | dagmm | paper | test_contamination | 2 | 0.8500 ± 0.0707 | 0.8500 ± 0.0707 | 0.8500 ± 0.0707 | 0.8000 | 0.9000 |"),
            "{rules}"
        );
        let per = std::fs::read_to_string(dir.path().join("percentiles.md")).unwrap();
        assert!(
            per.contains("| 10 | 2 | 1.0000 ± 0.0000 | 0.5000 ± 0.0000 | 0.8500 ± 0.0707 |"),
            "{per}"
        );
        assert!(dir.path().join("plots/kddcup_losses.svg").is_file());
        assert!(dir
            .path()
            .join("plots/kddcup_f1_vs_percentile.png")
            .is_file());
    }

    #[test]
    fn more_than_ten_series_are_faceted_by_entry_on_a_sequential_palette() {
        let series = |n: usize, base: &'static str| {
            (0..n)
                .map(move |i| {
                    (
                        base,
                        Series {
                            name: format!("{base} {i}"),
                            points: vec![(0.0, 0.0)],
                            errors: None,
                            color: None,
                        },
                    )
                })
                .collect::<Vec<_>>()
        };
        // Twelve entries of one series each (no grid): one figure, twelve distinct colours.
        let twelve_entries: Vec<(&str, Series)> =
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]
                .into_iter()
                .flat_map(|b| series(1, b))
                .collect();
        let one = facets(twelve_entries);
        assert_eq!(one.len(), 1);
        let colours: std::collections::BTreeSet<(u8, u8, u8)> = one[0]
            .1
            .iter()
            .map(|s| {
                let c = s.color.unwrap();
                (c.0, c.1, c.2)
            })
            .collect();
        assert_eq!(colours.len(), 12);
        let ten = facets(series(10, "a"));
        assert_eq!(ten.len(), 1);
        assert!(ten[0].0.is_empty() && ten[0].1.iter().all(|s| s.color.is_none()));
        let mut twelve = series(6, "a");
        twelve.extend(series(6, "b"));
        let f = facets(twelve);
        assert_eq!(
            f.iter()
                .map(|(b, l)| (b.as_str(), l.len()))
                .collect::<Vec<_>>(),
            [("a", 6), ("b", 6)]
        );
        let shades: Vec<_> = f[0].1.iter().map(|s| s.color.unwrap()).collect();
        assert_eq!(shades[0], crate::charts::sequential(0, 6));
        assert_eq!(shades[5], crate::charts::sequential(5, 6));
        assert_ne!(shades[0], shades[5]);
    }

    #[test]
    fn a_contamination_grid_gets_the_f1_against_contamination_figure() {
        let dir = tempfile::tempdir().unwrap();
        for (c, f1s) in [("0.01", [0.9, 0.8]), ("0.05", [0.6, 0.7])] {
            for (seed, f1) in f1s.iter().enumerate() {
                let run = dir
                    .path()
                    .join(format!("kddcup/dagmm/data.contamination={c}/seed{seed}"));
                write_summary(&run, &summary(seed as u64, 2, *f1, *f1));
            }
        }
        let written = run_report(dir.path()).unwrap();
        let stem = dir.path().join("plots/kddcup_f1_vs_contamination");
        for ext in ["png", "svg"] {
            assert!(crate::charts::with_extension(&stem, ext).is_file(), "{ext}");
        }
        assert!(written
            .files
            .iter()
            .any(|f| f.ends_with("plots/kddcup_f1_vs_contamination.png")));
        let svg = std::fs::read_to_string(crate::charts::with_extension(&stem, "svg")).unwrap();
        assert!(
            svg.contains("anomalies among the training rows (%)"),
            "no axis title"
        );
    }

    #[test]
    fn grid_points_of_one_entry_keep_their_point_in_the_label() {
        let dir = tempfile::tempdir().unwrap();
        for (point, f1) in [("loss.lambda_cov=0", 0.6), ("loss.lambda_cov=0.05", 0.9)] {
            let run = dir
                .path()
                .join("kddcup/lambda_cov")
                .join(point)
                .join("seed0");
            let mut s = summary(0, 50, f1, f1);
            s.curves = Some(dagmm_pipeline::Curves {
                roc: vec![[0.0, 0.0], [1.0, 1.0]],
                pr: vec![[0.0, 1.0], [1.0, 0.5]],
                histogram: dagmm_pipeline::records::ClassHistogram {
                    edges: vec![0.0, 1.0, 2.0],
                    normal: vec![3, 1],
                    anomaly: vec![0, 2],
                },
                threshold: 1.0,
            });
            write_summary(&run, &s);
            std::fs::write(run.join("losses.csv"), "epoch,total\n1,3.0\n").unwrap();
            let config = dagmm_pipeline::RunConfig::new(
                dagmm_pipeline::DetectorKind::Dagmm,
                dagmm_pipeline::DataSection::file("data.csv".into(), None, None),
                dagmm_pipeline::EvaluationSection {
                    anomaly_percentile: Some(20.0),
                    ..Default::default()
                },
            );
            let entry = crate::record::SweepEntryRecord {
                name: "lambda_cov".into(),
                label: "DAGMM".into(),
                data: "kddcup".into(),
                ..Default::default()
            };
            let manifest = Manifest::new(
                &config,
                Path::new("c.toml"),
                Some(&entry),
                "now".into(),
                Default::default(),
            );
            output::write_json(&run.join(MANIFEST_FILE), &manifest).unwrap();
        }
        run_report(dir.path()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
        // The better grid point's F1 is marked as the best of its data set.
        for (label, f1) in [
            ("DAGMM (loss.lambda_cov=0)", "0.6000"),
            ("DAGMM (loss.lambda_cov=0.05)", "**0.9000**"),
        ] {
            let row = md
                .lines()
                .find(|l| l.contains(&format!("| {label} |")))
                .unwrap_or_else(|| panic!("no row {label} in\n{md}"));
            assert!(row.contains(&format!("| {f1} |")), "{row}");
            assert!(!row.contains('±'), "one seed has no spread: {row}");
        }
        // One histogram per grid point, the point's dots kept apart from the extension.
        for stem in [
            "kddcup_histogram_lambda_cov_loss_lambda_cov_0",
            "kddcup_histogram_lambda_cov_loss_lambda_cov_0_05",
        ] {
            for ext in ["png", "svg"] {
                let p = dir.path().join(format!("plots/{stem}.{ext}"));
                assert!(p.is_file(), "{} missing", p.display());
            }
        }
    }

    #[test]
    fn method_folders_sort_with_numbers_as_numbers() {
        let mut keys: Vec<MethodKey> = [
            "flex/training.batch_size=16384",
            "flex/training.batch_size=4096",
            "flex/training.batch_size=1024",
            "lambda_cov/loss.lambda_cov=0.05",
            "lambda_cov/loss.lambda_cov=0.0",
            "lambda_cov/loss.lambda_cov=0.005",
            "latent/compression.encoder_layers=60-30-10-4",
            "latent/compression.encoder_layers=60-30-10-1",
            "dagmm",
        ]
        .iter()
        .map(|k| MethodKey(k.to_string()))
        .collect();
        keys.sort();
        let sorted: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(
            sorted,
            [
                "dagmm",
                "flex/training.batch_size=1024",
                "flex/training.batch_size=4096",
                "flex/training.batch_size=16384",
                "lambda_cov/loss.lambda_cov=0.0",
                "lambda_cov/loss.lambda_cov=0.005",
                "lambda_cov/loss.lambda_cov=0.05",
                "latent/compression.encoder_layers=60-30-10-1",
                "latent/compression.encoder_layers=60-30-10-4",
            ]
        );
        // Equal numbers written differently still give a total order.
        assert!(MethodKey("k=1".into()) < MethodKey("k=1.0".into()));
    }

    #[test]
    fn losses_csv_terms_of_the_main_stage_and_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("losses.csv");
        std::fs::write(
            &p,
            "stage,epoch,total,reconstruction,energy,penalty,regularization\n\
             layer1,1,9,9,0,0,0\ntrain,1,2.5,1,-3,40,0\ntrain,2,1.5,0.5,-4,20,0\n",
        )
        .unwrap();
        assert_eq!(
            loss_terms(&p).unwrap(),
            vec![
                ("objective J", vec![2.5, 1.5]),
                ("reconstruction", vec![1.0, 0.5]),
                ("sample energy", vec![-3.0, -4.0]),
                ("covariance penalty", vec![40.0, 20.0]),
            ]
        );
        // Files from before the stage column: every row is the main stage's.
        std::fs::write(&p, "epoch,total,x\n1,2.5,0\n2,1.5,0\n").unwrap();
        assert_eq!(
            loss_terms(&p).unwrap(),
            vec![("objective J", vec![2.5, 1.5])]
        );
        std::fs::write(&p, "epoch,total\n1,oops\n").unwrap();
        let err = format!("{:#}", loss_terms(&p).unwrap_err());
        assert!(
            err.contains("line 2") && err.contains("objective J"),
            "{err}"
        );
    }
}
