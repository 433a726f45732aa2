//! Writing results so that a reader never sees half a file: each file is written beside its
//! destination under a temporary name, flushed, then renamed over it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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
pub fn atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temporary_sibling(path);
    let result = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} into place", path.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomically(path, |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(())
    })
}

pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_bytes(path, text.as_bytes())
}

/// `index,score,flagged[,label]`, one row per input row, in input order.
pub fn write_scores_csv(
    path: &Path,
    scores: &[f64],
    flagged: &[u8],
    labels: Option<&[u8]>,
) -> Result<()> {
    let mut text = String::with_capacity(scores.len() * 32);
    text.push_str(if labels.is_some() {
        "index,score,flagged,label\n"
    } else {
        "index,score,flagged\n"
    });
    for (i, (s, f)) in scores.iter().zip(flagged).enumerate() {
        use std::fmt::Write as _;
        match labels {
            Some(l) => writeln!(text, "{i},{s},{f},{}", l[i]),
            None => writeln!(text, "{i},{s},{f}"),
        }
        .expect("writing to a String");
    }
    write_bytes(path, text.as_bytes())
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
            std::fs::write(tmp, "half")?;
            anyhow::bail!("disk full")
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_bytes(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn scores_csv_has_one_row_per_input_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        write_scores_csv(&path, &[-1.5, -7.0], &[0, 1], Some(&[0, 1])).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "index,score,flagged,label\n0,-1.5,0,0\n1,-7,1,1\n"
        );
    }
}
