//! Writing results so that a reader never sees half a file: each file is written beside its
//! destination under a temporary name, flushed, then renamed over it; and reading typed JSON
//! back with errors that name the file and the field.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{PipelineError, Result};

/// The temporary sibling of `path` used while it is being written: `name.tmp-PID.ext`, keeping
/// the extension, which some writers (the PNG encoder) read to choose the format.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!(
            "{stem}.tmp-{}.{}",
            std::process::id(),
            ext.to_string_lossy()
        ),
        None => format!("{stem}.tmp-{}", std::process::id()),
    };
    path.with_file_name(name)
}

/// Runs `write` on a temporary sibling of `path`, then renames it into place; on error the
/// temporary file is removed and any existing `path` is left as it was.
pub fn atomically<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> Result<()> {
    let tmp = temporary_sibling(path);
    let result = write(&tmp)
        .map_err(|e| PipelineError::Invalid(format!("writing {}: {e}", path.display())))
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|error| PipelineError::Io {
                path: path.to_path_buf(),
                error,
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomically(path, |tmp| -> std::io::Result<()> {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|error| PipelineError::Json {
        path: path.to_path_buf(),
        error,
    })?;
    text.push('\n');
    write_bytes(path, text.as_bytes())
}

/// Reads a JSON file as `T`, naming the file and the field in errors.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|error| PipelineError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| PipelineError::Format {
        path: path.to_path_buf(),
        message: format!("at `{}`: {}", e.path(), e.inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        std::fs::write(&path, "old").unwrap();
        let err = atomically(&path, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err("disk full")
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_bytes(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
