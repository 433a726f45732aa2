//! The Slurm scripts (`scripts/slurm/`): their shell syntax always, and, with
//! `DAGMM_TEST_SLURM=1` (`.ci/run` sets it; it needs root and Debian's `slurm-wlm` and `munge`),
//! `scripts/slurm/test_local_cluster.sh` on this binary: a one-node Slurm cluster started here
//! runs a 4-task array sweep of a tiny experiment and its report job (see the script).

use std::path::PathBuf;
use std::process::Command;

/// The `scripts/slurm` folder.
fn slurm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm")
}

#[test]
fn the_slurm_scripts_parse() {
    for script in [
        "submit.sh",
        "sweep.sbatch",
        "report.sbatch",
        "test_local_cluster.sh",
    ] {
        let path = slurm_dir().join(script);
        let o = Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
            .expect("bash runs");
        assert!(
            o.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn a_sharded_sweep_runs_on_a_local_slurm_cluster() {
    if std::env::var("DAGMM_TEST_SLURM").as_deref() != Ok("1") {
        eprintln!("skipped: set DAGMM_TEST_SLURM=1 (root, slurm-wlm and munge installed)");
        return;
    }
    let o = Command::new("bash")
        .arg(slurm_dir().join("test_local_cluster.sh"))
        .env("DAGMM_BIN", env!("CARGO_BIN_EXE_dagmm"))
        .env_remove("DAGMM_DATA_DIR")
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    eprintln!("{text}");
}
