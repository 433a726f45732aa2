//! `dagmm train` then `dagmm score` on the saved model: scoring a file again flags each row the
//! way the run flagged it, by the energy percentile cut or, for a PU run, by the PU classifier
//! (`h < c/2`) stored with the model.

use std::collections::HashMap;
use std::path::Path;

mod common;
use common::{columns, dagmm, shipped_config, summary, text, train_on_toy_data, write_data};

/// The manifest names the checkout's commit and the commit the binary was built from: both are
/// this checkout's HEAD here, since the test binary was just built from it.
fn check_manifest_commit(run: &Path) {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let Some(head) = head else {
        eprintln!("not a git checkout: the manifest's commit is not checked");
        return;
    };
    assert_eq!(manifest["git"]["commit"], head.as_str());
    assert_eq!(manifest["git"]["binary_commit"], head.as_str());
}

/// Trains `config` for 2 epochs on the toy file, scores the whole file with the saved model, and
/// checks that every test row is flagged as the run flagged it; returns the score file's columns.
fn train_then_score(config: &str, dir: &Path) -> HashMap<String, Vec<f64>> {
    let data = write_data(dir);
    let run = dir.join("run");
    let o = train_on_toy_data(&shipped_config(config), &data, &[], &run);
    assert!(o.status.success(), "{}", text(&o));
    check_manifest_commit(&run);
    let rescored = dir.join("rescored.csv");
    let o = dagmm(&[
        "score",
        "--model",
        run.join("model").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "label",
        "--out",
        rescored.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let again = columns(&rescored);
    let run_scores = columns(&run.join("scores.csv"));
    let s = summary(&run);
    let pu = s["decision"] == "pu";
    let cut = s["threshold"].as_f64().unwrap();
    let (mut flagged, mut near_cut) = (0i64, 0i64);
    for (i, &row) in run_scores["index"].iter().enumerate() {
        let row = row as usize;
        let (was, now) = (run_scores["flagged"][i], again["flagged"][row]);
        // Scoring in other batches changes the f32 summation order, so a row whose decision
        // value sits within 1e-5 of its cut (the percentile cut, or 0.5 for PU's 1 − h/c) may
        // fall on either side of it.
        let (value, at) = if pu {
            (again["pu_score"][row], 0.5)
        } else {
            (again["score"][row], cut)
        };
        let at_cut = (value - at).abs() <= 1e-5 * (1.0 + at.abs());
        near_cut += i64::from(at_cut);
        assert!(
            was == now || at_cut,
            "row {row}: the run flagged {was}, dagmm score {now}"
        );
        flagged += now as i64;
    }
    let expected = s["flagged"].as_i64().unwrap();
    assert!(
        (flagged - expected).abs() <= near_cut,
        "{flagged} flagged again, {expected} by the run ({near_cut} rows at the cut)"
    );
    again
}

#[test]
fn score_flags_rows_as_the_run_did_by_the_percentile_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let again = train_then_score("kddcup/dagmm.toml", tmp.path());
    assert!(!again.contains_key("pu_score"));
}

#[test]
fn score_flags_rows_as_the_run_did_by_the_stored_pu_classifier() {
    let tmp = tempfile::tempdir().unwrap();
    let again = train_then_score("kddcup/dagmm_pu.toml", tmp.path());
    // The PU decision is 1 − h/c > 0.5, not the energy cut.
    let pu = &again["pu_score"];
    for (i, &f) in again["flagged"].iter().enumerate() {
        assert_eq!(f == 1.0, pu[i] > 0.5, "row {i}: pu_score {}", pu[i]);
    }
}

/// `--epochs 0` is the untrained network judged as a run: no training time, no throughput, no NaN.
#[test]
fn zero_epochs_report_no_training_rather_than_nan() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let run = dir.path().join("run");
    let args = common::toy_dagmm_args(&data, &run, 0, &[]);
    let o = common::dagmm(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("NaN"), "{}", text(&o));
    let raw = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(raw.contains("\"train_seconds\": 0.0"), "{raw}");
    let s = summary(&run);
    assert!(s["samples_per_second"].is_null());
    assert_eq!(
        s["f1"], s["untrained_f1"],
        "0 epochs is the untrained control"
    );
    assert!(!run.join("losses.csv").exists());
}
