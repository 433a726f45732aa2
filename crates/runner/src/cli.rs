//! Command-line arguments (clap derive). Every option says what it means and its default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use dagmm_classic_gmm::{CovarianceType, GaussianKind, GmmParams, InitMethod};
use dagmm_data::scaling::ScalingKind;
use dagmm_pipeline::GaussianSection;

#[derive(Debug, Parser)]
#[command(
    name = "dagmm",
    version,
    about = "Unsupervised anomaly detection with Gaussian mixtures (classic GMM and DAGMM)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit an EM Gaussian mixture and flag the rows of lowest log-likelihood. Thresholds are
    /// log-likelihoods here, as printed and drawn (histogram.png); summary.json and scores.csv
    /// hold the score, its negative (higher = more anomalous), beside `log_likelihood`.
    Gmm(GmmArgs),
    /// Fit one Gaussian (multivariate or per-feature) and flag the rows of lowest density.
    /// Thresholds are log-likelihoods here, as for `gmm`.
    Gaussian(GaussianArgs),
    /// Run a config (any detector: DAGMM and its variants and baselines, GMM, Gaussian) under its
    /// protocol: split, fit, score the test rows, judge, and save the detector.
    Train(TrainArgs),
    /// Score a data file with a saved detector (the model folder of any run).
    Score(ScoreArgs),
    /// List the devices this machine offers (`--device` names).
    Devices,
    /// Run an experiment file (configs × overrides × seeds); finished runs are skipped.
    Sweep(SweepArgs),
    /// Tables (mean ± std over seeds), per-percentile tables and plots of every run below a
    /// directory (several shards' folders merge by being under one directory).
    Report {
        /// A directory holding run folders (e.g. results/paper_table6), or one run's folder.
        dir: PathBuf,
        /// Where the report goes (default: DIR; for one run's folder, RUN-report beside it, so
        /// that the run folder holds only the run's files).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Data sets: download with checksum checks.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Write a DAGMM run's starting point for a peer implementation: its split's scaled rows,
    /// labels and row numbers, the initial weights, and our untrained control on them (NumPy
    /// .npz and setup.json), for `scripts/bench_torch_dagmm.py run --setup DIR`.
    Export(ExportArgs),
    /// Benchmarks shipped with the project.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The run config (TOML), e.g. configs/kddcup/dagmm.toml. Without it, --data gets the
    /// default config (DAGMM with a network for the file's width; see the README); with
    /// --resume, the interrupted run's own config is used.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["resume", "data"])]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub own_data: OwnDataArgs,
    /// Override a config field, e.g. --set training.batch_size=2048 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue the interrupted run into --out from its last checkpoint (saved every
    /// training.checkpoint_every epochs in OUT.partial/checkpoint): the same data, network and
    /// seed; the learning rate, the loss weights, the epochs, the device may change (--set).
    #[arg(long)]
    pub resume: bool,
    /// The epochs to train for (DAGMM: --set training.epochs=N); refused for a detector that does
    /// not train by epoch.
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Shorthand for --set seed=S: the run's seed (the split, the draws, the detector's
    /// initialisation; data.split_seed, if set, seeds the split instead).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<u64>)]
    pub seed: Option<u64>,
    /// Shorthand for --set device=NAME (flex, ndarray, wgpu, wgpu:cpu, wgpu:discrete:N, …; see `dagmm devices`).
    #[arg(long)]
    pub device: Option<String>,
    /// Output directory: summary.json, scores.csv (the judged rows: index, the row's number in
    /// the data file, then the columns `dagmm score --out` lists), config.toml, manifest.json,
    /// model/ (and losses.csv for a neural detector). A new folder or an earlier run's, replaced
    /// whole once every file is written; a folder holding other files is refused.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The experiment file, e.g. experiments/paper_table6.toml.
    pub experiment: PathBuf,
    /// Output directory; runs go to OUT/<data set>/<run>/seed<k>/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Runs at once (default: this machine's cores). A DAGMM run trains on `training.threads`
    /// threads (2) but leaves cores idle between them (the whole-batch mixture, scoring, loading),
    /// so one run per core keeps them busy: on 2 cores a small experiment finished 2.6× as many
    /// runs an hour with 2 as with 1, and no more with 3 or 4 (results/README.md).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub jobs: Option<usize>,
    /// Run only shard i of n (1-based), e.g. --shard 2/4 for a Slurm array task or GNU parallel.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// The order runs start in, seed round by seed round either way (every entry's first seed
    /// before any second): `longest-first` within a round (expected from the finished runs'
    /// manifests, else from data size × epochs), so with --jobs above 1 long runs do not start
    /// last; `file`: the experiment file's order.
    #[arg(long, value_enum, default_value_t = SweepOrder::LongestFirst)]
    pub order: SweepOrder,
    /// Run every entry on this file instead of its config's data; entries without a config get
    /// the default config, and the data set is named after the file (OUT/<file stem>/...).
    #[command(flatten)]
    pub own_data: OwnDataArgs,
}

/// The order a sweep starts its runs in (`--order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SweepOrder {
    /// Within each seed round, the longest expected run first.
    LongestFirst,
    /// The experiment file's order.
    File,
}

/// A data file of the user's, for `train` and `sweep`.
#[derive(Debug, Clone, Args)]
pub struct OwnDataArgs {
    /// Data file (.csv, .mat, .npz, KDDCUP99): replaces the config's data (as --set
    /// data.source=file --set data.path=FILE); without --config, the default config is used.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// CSV: the 0/1 label column of --data (1 = anomaly).
    #[arg(long, value_name = "NAME", requires = "data")]
    pub label_column: Option<String>,
    /// KDDCUP99: the names file of --data (default: kddcup.names beside it).
    #[arg(long, value_name = "FILE", requires = "data")]
    pub names: Option<PathBuf>,
}

/// `i/n`: this machine's share of a sweep's runs (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--shard `{s}`: expected i/n, e.g. 2/4"))?;
        let number = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("--shard `{s}`: `{v}` is not a whole number"))
        };
        let (index, count) = (number(i)?, number(n)?);
        if count == 0 || index == 0 || index > count {
            return Err(format!("--shard `{s}`: need 1 <= i <= n"));
        }
        Ok(Shard { index, count })
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run config (TOML), e.g. configs/kddcup/dagmm.toml.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Override a config field (repeatable), as for `dagmm train`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Shorthand for --set seed=S.
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<u64>)]
    pub seed: Option<u64>,
    /// The epochs to train for (--set training.epochs=N; recorded in setup.json for the peer).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Folder to write setup.json, rows.npz, initial_weights.npz and untrained.npz into
    /// (created if missing; those files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A model folder written by `dagmm train`, `gmm` or `gaussian` (RUN/model), or the run
    /// folder holding it.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The rows to score (any format `--data` takes elsewhere).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// CSV: the 0/1 label column (1 = anomaly), kept out of the features and written as the
    /// `label` column; with labels (this, or a .mat, .npz or KDDCUP99 file's own) the decision's
    /// precision, recall, F1 and ROC AUC are printed.
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,
    /// KDDCUP99: the names file (default: kddcup.names beside the data).
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    /// Device to score a neural detector on (default: the one it was trained on).
    #[arg(long)]
    pub device: Option<String>,
    /// Output CSV, one line per row of --data: `index,score,<the detector's
    /// columns>[,pu_score],flagged[,label]`. index: the row's number in the data file (from 0);
    /// score: higher = more anomalous; the detector's columns: `energy,reconstruction_error` for
    /// DAGMM, its variants and DSEBM, `log_likelihood` for gmm and gaussian,
    /// `reconstruction_error,cluster` for DCN, `decision_function` for the OC-SVM; pu_score (1 − h/c) for a PU
    /// run; flagged: 1 where the run's decision flags the row; label: when the data has labels.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download a data set into a directory (default: the cache), checking its sha256.
    Fetch {
        /// The data set: kddcup99, odds (Thyroid and Arrhythmia, the DAGMM paper's), or
        /// adbench:NAME (ADBench's Classical sets, e.g. adbench:cardio); `dagmm data list`.
        name: String,
        /// Where to store it (default: $DAGMM_CACHE_DIR, else ~/.cache/dagmm).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The data sets `fetch` knows: name, files, where they come from.
    List,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// EM on contaminated blobs (default: 500k × 8, K=8, full covariance, n_init=1).
    Gmm(GmmBenchArgs),
    /// DAGMM training throughput: the paper's KDDCUP network and batch on KDDCUP-shaped rows
    /// (scripts/bench_torch_dagmm.py times the same model in PyTorch).
    Train(TrainBenchArgs),
}

/// Where the rows come from and how they are prepared.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Data file: .csv, .mat, .npz or a raw KDDCUP99 file. A relative path that does not exist
    /// is looked up under $DAGMM_DATA_DIR, then the cache.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// CSV: the 0/1 label column (1 = anomaly); without it every column is a feature.
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,
    /// KDDCUP99: the names file (default: kddcup.names beside the data).
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    /// Feature scaling fitted on the rows the model is fitted on. Default none: the tutorials'
    /// (seeds 000, 001) raw features; the paper's configs (`dagmm train`) use min-max.
    #[arg(long, value_enum, default_value = "none")]
    pub scale: ScaleArg,
    /// Output directory: scores.csv, summary.json, scatter.png, histogram.png, model/,
    /// config.toml, manifest.json. A new folder or an earlier run's, replaced whole once every
    /// file is written; a folder holding other files is refused.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScaleArg {
    None,
    MinMax,
    ZScore,
}

impl From<ScaleArg> for ScalingKind {
    fn from(s: ScaleArg) -> Self {
        match s {
            ScaleArg::None => ScalingKind::None,
            ScaleArg::MinMax => ScalingKind::MinMax,
            ScaleArg::ZScore => ScalingKind::ZScore,
        }
    }
}

/// How rows are flagged: exactly one rule.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RuleArgs {
    /// Flag the P% of rows with the lowest log-likelihood (NumPy percentile, strict `<`).
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub percentile: Option<f64>,
    /// Flag rows whose log-likelihood is below V.
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Flag rows whose density p(x) is below E (the tutorials' ε; compared as log E).
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    pub epsilon: Option<f64>,
}

#[derive(Debug, Args)]
pub struct GmmArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Number of mixture components.
    #[arg(long, short = 'k', default_value_t = GmmParams::default().n_components, conflicts_with = "select_k")]
    pub components: usize,
    /// Choose the number of components by BIC over MIN..MAX (inclusive).
    #[arg(long, value_name = "MIN..MAX", value_parser = parse_range)]
    pub select_k: Option<(usize, usize)>,
    /// Initialisations; the best lower bound is kept.
    #[arg(long, default_value_t = GmmParams::default().n_init)]
    pub n_init: usize,
    /// Each component's covariance: full (its own full matrix), tied (one full matrix shared by
    /// all), diag (its own diagonal), spherical (its own single variance).
    #[arg(long, value_enum, default_value = "full")]
    pub covariance: CovarianceArg,
    /// How each initialisation starts EM: kmeans (k-means++ seeding, then Lloyd's k-means; hard
    /// assignments, scikit-learn's default), k-means++ (the seeding only; each row assigned to
    /// its nearest seed) or random (random responsibilities).
    #[arg(long, value_enum, default_value = "kmeans")]
    pub init: InitArg,
    /// EM iterations per initialisation, at most.
    #[arg(long, default_value_t = GmmParams::default().max_iter)]
    pub max_iter: usize,
    /// Convergence: EM stops when the mean log-likelihood per row (the lower bound) changes by
    /// less than this between iterations.
    #[arg(long, default_value_t = GmmParams::default().tol, allow_negative_numbers = true)]
    pub tol: f64,
    /// Added to the diagonal of every covariance, keeping it positive definite.
    #[arg(long, default_value_t = GmmParams::default().reg_covar, allow_negative_numbers = true)]
    pub reg_covar: f64,
    /// Seed of the initialisations' random numbers (same seed, same fit).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct GaussianArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Multivariate (full covariance) or per-feature (independent) Gaussian.
    #[arg(long, value_enum, default_value = "multivariate")]
    pub kind: KindArg,
    /// Fit on the rows labelled 0 only (the tutorials' "train on normal data"); score every row.
    #[arg(long, requires = "label_column")]
    pub fit_on_normal: bool,
    /// Added to the covariance's diagonal (to each variance for per-feature).
    #[arg(long, default_value_t = GaussianSection::default().reg_covar, allow_negative_numbers = true)]
    pub reg_covar: f64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CovarianceArg {
    Full,
    Tied,
    Diag,
    Spherical,
}

impl From<CovarianceArg> for CovarianceType {
    fn from(c: CovarianceArg) -> Self {
        match c {
            CovarianceArg::Full => CovarianceType::Full,
            CovarianceArg::Tied => CovarianceType::Tied,
            CovarianceArg::Diag => CovarianceType::Diag,
            CovarianceArg::Spherical => CovarianceType::Spherical,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InitArg {
    Kmeans,
    #[value(name = "k-means++")]
    KmeansPlusPlus,
    Random,
}

impl From<InitArg> for InitMethod {
    fn from(i: InitArg) -> Self {
        match i {
            InitArg::Kmeans => InitMethod::KMeans,
            InitArg::KmeansPlusPlus => InitMethod::KMeansPlusPlus,
            InitArg::Random => InitMethod::Random,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Multivariate,
    PerFeature,
}

impl From<KindArg> for GaussianKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Multivariate => GaussianKind::Multivariate,
            KindArg::PerFeature => GaussianKind::PerFeature,
        }
    }
}

#[derive(Debug, Args)]
pub struct GmmBenchArgs {
    /// The shape of the data: `narrow` (500,000 rows × 8 features, K = 8) or `wide` (2,000 rows ×
    /// 1,500 features, K = 2); --rows, --dims and --components override its figures.
    #[arg(long, value_enum, default_value_t = BenchPreset::Narrow)]
    pub preset: BenchPreset,
    /// Rows (default: the preset's).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Features (default: the preset's).
    #[arg(long)]
    pub dims: Option<usize>,
    /// Mixture components, also the number of blobs (default: the preset's).
    #[arg(long)]
    pub components: Option<usize>,
    /// Blob standard deviation.
    #[arg(long, default_value_t = 1.5, allow_negative_numbers = true)]
    pub std: f64,
    /// Share of uniform outliers.
    #[arg(long, default_value_t = 0.02, allow_negative_numbers = true)]
    pub outliers: f64,
    /// Timed fits; the report gives the fastest and the median.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// What every benchmark takes: the seed of its generated rows and where its files go.
#[derive(Debug, Args)]
pub struct BenchCommon {
    /// Seed of the generated rows (and of the fit).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the generated rows to this CSV (columns x0.., then `label` for `bench gmm`), for
    /// the peer's script: scripts/bench_sklearn_gmm.py or scripts/bench_torch_dagmm.py.
    #[arg(long, value_name = "FILE")]
    pub write_data: Option<PathBuf>,
    /// Write the figures as JSON here too.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// Rows per epoch (default: 198,401, the training half of the paper's KDDCUP split).
    #[arg(long, default_value_t = 198_401)]
    pub rows: usize,
    /// Features per row (KDDCUP99 after one-hot encoding: 118).
    #[arg(long, default_value_t = 118)]
    pub dims: usize,
    /// Training epochs; the figure is the best epoch after the first (which warms caches).
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Rows per optimiser step (the paper's: 1024).
    #[arg(long, default_value_t = 1024)]
    pub batch_size: usize,
    /// Device (flex, ndarray, wgpu, wgpu:cpu, …; see `dagmm devices`).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// `training.threads`: the parts a step's batch is split into on the CPU devices, one thread
    /// each (default: the config's default, 2).
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// The shapes `dagmm bench gmm` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchPreset {
    Narrow,
    Wide,
}

impl GmmBenchArgs {
    /// Rows, features and components: the preset's, each overridden when given.
    pub fn shape(&self) -> (usize, usize, usize) {
        let (rows, dims, components) = match self.preset {
            BenchPreset::Narrow => (500_000, 8, 8),
            BenchPreset::Wide => (2_000, 1_500, 2),
        };
        (
            self.rows.unwrap_or(rows),
            self.dims.unwrap_or(dims),
            self.components.unwrap_or(components),
        )
    }
}

/// A whole number of 0 or more, with a message in the user's words rather than Rust's.
fn whole_number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of 0 or more"))
}

/// Parses `MIN..MAX` (inclusive), e.g. `2..8`.
fn parse_range(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not a range MIN..MAX such as 2..8"))?;
    let min: usize = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a whole number"))?;
    let max: usize = b
        .trim()
        .trim_start_matches('=')
        .parse()
        .map_err(|_| format!("`{b}` is not a whole number"))?;
    if min == 0 || min > max {
        return Err(format!("range {min}..{max} must have 1 <= MIN <= MAX"));
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_range("2..8"), Ok((2, 8)));
        assert_eq!(parse_range("3..=3"), Ok((3, 3)));
        assert!(parse_range("8..2").unwrap_err().contains("MIN <= MAX"));
        assert!(parse_range("x..2").unwrap_err().contains("whole number"));
        assert!(parse_range("4").unwrap_err().contains("MIN..MAX"));
    }

    #[test]
    fn exactly_one_threshold_rule_is_required() {
        use clap::Parser;
        let base = ["dagmm", "gmm", "--data", "a.csv", "--out", "o"];
        assert!(Cli::try_parse_from(base).is_err());
        let both = [&base[..], &["--percentile", "4", "--threshold", "-5"]].concat();
        assert!(Cli::try_parse_from(both).is_err());
        let one = [&base[..], &["--threshold", "-5.5"]].concat();
        assert!(Cli::try_parse_from(one).is_ok());
    }
}
