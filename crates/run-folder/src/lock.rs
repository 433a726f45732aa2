//! Which process owns an output folder. A run, a sweep and a report each take an advisory lock
//! (`flock`, released by the kernel when the process ends, however it ends) on a small lock file
//! before they touch their folder, so a second process started on the same folder is refused at
//! once instead of writing into the first one's files.
//!
//! * a run into `OUT` locks `OUT.lock`, beside the folder (its staging folder `OUT.partial` is
//!   removed and renamed as the run goes), and removes it when done;
//! * a sweep into `OUT` locks `OUT/.sweep.lock`: exclusively, or shared by the shards of one
//!   sweep (`--shard i/n`), each of which also locks `OUT/.shard-i-of-n.lock` exclusively;
//! * a report locks `OUT/.report.lock`, and removes it when done.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder; removed when released.
    Exclusive,
    /// Any number of shared holders and no exclusive one; the file stays.
    Shared,
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct FolderLock {
    file: File,
    path: PathBuf,
    /// Whether the file goes when the lock does (the run's `OUT.lock` beside its folder).
    remove: bool,
}

impl FolderLock {
    /// Takes the lock on `path` (created if absent; its folder must exist) for `what` (said in
    /// the refusal: "a run into results/x"), or refuses at once when another process holds it.
    /// `remove` removes the file on release (an exclusive lock only).
    pub fn acquire(path: &Path, mode: LockMode, what: &str, remove: bool) -> Result<FolderLock> {
        // A released lock file is removed by its holder: a file opened just before that removal
        // may be locked but no longer be the one at `path`; open again then.
        for _ in 0..100 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .with_context(|| format!("cannot open the lock file {}", path.display()))?;
            let taken = match mode {
                LockMode::Exclusive => file.try_lock(),
                LockMode::Shared => file.try_lock_shared(),
            };
            match taken {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    bail!(
                        "{what} is refused: another dagmm process{} is writing there and holds \
                         {}; wait for it to end, or choose another --out",
                        if holder.is_empty() {
                            String::new()
                        } else {
                            format!(" ({holder})")
                        },
                        path.display()
                    );
                }
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()));
                }
            }
            if !same_file(&file, path) {
                continue;
            }
            if mode == LockMode::Exclusive {
                // Who holds it, for the message of a process refused.
                let _ = file.set_len(0);
                let _ = write!(file, "pid {}", std::process::id());
            }
            return Ok(FolderLock {
                file,
                path: path.to_path_buf(),
                remove: remove && mode == LockMode::Exclusive,
            });
        }
        bail!("cannot lock {}: it keeps being replaced", path.display())
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        if self.remove {
            // Removed while still held: a process that opens it now finds it gone or new.
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Suffix of a run's lock file beside its folder.
pub const RUN_LOCK_SUFFIX: &str = ".lock";

/// Locks the run folder `out` for this process: `OUT.lock`, beside it (its parent is created).
pub fn lock_run(out: &Path) -> Result<FolderLock> {
    let Some(name) = out.file_name() else {
        bail!(
            "--out `{}` must name a folder for the run (e.g. runs/my-run), not `.`, `..` or `/`",
            out.display()
        );
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut lock_name = name.to_os_string();
    lock_name.push(RUN_LOCK_SUFFIX);
    FolderLock::acquire(
        &out.with_file_name(lock_name),
        LockMode::Exclusive,
        &format!("a run into {}", out.display()),
        true,
    )
}

/// The locks of a sweep into `out` (which must exist): the whole folder, or one shard of it.
pub fn lock_sweep(out: &Path, shard: Option<(usize, usize)>) -> Result<Vec<FolderLock>> {
    let whole = out.join(".sweep.lock");
    let what = format!("a sweep into {}", out.display());
    Ok(match shard {
        None => vec![FolderLock::acquire(
            &whole,
            LockMode::Exclusive,
            &what,
            false,
        )?],
        Some((i, n)) => vec![
            FolderLock::acquire(&whole, LockMode::Shared, &what, false)?,
            FolderLock::acquire(
                &out.join(format!(".shard-{i}-of-{n}.lock")),
                LockMode::Exclusive,
                &format!("shard {i}/{n} of a sweep into {}", out.display()),
                false,
            )?,
        ],
    })
}

/// The lock of a report written into `dir` (which must exist), removed when the report is done.
pub fn lock_report(dir: &Path) -> Result<FolderLock> {
    FolderLock::acquire(
        &dir.join(".report.lock"),
        LockMode::Exclusive,
        &format!("a report into {}", dir.display()),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("runs/a");
        let first = lock_run(&out).unwrap();
        let lock_file = dir.path().join("runs/a.lock");
        assert!(lock_file.is_file());
        let err = format!("{:#}", lock_run(&out).unwrap_err());
        assert!(
            err.contains("a run into")
                && err.contains("another dagmm process (pid ")
                && err.contains("a.lock"),
            "{err}"
        );
        drop(first);
        assert!(!lock_file.exists(), "a released run lock is removed");
        let again = lock_run(&out).unwrap();
        drop(again);

        // Shards share the sweep's lock; the same shard twice, or a whole sweep beside a shard,
        // is refused.
        let sweep = dir.path().join("sweep");
        std::fs::create_dir(&sweep).unwrap();
        let one = lock_sweep(&sweep, Some((1, 2))).unwrap();
        let two = lock_sweep(&sweep, Some((2, 2))).unwrap();
        assert!(
            format!("{:#}", lock_sweep(&sweep, Some((1, 2))).unwrap_err()).contains("shard 1/2")
        );
        assert!(lock_sweep(&sweep, None).is_err());
        drop((one, two));
        let whole = lock_sweep(&sweep, None).unwrap();
        assert!(lock_sweep(&sweep, Some((1, 2))).is_err());
        drop(whole);
        assert!(lock_report(&sweep).is_ok());
    }
}
