//! A dagmm run folder, as the command that writes it and the report that reads it both see it:
//!
//! * [`manifest`]: `manifest.json`, what made a run (commit, resolved config, versions, host);
//! * [`state`]: the names a run writes, and [`state::run_state`], when a run is whole;
//! * [`lock`]: which process owns a run, a sweep or a report folder;
//! * [`experiment`]: an experiment file and the run folders it plans.

pub mod experiment;
pub mod lock;
pub mod manifest;
pub mod state;

pub use experiment::EXPERIMENT_FILE;
pub use manifest::{Manifest, MANIFEST_FILE};
pub use state::{run_state, RunState};
