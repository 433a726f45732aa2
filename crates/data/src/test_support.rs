//! Helpers for tests: where the shared real data sets are, when this machine has them.

use std::path::PathBuf;

/// `relative` under `$DAGMM_DATA_DIR`, else under the `shared/data` folder beside the repository.
/// `None` (with a line saying the test was skipped) when neither holds the file.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("DAGMM_DATA_DIR") {
        candidates.push(PathBuf::from(dir).join(relative));
    }
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(relative),
    );
    let found = candidates.into_iter().find(|p| p.is_file());
    if found.is_none() {
        eprintln!("skipped: {relative} is not available (set DAGMM_DATA_DIR)");
    }
    found
}
