//! Helpers shared by the `dagmm` command-line tests.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Copies the folder `from` into `to`, subfolders and files.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// Runs the `dagmm` binary under test, without the caller's `DAGMM_DATA_DIR`.
pub fn dagmm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dagmm"))
        .args(args)
        .env_remove("DAGMM_DATA_DIR")
        .output()
        .expect("the dagmm binary runs")
}

/// Standard output then standard error, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A run folder's `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// `dir/data.csv`: 1500 labelled rows of 8 features (`f0..f7`, `label`), normal rows near a line,
/// every tenth row an anomaly off it.
pub fn write_data(dir: &Path) -> PathBuf {
    let mut s = String::from("f0,f1,f2,f3,f4,f5,f6,f7,label\n");
    for i in 0..1500 {
        let t = (i as f64 * 0.618).fract();
        let anomaly = i % 10 == 0;
        let row: Vec<String> = (0..8)
            .map(|j| {
                let base = 0.2 + 0.6 * t * (j as f64 + 1.0) / 8.0;
                let v = if anomaly { 1.0 - base } else { base };
                format!("{:.5}", v + 0.01 * ((i * 7 + j * 3) % 11) as f64 / 11.0)
            })
            .collect();
        s.push_str(&format!("{},{}\n", row.join(","), u8::from(anomaly)));
    }
    let p = dir.join("data.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// The project's `configs/` folder.
pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// A config the project ships, by its path under `configs/`.
pub fn shipped_config(name: &str) -> PathBuf {
    configs_dir().join(name)
}

/// `dagmm train --config CONFIG` for 2 epochs on the toy file `data` (see [`write_data`]: its
/// `label` column, batch 128) into `out`, with `extra` arguments before `--out`.
pub fn train_on_toy_data(config: &Path, data: &Path, extra: &[&str], out: &Path) -> Output {
    let mut args = vec!["--set", "training.batch_size=128"];
    args.extend_from_slice(extra);
    train_on_file(config, data, &args, out)
}

/// `dagmm train --config CONFIG` for 2 epochs on the toy file `data` (its `label` column) into
/// `out`, with `extra` arguments before `--out` (a detector's own batch size among them).
pub fn train_on_file(config: &Path, data: &Path, extra: &[&str], out: &Path) -> Output {
    let path = format!("data.path={}", data.display());
    let mut args = vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--set",
        "data.source=file",
        "--set",
        &path,
        "--set",
        "data.label_column=label",
        "--epochs",
        "2",
    ];
    args.extend_from_slice(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    dagmm(&args)
}

/// The columns of a numeric CSV file (a header row, then numbers), by name.
pub fn columns(path: &Path) -> std::collections::HashMap<String, Vec<f64>> {
    let body = std::fs::read_to_string(path).unwrap();
    let mut lines = body.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut out: std::collections::HashMap<String, Vec<f64>> =
        names.iter().map(|n| (n.clone(), vec![])).collect();
    for line in lines {
        for (n, v) in names.iter().zip(line.split(',')) {
            out.get_mut(n).unwrap().push(v.parse().unwrap());
        }
    }
    out
}

/// `dagmm train` of the shipped KDDCUP DAGMM config on the toy file `data` (its `label` column,
/// every row in one batch) for `epochs` epochs into `out`, with `extra` arguments before `--out`.
pub fn toy_dagmm_args(data: &Path, out: &Path, epochs: usize, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--config",
        shipped_config("kddcup/dagmm.toml").to_str().unwrap(),
        "--set",
        "data.source=file",
        "--set",
        &format!("data.path={}", data.display()),
        "--set",
        "data.label_column=label",
        "--set",
        "training.batch_size=1500",
        "--epochs",
        &epochs.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    args
}
