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

use anyhow::{bail, Context, Result};
use dagmm_pipeline::RunConfig;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cli::{Shard, SweepOrder};
use crate::output;
use crate::own_data::OwnData;
use crate::progress::{clock, on_terminal, EpochProgress};
use crate::runs::{run_into, Extras, Resume};
use crate::train::result_line;
use dagmm_run_folder::experiment::{refuse_shared_folders, Experiment, PlannedRun};
use dagmm_run_folder::lock;
use dagmm_run_folder::state::{run_state, RunState};
use dagmm_run_folder::EXPERIMENT_FILE;

/// One run of the sweep: a run the experiment plans, the sweep's `--data`, and the run's config,
/// read and checked when the sweep starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub run: PlannedRun,
    /// The sweep's `--data`, in every run's config instead of its own data.
    pub own: Option<OwnData>,
    pub config: RunConfig,
}

impl Task {
    /// The task of `run`, with its config: its file or the default one, the sweep's `--data` in
    /// its data's place, the entry's overrides and the seed after.
    fn new(run: PlannedRun, own: Option<&OwnData>) -> Result<Task> {
        let config = match (own, &run.config) {
            (Some(own), config) => own.config(config.as_deref(), &run.overrides)?,
            (None, Some(config)) => RunConfig::load(config, &run.overrides)?,
            (None, None) => bail!(
                "run `{}` names no config: give it `config = \"...\"`, or run the sweep on a file \
                 with --data FILE (the default config)",
                run.entry.name
            ),
        };
        Ok(Task {
            run,
            own: own.cloned(),
            config,
        })
    }

    /// What the manifest records as the run's config file.
    pub fn config_name(&self) -> PathBuf {
        match (&self.run.config, &self.own) {
            (Some(c), _) => c.clone(),
            (None, Some(own)) => own.default_config_name(),
            (None, None) => PathBuf::from("(none)"),
        }
    }
}

/// The runs to do in the order the workers take them: seed round by seed round (every entry's
/// first seed, then every entry's second, …, so a sweep stopped early has every method on its
/// first seeds), and within a round the longest first, so that with `--jobs` above 1 the long
/// runs (KDDCUP's, beside Thyroid's) start early and the short ones fill the gaps at the end
/// (longest-processing-time-first scheduling).
///
/// A run's expected time is the mean wall time of the finished runs of its folder (the other
/// seeds of its method and grid point, from their manifests), else its expected work (data file
/// size × epochs: [`expected_work`]) at the seconds per unit of work the finished runs took.
fn longest_first(todo: Vec<Task>, done: &[Task]) -> Vec<Task> {
    let seconds = |t: &Task| -> Option<f64> {
        dagmm_pipeline::files::read_json::<dagmm_run_folder::Manifest>(
            &t.run.dir.join(dagmm_run_folder::MANIFEST_FILE),
        )
        .ok()
        .map(|m| m.timings.seconds.wall_seconds)
    };
    let mut by_folder: BTreeMap<&Path, Vec<f64>> = BTreeMap::new();
    let mut per_work = Vec::new();
    for t in done {
        if let Some(s) = seconds(t) {
            by_folder
                .entry(t.run.dir.parent().unwrap_or(&t.run.dir))
                .or_default()
                .push(s);
            per_work.push(s / expected_work(&t.config));
        }
    }
    per_work.sort_by(f64::total_cmp);
    let rate = per_work.get(per_work.len() / 2).copied().unwrap_or(1.0);
    let expected: Vec<f64> = todo
        .iter()
        .map(
            |t| match by_folder.get(t.run.dir.parent().unwrap_or(&t.run.dir)) {
                Some(s) => s.iter().sum::<f64>() / s.len() as f64,
                None => expected_work(&t.config) * rate,
            },
        )
        .collect();
    let rounds: Vec<usize> = todo.iter().map(|t| t.run.round).collect();
    let order = schedule(&rounds, &expected);
    let mut slots: Vec<Option<Task>> = todo.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each run once"))
        .collect()
}

/// The order of runs given their seed rounds and expected seconds: by round, then longest first
/// (ties keep the file's order).
fn schedule(rounds: &[usize], expected: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rounds.len()).collect();
    order.sort_by(|&a, &b| {
        rounds[a]
            .cmp(&rounds[b])
            .then(expected[b].total_cmp(&expected[a]))
    });
    order
}

/// A run's work in arbitrary units, to order runs no earlier run timed: its data file's size
/// (a gzip file counted ten times, about its ratio on KDDCUP) times its epochs plus one (the
/// classic detectors: one).
fn expected_work(config: &RunConfig) -> f64 {
    let bytes = dagmm_pipeline::config::data_path(&config.data)
        .ok()
        .and_then(|p| {
            let gz = p.extension().is_some_and(|e| e == "gz");
            std::fs::metadata(&p)
                .ok()
                .map(|m| m.len() as f64 * if gz { 10.0 } else { 1.0 })
        })
        .unwrap_or(1.0);
    bytes * (config.epochs().unwrap_or(0) + 1) as f64
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
    order: SweepOrder,
    own: Option<&OwnData>,
) -> Result<()> {
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let experiment = Experiment::load(file)?;
    let planned = experiment.planned_runs(file, out, own.map(OwnData::data_set_name).as_deref());
    refuse_shared_folders(file, &planned)?;
    // Read and check every config before running anything: a typo fails now, not an hour in.
    let all: Vec<Task> = planned
        .into_iter()
        .map(|r| {
            let dir = r.dir.clone();
            Task::new(r, own).with_context(|| format!("{}: run {}", file.display(), dir.display()))
        })
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let _locks = lock::lock_sweep(out, shard.map(|s| (s.index, s.count)))?;
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
        if t.run.dir.parent().is_some_and(Path::is_dir) {
            if let Ok(_lock) = lock::lock_run(&t.run.dir) {
                crate::runs::recover_interrupted_publish(&t.run.dir)?;
            }
        }
    }
    let mut done = Vec::new();
    let mut todo = Vec::new();
    for t in mine {
        match run_state(&t.run.dir) {
            RunState::Finished => done.push(t),
            RunState::Unfinished => todo.push(t),
            RunState::Damaged(why) => {
                eprintln!(
                    "{} is not a whole run ({why}): running it again",
                    t.run.dir.display()
                );
                todo.push(t);
            }
        }
    }
    let todo = match order {
        SweepOrder::LongestFirst => longest_first(todo, &done),
        SweepOrder::File => todo,
    };
    eprintln!(
        "{}: {} runs{}; {} finished already, {} to run, {} at a time, {}",
        file.display(),
        done.len() + todo.len(),
        shard.map_or(String::new(), |s| format!(
            " in shard {}/{}",
            s.index, s.count
        )),
        done.len(),
        todo.len(),
        jobs,
        match order {
            SweepOrder::LongestFirst => "the longest of each seed's runs first",
            SweepOrder::File => "in the file's order",
        }
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
                    Ok(result) => report(format!("{}: {result}", task.run.dir.display())),
                    Err(e) => {
                        report(format!("FAILED {}: {e:#}", task.run.dir.display()));
                        failures
                            .lock()
                            .expect("failure lock")
                            .push(format!("{}: {e:#}", task.run.dir.display()));
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
    match dagmm_report::write_report_in(out) {
        Ok(written) => {
            for w in &written.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!(
                "wrote the report: {} ({} files; `dagmm report {}` writes it again)",
                out.join("report.html").display(),
                written.files.len(),
                out.display()
            )
        }
        Err(e) => eprintln!(
            "the report was not written ({e:#}); `dagmm report {}` writes it",
            out.display()
        ),
    }
    Ok(())
}

/// Runs one task; its result line.
fn run_task(task: &Task, multi: &MultiProgress) -> Result<String> {
    let config = &task.config;
    let progress = EpochProgress::new(
        config.epochs(),
        &task.run.dir.display().to_string(),
        Some(multi),
    );
    let result = run_into(
        config,
        &task.config_name(),
        &task.run.dir,
        &progress,
        Some(&task.run.entry),
        Extras::default(),
        Resume::IfAny,
    );
    progress.finish(Some(multi));
    result.map(|output| result_line(&output.summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_go_round_by_round_and_longest_first_within_a_round() {
        let rounds = [0, 0, 0, 1, 1, 0];
        let seconds = [5.0, 600.0, 30.0, 600.0, 5.0, 30.0];
        // Round 0: 600 s, then the two 30 s runs in the file's order, then 5 s; round 1 after.
        assert_eq!(schedule(&rounds, &seconds), [1, 2, 5, 0, 3, 4]);
    }

    #[test]
    fn shards_are_checked() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
