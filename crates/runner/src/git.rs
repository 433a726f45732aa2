//! `git` run as a command: shared by the build script (the commit a binary is built from) and the
//! run manifests (the checkout's state as a command starts).

use std::process::Command;

/// `git ARGS`' trimmed standard output, or `None` without git or when it fails.
pub fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}
