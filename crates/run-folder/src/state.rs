//! What a run folder holds and when it is whole: the names a run writes, the transient names
//! beside them (a staging folder, a replaced run, a lock), and [`run_state`], the one judgement a
//! sweep (run it again?) and a report (leave it out?) share.

use std::path::Path;

use dagmm_pipeline::{MODEL_DIR, SUMMARY_FILE};

use crate::manifest::{Manifest, MANIFEST_FILE};

/// The suffix of a run's staging folder.
pub const STAGING_SUFFIX: &str = ".partial";
/// The staging folder's checkpoint folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// Whether a folder name is a run's staging folder, a replaced run about to be removed or a
/// run's lock file (they are not results: `dagmm report` passes them by).
pub fn is_transient(name: &str) -> bool {
    name.ends_with(STAGING_SUFFIX)
        || name.contains(".replaced-")
        || name.ends_with(crate::lock::RUN_LOCK_SUFFIX)
}

/// What a run folder holds: anything else in an `--out` folder is the user's, and a run that
/// replaced the folder would lose it.
pub const RUN_ENTRIES: [&str; 12] = [
    "config.toml",
    "losses.csv",
    "scores.csv",
    "summary.json",
    "manifest.json",
    "model",
    "scatter.png",
    "histogram.png",
    "roc.png",
    "roc.svg",
    "losses.png",
    "losses.svg",
];

/// What a run folder holds, as a sweep and a report judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// No `summary.json` (written last): not run, or not to its end.
    Unfinished,
    /// Every file of a finished run is there and reads back.
    Finished,
    /// `summary.json` is there, but a file the run wrote is missing or does not read: the
    /// reason. A sweep runs it again; a report leaves it out.
    Damaged(String),
}

/// Judges the run folder `dir`. A finished run has `config.toml`, `manifest.json` and
/// `summary.json`, each reading back, and its per-row files: `model/` (with its card),
/// `scores.csv` and, for a detector that trains by epoch, `losses.csv`. The repository keeps
/// results without `model/` and `scores.csv` (results/README.md), so a folder lacking both is
/// finished; one lacking only one of them, or `losses.csv` beside them, is not.
pub fn run_state(dir: &Path) -> RunState {
    let summary_path = dir.join(SUMMARY_FILE);
    if !summary_path.is_file() {
        return RunState::Unfinished;
    }
    let damaged = |what: String| RunState::Damaged(what);
    let summary =
        match dagmm_pipeline::files::read_json::<dagmm_pipeline::RunSummary>(&summary_path) {
            Ok(s) => s,
            Err(e) => return damaged(format!("{SUMMARY_FILE} does not read: {e}")),
        };
    for file in ["config.toml", MANIFEST_FILE] {
        if !dir.join(file).is_file() {
            return damaged(format!("it has no {file}"));
        }
    }
    if let Err(e) = dagmm_pipeline::files::read_json::<Manifest>(&dir.join(MANIFEST_FILE)) {
        return damaged(format!("{MANIFEST_FILE} does not read: {e}"));
    }
    let model = dir.join(MODEL_DIR);
    let scores = dir.join("scores.csv");
    match (model.exists(), scores.is_file()) {
        (false, false) => {}
        (true, false) => return damaged("it has model/ but no scores.csv".into()),
        (false, true) => return damaged("it has scores.csv but no model/".into()),
        (true, true) => {
            if !model.join(dagmm_pipeline::CARD_FILE).is_file() {
                return damaged(format!("its model/ has no {}", dagmm_pipeline::CARD_FILE));
            }
            if std::fs::metadata(&scores).map_or(true, |m| m.len() == 0) {
                return damaged("its scores.csv is empty".into());
            }
            if summary.first_loss.is_some() && !dir.join("losses.csv").is_file() {
                return damaged("it has no losses.csv".into());
            }
        }
    }
    RunState::Finished
}
