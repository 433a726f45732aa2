//! End-to-end tests of `dagmm gmm` and `dagmm gaussian`: the binary on files the tests write.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{dagmm, summary};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// 300 rows around two centres plus 6 far-away rows labelled 1, written as CSV.
fn write_two_clusters(dir: &Path) -> PathBuf {
    let mut text = String::from("a,b,is_anomaly\n");
    for i in 0..300 {
        let t = i as f64;
        let (cx, cy) = if i % 2 == 0 { (0.0, 0.0) } else { (8.0, 8.0) };
        text.push_str(&format!(
            "{},{},0\n",
            cx + (t * 0.7).sin(),
            cy + (t * 1.3).cos()
        ));
    }
    for i in 0..6 {
        let t = i as f64;
        text.push_str(&format!("{},{},1\n", 30.0 + 5.0 * t, -20.0 - 3.0 * t));
    }
    let path = dir.join("two.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn gmm_writes_scores_summary_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_two_clusters(dir.path());
    let out = dir.path().join("out");
    let o = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "is_anomaly",
        "-k",
        "2",
        "--n-init",
        "2",
        "--percentile",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&out);
    // 2% of 306 rows: the 6.12th-lowest rank → 7 rows lie strictly below the cut.
    assert_eq!(s["flagged"], 7);
    assert_eq!(s["n_rows"], 306);
    assert_eq!(
        s["recall"], 1.0,
        "the six far rows have the lowest likelihood: {s}"
    );
    assert_eq!(s["roc_auc"], 1.0);
    for key in [
        "threshold",
        "mean_log_likelihood",
        "n_iter",
        "converged",
        "bic",
        "precision",
        "f1",
        "pr_auc",
    ] {
        assert!(s.get(key).is_some(), "summary.json lacks {key}");
    }
    let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let lines: Vec<&str> = scores.lines().collect();
    // `score` is the anomaly score, −log p(x); the log-likelihood stands beside it.
    assert_eq!(lines[0], "index,score,log_likelihood,flagged,label");
    let first: Vec<f64> = lines[1].split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(first[1], -first[2]);
    assert_eq!(lines.len(), 307);
    assert!(
        lines[301].starts_with("300,") && lines[301].ends_with(",1,1"),
        "{}",
        lines[301]
    );
    for png in ["scatter.png", "histogram.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png}");
    }
    // The saved detector scores the same file the same way.
    let rescored = dir.path().join("rescored.csv");
    let o = dagmm(&[
        "score",
        "--model",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "is_anomaly",
        "--out",
        rescored.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&rescored).unwrap(), scores);
    // Every output, and no temporary file left behind.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "config.toml",
            "histogram.png",
            "manifest.json",
            "model",
            "scatter.png",
            "scores.csv",
            "summary.json"
        ]
    );
}

#[test]
fn select_k_reports_the_bic_of_every_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_two_clusters(dir.path());
    let out = dir.path().join("out");
    let o = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--select-k",
        "1..3",
        "--threshold",
        "-8",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("selected K ="), "{}", stderr(&o));
    let s = summary(&out);
    let table = s["selection"]["bic_by_k"].as_array().unwrap();
    assert_eq!(table.len(), 3);
    let best = table
        .iter()
        .min_by(|a, b| {
            a["bic"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["bic"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(s["selection"]["selected_k"], best["k"]);
    assert_eq!(s["model"]["n_components"], best["k"]);
    assert!(s.get("precision").is_none(), "no labels were given");
}

#[test]
fn gaussian_epsilon_flags_rows_below_the_density() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_two_clusters(dir.path());
    let out = dir.path().join("out");
    let o = dagmm(&[
        "gaussian",
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "is_anomaly",
        "--fit-on-normal",
        "--kind",
        "per-feature",
        "--epsilon",
        "1e-6",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&out);
    assert!((s["log_likelihood_threshold"].as_f64().unwrap() - 1e-6f64.ln()).abs() < 1e-12);
    assert_eq!(s["n_train"], 300);
    let scores = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    let below = scores.lines().skip(1).filter(|l| {
        let f: Vec<&str> = l.split(',').collect();
        f[2].parse::<f64>().unwrap() < 1e-6f64.ln()
    });
    assert_eq!(below.count() as u64, s["flagged"].as_u64().unwrap());
    assert_eq!(s["recall"], 1.0);
}

#[test]
fn bad_input_is_named_and_earlier_results_survive() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_two_clusters(dir.path());
    let out = dir.path().join("out");
    let ok = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "-k",
        "2",
        "--percentile",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let before = std::fs::read(out.join("summary.json")).unwrap();

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3,4\n5\n").unwrap();
    let o = dagmm(&[
        "gmm",
        "--data",
        ragged.to_str().unwrap(),
        "--percentile",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("ragged.csv, line 4"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(out.join("summary.json")).unwrap(),
        before,
        "a failed run must not touch earlier results"
    );

    let nan = dir.path().join("nan.csv");
    std::fs::write(&nan, "a,b\n1,2\n3,nan\n").unwrap();
    let o = dagmm(&[
        "gmm",
        "--data",
        nan.to_str().unwrap(),
        "--percentile",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("line 3") && stderr(&o).contains("`b`"),
        "{}",
        stderr(&o)
    );

    let o = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "nope",
        "--percentile",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("no label column named `nope`"),
        "{}",
        stderr(&o)
    );

    let o = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--percentile",
        "5",
        "--threshold",
        "1",
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2), "clap rejects two rules");
    let o = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--percentile",
        "150",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("150"), "{}", stderr(&o));
    let o = dagmm(&[
        "gmm",
        "--data",
        "missing-file.csv",
        "--percentile",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("missing-file.csv"), "{}", stderr(&o));
    let o = dagmm(&[
        "data",
        "fetch",
        "imagenet",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("unknown data set `imagenet`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before);
}

/// Seed 000 through the command line, on the tutorial's exact data (skipped without shared data).
#[test]
fn seed_000_through_the_cli() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/seeds/blobs.csv");
    if !path.is_file() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = dagmm(&[
        "gmm",
        "--data",
        path.to_str().unwrap(),
        "--label-column",
        "label",
        "--components",
        "3",
        "--n-init",
        "5",
        "--percentile",
        "4",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&out);
    assert!(
        (s["log_likelihood_threshold"].as_f64().unwrap() - -6.56).abs() < 0.02,
        "{s}"
    );
    assert_eq!(s["flagged"], 21);
    assert!((s["mean_log_likelihood"].as_f64().unwrap() - -5.0086).abs() < 0.005);
}

/// `dagmm score` scores a file a chunk of rows at a time (8,192 rows): on 20,000 rows, three
/// chunks, every row's score, log-likelihood and flag equal the fitting run's, bit for bit (the
/// classic detectors score each row on its own), and the metrics are the whole file's.
#[test]
fn score_in_chunks_equals_the_run_on_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a,b,c,label\n");
    for i in 0..20_000 {
        let t = i as f64;
        let far = i % 97 == 0;
        let shift = if far { 12.0 } else { 0.0 };
        text.push_str(&format!(
            "{},{},{},{}\n",
            (t * 0.37).sin() + shift,
            (t * 1.91).cos() * 2.0,
            (t * 0.013).sin() * 3.0 - shift,
            u8::from(far)
        ));
    }
    let data = dir.path().join("rows.csv");
    std::fs::write(&data, text).unwrap();
    let run = dir.path().join("run");
    let o = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "label",
        "-k",
        "3",
        "--percentile",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rescored = dir.path().join("rescored.csv");
    let o = dagmm(&[
        "score",
        "--model",
        run.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "label",
        "--out",
        rescored.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (
        std::fs::read_to_string(run.join("scores.csv")).unwrap(),
        std::fs::read_to_string(&rescored).unwrap(),
    );
    assert_eq!(a.lines().count(), 20_001);
    assert_eq!(a, b, "scores.csv of the run and of dagmm score differ");
    let s = summary(&run);
    let printed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        printed.starts_with(&format!(
            "20000 rows scored, {} flagged (precision {:.4}, recall {:.4}, F1 {:.4}",
            s["flagged"],
            s["precision"].as_f64().unwrap(),
            s["recall"].as_f64().unwrap(),
            s["f1"].as_f64().unwrap()
        )),
        "{printed}\n{s}"
    );
}
