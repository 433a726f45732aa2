//! End-to-end tests of `dagmm sweep` and `dagmm report`: a killed sweep resumes without redoing
//! finished runs, shards split the runs without overlap, and the report merges them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{dagmm, text, write_data};

/// A config on that file, and an experiment of two methods × two seeds.
fn write_experiment(dir: &Path, epochs: usize) -> PathBuf {
    let data = write_data(dir);
    std::fs::create_dir_all(dir.join("configs/toy")).unwrap();
    std::fs::write(
        dir.join("configs/toy/dagmm.toml"),
        format!(
            "[data]\nsource = \"file\"\npath = \"{}\"\nlabel_column = \"label\"\n\
             [evaluation]\nanomaly_percentile = 10.0\n\
             [compression]\nencoder_layers = [6, 1]\n\
             [estimation]\nn_components = 2\n\
             [training]\nbatch_size = 64\nepochs = {epochs}\nlearning_rate = 1e-3\n\
             checkpoint_every = 2\n",
            data.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("configs/toy/vae.toml"),
        "extends = \"dagmm.toml\"\n[compression]\nkind = \"vae\"\n",
    )
    .unwrap();
    let exp = dir.join("exp.toml");
    std::fs::write(
        &exp,
        "seeds = [0, 1]\n\
         [[run]]\nname = \"dagmm\"\nlabel = \"DAGMM\"\nconfig = \"configs/toy/dagmm.toml\"\npaper = { f1 = 0.5 }\n\
         [[run]]\nname = \"vae\"\nconfig = \"configs/toy/vae.toml\"\n",
    )
    .unwrap();
    exp
}

fn run_dirs(out: &Path) -> Vec<PathBuf> {
    ["dagmm/seed0", "vae/seed0", "dagmm/seed1", "vae/seed1"]
        .iter()
        .map(|r| out.join("toy").join(r))
        .collect()
}

fn finished(dir: &Path) -> bool {
    dir.join("summary.json").is_file()
}

#[test]
fn a_killed_sweep_resumes_without_redoing_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write_experiment(dir.path(), 60);
    let out = dir.path().join("out");
    // One job, so runs go in order (with one per core the second run could end first).
    let mut child = Command::new(env!("CARGO_BIN_EXE_dagmm"))
        .args([
            "sweep",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = run_dirs(&out);
    let started = Instant::now();
    while !finished(&runs[0]) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the first run never finished"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep exited early"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The second run (one job: runs go in order) is killed after a checkpoint.
    let waiting = runs[1].with_file_name("seed0.partial/checkpoint/checkpoint.json");
    while !waiting.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep exited early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !finished(&runs[1]) && !runs[1].exists(),
        "a killed run leaves no run folder"
    );
    let checkpoint: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&waiting).unwrap()).unwrap();
    let resumed_after = checkpoint["epochs_done"].as_u64().unwrap();
    assert!((2..60).contains(&resumed_after), "{resumed_after}");
    let done_before: Vec<bool> = runs.iter().map(|r| finished(r)).collect();
    assert!(
        done_before.iter().any(|d| !d),
        "the sweep finished before it could be killed; make the runs longer"
    );
    let stamp = |r: &Path| {
        (
            std::fs::metadata(r.join("summary.json"))
                .unwrap()
                .modified()
                .unwrap(),
            std::fs::read_to_string(r.join("manifest.json")).unwrap(),
        )
    };
    let before: Vec<_> = runs
        .iter()
        .zip(&done_before)
        .filter(|(_, d)| **d)
        .map(|(r, _)| (r.clone(), stamp(r)))
        .collect();

    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let n_done = before.len();
    assert!(
        text(&o).contains(&format!("{n_done} finished already, {} to run", 4 - n_done)),
        "{}",
        text(&o)
    );
    assert!(runs.iter().all(|r| finished(r)));
    // The killed run continued from its checkpoint, and its losses.csv is whole.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[1].join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["resumed_after_epoch"], resumed_after, "{m}");
    let losses = std::fs::read_to_string(runs[1].join("losses.csv")).unwrap();
    let epochs: Vec<&str> = losses
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(epochs, (1..=60).map(|e| e.to_string()).collect::<Vec<_>>());
    assert!(!runs[1].with_file_name("seed0.partial").exists());
    for (r, s) in &before {
        assert_eq!(&stamp(r), s, "{} was redone", r.display());
    }
    // Every run folder has its manifest with the sweep entry and the resolved seed.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[2].join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["seed"], 1);
    assert_eq!(m["sweep"]["label"], "DAGMM");
    assert!(m["versions"]["burn"].is_string() && m["timings"]["wall_seconds"].is_number());
    // A third call has nothing to do.
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        text(&o).contains("4 finished already, 0 to run"),
        "{}",
        text(&o)
    );
}

#[test]
fn shards_split_the_runs_and_the_report_merges_them() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write_experiment(dir.path(), 2);
    let out = dir.path().join("out");
    let runs = run_dirs(&out);
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shard",
        "1/2",
        "--jobs",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Seed-major order: dagmm/seed0, vae/seed0, dagmm/seed1, vae/seed1; shard 1 of 2 takes the
    // first and third.
    let done: Vec<bool> = runs.iter().map(|r| finished(r)).collect();
    assert_eq!(done, [true, false, true, false]);
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shard",
        "2/2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(runs.iter().all(|r| finished(r)));

    let o = dagmm(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(table.contains("DAGMM") && table.contains("vae"), "{table}");
    assert!(
        table.contains("0.5000"),
        "the paper's F1 beside ours: {table}"
    );
    // ... and the difference: our mean F1 (from table.csv) less 0.5.
    let csv = std::fs::read_to_string(out.join("table.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let dagmm_row: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("toy,dagmm,"))
        .unwrap()
        .split(',')
        .collect();
    let ours: f64 = dagmm_row[column("f1_mean")].parse().unwrap();
    let diff: f64 = dagmm_row[column("f1_minus_paper")].parse().unwrap();
    assert!(
        (diff - (ours - 0.5)).abs() < 1e-12,
        "{diff} vs {ours} − 0.5"
    );
    assert!(
        table.contains(&format!("{:+.4}", ours - 0.5)),
        "the difference in table.md: {table}"
    );
    let per = std::fs::read_to_string(out.join("percentiles.md")).unwrap();
    assert!(per.contains("| 10 |") && per.contains("| 60 |"), "{per}");
    for plot in [
        "f1_vs_percentile",
        "roc",
        "pr",
        "losses",
        "histogram_dagmm",
        "histogram_vae",
    ] {
        for ext in ["png", "svg"] {
            let p = out.join("plots").join(format!("toy_{plot}.{ext}"));
            assert!(
                std::fs::metadata(&p)
                    .map(|m| m.len() > 500)
                    .unwrap_or(false),
                "{} missing or empty",
                p.display()
            );
        }
    }
}

#[test]
fn a_bad_entry_fails_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write_experiment(dir.path(), 2);
    let text_in = std::fs::read_to_string(&exp).unwrap();
    std::fs::write(
        &exp,
        text_in.replace(
            "name = \"vae\"",
            "name = \"vae\"\nset = [\"training.epoch=3\"]",
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("epoch") && text(&o).contains("vae.toml"),
        "{}",
        text(&o)
    );
    assert!(!out.join("toy").exists(), "nothing ran");
}

/// One experiment mixing an EM GMM, PAE-GMM-EM and DAGMM on the toy file: it shards and resumes
/// like any other, and the report puts the three in one table.
#[test]
fn a_sweep_mixing_gmm_pae_gmm_em_and_dagmm_shards_resumes_and_reports_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write_experiment(dir.path(), 2);
    let data = dir.path().join("data.csv");
    std::fs::write(
        dir.path().join("configs/toy/gmm.toml"),
        format!(
            "[model]\nkind = \"gmm\"\n\
             [data]\nsource = \"file\"\npath = \"{}\"\nlabel_column = \"label\"\nscaling = \"min_max\"\n\
             [evaluation]\nanomaly_percentile = 10.0\n\
             [gmm]\nn_components = 2\n",
            data.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("configs/toy/pae_gmm_em.toml"),
        "extends = \"dagmm.toml\"\n\
         [pretraining]\nlayer_epochs = 1\nfinetune_epochs = 2\n\
         [training]\nepochs = 0\n\
         [scoring]\nmixture = \"em\"\n",
    )
    .unwrap();
    std::fs::write(
        &exp,
        "seeds = [0, 1]\n\
         [[run]]\nname = \"gmm\"\nlabel = \"GMM\"\nconfig = \"configs/toy/gmm.toml\"\n\
         [[run]]\nname = \"pae_gmm_em\"\nlabel = \"PAE-GMM-EM\"\nconfig = \"configs/toy/pae_gmm_em.toml\"\n\
         [[run]]\nname = \"dagmm\"\nlabel = \"DAGMM\"\nconfig = \"configs/toy/dagmm.toml\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = dagmm(&args);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    // Seed-major order: gmm, pae_gmm_em, dagmm on seed 0, then on seed 1; shard 1/2 takes the
    // runs 1, 3, 5 of the six.
    sweep(&["--shard", "1/2"]);
    let run = |m: &str, s: u64| out.join("toy").join(m).join(format!("seed{s}"));
    let done: Vec<bool> = [
        ("gmm", 0),
        ("pae_gmm_em", 0),
        ("dagmm", 0),
        ("gmm", 1),
        ("pae_gmm_em", 1),
        ("dagmm", 1),
    ]
    .iter()
    .map(|(m, s)| finished(&run(m, *s)))
    .collect();
    assert_eq!(done, [true, false, true, false, true, false]);
    let said = sweep(&[]);
    assert!(said.contains("3 finished already, 3 to run"), "{said}");
    // A classic run has no epochs: no losses.csv, a saved detector all the same.
    assert!(!run("gmm", 0).join("losses.csv").exists());
    assert!(run("gmm", 1).join("model/detector.json").is_file());
    // PAE-GMM-EM's epochs are its pretraining stages.
    let losses = std::fs::read_to_string(run("pae_gmm_em", 0).join("losses.csv")).unwrap();
    assert!(
        losses.contains("\nlayer1,1,") && losses.contains("\nfinetune,2,"),
        "{losses}"
    );
    assert!(!losses.contains("\ntrain,"), "{losses}");

    let o = dagmm(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    for label in [
        "| toy | GMM | 0, 1 | – |",
        "| toy | PAE-GMM-EM | 0, 1 | 0 |",
        "| toy | DAGMM | 0, 1 | 2 |",
    ] {
        assert!(table.contains(label), "{label} missing from\n{table}");
    }
    let rules = std::fs::read_to_string(out.join("rules.md")).unwrap();
    assert!(
        rules.contains("| toy | GMM | paper | test_contamination | 2 |"),
        "{rules}"
    );
}

/// A researcher's own file: `train --data` with no config, and a sweep on `--data` whose entries
/// name no config (the default network, changed by their overrides), named after the file.
#[test]
fn own_data_trains_and_sweeps_with_the_default_config_named_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let mine = dir.path().join("my_rows.csv");
    std::fs::copy(&data, &mine).unwrap();
    let m = mine.to_str().unwrap();

    let run = dir.path().join("run");
    let o = dagmm(&[
        "train",
        "--data",
        m,
        "--label-column",
        "label",
        "--epochs",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    // 8 features: Thyroid's network shape and two components, the paper's protocol.
    for line in [
        "kind = \"dagmm\"",
        "threshold = \"test_contamination\"",
        "n_components = 2",
    ] {
        assert!(config.contains(line), "{line}: {config}");
    }
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(manifest.contains("(the default config for"), "{manifest}");
    // One run gets its pictures: the scores with the cut, the ROC curve, the loss terms.
    for picture in [
        "histogram.png",
        "roc.png",
        "roc.svg",
        "losses.png",
        "losses.svg",
    ] {
        let bytes = std::fs::read(run.join(picture)).unwrap_or_else(|e| panic!("{picture}: {e}"));
        assert!(bytes.len() > 1000, "{picture}: {} bytes", bytes.len());
    }

    let exp = dir.path().join("own.toml");
    std::fs::write(
        &exp,
        "seeds = [0, 1]\n\
         [[run]]\nname = \"dagmm\"\nlabel = \"DAGMM\"\nset = [\"training.epochs=2\"]\n\
         [[run]]\nname = \"gmm\"\nset = [\"model.kind=\\\"gmm\\\"\"]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--data",
        m,
        "--label-column",
        "label",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for method in ["dagmm", "gmm"] {
        for seed in [0, 1] {
            let r = out.join("my_rows").join(method).join(format!("seed{seed}"));
            assert!(r.join("summary.json").is_file(), "{}", r.display());
        }
    }
    let gmm = std::fs::read_to_string(out.join("my_rows/gmm/seed0/config.toml")).unwrap();
    assert!(
        gmm.contains("kind = \"gmm\"") && gmm.contains("my_rows.csv"),
        "{gmm}"
    );
    // The sweep wrote its report when it ended.
    assert!(text(&o).contains("wrote the report"), "{}", text(&o));
    assert!(out.join("report.html").is_file() && out.join("table.md").is_file());
    let report = dagmm(&["report", out.to_str().unwrap()]);
    assert!(report.status.success(), "{}", text(&report));
    assert!(
        text(&report).contains("| my_rows | DAGMM |"),
        "{}",
        text(&report)
    );

    // One run's report goes beside the run (or to --out), titled by the run, and the run folder
    // keeps only a run's files: `train --out RUN` may replace it afterwards.
    let before: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let one = dagmm(&["report", run.to_str().unwrap()]);
    assert!(one.status.success(), "{}", text(&one));
    let beside = dir.path().join("run-report");
    assert!(text(&one).contains("| my_rows | run |"), "{}", text(&one));
    assert!(
        beside.join("plots/my_rows_losses.png").is_file(),
        "{}",
        text(&one)
    );
    let after: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    let elsewhere = dir.path().join("elsewhere");
    let one = dagmm(&[
        "report",
        run.to_str().unwrap(),
        "--out",
        elsewhere.to_str().unwrap(),
    ]);
    assert!(one.status.success(), "{}", text(&one));
    assert!(elsewhere.join("report.html").is_file());
    let again = dagmm(&[
        "train",
        "--data",
        m,
        "--label-column",
        "label",
        "--epochs",
        "2",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again));

    // Without --data an entry without a config is refused, before anything runs.
    let o = dagmm(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("names no config"), "{}", text(&o));
    // Unlabelled rows with the default config: the share to flag must be said.
    let o = dagmm(&[
        "train",
        "--data",
        m,
        "--out",
        dir.path().join("y").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("--set evaluation.anomaly_percentile=5"),
        "{}",
        text(&o)
    );
}
