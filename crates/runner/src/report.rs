//! `dagmm report DIR`: gathers every `summary.json` of `dagmm train` below DIR and writes
//! `table.md` and `table.csv`: per group of runs (the folder holding the seed folders), the mean
//! ± sample standard deviation over seeds of precision, recall, F1 and ROC AUC, beside the
//! untrained control and the training speed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::output;

const COLUMNS: &[(&str, &str)] = &[
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("roc_auc", "ROC AUC"),
    ("untrained_f1", "untrained F1"),
    ("untrained_roc_auc", "untrained ROC AUC"),
    ("samples_per_second", "samples/s"),
];

fn summaries(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            summaries(&path, found)?;
        } else if path.file_name().is_some_and(|n| n == "summary.json")
            && path.with_file_name("losses.csv").is_file()
        {
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

pub fn run_report(dir: &Path) -> Result<()> {
    let mut found = Vec::new();
    summaries(dir, &mut found)?;
    found.sort();
    if found.is_empty() {
        bail!(
            "no run summaries (summary.json beside losses.csv) under {}",
            dir.display()
        );
    }
    // Group: the run folder's parent relative to DIR (e.g. kddcup/dagmm for kddcup/dagmm/seed0).
    let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for path in &found {
        let run_dir = path.parent().expect("a file has a parent");
        let group = run_dir
            .parent()
            .and_then(|g| g.strip_prefix(dir).ok())
            .map(|g| g.display().to_string())
            .filter(|g| !g.is_empty())
            .unwrap_or_else(|| ".".into());
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        groups.entry(group).or_default().push(value);
    }
    let mut md = String::from("| runs | seeds | epochs |");
    let mut csv = String::from("runs,seeds,epochs");
    for (key, title) in COLUMNS {
        md.push_str(&format!(" {title} |"));
        csv.push_str(&format!(",{key}_mean,{key}_std"));
    }
    md.push_str("\n|---|---|---|");
    md.push_str(&"---|".repeat(COLUMNS.len()));
    md.push('\n');
    csv.push('\n');
    for (group, runs) in &groups {
        let seeds: Vec<String> = runs.iter().map(|r| r["seed"].to_string()).collect();
        let epochs = runs[0]["epochs"].to_string();
        md.push_str(&format!("| {group} | {} | {epochs} |", seeds.join(", ")));
        csv.push_str(&format!("{group},{},{epochs}", seeds.join(" ")));
        for (key, _) in COLUMNS {
            let values: Vec<f64> = runs.iter().filter_map(|r| r[*key].as_f64()).collect();
            if values.len() != runs.len() {
                md.push_str(" n/a |");
                csv.push_str(",,");
                continue;
            }
            let (mean, std) = mean_std(&values);
            if *key == "samples_per_second" {
                md.push_str(&format!(" {mean:.0} ± {std:.0} |"));
            } else {
                md.push_str(&format!(" {mean:.4} ± {std:.4} |"));
            }
            csv.push_str(&format!(",{mean},{std}"));
        }
        md.push('\n');
        csv.push('\n');
    }
    output::write_bytes(&dir.join("table.md"), md.as_bytes())?;
    output::write_bytes(&dir.join("table.csv"), csv.as_bytes())?;
    print!("{md}");
    Ok(())
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

    #[test]
    fn groups_seed_folders_and_writes_tables() {
        let dir = tempfile::tempdir().unwrap();
        for (seed, f1) in [(0, 0.9), (1, 0.8)] {
            let run = dir.path().join("kddcup/dagmm").join(format!("seed{seed}"));
            std::fs::create_dir_all(&run).unwrap();
            std::fs::write(run.join("losses.csv"), "epoch\n").unwrap();
            let s = serde_json::json!({"seed": seed, "epochs": 200, "precision": 0.5, "recall": 0.5, "f1": f1,
                "roc_auc": 0.99, "untrained_f1": 0.7, "untrained_roc_auc": 0.9, "samples_per_second": 1000.0});
            std::fs::write(run.join("summary.json"), s.to_string()).unwrap();
        }
        run_report(dir.path()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
        assert!(md.contains("| kddcup/dagmm | 0, 1 | 200 |"), "{md}");
        assert!(md.contains("0.8500 ± 0.0707"), "{md}");
        let csv = std::fs::read_to_string(dir.path().join("table.csv")).unwrap();
        assert_eq!(csv.lines().count(), 2);
    }
}
