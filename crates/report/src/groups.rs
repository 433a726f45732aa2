//! The runs a report gathers: every whole run below its folder, grouped by data set and method
//! (the folders between the data set and the seed), with the labels and published figures its
//! manifest or the folder's experiment file give.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dagmm_pipeline::files::read_json;
use dagmm_pipeline::{Metric, RunSummary, SUMMARY_FILE};
use dagmm_run_folder::experiment::Experiment;
use dagmm_run_folder::{run_state, Manifest, RunState, EXPERIMENT_FILE, MANIFEST_FILE};

/// One finished run.
pub(crate) struct Run {
    pub(crate) summary: RunSummary,
    /// Its manifest (none in a folder written by hand or by an old version).
    pub(crate) manifest: Option<Manifest>,
    /// The main stage's loss terms per epoch (none for a detector without epochs).
    pub(crate) losses: Vec<(&'static str, Vec<f64>)>,
}

/// A method folder below a data set (`name` or `name/grid point`), ordered so that the numbers in
/// it compare as numbers: `batch_size=4096` before `batch_size=16384`, `0.005` before `0.05`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MethodKey(pub(crate) String);

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
pub(crate) enum Token<'a> {
    Number(f64),
    Text(&'a str),
}

pub(crate) fn natural_tokens(s: &str) -> Vec<Token<'_>> {
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

pub(crate) type Groups = BTreeMap<(String, MethodKey), Group>;

/// The runs of one method on one data set.
#[derive(Default)]
pub(crate) struct Group {
    pub(crate) label: Option<String>,
    pub(crate) paper: BTreeMap<String, f64>,
    pub(crate) runs: Vec<Run>,
}

pub(crate) fn summaries(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let transient = path
            .file_name()
            .is_some_and(|n| dagmm_run_folder::state::is_transient(&n.to_string_lossy()));
        if path.is_dir() && !transient {
            summaries(&path, found)?;
        } else if path.file_name().is_some_and(|n| n == SUMMARY_FILE) {
            found.push(path);
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

/// The loss terms of `losses.csv` a report draws, with their names on the plots.
pub(crate) const LOSS_TERMS: &[(&str, &str)] = &[
    ("total", "objective J"),
    ("reconstruction", "reconstruction"),
    ("energy", "sample energy"),
    ("penalty", "covariance penalty"),
    ("regularization", "variant's term (KL, VQ; DCN's k-means)"),
];

/// The main stage's loss terms per epoch, as named in [`LOSS_TERMS`] (pretraining rows are left
/// out; a term that is zero in every epoch is too). Empty when the run has no `losses.csv` (a
/// classic detector).
pub(crate) fn loss_terms(path: &Path) -> Result<Vec<(&'static str, Vec<f64>)>> {
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

/// Every whole run under `dir`, grouped by data set and method; warnings name the runs left out.
pub(crate) fn load_groups(dir: &Path, warnings: &mut Vec<String>) -> Result<Groups> {
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
            warnings.push(format!(
                "{} is left out of the report: not a whole run ({why})",
                run_dir.display()
            ));
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
            "no whole run under {}: {}",
            dir.display(),
            warnings.join("; ")
        );
    }
    for g in groups.values_mut() {
        g.runs.sort_by_key(|r| r.summary.seed.unwrap_or(u64::MAX));
    }
    Ok(groups)
}

/// An entry's label with its grid point (the method folder below the entry's name), so that the
/// points of one grid stay apart in the tables and plots: `DAGMM (loss.lambda_cov=0.05)`.
pub(crate) fn with_grid_point(label: &str, method: &str) -> String {
    match method.split_once('/') {
        Some((_, point)) => format!("{label} ({point})"),
        None => label.to_string(),
    }
}

pub(crate) fn values(runs: &[Run], metric: Metric) -> Option<Vec<f64>> {
    runs.iter().map(|r| r.summary.metric(metric)).collect()
}

/// A run's seed as tables show it (`?` when the summary lacks one).
pub(crate) fn seed(r: &Run) -> String {
    r.summary.seed.map_or("?".into(), |s| s.to_string())
}

pub(crate) fn name(method: &str, g: &Group) -> String {
    g.label.clone().unwrap_or_else(|| method.to_string())
}

/// How a legend names a group's runs: `(3 seeds)` for a mean, `(seed 0)` for one run.
pub(crate) fn seeds_note(g: &Group) -> String {
    match g.runs.as_slice() {
        [one] => format!("seed {}", seed(one)),
        runs => format!("{} seeds", runs.len()),
    }
}
