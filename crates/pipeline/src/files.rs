//! Writing results so that a reader never sees half a file: each file is written beside its
//! destination under a temporary name, synced, then renamed over it
//! ([`dagmm_data::atomic::write_atomically`]); and reading typed JSON back with errors that name
//! the file and the field.

use std::io::Write;
use std::path::Path;

use dagmm_data::atomic::{write_atomically, AtomicWriteError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{PipelineError, Result};

/// Runs `write` on a temporary sibling of `path` (with `path`'s extension, which some writers,
/// the PNG encoder, read to choose the format), then renames it into place; on error the
/// temporary file is removed and any existing `path` is left as it was.
pub fn atomically<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> Result<()> {
    write_atomically(path, |tmp| write(tmp.path())).map_err(|e| match e {
        AtomicWriteError::Write(e) => {
            PipelineError::Invalid(format!("writing {}: {e}", path.display()))
        }
        AtomicWriteError::Io(error) => PipelineError::Io {
            path: path.to_path_buf(),
            error,
        },
    })
}

/// Writes `bytes` to `path` atomically, synced to the disk.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |f| {
        f.write_all(bytes)?;
        f.as_file().sync_all()
    })
    .map_err(|e| PipelineError::Io {
        path: path.to_path_buf(),
        error: e.into_error(std::convert::identity),
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

/// Writes `value` as compact JSON to `path` atomically, streamed through a buffer: for files of
/// large arrays (a wide mixture's covariances: 4.5 million numbers at 1,500 features), where
/// pretty printing put a line and an indent around every number (154 MB) and the whole text was
/// held in memory before the write.
pub fn write_json_compact<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomically(path, |f| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, f.as_file());
        serde_json::to_writer(&mut out, value).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()?;
        drop(out);
        f.as_file().sync_all()
    })
    .map_err(|e| PipelineError::Io {
        path: path.to_path_buf(),
        error: e.into_error(std::convert::identity),
    })
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
