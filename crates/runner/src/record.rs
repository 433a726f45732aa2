//! The manifest of a run this process made: the git state read as the command starts, the
//! versions and the host (the manifest's type: `dagmm_run_folder::manifest`).

use std::path::Path;
use std::sync::OnceLock;

use dagmm_pipeline::{RunConfig, Timings};
use dagmm_run_folder::manifest::{
    now, GitState, Host, Manifest, RunTimings, SweepEntryRecord, Versions, MANIFEST_FORMAT,
    MANIFEST_VERSION,
};

use crate::git::git;

/// Burn's version, as pinned in the workspace `Cargo.toml`.
pub const BURN_VERSION: &str = "0.22.1";

static GIT_AT_START: OnceLock<GitState> = OnceLock::new();

/// Reads the git state now, once per process; `main` calls it first.
pub fn git_state() -> GitState {
    GIT_AT_START.get_or_init(read_git_state).clone()
}

fn read_git_state() -> GitState {
    let commit = git(&["rev-parse", "HEAD"]);
    let dirty = commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    GitState {
        commit,
        dirty,
        binary_commit: Some(env!("DAGMM_BUILD_COMMIT").to_string()),
    }
}

/// The manifest of a run of `config` (from `config_file`) that started at `started_at`.
pub fn new_manifest(
    config: &RunConfig,
    config_file: &Path,
    sweep: Option<&SweepEntryRecord>,
    started_at: String,
    timings: Timings,
) -> Manifest {
    let (_, finished_at) = now();
    let config = config.resolved();
    let uses_device = config.kind().capabilities().uses_device;
    let adapter = uses_device
        .then(|| config.device.adapter().ok().flatten())
        .flatten();
    Manifest {
        format: MANIFEST_FORMAT.into(),
        version: MANIFEST_VERSION,
        finished_at,
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        config_file: config_file.display().to_string(),
        seed: Some(config.seed()),
        device: uses_device.then_some(config.device),
        config,
        git: git_state(),
        versions: Versions {
            dagmm: env!("CARGO_PKG_VERSION").into(),
            burn: BURN_VERSION.into(),
            rustc: env!("DAGMM_RUSTC_VERSION").into(),
        },
        host: Host {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            hostname: std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .ok(),
        },
        timings: RunTimings {
            started_at,
            seconds: timings,
        },
        sweep: sweep.cloned(),
        resumed_after_epoch: None,
        adapter,
    }
}
