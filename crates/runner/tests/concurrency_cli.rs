//! Two processes, one output folder, for real: the second `dagmm train` (or `gmm`, or `sweep`)
//! started while the first writes is refused at once with a message naming the lock, and the
//! first publishes a folder whose every file is its own. Sweep shards of one experiment still
//! share their folder, and a report cleans what a killed report left.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{dagmm, summary, text, write_data};

/// A DAGMM config on the toy file, long enough (a few seconds) to be caught running.
fn write_config(dir: &Path, epochs: usize) -> PathBuf {
    let data = write_data(dir);
    std::fs::create_dir_all(dir.join("configs/toy")).unwrap();
    let config = dir.join("configs/toy/dagmm.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\nsource = \"file\"\npath = \"{}\"\nlabel_column = \"label\"\n\
             [evaluation]\nanomaly_percentile = 10.0\n\
             [compression]\nencoder_layers = [6, 1]\n\
             [estimation]\nn_components = 2\n\
             [training]\nbatch_size = 16\nepochs = {epochs}\nlearning_rate = 1e-3\n\
             checkpoint_every = 5\n",
            data.display()
        ),
    )
    .unwrap();
    config
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dagmm"))
        .args(args)
        .env_remove("DAGMM_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists while `child` runs.
fn wait_for(path: &Path, child: &mut Child) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first process ended before {} appeared",
            path.display()
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_train_into_a_folder_being_written_is_refused_and_the_first_publishes_its_own_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 400);
    let out = dir.path().join("run");
    let c = config.to_str().unwrap();
    let o = out.to_str().unwrap();
    let mut first = spawn(&["train", "--config", c, "--seed", "0", "--out", o]);
    wait_for(&dir.path().join("run.partial/config.toml"), &mut first);
    assert!(dir.path().join("run.lock").is_file());
    let second = dagmm(&["train", "--config", c, "--seed", "1", "--out", o]);
    let message = text(&second);
    assert_eq!(second.status.code(), Some(1), "{message}");
    assert!(
        message.contains("a run into")
            && message.contains("another dagmm process (pid ")
            && message.contains("run.lock"),
        "{message}"
    );
    // `gmm` and `train --resume` into the same folder meet the same lock.
    let data = dir.path().join("data.csv");
    let gmm = dagmm(&[
        "gmm",
        "--data",
        data.to_str().unwrap(),
        "--label-column",
        "label",
        "--percentile",
        "10",
        "--out",
        o,
    ]);
    assert_eq!(gmm.status.code(), Some(1), "{}", text(&gmm));
    assert!(
        text(&gmm).contains("another dagmm process"),
        "{}",
        text(&gmm)
    );
    let resume = dagmm(&["train", "--resume", "--out", o]);
    assert_eq!(resume.status.code(), Some(1), "{}", text(&resume));
    assert!(
        text(&resume).contains("another dagmm process"),
        "{}",
        text(&resume)
    );

    let done = first.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", text(&done));
    // Every file is the first run's: seed 0 in the config, the manifest and the summary.
    assert_eq!(summary(&out)["seed"], 0);
    let config_toml = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config_toml.contains("seed = 0"), "{config_toml}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 0);
    assert!(
        !dir.path().join("run.lock").exists(),
        "the lock file goes with the run"
    );
    assert!(!dir.path().join("run.partial").exists());

    // Once the first has ended, a second run replaces it as before.
    let again = dagmm(&[
        "train", "--config", c, "--seed", "1", "--epochs", "2", "--out", o,
    ]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(summary(&out)["seed"], 1);
}

fn write_experiment(dir: &Path, config: &Path, seeds: &str) -> PathBuf {
    let exp = dir.join("exp.toml");
    std::fs::write(
        &exp,
        format!(
            "seeds = {seeds}\n[[run]]\nname = \"dagmm\"\nconfig = \"{}\"\n",
            config.display()
        ),
    )
    .unwrap();
    exp
}

#[test]
fn a_second_sweep_into_a_folder_is_refused_but_shards_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 200);
    let exp = write_experiment(dir.path(), &config, "[0, 1]");
    let out = dir.path().join("out");
    let (e, o) = (exp.to_str().unwrap(), out.to_str().unwrap());
    let mut first = spawn(&["sweep", e, "--out", o, "--jobs", "1"]);
    wait_for(&out.join("toy/dagmm/seed0.lock"), &mut first);
    let second = dagmm(&["sweep", e, "--out", o, "--jobs", "1"]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        text(&second).contains("a sweep into") && text(&second).contains(".sweep.lock"),
        "{}",
        text(&second)
    );
    let shard = dagmm(&["sweep", e, "--out", o, "--shard", "2/2"]);
    assert_eq!(shard.status.code(), Some(1), "{}", text(&shard));
    let done = first.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", text(&done));

    // Two shards at once, into a new folder: both run, neither is refused.
    let out2 = dir.path().join("out2");
    let o2 = out2.to_str().unwrap();
    let a = spawn(&["sweep", e, "--out", o2, "--shard", "1/2"]);
    let b = spawn(&["sweep", e, "--out", o2, "--shard", "2/2"]);
    for child in [a, b] {
        let done = child.wait_with_output().unwrap();
        assert!(done.status.success(), "{}", text(&done));
    }
    for seed in [0, 1] {
        assert_eq!(
            summary(&out2.join(format!("toy/dagmm/seed{seed}")))["seed"],
            seed
        );
    }
}

#[test]
fn a_sweep_reruns_a_damaged_run_and_refuses_two_runs_in_one_folder() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 2);
    let exp = write_experiment(dir.path(), &config, "[0, 0]");
    let out = dir.path().join("out");
    let (e, o) = (exp.to_str().unwrap(), out.to_str().unwrap());
    let dup = dagmm(&["sweep", e, "--out", o]);
    assert_eq!(dup.status.code(), Some(1), "{}", text(&dup));
    assert!(
        text(&dup).contains("would both write") && text(&dup).contains("seed0"),
        "{}",
        text(&dup)
    );
    assert!(!out.exists(), "nothing runs");

    let exp = write_experiment(dir.path(), &config, "[0, 1]");
    let e = exp.to_str().unwrap();
    let first = dagmm(&["sweep", e, "--out", o]);
    assert!(first.status.success(), "{}", text(&first));
    let run = out.join("toy/dagmm/seed1");
    for lost in ["scores.csv", "manifest.json", "losses.csv"] {
        let kept = std::fs::read(run.join(lost)).unwrap();
        std::fs::remove_file(run.join(lost)).unwrap();
        // The report leaves the damaged run out and says why.
        let report = dagmm(&["report", o]);
        assert!(report.status.success(), "{}", text(&report));
        assert!(
            text(&report).contains("seed1 is left out of the report")
                && text(&report).contains(lost),
            "{}",
            text(&report)
        );
        // And says which runs of the experiment it lacks, on the terminal and on the page.
        assert!(
            text(&report).contains(
                "the experiment lists runs this report lacks: toy/dagmm: seed 1 (1 of 2)"
            ),
            "{}",
            text(&report)
        );
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            page.contains("<li>toy/dagmm: seed 1 (1 of 2)</li>"),
            "missing runs not on the page"
        );
        let table = std::fs::read_to_string(out.join("table.md")).unwrap();
        assert!(
            table.contains("| dagmm | 0 |"),
            "only seed 0 is in the table: {table}"
        );
        // The sweep runs it again and says so; seed 0 is left alone.
        let seed0 = std::fs::read(out.join("toy/dagmm/seed0/summary.json")).unwrap();
        let again = dagmm(&["sweep", e, "--out", o]);
        assert!(again.status.success(), "{}", text(&again));
        assert!(
            text(&again).contains("is not a whole run") && text(&again).contains(lost),
            "{}",
            text(&again)
        );
        assert!(
            text(&again).contains("1 finished already, 1 to run"),
            "{}",
            text(&again)
        );
        assert_eq!(
            !std::fs::read(run.join(lost)).unwrap().is_empty(),
            !kept.is_empty()
        );
        assert_eq!(
            std::fs::read(out.join("toy/dagmm/seed0/summary.json")).unwrap(),
            seed0
        );
    }
}

#[test]
fn a_report_removes_what_a_killed_report_left_and_refuses_a_second_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 2);
    let exp = write_experiment(dir.path(), &config, "[0]");
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    assert!(dagmm(&["sweep", exp.to_str().unwrap(), "--out", o])
        .status
        .success());
    std::fs::create_dir_all(out.join("plots")).unwrap();
    let left = [
        out.join("table.tmp-AbC123.md"),
        out.join("plots/toy_roc.tmp-XyZ789.png"),
    ];
    for f in &left {
        std::fs::write(f, "half").unwrap();
    }
    let report = dagmm(&["report", o]);
    assert!(report.status.success(), "{}", text(&report));
    for f in &left {
        assert!(!f.exists(), "{} is left", f.display());
    }
    // A report holding the folder refuses another (the lock taken here by hand, as a running
    // report holds it).
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(".report.lock"))
        .unwrap();
    held.try_lock().unwrap();
    let second = dagmm(&["report", o]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(text(&second).contains("a report into"), "{}", text(&second));
}
