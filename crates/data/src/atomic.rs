//! Writing a file whole or not at all, for every crate of the workspace (downloads, model
//! checkpoints, run files, pictures): the bytes go to a temporary file beside the target, which
//! is renamed over it only when they are all written.
//!
//! Nothing here syncs to disk: a caller that wants the bytes durable syncs the file in its
//! `write` (downloads and run files do; checkpoints, written often, do not).

use std::path::Path;

use tempfile::NamedTempFile;

/// What went wrong in [`write_atomically`].
#[derive(Debug)]
pub enum AtomicWriteError<E> {
    /// The caller's `write` failed.
    Write(E),
    /// The temporary file could not be created beside the target or renamed onto it.
    Io(std::io::Error),
}

impl<E> AtomicWriteError<E> {
    /// The caller's error, or `io` applied to the file system's.
    pub fn into_error(self, io: impl FnOnce(std::io::Error) -> E) -> E {
        match self {
            AtomicWriteError::Write(e) => e,
            AtomicWriteError::Io(e) => io(e),
        }
    }
}

/// Runs `write` on a new temporary file in `path`'s folder (the folder must exist), then renames
/// it over `path`. On any error the temporary file is removed and an existing `path` is left as
/// it was, so a reader sees the old file or the new one, never half of one.
///
/// `write` may write through the handle (`NamedTempFile` is [`std::io::Write`]) or by path
/// (`tmp.path()`, for writers that open a path themselves). The temporary file is named
/// `<stem>.tmp-<random>.<extension>`: the target's extension stays last, for writers that read
/// it to choose a format (the PNG encoder), and [`is_temporary`] recognises what a killed
/// process leaves. Its permissions are those of a file made by [`std::fs::File::create`].
pub fn write_atomically<E>(
    path: &Path,
    write: impl FnOnce(&mut NamedTempFile) -> Result<(), E>,
) -> Result<(), AtomicWriteError<E>> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let prefix = format!("{stem}{TEMPORARY_MARK}");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(&extension);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Read-write for all before the umask, as `File::create` (tempfile's default is 0o600).
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(folder).map_err(AtomicWriteError::Io)?;
    write(&mut tmp).map_err(AtomicWriteError::Write)?;
    tmp.persist(path)
        .map(drop)
        .map_err(|e| AtomicWriteError::Io(e.error))
}

/// What sets a temporary file's name apart: `<stem>.tmp-<random>.<extension>`.
const TEMPORARY_MARK: &str = ".tmp-";

/// Whether a file name is that of a temporary file of [`write_atomically`], left behind when a
/// process was killed while writing.
pub fn is_temporary(name: &str) -> bool {
    name.contains(TEMPORARY_MARK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_a_failed_one_leaves_it_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        std::fs::write(&path, "old").unwrap();

        let err = write_atomically(&path, |tmp| {
            tmp.write_all(b"half").unwrap();
            let name = tmp
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(name.starts_with("summary.tmp-") && name.ends_with(".json"));
            assert!(is_temporary(&name));
            Err("disk full")
        })
        .unwrap_err();
        assert_eq!(err.into_error(|_| "io"), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["summary.json"]);

        // Through the handle, and by path.
        write_atomically(&path, |tmp| tmp.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let plot = dir.path().join("plot.png");
        write_atomically(&plot, |tmp| std::fs::write(tmp.path(), b"png")).unwrap();
        assert_eq!(std::fs::read(&plot).unwrap(), b"png");
        assert_eq!(names(dir.path()), ["plot.png", "summary.json"]);
        assert!(!is_temporary("summary.json"));
    }

    #[test]
    fn a_missing_folder_or_a_folder_in_the_way_is_an_io_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomically(&dir.path().join("absent/x.csv"), |_| Ok::<(), ()>(()));
        assert!(matches!(err, Err(AtomicWriteError::Io(_))));

        let folder = dir.path().join("taken");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("inside"), "x").unwrap();
        let err = write_atomically(&folder, |tmp| tmp.write_all(b"x"));
        assert!(matches!(err, Err(AtomicWriteError::Io(_))));
        assert_eq!(names(dir.path()), ["taken"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_gets_the_permissions_of_file_create() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let atomic = dir.path().join("atomic");
        write_atomically(&atomic, |_| Ok::<(), ()>(())).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }
}
