//! Writing a file whole or not at all (`dagmm_pipeline::files::atomically`), with this crate's
//! errors.

use std::path::Path;

use anyhow::Result;

/// Runs `write` on a temporary sibling of `path`, then renames it into place; on error the
/// temporary file is removed and any existing `path` is left as it was.
pub fn atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    Ok(dagmm_pipeline::files::atomically(path, |tmp| {
        write(tmp).map_err(|e| format!("{e:#}"))
    })?)
}
