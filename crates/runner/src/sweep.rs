//! `dagmm sweep experiments/X.toml --out results/X [--jobs N] [--shard i/n]`: runs configs ×
//! overrides × seeds as `dagmm train` runs into `OUT/<data set>/<run>[/<grid point>]/seed<k>/`.
//!
//! An experiment file:
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
//! Resuming: a finished run (`crate::runs::run_state`: `summary.json`, written last, with every
//! other file of the run) is skipped, so a killed sweep picks up where it stopped; a run folder
//! missing a file is run again. A sweep holds `OUT/.sweep.lock` (shared by the shards of one
//! sweep), so a second sweep into `OUT` is refused. `--shard i/n` keeps every n-th run (the i-th of each
//! n, in the file's order), so n machines given the same file and `--out` split the work with
//! no overlap; `dagmm report OUT` merges what they wrote. The experiment file is copied to
//! `OUT/experiment.toml` for the report (labels, the paper's figures).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use dagmm_pipeline::RunConfig;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::cli::Shard;
use crate::output;
use crate::own_data::OwnData;
use crate::progress::{clock, on_terminal, EpochProgress};
use crate::record::SweepEntryRecord;
use crate::runs::{run_into, run_state, Extras, Resume, RunState};
use crate::train::result_line;

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

/// One run of the expanded sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Output folder.
    pub dir: PathBuf,
    /// Config file (resolved against the experiment file's folder); none: the default config
    /// for the sweep's `--data`.
    pub config: Option<PathBuf>,
    /// The sweep's `--data`, in every run's config instead of its own data.
    pub own: Option<OwnData>,
    /// `--set` overrides, the seed last.
    pub overrides: Vec<String>,
    /// What the manifest records about the entry.
    pub entry: SweepEntryRecord,
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

    /// Every run, seed-major: the first seed of every entry and grid point (entries as written,
    /// grid keys in order with the last varying fastest), then the second seed of each, … — so a
    /// sweep stopped early has every method on its first seeds rather than one method on all.
    pub fn tasks(&self, file: &Path, out: &Path, own: Option<&OwnData>) -> Vec<Task> {
        let base = file.parent().unwrap_or(Path::new("."));
        let mut tasks: Vec<(usize, Task)> = Vec::new();
        for r in &self.runs {
            let config = r.config.as_ref().map(|c| base.join(c));
            let data = match (&r.data, own) {
                (None, Some(own)) => own.data_set_name(),
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
                        Task {
                            dir: dir.join(format!("seed{seed}")),
                            config: config.clone(),
                            own: own.cloned(),
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

impl Task {
    /// The run's config: its file or the default one, the sweep's `--data` in its data's place,
    /// the entry's overrides and the seed after.
    pub fn load_config(&self) -> Result<RunConfig> {
        Ok(match (&self.own, &self.config) {
            (Some(own), config) => own.config(config.as_deref(), &self.overrides)?,
            (None, Some(config)) => RunConfig::load(config, &self.overrides)?,
            (None, None) => bail!(
                "run `{}` names no config: give it `config = \"...\"`, or run the sweep on a file \
                 with --data FILE (the default config)",
                self.entry.name
            ),
        })
    }

    /// What the manifest records as the run's config file.
    pub fn config_name(&self) -> PathBuf {
        match (&self.config, &self.own) {
            (Some(c), _) => c.clone(),
            (None, Some(own)) => own.default_config_name(),
            (None, None) => PathBuf::from("(none)"),
        }
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
fn refuse_shared_folders(file: &Path, tasks: &[Task]) -> Result<()> {
    let mut seen: BTreeMap<&Path, &Task> = BTreeMap::new();
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

/// `--jobs` when not given: one run per core of this machine.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `dagmm sweep`.
pub fn run_sweep(
    file: &Path,
    out: &Path,
    jobs: usize,
    shard: Option<Shard>,
    own: Option<&OwnData>,
) -> Result<()> {
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let experiment = Experiment::load(file)?;
    let all = experiment.tasks(file, out, own);
    refuse_shared_folders(file, &all)?;
    // Check every config before running anything: a typo fails now, not an hour in.
    for t in &all {
        t.load_config()
            .with_context(|| format!("{}: run {}", file.display(), t.dir.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let _locks = crate::lock::lock_sweep(out, shard.map(|s| (s.index, s.count)))?;
    output::write_bytes(
        &out.join(EXPERIMENT_FILE),
        toml::to_string_pretty(&experiment)?.as_bytes(),
    )?;
    let mine: Vec<Task> = all
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index - 1))
        .map(|(_, t)| t)
        .collect();
    // A run whose publication a kill interrupted is finished once it is put in place (by this
    // process when no other holds the run).
    for t in &mine {
        if t.dir.parent().is_some_and(Path::is_dir) {
            if let Ok(_lock) = crate::lock::lock_run(&t.dir) {
                crate::runs::recover_interrupted_publish(&t.dir)?;
            }
        }
    }
    let mut done = Vec::new();
    let mut todo = Vec::new();
    for t in mine {
        match run_state(&t.dir) {
            RunState::Finished => done.push(t),
            RunState::Unfinished => todo.push(t),
            RunState::Damaged(why) => {
                eprintln!(
                    "{} is not a whole run ({why}): running it again",
                    t.dir.display()
                );
                todo.push(t);
            }
        }
    }
    eprintln!(
        "{}: {} runs{}; {} finished already, {} to run, {} at a time",
        file.display(),
        done.len() + todo.len(),
        shard.map_or(String::new(), |s| format!(
            " in shard {}/{}",
            s.index, s.count
        )),
        done.len(),
        todo.len(),
        jobs
    );
    let multi = MultiProgress::new();
    let total = (done.len() + todo.len()) as u64;
    let sweep_bar = if on_terminal() {
        let bar = multi.add(ProgressBar::new(total));
        if let Ok(style) =
            ProgressStyle::with_template("sweep {bar:28} {pos}/{len} runs [{elapsed_precise}{msg}]")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    sweep_bar.set_position(done.len() as u64);
    let started = Instant::now();
    let finished = Mutex::new(done.len() as u64);
    let queue = Mutex::new(todo.into_iter());
    let failures = Mutex::new(Vec::new());
    // One line per finished run, above the bars (or alone in a log): which run, what it found,
    // how far the sweep is.
    let report = |line: String| {
        let mut n = finished.lock().expect("count lock");
        *n += 1;
        let ran = *n - done.len() as u64;
        let left = total - *n;
        let eta = started.elapsed().mul_f64(left as f64 / ran as f64);
        let line = format!(
            "[{}/{total}, {} elapsed, eta {}] {line}",
            *n,
            clock(started.elapsed()),
            clock(eta)
        );
        if on_terminal() {
            let _ = multi.println(crate::progress::wrap(
                &line,
                crate::progress::terminal_width().saturating_sub(1),
            ));
        } else {
            eprintln!("{line}");
        }
        // The bar shows the same time left as the lines (one estimate, not two).
        sweep_bar.set_message(format!(", eta {}", clock(eta)));
        sweep_bar.inc(1);
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let Some(task) = queue.lock().expect("queue lock").next() else {
                    break;
                };
                match run_task(&task, &multi) {
                    Ok(result) => report(format!("{}: {result}", task.dir.display())),
                    Err(e) => {
                        report(format!("FAILED {}: {e:#}", task.dir.display()));
                        failures
                            .lock()
                            .expect("failure lock")
                            .push(format!("{}: {e:#}", task.dir.display()));
                    }
                }
            });
        }
    });
    sweep_bar.finish_and_clear();
    let failures = failures.into_inner().expect("failure lock");
    if !failures.is_empty() {
        bail!(
            "{} run(s) failed (rerun the same command to retry them):\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    let ran = total - done.len() as u64;
    let hours = started.elapsed().as_secs_f64() / 3600.0;
    eprintln!(
        "all runs finished ({ran} run here in {}{})",
        clock(started.elapsed()),
        if ran > 0 && hours > 0.0 {
            format!(", {:.0} runs/hour with --jobs {jobs}", ran as f64 / hours)
        } else {
            String::new()
        },
    );
    // The report of what is under OUT. A shard leaves it to whoever knows that every shard has
    // ended (`scripts/slurm/submit.sh` submits it as a job after them). Its failure fails no run.
    if let Some(s) = shard {
        eprintln!(
            "shard {}/{} done; once every shard has finished, `dagmm report {}` writes the report",
            s.index,
            s.count,
            out.display()
        );
        return Ok(());
    }
    match crate::report::run_report(out) {
        Ok(written) => eprintln!(
            "wrote the report: {} ({} files; `dagmm report {}` writes it again)",
            out.join("report.html").display(),
            written.files.len(),
            out.display()
        ),
        Err(e) => eprintln!(
            "the report was not written ({e:#}); `dagmm report {}` writes it",
            out.display()
        ),
    }
    Ok(())
}

/// Runs one task; its result line.
fn run_task(task: &Task, multi: &MultiProgress) -> Result<String> {
    let config = task.load_config()?;
    let progress = EpochProgress::new(
        config.epochs(),
        &task.dir.display().to_string(),
        Some(multi),
    );
    let result = run_into(
        &config,
        &task.config_name(),
        &task.dir,
        &progress,
        Some(&task.entry),
        Extras::default(),
        Resume::IfAny,
    );
    progress.finish(Some(multi));
    result.map(|output| result_line(&output.summary))
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
    fn tasks_expand_entries_grids_and_seeds_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "exp.toml", EXP);
        let exp = Experiment::load(&file).unwrap();
        let tasks = exp.tasks(&file, Path::new("OUT"), None);
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
    fn shards_and_bad_files_are_checked() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
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
