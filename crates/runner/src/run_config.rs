//! Run configurations: a TOML file (`configs/<data set>/<model>.toml`) plus `--set a.b=value`
//! overrides, parsed strictly (an unknown or mistyped field is an error naming it and the file).
//!
//! A run config is the model's own sections (`device`, `[compression]`, `[estimation]`, `[loss]`,
//! `[training]`, `[scoring]`: see `dagmm_model::DagmmConfig`) beside two of the runner's:
//! `[data]` (which data set, how it is split and scaled) and `[evaluation]` (the threshold).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use dagmm_data::scaling::ScalingKind;
use dagmm_evaluation::PuConfig;
use dagmm_model::compression::CompressionConfig;
use dagmm_model::estimation::EstimationConfig;
use dagmm_model::loss::LossConfig;
use dagmm_model::{DagmmConfig, DeviceChoice, ScoringConfig, TrainingConfig};
use serde::{Deserialize, Serialize};

/// Where the rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// KDDCUP99 10%: `normal.` is the anomaly (20%).
    Kddcup99,
    /// KDDCUP-Rev: all `normal.` rows as the normal class, attacks drawn to make 20%, anomalies.
    KddcupRev,
    /// ODDS Thyroid (`odds/thyroid.mat`).
    Thyroid,
    /// ODDS Arrhythmia (`odds/arrhythmia.mat`).
    Arrhythmia,
    /// Any file `dagmm_data::load` reads (`path` required).
    File,
}

impl Source {
    /// The file under the data directory, for the named data sets.
    fn relative_path(self) -> Option<&'static str> {
        match self {
            Source::Kddcup99 | Source::KddcupRev => Some("kddcup99/kddcup.data_10_percent.gz"),
            Source::Thyroid => Some("odds/thyroid.mat"),
            Source::Arrhythmia => Some("odds/arrhythmia.mat"),
            Source::File => None,
        }
    }
}

fn default_train_fraction() -> f64 {
    0.5
}

/// `[data]`: the data set and the DAGMM protocol's split (seeded 50/50; train on the normal rows
/// of the training half; test on the whole other half), scaling fitted on the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub source: Source,
    /// The file; for named sources, default: looked up under `$DAGMM_DATA_DIR`, then the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// KDDCUP99 names file (default: `kddcup.names` beside the data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<PathBuf>,
    /// CSV label column (source = "file").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    #[serde(default)]
    pub scaling: ScalingKind,
    #[serde(default = "default_train_fraction")]
    pub train_fraction: f64,
    /// Seed of the split (and of KDDCUP-Rev's draw); default: `training.seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
}

fn default_sweep() -> Vec<f64> {
    vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
}

/// `[evaluation]`: rows with the top `anomaly_percentile`% of test scores are flagged; with an
/// `[evaluation.pu]` table the run follows seed 002's PU setup instead (train on the whole,
/// unlabelled training half; a labelled fraction of its normal rows; flag by Elkan–Noto's `c/2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSection {
    pub anomaly_percentile: f64,
    #[serde(default = "default_sweep")]
    pub sweep_percentiles: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pu: Option<PuConfig>,
}

/// A whole run: the runner's sections and the model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    #[serde(default)]
    pub device: DeviceChoice,
    pub data: DataSection,
    pub evaluation: EvaluationSection,
    #[serde(default)]
    pub compression: CompressionConfig,
    #[serde(default)]
    pub estimation: EstimationConfig,
    #[serde(default)]
    pub loss: LossConfig,
    #[serde(default)]
    pub training: TrainingConfig,
    #[serde(default)]
    pub scoring: ScoringConfig,
}

impl RunConfig {
    /// Reads `path`, applies `overrides` (`a.b=value`, value in TOML syntax, bare words taken as
    /// strings), and checks every field.
    pub fn load(path: &Path, overrides: &[String]) -> Result<RunConfig> {
        let mut table = read_table(path, 0)?;
        for o in overrides {
            apply_override(&mut table, o)?;
        }
        let config: RunConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let at = e.path().to_string();
                let where_ = if at == "." {
                    String::new()
                } else {
                    format!(" at `{at}`")
                };
                anyhow!("{}{where_}: {}", path.display(), e.inner())
            })?;
        config
            .validate()
            .with_context(|| format!("{}: invalid config", path.display()))?;
        Ok(config)
    }

    /// The model's part.
    pub fn model(&self) -> DagmmConfig {
        DagmmConfig {
            device: self.device,
            compression: self.compression.clone(),
            estimation: self.estimation.clone(),
            loss: self.loss.clone(),
            training: self.training.clone(),
            scoring: self.scoring.clone(),
        }
    }

    pub fn split_seed(&self) -> u64 {
        self.data.split_seed.unwrap_or(self.training.seed)
    }

    /// Whether the model trains on the whole training half (anomalies included) rather than on
    /// its normal rows: the anomaly-aware loss (with labels) and the PU setup (without).
    pub fn trains_on_whole_half(&self) -> bool {
        self.loss.needs_labels() || self.evaluation.pu.is_some()
    }

    pub fn validate(&self) -> Result<()> {
        self.model().validate()?;
        let p = self.evaluation.anomaly_percentile;
        if !(p > 0.0 && p < 100.0) {
            bail!("evaluation.anomaly_percentile must lie strictly between 0 and 100, got {p}");
        }
        if let Some(bad) = self
            .evaluation
            .sweep_percentiles
            .iter()
            .find(|p| !(**p > 0.0 && **p < 100.0))
        {
            bail!("evaluation.sweep_percentiles: {bad} is not strictly between 0 and 100");
        }
        if let Some(pu) = &self.evaluation.pu {
            pu.validate().context("evaluation.pu")?;
            if self.loss.needs_labels() {
                bail!("evaluation.pu trains on unlabelled rows; loss.kind = \"anomaly_aware\" needs labelled ones: choose one");
            }
        }
        let f = self.data.train_fraction;
        if !(f > 0.0 && f < 1.0) {
            bail!("data.train_fraction must lie strictly between 0 and 1, got {f}");
        }
        if self.data.source == Source::File && self.data.path.is_none() {
            bail!("data.path is required when data.source = \"file\"");
        }
        Ok(())
    }

    /// The resolved config as TOML, saved beside every run.
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }
}

/// Reads a config file as a TOML table. A top-level `extends = "other.toml"` (relative to the
/// file's folder) reads that file first and lays this one over it, table by table, so a variant
/// config names only what it changes. Chains are followed up to 8 deep.
fn read_table(path: &Path, depth: usize) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        anyhow!("{}: {}", path.display(), e.to_string().trim_end())
    })?;
    let Some(base) = table.remove("extends") else {
        return Ok(table);
    };
    let Some(base) = base.as_str() else {
        bail!(
            "{}: `extends` must be a file name (a string)",
            path.display()
        );
    };
    if depth >= 8 {
        bail!(
            "{}: `extends` chains deeper than 8 (a cycle?)",
            path.display()
        );
    }
    let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
    let mut merged = read_table(&base_path, depth + 1)
        .with_context(|| format!("{}: extends {}", path.display(), base_path.display()))?;
    merge(&mut merged, table);
    Ok(merged)
}

/// Lays `over` onto `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// Sets `a.b.c = value` in `table`, creating tables on the way.
pub fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let (key, raw) = assignment.split_once('=').ok_or_else(|| {
        anyhow!("--set `{assignment}`: expected key=value, e.g. training.epochs=10")
    })?;
    let key = key.trim();
    let raw = raw.trim();
    let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").expect("just parsed"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("--set `{assignment}`: `{key}` is not a dotted key such as training.epochs");
    }
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| anyhow!("--set `{assignment}`: `{part}` is a value, not a section"))?;
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// The path of a named data set's file: `data.path` if given, else `$DAGMM_DATA_DIR`, then the cache.
pub fn data_path(data: &DataSection) -> Result<PathBuf> {
    match (data.source.relative_path(), &data.path) {
        (_, Some(p)) => crate::classic::locate(p),
        (Some(rel), None) => Ok(dagmm_data::fetch::resolve(rel, None)?),
        (None, None) => bail!("data.path is required when data.source = \"file\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let p = dir.path().join("run.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    const MINIMAL: &str = "[data]\nsource = \"thyroid\"\n[evaluation]\nanomaly_percentile = 2.5\n";

    #[test]
    fn defaults_are_the_papers_kddcup_network_and_overrides_apply() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, MINIMAL);
        let c = RunConfig::load(
            &p,
            &[
                "training.epochs=7".into(),
                "estimation.n_components=2".into(),
                "device=ndarray".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.training.epochs, 7);
        assert_eq!(c.estimation.n_components, 2);
        assert_eq!(c.device, DeviceChoice::Ndarray);
        assert_eq!(c.compression.encoder_layers, vec![60, 30, 10, 1]);
        assert_eq!(c.data.train_fraction, 0.5);
        assert_eq!(c.split_seed(), 0);
        // The saved config reads back to the same config.
        let again = write(&dir, &c.to_toml().unwrap());
        assert_eq!(RunConfig::load(&again, &[]).unwrap(), c);
    }

    #[test]
    fn extends_lays_a_variant_over_its_base() {
        let dir = tempfile::tempdir().unwrap();
        let base = write(
            &dir,
            &format!("{MINIMAL}[training]\nepochs = 9\nseed = 4\n"),
        );
        std::fs::rename(&base, dir.path().join("base.toml")).unwrap();
        let variant = write(
            &dir,
            "extends = \"base.toml\"\n[training]\nepochs = 3\n[compression]\nkind = \"vae\"\n",
        );
        let c = RunConfig::load(&variant, &[]).unwrap();
        assert_eq!((c.training.epochs, c.training.seed), (3, 4));
        assert_eq!(c.evaluation.anomaly_percentile, 2.5);
        assert_eq!(
            c.compression.kind,
            dagmm_model::compression::CompressionKind::Vae
        );
        let missing = write(&dir, "extends = \"nope.toml\"\n");
        let err = format!("{:#}", RunConfig::load(&missing, &[]).unwrap_err());
        assert!(err.contains("nope.toml"), "{err}");
        let cycle = write(&dir, "extends = \"run.toml\"\n");
        let err = format!("{:#}", RunConfig::load(&cycle, &[]).unwrap_err());
        assert!(err.contains("deeper than 8"), "{err}");
    }

    #[test]
    fn unknown_and_mistyped_fields_name_the_field_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, &format!("{MINIMAL}[training]\nepoch = 3\n"));
        let err = format!("{:#}", RunConfig::load(&p, &[]).unwrap_err());
        assert!(
            err.contains("run.toml")
                && err.contains("unknown field `epoch`")
                && err.contains("training"),
            "{err}"
        );
        let p = write(&dir, MINIMAL);
        let err = format!(
            "{:#}",
            RunConfig::load(&p, &["training.batch_size=\"big\"".into()]).unwrap_err()
        );
        assert!(
            err.contains("training.batch_size") && err.contains("run.toml"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            RunConfig::load(&p, &["loss.lambda_energy=-1".into()]).unwrap_err()
        );
        assert!(err.contains("lambda_energy"), "{err}");
        let err = format!(
            "{:#}",
            RunConfig::load(&p, &["evaluation.anomaly_percentile=100".into()]).unwrap_err()
        );
        assert!(err.contains("anomaly_percentile"), "{err}");
        let err = format!(
            "{:#}",
            RunConfig::load(&p, &["nonsense".into()]).unwrap_err()
        );
        assert!(err.contains("key=value"), "{err}");
        let bad = write(&dir, "[data\nsource=1");
        let err = format!("{:#}", RunConfig::load(&bad, &[]).unwrap_err());
        assert!(err.contains("run.toml") && err.contains("line"), "{err}");
    }
}
