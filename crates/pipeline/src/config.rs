//! Run configurations: a TOML file (`configs/<data set>/<method>.toml`) plus `--set a.b=value`
//! overrides, parsed strictly (an unknown or mistyped field is an error naming it and the file).
//!
//! A run config names its detector (`[model] kind`: `dagmm`, the default, `gmm` or `gaussian`),
//! the data (`[data]`: which file, scaling, the split's fraction and seed, contamination) and the
//! protocol (`[evaluation]`: the split, the threshold rule, the percentile sweep, PU). The
//! detector's own sections follow: for `dagmm` the model's (`device`, `[compression]`,
//! `[estimation]`, `[loss]`, `[training]`, `[scoring]`, `[pretraining]`: see
//! `dagmm_model::DagmmConfig`), for `gmm` `[gmm]`, for `gaussian` `[gaussian]`. A section of
//! another detector is an error. The top-level `seed` seeds the split, the contamination draw and
//! the detector (it overrides `training.seed`).

use std::path::{Path, PathBuf};

use dagmm_data::scaling::ScalingKind;
use dagmm_evaluation::PuConfig;
use dagmm_model::compression::CompressionConfig;
use dagmm_model::estimation::EstimationConfig;
use dagmm_model::loss::LossConfig;
use dagmm_model::{
    DcnConfig, DeviceChoice, DsebmConfig, PretrainingConfig, ScoringConfig, TrainingConfig,
};
use serde::{Deserialize, Serialize};

pub use crate::detectors::{DetectorKind, GaussianSection, GmmSection, OcSvmSection};
use crate::{PipelineError, Result};

/// The top-level keys of a run config that every detector shares; every other key is a section
/// of one detector ([`crate::detectors::Family::sections`]).
pub const COMMON_SECTIONS: [&str; 5] = ["model", "seed", "device", "data", "evaluation"];

/// `[model]`: the detector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    #[serde(default)]
    pub kind: DetectorKind,
}

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
    pub fn relative_path(self) -> Option<&'static str> {
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

/// `[data]`: the data set, the scaling (fitted on the training rows), and the split's
/// parameters.
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
    /// The share of the rows (`paper` split) or of the normal rows (`all_anomalies_in_test`)
    /// that the training part takes.
    #[serde(default = "default_train_fraction")]
    pub train_fraction: f64,
    /// Seed of the split (and of KDDCUP-Rev's and the contamination's draws); default: the run's
    /// seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
    /// Anomalies of the training half mixed into the training rows so that they make this share
    /// of them, in `(0, 1)` (the DAGMM paper's Table 3: 0.01 to 0.05); `paper` split only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contamination: Option<f64>,
}

impl DataSection {
    /// A data file given on the command line.
    pub fn file(path: PathBuf, label_column: Option<String>, names: Option<PathBuf>) -> Self {
        DataSection {
            source: Source::File,
            path: Some(path),
            names,
            label_column,
            scaling: ScalingKind::None,
            train_fraction: default_train_fraction(),
            split_seed: None,
            contamination: None,
        }
    }
}

/// Which rows a detector is fitted on and which it is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The DAGMM paper's (and tnakae/DAGMM's): a seeded split of ALL rows at
    /// `data.train_fraction`; fit on the normal rows of the training half (the whole half for
    /// the anomaly-aware loss and PU, the normal rows plus `data.contamination` for Table 3);
    /// judge on the other half.
    #[default]
    Paper,
    /// danieltan07/dagmm's, GOAD's and NeuTraL-AD's: a seeded split of the NORMAL rows at
    /// `data.train_fraction`; fit on the first part; judge on the rest of the normal rows plus
    /// every anomaly.
    AllAnomaliesInTest,
    /// The tutorials' (`dagmm gmm`): fit on every row and score every row (labels optional).
    AllRows,
    /// `dagmm gaussian --fit-on-normal`: fit on the rows labelled 0, score every row.
    NormalRows,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Paper => "paper",
            Split::AllAnomaliesInTest => "all_anomalies_in_test",
            Split::AllRows => "all_rows",
            Split::NormalRows => "normal_rows",
        }
    }
}

/// How the cut on the judged rows' scores is chosen (rows scoring strictly above it are flagged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdRule {
    /// The paper's: flag the top `anomaly_percentile`% of the test scores.
    #[default]
    TestPercentile,
    /// danieltan07/dagmm's: the cut at the top `anomaly_percentile`% of the training and test
    /// scores together.
    TrainTestPercentile,
    /// GOAD's: flag as many test rows as there are anomalies among them (the true contamination
    /// of the test set, an oracle: precision = recall = F1).
    TestContamination,
    /// A fixed cut on the score, `threshold_value` (`dagmm gmm --threshold/--epsilon`).
    Value,
}

impl ThresholdRule {
    /// The rules that depend only on scores and labels, in the order tables show them.
    pub const COMPARABLE: [ThresholdRule; 3] = [
        ThresholdRule::TestPercentile,
        ThresholdRule::TrainTestPercentile,
        ThresholdRule::TestContamination,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ThresholdRule::TestPercentile => "test_percentile",
            ThresholdRule::TrainTestPercentile => "train_test_percentile",
            ThresholdRule::TestContamination => "test_contamination",
            ThresholdRule::Value => "value",
        }
    }
}

fn default_sweep() -> Vec<f64> {
    vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
}

/// `[evaluation]`: the protocol. With an `[evaluation.pu]` table the run follows seed 002's PU
/// setup instead of the threshold rule (train on the whole, unlabelled training half; a labelled
/// fraction of its normal rows; flag by Elkan–Noto's `c/2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSection {
    #[serde(default)]
    pub split: Split,
    #[serde(default)]
    pub threshold: ThresholdRule,
    /// The share of rows flagged by the percentile rules, in `(0, 100)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_percentile: Option<f64>,
    /// The cut of the `value` rule, on the score's scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_value: Option<f64>,
    #[serde(default = "default_sweep")]
    pub sweep_percentiles: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pu: Option<PuConfig>,
}

impl Default for EvaluationSection {
    fn default() -> Self {
        EvaluationSection {
            split: Split::Paper,
            threshold: ThresholdRule::TestPercentile,
            anomaly_percentile: None,
            threshold_value: None,
            sweep_percentiles: default_sweep(),
            pu: None,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    #[serde(default)]
    pub model: ModelSection,
    /// The run's seed (split, draws, the detector); default `training.seed`, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default)]
    pub device: DeviceChoice,
    pub data: DataSection,
    pub evaluation: EvaluationSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimation: Option<EstimationConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring: Option<ScoringConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretraining: Option<PretrainingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmm: Option<GmmSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gaussian: Option<GaussianSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsvm: Option<OcSvmSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsebm: Option<DsebmConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcn: Option<DcnConfig>,
}

impl RunConfig {
    /// A config with only the required sections, for `kind` (the command-line front ends).
    pub fn new(kind: DetectorKind, data: DataSection, evaluation: EvaluationSection) -> Self {
        RunConfig {
            model: ModelSection { kind },
            seed: None,
            device: DeviceChoice::default(),
            data,
            evaluation,
            compression: None,
            estimation: None,
            loss: None,
            training: None,
            scoring: None,
            pretraining: None,
            gmm: None,
            gaussian: None,
            ocsvm: None,
            dsebm: None,
            dcn: None,
        }
    }

    /// Reads `path`, applies `overrides` (`a.b=value`, value in TOML syntax, bare words taken as
    /// strings), and checks every field.
    pub fn load(path: &Path, overrides: &[String]) -> Result<RunConfig> {
        let table = read_table(path, &mut Vec::new())?;
        Self::from_table(table, overrides, path)
    }

    /// A config from TOML text (no `extends`), with `overrides`; `name` is what its messages
    /// call it (a file name, or "the default config for data.csv").
    pub fn from_toml(text: &str, overrides: &[String], name: &Path) -> Result<RunConfig> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| PipelineError::Config {
                    file: name.to_path_buf(),
                    message: e.to_string().trim_end().to_string(),
                })?;
        Self::from_table(table, overrides, name)
    }

    fn from_table(mut table: toml::Table, overrides: &[String], path: &Path) -> Result<RunConfig> {
        let config_error = |message: String| PipelineError::Config {
            file: path.to_path_buf(),
            message,
        };
        for o in overrides {
            apply_override(&mut table, o).map_err(PipelineError::Invalid)?;
        }
        let config: RunConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let at = e.path().to_string();
                let message = plain_words(e.inner().to_string().trim_end());
                // An override the error is about is to blame, not the file.
                if let Some(o) = overrides.iter().find(|o| override_is_at(o, &at, &message)) {
                    return PipelineError::Invalid(format!(
                        "override `{o}`: {message} (config {})",
                        path.display()
                    ));
                }
                let where_ = if at == "." {
                    String::new()
                } else {
                    format!("at `{at}`: ")
                };
                config_error(format!("{where_}{message}"))
            })?;
        config
            .validate()
            .map_err(|e| config_error(format!("invalid config: {e}")))?;
        Ok(config)
    }

    pub fn kind(&self) -> DetectorKind {
        self.model.kind
    }

    /// The run's seed: `seed`, else the seed the detector's sections name (DAGMM's
    /// `training.seed`), else 0.
    pub fn seed(&self) -> u64 {
        self.seed
            .or_else(|| self.kind().family().section_seed(self))
            .unwrap_or(0)
    }

    /// The seed of the split and the data draws.
    pub fn split_seed(&self) -> u64 {
        self.data.split_seed.unwrap_or_else(|| self.seed())
    }

    /// Whether the detector trains on labelled rows (DAGMM's anomaly-aware loss).
    pub fn needs_training_labels(&self) -> bool {
        self.kind().family().needs_training_labels(self)
    }

    /// Whether the paper split keeps the training half's anomalies (the anomaly-aware loss with
    /// labels, the PU setup without).
    pub fn trains_on_whole_half(&self) -> bool {
        self.needs_training_labels() || self.evaluation.pu.is_some()
    }

    /// The training epochs (pretraining excluded) of a detector that trains by epoch.
    pub fn epochs(&self) -> Option<usize> {
        self.kind().family().epochs(self)
    }

    /// Every section filled in for the kind, the seed written out: what `config.toml` records.
    pub fn resolved(&self) -> RunConfig {
        let mut c = self.clone();
        c.seed = Some(self.seed());
        self.kind().family().resolve(&mut c);
        c
    }

    /// The detector sections this config holds (every top-level key but the common ones).
    pub fn sections(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(t)) => t
                .keys()
                .filter(|k| !COMMON_SECTIONS.contains(&k.as_str()))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Checks every field and that the sections fit the detector and the protocol.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let kind = self.kind();
        for section in self.sections() {
            let owner = DetectorKind::owner_of(&section);
            if owner != Some(kind) {
                return Err(match owner {
                    Some(owner) => format!(
                        "[{section}] configures model.kind = \"{}\", but this config's model.kind is \"{}\"",
                        owner.name(),
                        kind.name()
                    ),
                    None => format!("[{section}] belongs to no detector"),
                });
            }
        }
        if !kind.capabilities().uses_device && self.device != DeviceChoice::default() {
            return Err(format!(
                "device = \"{}\": a {} detector runs on the CPU and uses no device (the run would \
                 record one it never used); leave device (--device) out",
                self.device,
                kind.name()
            ));
        }
        kind.family().validate(self)?;
        self.validate_protocol()
    }

    fn validate_protocol(&self) -> std::result::Result<(), String> {
        let e = &self.evaluation;
        let percentile_ok = |p: f64| p > 0.0 && p < 100.0;
        match (e.threshold, e.anomaly_percentile, e.threshold_value) {
            (ThresholdRule::TestPercentile | ThresholdRule::TrainTestPercentile, None, _) => {
                return Err(format!(
                    "evaluation.threshold = \"{}\" needs evaluation.anomaly_percentile",
                    e.threshold.name()
                ))
            }
            (ThresholdRule::Value, _, None) => {
                return Err(
                    "evaluation.threshold = \"value\" needs evaluation.threshold_value".into(),
                )
            }
            (ThresholdRule::Value, _, Some(v)) if !v.is_finite() => {
                return Err(format!(
                    "evaluation.threshold_value must be finite, got {v}"
                ))
            }
            (rule, _, Some(v)) if rule != ThresholdRule::Value => {
                return Err(format!(
                    "evaluation.threshold_value = {v} is a fixed cut, which evaluation.threshold \
                     = \"{}\" does not use: set evaluation.threshold = \"value\" to cut there, \
                     or leave threshold_value out",
                    rule.name()
                ))
            }
            _ => {}
        }
        if let Some(p) = e.anomaly_percentile {
            if !percentile_ok(p) {
                return Err(format!(
                    "evaluation.anomaly_percentile must lie strictly between 0 and 100, got {p}"
                ));
            }
        }
        if let Some(bad) = e.sweep_percentiles.iter().find(|p| !percentile_ok(**p)) {
            return Err(format!(
                "evaluation.sweep_percentiles: {bad} is not strictly between 0 and 100"
            ));
        }
        if let Some(pu) = &e.pu {
            pu.validate()
                .map_err(|err| format!("evaluation.pu: {err}"))?;
            if self.needs_training_labels() {
                return Err("evaluation.pu trains on unlabelled rows; loss.kind = \"anomaly_aware\" needs labelled ones: choose one".into());
            }
            if e.split != Split::Paper {
                return Err(format!(
                    "evaluation.pu labels part of the paper split's training half; it does not \
                     combine with evaluation.split = \"{}\"",
                    e.split.name()
                ));
            }
        }
        if self.needs_training_labels() && e.split != Split::Paper {
            return Err(format!(
                "loss.kind = \"anomaly_aware\" trains on the labelled training half of the paper \
                 split, not evaluation.split = \"{}\"",
                e.split.name()
            ));
        }
        let f = self.data.train_fraction;
        if !(f > 0.0 && f < 1.0) {
            return Err(format!(
                "data.train_fraction must lie strictly between 0 and 1, got {f}"
            ));
        }
        if let Some(c) = self.data.contamination {
            if !(c > 0.0 && c < 1.0) {
                return Err(format!(
                    "data.contamination must lie strictly between 0 and 1, got {c}"
                ));
            }
            if e.split != Split::Paper {
                return Err(format!(
                    "data.contamination draws anomalies from the paper split's training half; \
                     evaluation.split = \"{}\" has none there",
                    e.split.name()
                ));
            }
            if self.trains_on_whole_half() {
                return Err("data.contamination sets the training rows' anomalies; the anomaly-aware loss and PU train on the whole training half already".into());
            }
        }
        if self.data.source == Source::File && self.data.path.is_none() {
            return Err("data.path is required when data.source = \"file\"".into());
        }
        Ok(())
    }

    /// The resolved config as TOML, saved beside every run.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(&self.resolved()).map_err(|e| {
            PipelineError::Invalid(format!("the config does not serialise as TOML: {e}"))
        })
    }
}

/// Reads a config file as a TOML table. A top-level `extends = "other.toml"` (relative to the
/// file's folder) reads that file first and lays this one over it, table by table, so a variant
/// config names only what it changes. A file that extends itself through the chain is an error.
/// Reads a config file and the files it `extends` (`chain`: the files that extend it, which it
/// must not extend again).
fn read_table(path: &Path, chain: &mut Vec<PathBuf>) -> Result<toml::Table> {
    let config_error = |message: String| PipelineError::Config {
        file: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        config_error(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => format!("cannot read: {e}"),
        })
    })?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| config_error(e.to_string().trim_end().to_string()))?;
    let Some(base) = table.remove("extends") else {
        return Ok(table);
    };
    let Some(base) = base.as_str() else {
        return Err(config_error(
            "`extends` must be a file name (a string)".into(),
        ));
    };
    let identity = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    chain.push(identity(path));
    let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
    if chain.contains(&identity(&base_path)) {
        let names: Vec<String> = chain
            .iter()
            .chain([&identity(&base_path)])
            .map(|p| p.display().to_string())
            .collect();
        return Err(config_error(format!(
            "`extends` makes a cycle: {}",
            names.join(" extends ")
        )));
    }
    if !base_path.is_file() {
        return Err(config_error(format!(
            "`extends = \"{base}\"` names {}, which {}",
            base_path.display(),
            if base_path.is_dir() {
                "is a folder, not a config file"
            } else {
                "does not exist (it is read relative to this config's folder)"
            }
        )));
    }
    let mut merged = read_table(&base_path, chain)?;
    chain.pop();
    merge(&mut merged, table);
    Ok(merged)
}

/// serde's type names in the words of a config file.
fn plain_words(message: &str) -> String {
    let mut m = message.to_string();
    for (rust, plain) in [
        ("expected usize", "expected a whole number (0 or more)"),
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected i64", "expected a whole number"),
        ("expected a boolean", "expected true or false"),
    ] {
        m = m.replace(rust, plain);
    }
    m
}

/// Whether the deserialization error at `at` (serde's path; an unknown field is reported at its
/// section) is about the override `assignment` (`key=value`).
fn override_is_at(assignment: &str, at: &str, message: &str) -> bool {
    let Some((key, _)) = assignment.split_once('=') else {
        return false;
    };
    let key = key.trim();
    if key == at {
        return true;
    }
    let (section, field) = key.rsplit_once('.').unwrap_or(("", key));
    let section_matches = section == at || (section.is_empty() && at == ".");
    section_matches && message.contains(&format!("unknown field `{field}`"))
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
pub fn apply_override(
    table: &mut toml::Table,
    assignment: &str,
) -> std::result::Result<(), String> {
    let (key, raw) = assignment.split_once('=').ok_or_else(|| {
        format!("--set `{assignment}`: expected key=value, e.g. training.epochs=10")
    })?;
    let key = key.trim();
    let raw = raw.trim();
    let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").expect("just parsed"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "--set `{assignment}`: `{key}` is not a dotted key such as training.epochs"
        ));
    }
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("--set `{assignment}`: `{part}` is a value, not a section"))?;
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Finds a data file: the path as given (or a `builtin:` set), else under `$DAGMM_DATA_DIR`, else
/// under the cache.
pub fn locate(path: &Path) -> Result<PathBuf> {
    let builtin = path
        .to_str()
        .is_some_and(|p| p.starts_with(dagmm_data::load::BUILTIN_PREFIX));
    if builtin || path.exists() || path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(dagmm_data::fetch::resolve(&path.to_string_lossy(), None)?)
}

/// The path of the configured data set's file: `data.path` if given, else the named source under
/// `$DAGMM_DATA_DIR`, then the cache.
pub fn data_path(data: &DataSection) -> Result<PathBuf> {
    match (data.source.relative_path(), &data.path) {
        (_, Some(p)) => locate(p),
        (Some(rel), None) => Ok(dagmm_data::fetch::resolve(rel, None)?),
        (None, None) => Err(PipelineError::Invalid(
            "data.path is required when data.source = \"file\"".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const MINIMAL: &str = "[data]\nsource = \"thyroid\"\n[evaluation]\nanomaly_percentile = 2.5\n";

    #[test]
    fn defaults_are_the_papers_kddcup_network_and_overrides_apply() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "run.toml", MINIMAL);
        let c = RunConfig::load(
            &p,
            &[
                "training.epochs=7".into(),
                "estimation.n_components=2".into(),
                "device=ndarray".into(),
            ],
        )
        .unwrap();
        let d = c.dagmm();
        assert_eq!(c.kind(), DetectorKind::Dagmm);
        assert_eq!(d.training.epochs, 7);
        assert_eq!(d.estimation.n_components, 2);
        assert_eq!(c.device, DeviceChoice::Ndarray);
        assert_eq!(d.compression.encoder_layers, vec![60, 30, 10, 1]);
        assert_eq!(c.data.train_fraction, 0.5);
        assert_eq!(c.evaluation.split, Split::Paper);
        assert_eq!(c.evaluation.threshold, ThresholdRule::TestPercentile);
        assert_eq!(c.split_seed(), 0);
        // The saved config is complete and reads back to the same run.
        let again = write(&dir, "again.toml", &c.to_toml().unwrap());
        let back = RunConfig::load(&again, &[]).unwrap();
        assert_eq!(back.dagmm(), d);
        assert_eq!(back.resolved(), c.resolved());
        assert!(back.compression.is_some() && back.scoring.is_some());
    }

    #[test]
    fn the_run_seed_overrides_the_training_seed_and_seeds_the_split() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "run.toml",
            &format!("{MINIMAL}[training]\nseed = 4\n"),
        );
        let c = RunConfig::load(&p, &[]).unwrap();
        assert_eq!(
            (c.seed(), c.split_seed(), c.dagmm().training.seed),
            (4, 4, 4)
        );
        let c = RunConfig::load(&p, &["seed=9".into()]).unwrap();
        assert_eq!(
            (c.seed(), c.split_seed(), c.dagmm().training.seed),
            (9, 9, 9)
        );
        let c = RunConfig::load(&p, &["seed=9".into(), "data.split_seed=1".into()]).unwrap();
        assert_eq!((c.seed(), c.split_seed()), (9, 1));
    }

    #[test]
    fn extends_lays_a_variant_over_its_base() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir,
            "base.toml",
            &format!("{MINIMAL}[training]\nepochs = 9\nseed = 4\n"),
        );
        let variant = write(
            &dir,
            "run.toml",
            "extends = \"base.toml\"\n[training]\nepochs = 3\n[compression]\nkind = \"vae\"\n",
        );
        let c = RunConfig::load(&variant, &[]).unwrap();
        assert_eq!((c.dagmm().training.epochs, c.seed()), (3, 4));
        assert_eq!(c.evaluation.anomaly_percentile, Some(2.5));
        assert_eq!(
            c.dagmm().compression.kind,
            dagmm_model::compression::CompressionKind::Vae
        );
        let missing = write(&dir, "missing.toml", "extends = \"nope.toml\"\n");
        let err = RunConfig::load(&missing, &[]).unwrap_err().to_string();
        assert!(
            err.contains("missing.toml")
                && err.contains("`extends = \"nope.toml\"`")
                && err.contains("does not exist"),
            "{err}"
        );
        let folder = write(&dir, "folder.toml", "extends = \".\"\n");
        let err = RunConfig::load(&folder, &[]).unwrap_err().to_string();
        assert!(
            err.contains("folder.toml") && err.contains("is a folder"),
            "{err}"
        );
        let cycle = write(&dir, "cycle.toml", "extends = \"cycle2.toml\"\n");
        write(&dir, "cycle2.toml", "extends = \"cycle.toml\"\n");
        let err = RunConfig::load(&cycle, &[]).unwrap_err().to_string();
        assert!(err.contains("`extends` makes a cycle"), "{err}");
        // The chain is said once: cycle.toml, cycle2.toml, cycle.toml again.
        assert_eq!(err.matches("makes a cycle").count(), 1, "{err}");
        assert!(err.contains("cycle.toml extends ") && err.contains("cycle2.toml extends "));
    }

    #[test]
    fn unknown_and_mistyped_fields_name_the_field_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            "run.toml",
            &format!("{MINIMAL}[training]\nepoch = 3\n"),
        );
        let err = RunConfig::load(&p, &[]).unwrap_err().to_string();
        assert!(
            err.contains("run.toml")
                && err.contains("unknown field `epoch`")
                && err.contains("training"),
            "{err}"
        );
        let p = write(&dir, "run.toml", MINIMAL);
        for (set, want) in [
            (
                "training.batch_size=\"big\"",
                "override `training.batch_size=\"big\"`: invalid type: string \"big\", expected a whole number (0 or more)",
            ),
            ("loss.lambda_energy=-1", "lambda_energy"),
            ("evaluation.anomaly_percentile=100", "anomaly_percentile"),
            ("data.contamination=1.5", "contamination"),
            (
                "training.epochz=3",
                "override `training.epochz=3`: unknown field `epochz`",
            ),
            ("epochz=3", "override `epochz=3`: unknown field `epochz`"),
        ] {
            let err = RunConfig::load(&p, &[set.into()]).unwrap_err().to_string();
            assert!(
                err.contains(want) && err.contains("run.toml"),
                "{set}: {err}"
            );
        }
        // A malformed override is about the override alone.
        let err = RunConfig::load(&p, &["nonsense".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--set `nonsense`: expected key=value"),
            "{err}"
        );
        // A typo in the file is still the file's.
        let typo = write(
            &dir,
            "typo.toml",
            &format!("{MINIMAL}[training]\nepochz = 3\n"),
        );
        let err = RunConfig::load(&typo, &["training.epochs=3".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&typo.display().to_string()) && err.contains("unknown field `epochz`"),
            "{err}"
        );
        let bad = write(&dir, "bad.toml", "[data\nsource=1");
        let err = RunConfig::load(&bad, &[]).unwrap_err().to_string();
        assert!(err.contains("bad.toml") && err.contains("line"), "{err}");
    }

    #[test]
    fn a_detector_takes_only_its_own_sections() {
        let dir = tempfile::tempdir().unwrap();
        let gmm = write(
            &dir,
            "gmm.toml",
            &format!("[model]\nkind = \"gmm\"\n{MINIMAL}[gmm]\nn_components = 3\nn_init = 2\n"),
        );
        let c = RunConfig::load(&gmm, &["seed=5".into()]).unwrap();
        assert_eq!(c.kind(), DetectorKind::Gmm);
        let params = c.gmm.as_ref().unwrap().params(c.seed());
        assert_eq!((params.n_components, params.n_init, params.seed), (3, 2, 5));
        assert_eq!(c.epochs(), None);
        let err = RunConfig::load(&gmm, &["training.epochs=3".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[training]") && err.contains("\"gmm\""),
            "{err}"
        );
        let err = RunConfig::load(&gmm, &["gmm.select_k=[4, 2]".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("select_k"), "{err}");
        let dagmm = write(
            &dir,
            "dagmm.toml",
            &format!("{MINIMAL}[gaussian]\nreg_covar = 1e-3\n"),
        );
        let err = RunConfig::load(&dagmm, &[]).unwrap_err().to_string();
        assert!(err.contains("[gaussian]"), "{err}");
    }

    #[test]
    fn protocols_refuse_what_they_cannot_do() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "run.toml", MINIMAL);
        for (sets, want) in [
            (vec!["evaluation.threshold=\"value\""], "threshold_value"),
            (
                vec!["model.kind=\"gmm\"", "device=\"wgpu:cpu\""],
                "uses no device",
            ),
            (
                vec![
                    "evaluation.threshold=\"test_contamination\"",
                    "evaluation.threshold_value=3",
                ],
                "does not use",
            ),
            (
                vec![
                    "evaluation.split=\"all_anomalies_in_test\"",
                    "data.contamination=0.02",
                ],
                "contamination",
            ),
            (
                vec!["loss.kind=\"anomaly_aware\"", "data.contamination=0.02"],
                "contamination",
            ),
            (
                vec![
                    "evaluation.split=\"all_anomalies_in_test\"",
                    "evaluation.pu.labelled_fraction=0.1",
                ],
                "pu",
            ),
            (vec!["evaluation.split=\"sideways\""], "split"),
        ] {
            let sets: Vec<String> = sets.into_iter().map(String::from).collect();
            let err = RunConfig::load(&p, &sets).unwrap_err().to_string();
            assert!(err.contains(want), "{sets:?}: {err}");
        }
        let c = RunConfig::load(
            &p,
            &[
                "evaluation.threshold=\"test_contamination\"".into(),
                "data.contamination=0.03".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.data.contamination, Some(0.03));
    }
}
