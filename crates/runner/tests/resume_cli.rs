//! `dagmm train` killed after a checkpoint and resumed with `--resume` gives, on flex, the run
//! never interrupted: the same losses, scores and mixture. A run writes its folder whole or not
//! at all: a killed or failed run leaves the earlier results in place.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{copy_dir, dagmm, text, toy_dagmm_args, write_data};

/// `dagmm train` on the toy file, one batch per epoch, a checkpoint every 5 epochs.
fn train_args(data: &Path, out: &Path, epochs: usize, extra: &[&str]) -> Vec<String> {
    let mut more = vec![
        "--set",
        "training.checkpoint_every=5",
        "--set",
        "training.learning_rate=1e-3",
    ];
    more.extend_from_slice(extra);
    toy_dagmm_args(data, out, epochs, &more)
}

/// `losses.csv` without its wall-clock column.
fn losses_without_seconds(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("losses.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_killed_train_resumes_from_its_checkpoint_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let epochs = 300;

    // The run never interrupted.
    let whole = dir.path().join("whole");
    let o = dagmm(
        &train_args(&data, &whole, epochs, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", text(&o));

    // The same run, killed (SIGKILL) once a checkpoint is on disk.
    let run = dir.path().join("run");
    let checkpoint = dir.path().join("run.partial/checkpoint/checkpoint.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dagmm"))
        .args(train_args(&data, &run, epochs, &[]))
        .env_remove("DAGMM_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !checkpoint.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed, not finished");
    assert!(!run.exists(), "a killed run leaves no run folder");
    let saved: serde_json::Value = serde_json::from_str(&read(&checkpoint)).unwrap();
    let done = saved["epochs_done"].as_u64().unwrap();
    assert!(
        (5..epochs as u64).contains(&done) && done.is_multiple_of(5),
        "{done}"
    );

    // Without --resume the waiting checkpoint is not thrown away.
    let o = dagmm(
        &train_args(&data, &run, epochs, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("holds the checkpoint of an interrupted run")
            && text(&o).contains("--resume"),
        "{}",
        text(&o)
    );
    assert!(checkpoint.is_file());

    // `--resume --out DIR` alone continues it with the config it saved.
    let o = dagmm(&["train", "--resume", "--out", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("after epoch {done} of {epochs}")),
        "{}",
        text(&o)
    );
    assert!(
        !dir.path().join("run.partial").exists(),
        "the staging folder is gone"
    );

    assert_eq!(losses_without_seconds(&run), losses_without_seconds(&whole));
    assert_eq!(
        read(&run.join("scores.csv")),
        read(&whole.join("scores.csv"))
    );
    let mixture = |r: &Path| {
        let m: serde_json::Value =
            serde_json::from_str(&read(&r.join("model/model.json"))).unwrap();
        m["mixture"].clone()
    };
    assert_eq!(mixture(&run), mixture(&whole));
    let summary = |r: &Path| {
        let mut s: serde_json::Value =
            serde_json::from_str(&read(&r.join("summary.json"))).unwrap();
        for key in [
            "train_seconds",
            "fit_seconds",
            "wall_seconds",
            "samples_per_second",
            "first_loss",
            "final_loss",
        ] {
            s.as_object_mut().unwrap().remove(key);
        }
        s
    };
    assert_eq!(summary(&run), summary(&whole));
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&run.join("manifest.json"))).unwrap();
    assert_eq!(manifest["resumed_after_epoch"], done);
    assert_eq!(
        manifest["config_file"],
        run.join("config.toml").to_str().unwrap()
    );

    // Nothing left to resume now.
    let o = dagmm(&["train", "--resume", "--out", run.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("nothing to resume"), "{}", text(&o));
}

#[test]
fn a_failed_run_leaves_the_earlier_results_whole_and_its_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let run = dir.path().join("run");
    let args = |extra: &[&str]| train_args(&data, &run, 8, extra);
    let o = dagmm(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    let before: Vec<(String, Vec<u8>)> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    assert!(before.len() >= 5);

    // The same run again, its weights sent to infinity by a learning rate of 1e30 from epoch 1:
    // the run fails in training, after its staging folder and config were written.
    let o = dagmm(
        &args(&["--set", "training.learning_rate=1e30"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!o.status.success());
    let message = text(&o);
    assert!(
        message.contains("the loss went non-finite in train epoch"),
        "{message}"
    );
    assert!(message.contains(", batch 1 of 1:"), "{message}");
    for (path, bytes) in &before {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{path} changed");
    }
    assert_eq!(
        std::fs::read_dir(&run).unwrap().count(),
        before.len() + 1,
        "and model/"
    );
    // A run that failed before its first checkpoint leaves no staging folder behind.
    if !message.contains("is kept") {
        assert!(!dir.path().join("run.partial").exists(), "{message}");
    }
}

#[test]
fn a_run_does_not_replace_a_folder_that_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    // The folder holding the data file is not a run folder: a run would replace it whole.
    let o = dagmm(
        &train_args(&data, dir.path(), 1, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("is not a run folder"), "{}", text(&o));
    assert!(data.is_file());
    // Nor one whose manifest.json is not ours.
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("manifest.json"), "{\"name\": \"my web app\"}").unwrap();
    let o = dagmm(
        &train_args(&data, &app, 1, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(text(&o).contains("is not a run folder"), "{}", text(&o));
    assert!(app.join("manifest.json").is_file());
    // Nor a run folder to which the user added a file: it would go with the old run.
    let run = dir.path().join("run");
    let args = train_args(&data, &run, 1, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(dagmm(&args).status.success());
    std::fs::write(run.join("notes.txt"), "keep me").unwrap();
    let o = dagmm(&args);
    assert!(
        text(&o).contains("holding files a run does not write (notes.txt)"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(run.join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_publication_cut_short_by_a_kill_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let run = dir.path().join("run");
    let args = train_args(&data, &run, 1, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(dagmm(&args).status.success());
    // What a kill between publishing's two renames leaves: the old run moved aside, the new one
    // finished in the staging folder, no `run`.
    let finished = read(&run.join("summary.json"));
    let (staging, replaced) = (
        dir.path().join("run.partial"),
        dir.path().join("run.replaced-7"),
    );
    copy_dir(&run, &staging);
    std::fs::rename(&run, &replaced).unwrap();
    let o = dagmm(&["report", dir.path().to_str().unwrap()]);
    assert!(
        !text(&o).contains("run.partial"),
        "report skips staging: {}",
        text(&o)
    );
    // The sweep's notion of finished, or the next run, puts it in place first.
    let o = dagmm(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(run.join("summary.json").is_file() && !staging.exists() && !replaced.exists());
    let f1 = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["f1"].clone();
    assert_eq!(f1(&read(&run.join("summary.json"))), f1(&finished));
}

#[test]
fn a_broken_checkpoint_is_named_first_and_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let run = dir.path().join("run");
    let staging = dir.path().join("run.partial");
    let checkpoint_dir = staging.join("checkpoint");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dagmm"))
        .args(train_args(&data, &run, 400, &[]))
        .env_remove("DAGMM_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !checkpoint_dir.join("checkpoint.json").is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = dir.path().join("saved");
    copy_dir(&staging, &saved);
    let file: serde_json::Value =
        serde_json::from_str(&read(&saved.join("checkpoint/checkpoint.json"))).unwrap();
    let done = file["epochs_done"].as_u64().unwrap();
    let weights = file["weights"].as_str().unwrap().to_string();
    let adam = file["optimizer"].as_str().unwrap().to_string();
    let c = |name: &str| checkpoint_dir.join(name);
    type Break = Box<dyn Fn()>;
    let cases: Vec<(&str, Break, String)> = vec![
        (
            "missing weights",
            Box::new({
                let p = c(&weights);
                move || std::fs::remove_file(&p).unwrap()
            }),
            c(&weights).display().to_string(),
        ),
        (
            "missing Adam state",
            Box::new({
                let p = c(&adam);
                move || std::fs::remove_file(&p).unwrap()
            }),
            c(&adam).display().to_string(),
        ),
        (
            "empty weights",
            Box::new({
                let p = c(&weights);
                move || std::fs::write(&p, b"").unwrap()
            }),
            format!("{}: empty (0 bytes)", c(&weights).display()),
        ),
        (
            "a history cut short",
            Box::new({
                let p = c("history.jsonl");
                move || {
                    let text = std::fs::read(&p).unwrap();
                    std::fs::write(&p, &text[..text.len() / 2]).unwrap()
                }
            }),
            format!("{}: holds", c("history.jsonl").display()),
        ),
        (
            "an edited epochs_done",
            Box::new({
                let p = c("checkpoint.json");
                move || {
                    let text = std::fs::read_to_string(&p).unwrap().replace(
                        &format!("\"epochs_done\": {done}"),
                        &format!("\"epochs_done\": {}", done - 1),
                    );
                    std::fs::write(&p, text).unwrap()
                }
            }),
            format!(
                "{}: says epochs_done = {}, but its history",
                c("checkpoint.json").display(),
                done - 1
            ),
        ),
    ];
    for (name, break_it, first) in cases {
        let _ = std::fs::remove_dir_all(&staging);
        copy_dir(&saved, &staging);
        break_it();
        let o = dagmm(&["train", "--resume", "--out", run.to_str().unwrap()]);
        let message = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {message}");
        assert!(
            message.starts_with(&format!("error: {first}")),
            "{name}: the broken file comes first: {message}"
        );
        assert!(
            message.contains("is damaged and cannot be continued")
                && !message.contains("continues from it"),
            "{name}: {message}"
        );
        assert!(
            staging.is_dir(),
            "{name}: the checkpoint is left for the user"
        );
    }
}
