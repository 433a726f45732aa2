//! `--data FILE` on `train` and `sweep`: a researcher's own file in place of a config's data set,
//! and the default config (`dagmm_pipeline::defaults`) where no config is named.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dagmm_data::LoadOptions;
use dagmm_pipeline::config::locate;
use dagmm_pipeline::defaults::{default_config, DataShape};
use dagmm_pipeline::RunConfig;

use crate::cli::OwnDataArgs;

/// A data file given on the command line, with what the default config needs of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnData {
    /// As given (recorded in the run's config).
    pub path: PathBuf,
    pub label_column: Option<String>,
    pub names: Option<PathBuf>,
    /// Rows, features and whether labelled, read once from the file.
    pub shape: DataShape,
}

impl OwnData {
    /// Reads `args.data` once (for its width and labels); `None` without `--data`.
    pub fn from_args(args: &OwnDataArgs) -> Result<Option<OwnData>> {
        let Some(path) = &args.data else {
            return Ok(None);
        };
        let located = locate(path)?;
        let data = dagmm_data::load(
            &located,
            LoadOptions {
                label_column: args.label_column.as_deref(),
                names: args.names.as_deref(),
            },
        )
        .with_context(|| format!("--data {}", path.display()))?;
        Ok(Some(OwnData {
            path: path.clone(),
            label_column: args.label_column.clone(),
            names: args.names.clone(),
            shape: DataShape {
                rows: data.n_rows(),
                features: data.n_features(),
                labelled: data.labels.is_some(),
            },
        }))
    }

    /// The overrides that put this file in a config's place (before the user's own `--set`).
    pub fn overrides(&self) -> Vec<String> {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut o = vec![
            "data.source=\"file\"".to_string(),
            format!("data.path={}", quote(&self.path.display().to_string())),
        ];
        if let Some(l) = &self.label_column {
            o.push(format!("data.label_column={}", quote(l)));
        }
        if let Some(n) = &self.names {
            o.push(format!("data.names={}", quote(&n.display().to_string())));
        }
        o
    }

    /// The config of a run on this file: `config` with the file in its data's place, or the
    /// default config; `overrides` after.
    pub fn config(&self, config: Option<&Path>, overrides: &[String]) -> Result<RunConfig> {
        Ok(match config {
            Some(file) => {
                let mut all = self.overrides();
                all.extend_from_slice(overrides);
                RunConfig::load(file, &all)?
            }
            None => default_config(
                &self.path,
                self.label_column.as_deref(),
                self.shape,
                overrides,
            )?,
        })
    }

    /// The data set's name in a sweep's folders and tables: the file's name without its
    /// extensions of format (`my_data.csv` → `my_data`, `kddcup.data_10_percent.gz` →
    /// `kddcup.data_10_percent`).
    pub fn data_set_name(&self) -> String {
        let mut name = self
            .path
            .file_name()
            .map_or_else(|| "data".to_string(), |n| n.to_string_lossy().into_owned());
        loop {
            let lower = name.to_lowercase();
            let Some(ext) = [".gz", ".csv", ".mat", ".npz"]
                .into_iter()
                .find(|e| lower.ends_with(e) && lower.len() > e.len())
            else {
                break;
            };
            name.truncate(name.len() - ext.len());
        }
        name
    }

    /// What the manifest records as the config file of a run without one.
    pub fn default_config_name(&self) -> PathBuf {
        PathBuf::from(format!("(the default config for {})", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_names_its_data_set_and_lays_its_overrides_under_the_users() {
        let own = OwnData {
            path: "data/my set.csv.gz".into(),
            label_column: Some("is \"bad\"".into()),
            names: None,
            shape: DataShape {
                rows: 100,
                features: 3,
                labelled: true,
            },
        };
        assert_eq!(own.data_set_name(), "my set");
        assert_eq!(
            own.overrides(),
            [
                "data.source=\"file\"",
                "data.path=\"data/my set.csv.gz\"",
                "data.label_column='is \"bad\"'",
            ]
        );
        let kdd = OwnData {
            path: "kddcup.data_10_percent.gz".into(),
            ..own
        };
        assert_eq!(kdd.data_set_name(), "kddcup.data_10_percent");
    }
}
