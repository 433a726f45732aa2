//! Helpers shared by the `dagmm` command-line tests.

#![allow(dead_code)] // each test file uses its own subset

use std::process::{Command, Output};

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
