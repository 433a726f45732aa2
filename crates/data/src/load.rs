//! One entry point for every supported file: the format is chosen from the file name.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::{csv_file, kddcup, mat, npz, Dataset, LoadedRows};

/// Options that only some formats use.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// CSV: the 0/1 label column (1 = anomaly); `None` reads every column as a feature.
    pub label_column: Option<&'a str>,
    /// KDDCUP99: the `kddcup.names` file; default: `kddcup.names` beside the data file.
    pub names: Option<&'a Path>,
}

/// The prefix of built-in (generated) data sets, e.g. `builtin:blobs`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The formats [`load`] recognises.
pub const SUPPORTED: &str = "`.csv` (header row), `.mat` (MATLAB level 5, X and y), `.npz` (NumPy, X and y), the raw KDDCUP99 file (`kddcup.data*`, plain or `.gz`, with `kddcup.names` beside it), and `builtin:blobs` / `builtin:moons`";

/// Reads `path` by its name: `*.csv`, `*.mat`, `*.npz`, or a KDDCUP99 file (`kddcup*`, any `.gz`);
/// `builtin:NAME` generates one of the tutorials' sets instead ([`crate::synthetic::builtin`]).
///
/// `options.label_column` applies to CSV files only: the other formats carry their labels
/// themselves (the `y` array, the KDDCUP99 label field, the generator), so a label column given
/// for them is a [`DataError::LabelColumnNotApplicable`] error rather than silently ignored.
pub fn load(path: &Path, options: LoadOptions) -> Result<Dataset> {
    load_rows(path, options)?.into_dataset()
}

/// [`load`]'s rows as compact as the format allows: KDDCUP's stay encoded (numbers and category
/// codes, [`crate::kddcup::read_kddcup`]); the other formats are read whole.
pub fn load_rows(path: &Path, options: LoadOptions) -> Result<LoadedRows> {
    if let Some(name) = path.to_str().and_then(|p| p.strip_prefix(BUILTIN_PREFIX)) {
        reject_label_column(
            path,
            options,
            "a built-in data set comes with its own labels",
        )?;
        return crate::synthetic::builtin(name).map(LoadedRows::dense);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if options.names.is_some() && !(name.starts_with("kddcup") || name.ends_with(".gz")) {
        return Err(DataError::format(
            path,
            "--names (a KDDCUP99 names file) applies to KDDCUP99 files only (`kddcup*` or \
             `.gz`); this file names its columns itself: leave --names out",
        ));
    }
    if name.ends_with(".csv") {
        csv_file::load_csv(path, options.label_column).map(LoadedRows::dense)
    } else if name.ends_with(".mat") {
        reject_label_column(
            path,
            options,
            "a .mat file takes its labels from its `y` array",
        )?;
        mat::load_mat(path).map(LoadedRows::dense)
    } else if name.ends_with(".npz") {
        reject_label_column(
            path,
            options,
            "an .npz file takes its labels from its `y` array",
        )?;
        npz::load_npz(path).map(LoadedRows::dense)
    } else if name.starts_with("kddcup") || name.ends_with(".gz") {
        reject_label_column(
            path,
            options,
            "a KDDCUP99 file takes its labels from its last field (`normal.` = 1)",
        )?;
        let beside = path.with_file_name("kddcup.names");
        let names = options.names.unwrap_or(&beside);
        if !names.exists() {
            return Err(DataError::format(
                path,
                format!(
                    "read as a KDDCUP99 file (every `kddcup*` and `.gz` file is), whose column \
                     list {} does not exist: give it with --names (data.names), or, if this is \
                     not KDDCUP99, give the data as .csv, .mat or .npz",
                    names.display()
                ),
            ));
        }
        kddcup::read_kddcup(path, names)
    } else {
        Err(DataError::format(
            path,
            format!("unknown file type; supported: {SUPPORTED}"),
        ))
    }
}

/// Errors when a label column is given for a format whose labels come from `labels_from`.
fn reject_label_column(path: &Path, options: LoadOptions, labels_from: &str) -> Result<()> {
    match options.label_column {
        None => Ok(()),
        Some(_) => Err(DataError::LabelColumnNotApplicable {
            path: path.to_path_buf(),
            labels_from: labels_from.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_on_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.CSV");
        std::fs::write(&csv, "x,y\n1,0\n").unwrap();
        let ds = load(
            &csv,
            LoadOptions {
                label_column: Some("y"),
                names: None,
            },
        )
        .unwrap();
        assert_eq!(ds.labels, Some(vec![0]));
        let other = dir.path().join("a.parquet");
        std::fs::write(&other, "x").unwrap();
        let err = load(&other, LoadOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("a.parquet") && err.to_string().contains("supported"),
            "{err}"
        );
        // A KDDCUP file without its names file says which names file it looked for.
        let kdd = dir.path().join("kddcup.data");
        std::fs::write(&kdd, "0,tcp,http,SF,1,2,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0,0,0,0,1,0,0,1,1,1,0,0,0,0,0,0,0,normal.\n").unwrap();
        let err = load(&kdd, LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("kddcup.names"), "{err}");
    }

    #[test]
    fn a_label_column_for_a_format_with_its_own_labels_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let with_label = LoadOptions {
            label_column: Some("label"),
            names: None,
        };
        // The files need not exist: the option is refused before anything is read.
        for (name, first) in [
            (
                "data.mat",
                "a .mat file takes its labels from its `y` array",
            ),
            (
                "data.npz",
                "an .npz file takes its labels from its `y` array",
            ),
            (
                "kddcup.data.gz",
                "a KDDCUP99 file takes its labels from its last field (`normal.` = 1)",
            ),
        ] {
            let path = dir.path().join(name);
            let err = load(&path, with_label).unwrap_err();
            assert!(
                matches!(err, DataError::LabelColumnNotApplicable { .. }),
                "{err}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: {first}; the label column option (`--label-column` / \
                     `data.label_column`) applies to CSV files only",
                    path.display()
                )
            );
        }
        let err = load(Path::new("builtin:blobs"), with_label).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("builtin:blobs: a built-in data set"),
            "{err}"
        );
        assert!(load(Path::new("builtin:blobs"), LoadOptions::default()).is_ok());
    }
}
