//! An experiment file (`dagmm sweep experiments/X.toml`) and the runs it plans: configs ×
//! overrides × grid points × seeds, each into `OUT/<data set>/<run>[/<grid point>]/seed<k>/`.
//! The sweep runs them; the report reads the file back to name what is missing.
//!
//! ```toml
//! description = "what the sweep reproduces"
//! seeds = [0, 1, 2, 3, 4]
//!
//! [[run]]
//! name = "dagmm_vae"                       # folder of the method
//! label = "DAGMM with VAE"                 # how tables name it (default: name)
//! config = "../configs/kddcup/dagmm_vae.toml"   # relative to this file
//! data = "kddcup"                          # folder of the data set (default: the config's folder)
//! set = ["training.epochs=200"]            # overrides, as `dagmm train --set`
//! grid = { "loss.lambda_energy" = [0.01, 0.1] }  # one run per combination (optional)
//! seeds = [0, 1]                           # this entry's seeds (default: the file's)
//! paper = { precision = 0.9642, recall = 0.9461, f1 = 0.9551, roc_auc = 0.9828 }
//! ```
//!
//! Every field is described in `docs/config.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::manifest::SweepEntryRecord;

/// File name of the experiment copy in a sweep's output folder.
pub const EXPERIMENT_FILE: &str = "experiment.toml";

/// An experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    #[serde(default)]
    pub description: String,
    /// Seeds of every entry that does not name its own.
    pub seeds: Vec<u64>,
    #[serde(rename = "run")]
    pub runs: Vec<Entry>,
}

/// One `[[run]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The config file; none: the default config for `dagmm sweep --data FILE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<Vec<u64>>,
    /// The published figures for this method and data set (any of precision, recall, f1,
    /// roc_auc), shown beside ours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paper: BTreeMap<String, f64>,
}

/// One run an experiment plans: its folder, config and overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// Output folder.
    pub dir: PathBuf,
    /// Config file (resolved against the experiment file's folder); none: the default config
    /// for the sweep's `--data`.
    pub config: Option<PathBuf>,
    /// `--set` overrides, the seed last.
    pub overrides: Vec<String>,
    /// What the manifest records about the entry.
    pub entry: SweepEntryRecord,
    /// The seed's position in its entry's seeds: the sweep runs round 0 (every entry's first
    /// seed) before round 1.
    pub round: usize,
}

impl Experiment {
    /// Reads and checks an experiment file (unknown fields are errors naming the file).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read experiment {}", path.display()))?;
        let de = toml::Deserializer::new(&text);
        let exp: Experiment = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            anyhow!(
                "{} at `{at}`: {}",
                path.display(),
                e.inner().to_string().trim_end()
            )
        })?;
        if exp.runs.is_empty() {
            bail!("{}: no [[run]] entries", path.display());
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &exp.runs {
            if r.name.is_empty() || r.name.contains(['/', '\\']) || r.name.starts_with('.') {
                bail!(
                    "{}: run name `{}` must be a plain folder name",
                    path.display(),
                    r.name
                );
            }
            if !names.insert((r.data_folder(), r.name.clone())) {
                bail!("{}: two runs are named `{}`", path.display(), r.name);
            }
            if r.seeds.as_ref().unwrap_or(&exp.seeds).is_empty() {
                bail!("{}: run `{}` has no seeds", path.display(), r.name);
            }
            if let Some((k, _)) = r.grid.iter().find(|(_, v)| v.is_empty()) {
                bail!(
                    "{}: run `{}`: grid `{k}` has no values",
                    path.display(),
                    r.name
                );
            }
        }
        Ok(exp)
    }

    /// Every run, into `out` (`data_name`: the data set's folder for entries that name neither
    /// a data set nor a config, as `dagmm sweep --data FILE` names it after the file), seed-major: the first seed of every entry and grid point (entries as written,
    /// grid keys in order with the last varying fastest), then the second seed of each, … — so a
    /// sweep stopped early has every method on its first seeds rather than one method on all.
    pub fn planned_runs(
        &self,
        file: &Path,
        out: &Path,
        data_name: Option<&str>,
    ) -> Vec<PlannedRun> {
        let base = file.parent().unwrap_or(Path::new("."));
        let mut tasks: Vec<(usize, PlannedRun)> = Vec::new();
        for r in &self.runs {
            let config = r.config.as_ref().map(|c| base.join(c));
            let data = match (&r.data, data_name) {
                (None, Some(name)) => name.to_string(),
                _ => r.data_folder(),
            };
            for point in grid_points(&r.grid) {
                let mut dir = out.join(&data).join(&r.name);
                let mut overrides = r.set.clone();
                if !point.is_empty() {
                    let name: Vec<String> = point
                        .iter()
                        .map(|(k, v)| format!("{k}={}", plain(v)))
                        .collect();
                    dir = dir.join(name.join(","));
                    overrides.extend(point.iter().map(|(k, v)| format!("{k}={v}")));
                }
                for (position, seed) in r.seeds.as_ref().unwrap_or(&self.seeds).iter().enumerate() {
                    let mut o = overrides.clone();
                    o.push(format!("seed={seed}"));
                    tasks.push((
                        position,
                        PlannedRun {
                            dir: dir.join(format!("seed{seed}")),
                            config: config.clone(),
                            overrides: o,
                            entry: SweepEntryRecord {
                                name: r.name.clone(),
                                label: r.label.clone().unwrap_or_else(|| r.name.clone()),
                                data: data.clone(),
                                grid_point: point
                                    .iter()
                                    .map(|(k, v)| (k.clone(), plain(v)))
                                    .collect(),
                                paper: r.paper.clone(),
                            },
                            round: position,
                        },
                    ));
                }
            }
        }
        tasks.sort_by_key(|(position, _)| *position); // stable: entry order within a position
        tasks.into_iter().map(|(_, t)| t).collect()
    }
}

impl Entry {
    /// The data set's folder: `data`, else the config's folder (`configs/kddcup/x.toml` →
    /// `kddcup`). A sweep on `--data FILE` names it after the file instead
    /// ([`Experiment::tasks`]).
    pub fn data_folder(&self) -> String {
        self.data.clone().unwrap_or_else(|| {
            self.config
                .as_deref()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned())
        })
    }
}

/// A TOML value as a folder-name-friendly string (strings unquoted, arrays joined with `-`).
fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join("-"),
        other => other.to_string(),
    }
}

/// The cartesian product of a grid; one empty point for no grid.
fn grid_points(grid: &BTreeMap<String, Vec<toml::Value>>) -> Vec<Vec<(String, toml::Value)>> {
    let mut points = vec![Vec::new()];
    for (key, values) in grid {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

/// Refuses an experiment whose grid gives two runs one folder (`seeds = [0, 0]`, a grid value
/// written twice, or two values that name the same folder, as `0.1` and `"0.1"`).
pub fn refuse_shared_folders(file: &Path, tasks: &[PlannedRun]) -> Result<()> {
    let mut seen: BTreeMap<&Path, &PlannedRun> = BTreeMap::new();
    for t in tasks {
        if let Some(first) = seen.insert(&t.dir, t) {
            bail!(
                "{}: runs `{}` and `{}` would both write {} ({} and {}); every seed and grid \
                 value of an entry must be distinct",
                file.display(),
                first.entry.name,
                t.entry.name,
                t.dir.display(),
                first.overrides.join(" "),
                t.overrides.join(" ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const EXP: &str = r#"
seeds = [0, 1]
[[run]]
name = "base"
config = "configs/set/dagmm.toml"
paper = { f1 = 0.9 }
[[run]]
name = "ablation"
config = "configs/set/dagmm.toml"
data = "other"
set = ["training.epochs=3"]
grid = { "loss.lambda_energy" = [0.01, 0.1], "estimation.n_components" = [2, 4] }
seeds = [7]
"#;

    #[test]
    fn planned_runs_expand_entries_grids_and_seeds_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "exp.toml", EXP);
        let exp = Experiment::load(&file).unwrap();
        let tasks = exp.planned_runs(&file, Path::new("OUT"), None);
        let dirs: Vec<String> = tasks.iter().map(|t| t.dir.display().to_string()).collect();
        assert_eq!(
            dirs,
            [
                "OUT/set/base/seed0",
                "OUT/other/ablation/estimation.n_components=2,loss.lambda_energy=0.01/seed7",
                "OUT/other/ablation/estimation.n_components=2,loss.lambda_energy=0.1/seed7",
                "OUT/other/ablation/estimation.n_components=4,loss.lambda_energy=0.01/seed7",
                "OUT/other/ablation/estimation.n_components=4,loss.lambda_energy=0.1/seed7",
                "OUT/set/base/seed1",
            ]
        );
        assert_eq!(
            tasks[2].overrides,
            [
                "training.epochs=3",
                "estimation.n_components=2",
                "loss.lambda_energy=0.1",
                "seed=7"
            ]
        );
        assert_eq!(
            tasks[0].config.as_deref(),
            Some(dir.path().join("configs/set/dagmm.toml").as_path())
        );
        assert_eq!(tasks[0].entry.paper["f1"], 0.9);
    }

    #[test]
    fn bad_files_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let typo = write(
            dir.path(),
            "t.toml",
            &EXP.replace("seeds = [7]", "seed = [7]"),
        );
        let err = format!("{:#}", Experiment::load(&typo).unwrap_err());
        assert!(err.contains("t.toml") && err.contains("seed"), "{err}");
        let dup = write(
            dir.path(),
            "d.toml",
            "seeds=[0]\n[[run]]\nname=\"a\"\nconfig=\"c\"\n[[run]]\nname=\"a\"\nconfig=\"c\"\n",
        );
        assert!(format!("{:#}", Experiment::load(&dup).unwrap_err()).contains("two runs"));
        let slash = write(
            dir.path(),
            "s.toml",
            "seeds=[0]\n[[run]]\nname=\"a/b\"\nconfig=\"c\"\n",
        );
        assert!(Experiment::load(&slash).is_err());
    }
}
