//! What a run folder records beside its results: the manifest (git commit, resolved config, seed,
//! device, timings, versions, host, the sweep entry), written by `dagmm` and read back by the
//! report as one type.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use dagmm_model::{AdapterRecord, DeviceChoice};
use dagmm_pipeline::{RunConfig, Timings};
use serde::{Deserialize, Serialize};

/// Name of a run's manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest's `format` field.
pub const MANIFEST_FORMAT: &str = "dagmm-run-manifest";
/// The manifest's `version` field as this build writes it.
pub const MANIFEST_VERSION: u32 = 2;

/// Seconds since the Unix epoch and the same instant as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now() -> (u64, String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs, utc_string(secs))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (proleptic Gregorian calendar, UTC).
pub fn utc_string(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The git state of the working directory when this command started (see [`git_state`]), and
/// the commit the binary was built from. A sweep can run for hours while the checkout moves on,
/// so the state is read once, at the start, and a binary older than the checkout shows as
/// `binary_commit` differing from `commit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitState {
    /// The checkout's commit (`None` outside a checkout or without git).
    pub commit: Option<String>,
    /// Whether tracked files differ from it.
    pub dirty: Option<bool>,
    /// The commit the binary was built from (manifests before version 2 lack it).
    #[serde(default)]
    pub binary_commit: Option<String>,
}

/// The versions that made a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub dagmm: String,
    pub burn: String,
    pub rustc: String,
}

/// The machine that made a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub hostname: Option<String>,
}

/// When a run started, and its [`Timings`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTimings {
    pub started_at: String,
    #[serde(flatten)]
    pub seconds: Timings,
}

/// What a sweep records of the entry a run belongs to (`dagmm report` reads labels and the
/// published figures from it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SweepEntryRecord {
    pub name: String,
    pub label: String,
    pub data: String,
    #[serde(default)]
    pub grid_point: BTreeMap<String, String>,
    #[serde(default)]
    pub paper: BTreeMap<String, f64>,
}

/// `manifest.json`: everything needed to say what produced a run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub finished_at: String,
    pub command: Vec<String>,
    pub config_file: String,
    /// The resolved config.
    pub config: RunConfig,
    pub seed: Option<u64>,
    pub device: Option<DeviceChoice>,
    pub git: GitState,
    pub versions: Versions,
    pub host: Host,
    pub timings: RunTimings,
    /// The sweep entry (`None` for a run started by hand).
    pub sweep: Option<SweepEntryRecord>,
    /// The wgpu adapter a neural run trained on: name, type, graphics API, driver (`None` on
    /// the CPU backends and for the classic detectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterRecord>,
    /// The epoch of the checkpoint a resumed run continued (`None`: it ran from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_after_epoch: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_strings_of_known_instants() {
        assert_eq!(utc_string(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_string(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_string(1_795_300_000), "2026-11-21T22:26:40Z");
    }

    /// Every manifest and summary committed under `results/` reads back into today's types
    /// (the report depends on it).
    #[test]
    fn every_committed_manifest_and_summary_reads_back() {
        fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, found);
                } else if p
                    .file_name()
                    .is_some_and(|n| n == MANIFEST_FILE || n == "summary.json")
                {
                    found.push(p);
                }
            }
        }
        let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results");
        let mut found = Vec::new();
        walk(&results, &mut found);
        assert!(
            found.len() > 100,
            "{} files under {}",
            found.len(),
            results.display()
        );
        for p in found {
            if p.file_name().is_some_and(|n| n == MANIFEST_FILE) {
                let m: Manifest = dagmm_pipeline::files::read_json(&p).unwrap();
                assert!(m.config.validate().is_ok(), "{}", p.display());
            } else {
                dagmm_pipeline::files::read_json::<dagmm_pipeline::RunSummary>(&p).unwrap();
            }
        }
    }
}
