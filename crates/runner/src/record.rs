//! What a run folder records beside its results: the manifest (git commit, resolved config, seed,
//! device, timings, versions, host) and compact curves (ROC, PR, score histograms per class) that
//! `dagmm report` plots from the summaries alone, so committed results need no per-row files.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use dagmm_evaluation::{percentile, pr_curve, roc_curve, Direction};
use serde_json::{json, Value};

use crate::git::git;

/// Burn's version, as pinned in the workspace `Cargo.toml`.
pub const BURN_VERSION: &str = "0.22.1";

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
static GIT_AT_START: OnceLock<Value> = OnceLock::new();

/// Reads the git state now, once per process; `main` calls it first.
pub fn git_state() -> Value {
    GIT_AT_START.get_or_init(read_git_state).clone()
}

/// The commit of the working directory's git checkout and whether tracked files differ from it
/// (both `null` outside a checkout or without git), and the commit the binary was built from,
/// which is all there is outside a checkout.
fn read_git_state() -> Value {
    let commit = git(&["rev-parse", "HEAD"]);
    let dirty = commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    json!({
        "commit": commit,
        "dirty": dirty,
        "binary_commit": env!("DAGMM_BUILD_COMMIT"),
    })
}

/// The manifest of a run: everything needed to say what produced its results.
pub fn manifest(config: &Value, config_file: &Path, extra: &Value, timings: &Value) -> Value {
    let (_, finished) = now();
    json!({
        "format": "dagmm-run-manifest",
        "version": 1,
        "finished_at": finished,
        "command": std::env::args().collect::<Vec<_>>(),
        "config_file": config_file.display().to_string(),
        "config": config,
        "seed": config["training"]["seed"],
        "device": config["device"],
        "git": git_state(),
        "versions": {
            "dagmm": env!("CARGO_PKG_VERSION"),
            "burn": BURN_VERSION,
            "rustc": env!("DAGMM_RUSTC_VERSION"),
        },
        "host": {
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "hostname": std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_string()).ok(),
        },
        "timings": timings,
        "sweep": extra,
    })
}

/// Points of a curve kept where either coordinate moved by at least `step` since the last kept
/// point (the first and last always kept): a few hundred points draw the same picture as 10⁵.
pub fn thin(points: &[(f64, f64)], step: f64) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::new();
    for (i, &(x, y)) in points.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(&[px, py]) => {
                i + 1 == points.len() || (x - px).abs() >= step || (y - py).abs() >= step
            }
        };
        if keep {
            out.push([x, y]);
        }
    }
    out
}

/// A histogram of the scores of each class over `bins` equal bins between the 0.5th and 99.5th
/// percentiles of all scores (rows outside fall in the end bins).
pub fn class_histogram(scores: &[f64], labels: &[u8], bins: usize) -> Result<Value> {
    let lo = percentile(scores, 0.5)?;
    let mut hi = percentile(scores, 99.5)?;
    if hi <= lo {
        hi = lo + 1.0;
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = [vec![0u64; bins], vec![0u64; bins]];
    for (s, &l) in scores.iter().zip(labels) {
        let b = (((s - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[usize::from(l == 1)][b] += 1;
    }
    let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
    Ok(json!({"edges": edges, "normal": counts[0], "anomaly": counts[1]}))
}

/// ROC curve, PR curve and per-class score histogram of test scores (higher = more anomalous).
pub fn curves(scores: &[f64], labels: &[u8], threshold: f64) -> Result<Value> {
    let d = Direction::HighIsAnomalous;
    Ok(json!({
        "roc": thin(&roc_curve(scores, labels, d)?, 0.002),
        "pr": thin(&pr_curve(scores, labels, d)?, 0.002),
        "histogram": class_histogram(scores, labels, 60)?,
        "threshold": threshold,
    }))
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

    #[test]
    fn thinning_keeps_the_ends_and_drops_tiny_moves() {
        let pts: Vec<(f64, f64)> = (0..=1000).map(|i| (i as f64 / 1000.0, 1.0)).collect();
        let t = thin(&pts, 0.01);
        assert_eq!(t.first(), Some(&[0.0, 1.0]));
        assert_eq!(t.last(), Some(&[1.0, 1.0]));
        assert!(t.len() >= 100 && t.len() <= 102, "{}", t.len());
    }

    #[test]
    fn histogram_counts_every_row_once_per_class() {
        let scores: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let labels: Vec<u8> = (0..1000).map(|i| u8::from(i >= 900)).collect();
        let h = class_histogram(&scores, &labels, 10).unwrap();
        let sum = |k: &str| {
            h[k].as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>()
        };
        assert_eq!((sum("normal"), sum("anomaly")), (900, 100));
        assert_eq!(h["edges"].as_array().unwrap().len(), 11);
    }
}
