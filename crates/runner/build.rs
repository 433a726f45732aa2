//! Records the compiler version and the commit the binary is built from, for run manifests.
use std::process::Command;

#[path = "src/git.rs"]
mod git;
use git::git;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DAGMM_RUSTC_VERSION={version}");
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DAGMM_BUILD_COMMIT={commit}");
    // Build again when HEAD moves: a commit, a checkout, a reset. Only files that exist are
    // watched (Cargo reruns a build script on every build while a watched path is missing);
    // `--git-path` finds them in worktrees too. Without git nothing is watched.
    let mut watched = Vec::new();
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(head_ref);
    }
    watched.extend(["HEAD", "logs/HEAD", "packed-refs"].map(String::from));
    let manifest_dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            let path = manifest_dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
