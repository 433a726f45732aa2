//! The report of a folder of runs (`dagmm report DIR`): it gathers every whole run below DIR
//! (several shards' folders merge by lying under one DIR) and writes
//!
//! * `table.md`, `table.csv`: per data set and method, the mean ± sample standard deviation over
//!   seeds of precision, recall, F1 (at the run's threshold) and ROC AUC, the untrained control,
//!   the published figures where the experiment file gives them, whether every run stayed
//!   NaN-free, and the training speed ([`tables`]);
//! * `percentiles.md`, `percentiles.csv`: precision, recall and F1 at each swept percentile (seed
//!   002's Tables 1-5), mean ± std over seeds;
//! * `rules.md`, `rules.csv`: precision, recall and F1 of the same scores under every threshold
//!   rule (test percentile, train+test percentile, test contamination), mean ± std and the range
//!   over seeds: how one run's figures move with the protocol's cut;
//! * `paired.md`: paired tests over seeds, and the summary at the top of the page
//!   ([`comparisons`]);
//! * `plots/<data set>_*.{png,svg}`: each figure of [`figures::DATA_SET_FIGURES`] and
//!   [`figures::REPORT_FIGURES`];
//! * `report.html`: all of it on one page ([`page`]).
//!
//! A run's data set is the first folder below DIR, its method the folders between that and the
//! seed folder (`kddcup/dagmm_vae/seed0` → `kddcup`, `dagmm_vae`). Labels and the paper's
//! figures come from the run's manifest (written by `dagmm sweep`), else from DIR's
//! `experiment.toml`. [`run_pictures`] draws one run's own pictures as it finishes.

pub mod charts;
mod comparisons;
pub mod drawing;
pub mod figures;
mod groups;
pub mod output;
pub mod page;
pub mod run_pictures;
pub mod tables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dagmm_pipeline::SUMMARY_FILE;
use dagmm_run_folder::experiment::Experiment;
use dagmm_run_folder::{run_state, RunState, EXPERIMENT_FILE};

use crate::comparisons::write_comparisons;
use crate::figures::write_plots;
use crate::groups::{load_groups, Run};
use crate::tables::{write_percentiles, write_rules, write_tables};

/// The runs the experiment lists that `dir` holds no whole run of, one line per method and data
/// set (`kddcup/dagmm: seeds 1, 2, 3, 4 (4 of 5)`). Entries that name neither a config nor a data
/// set (a sweep's `--data` names their folder) are not checked.
fn missing_runs(experiment: &Experiment, file: &Path, dir: &Path) -> Vec<String> {
    let mut by_method: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for task in experiment.planned_runs(file, dir, None) {
        let entry = experiment.runs.iter().find(|r| r.name == task.entry.name);
        if entry.is_some_and(|e| e.config.is_none() && e.data.is_none()) {
            continue;
        }
        let method = task
            .dir
            .parent()
            .and_then(|p| p.strip_prefix(dir).ok())
            .map_or_else(|| task.entry.name.clone(), |p| p.display().to_string());
        let slot = by_method.entry(method).or_default();
        slot.1 += 1;
        if run_state(&task.dir) != RunState::Finished {
            let seed = task
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().trim_start_matches("seed").to_string())
                .unwrap_or_default();
            slot.0.push(seed);
        }
    }
    by_method
        .into_iter()
        .filter(|(_, (absent, _))| !absent.is_empty())
        .map(|(method, (absent, all))| {
            format!(
                "{method}: seed{} {} ({} of {all})",
                if absent.len() == 1 { "" } else { "s" },
                absent.join(", "),
                absent.len()
            )
        })
        .collect()
}

/// What `dagmm report` wrote.
pub struct Written {
    /// `table.md`'s text.
    pub table: String,
    /// Every file, the pictures' last.
    pub files: Vec<PathBuf>,
    /// What the report left out or lacks: damaged runs, runs the experiment lists that are not
    /// there (also at the top of `report.html`).
    pub warnings: Vec<String>,
}

/// Writes every file of the report of the runs under `dir` into `dir`.
pub fn write_report_in(dir: &Path) -> Result<Written> {
    write_report(dir, dir)
}

/// Where `dagmm report DIR` writes without `--out`: into DIR, or, when DIR is one run's folder,
/// beside it (`RUN-report`), so that the run folder keeps only a run's files (a later `train
/// --out RUN` may replace it).
pub fn default_report_dir(dir: &Path) -> PathBuf {
    if dir.join(SUMMARY_FILE).is_file() {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_os_string()))
            .unwrap_or_else(|| "run".into());
        let mut report = name;
        report.push("-report");
        match dir.file_name().and(dir.parent()) {
            Some(parent) => parent.join(report),
            None => dir.join("..").join(report),
        }
    } else {
        dir.to_path_buf()
    }
}

/// Writes every file of the report of the runs under `dir` into `out`.
pub fn write_report(dir: &Path, out: &Path) -> Result<Written> {
    if !dir.is_dir() {
        bail!("{} is not a folder of runs", dir.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // One report at a time into a folder; what a killed one left half-written goes.
    let _lock = dagmm_run_folder::lock::lock_report(out)?;
    remove_temporaries(out)?;
    remove_temporaries(&out.join("plots"))?;
    let mut warnings = Vec::new();
    let groups = load_groups(dir, &mut warnings)?;
    let source = dir;
    let dir = out;
    let mut written = Vec::new();
    let table = write_tables(dir, &groups)?;
    let mut tables = vec![("Results", table.clone())];
    written.extend(["table.md", "table.csv"].map(|f| dir.join(f)));
    if let Some(md) = write_rules(dir, &groups)? {
        tables.push(("Threshold rules", md));
        written.extend(["rules.md", "rules.csv"].map(|f| dir.join(f)));
    }
    let (comparisons, summary) = write_comparisons(dir, &groups)?;
    tables.push(("Paired comparisons", comparisons));
    written.push(dir.join("paired.md"));
    tables.push(("F1 at each percentile", write_percentiles(dir, &groups)?));
    written.extend(["percentiles.md", "percentiles.csv"].map(|f| dir.join(f)));
    let figures = write_plots(dir, &groups)?;
    for f in &figures {
        for ext in ["png", "svg"] {
            written.push(dir.join("plots").join(format!("{}.{ext}", f.stem)));
        }
    }
    let experiment_file = source.join(EXPERIMENT_FILE);
    let mut missing = Vec::new();
    let experiment = if experiment_file.is_file() {
        let text = std::fs::read_to_string(&experiment_file)
            .with_context(|| format!("cannot read {}", experiment_file.display()))?;
        let loaded = Experiment::load(&experiment_file)?;
        missing = missing_runs(&loaded, &experiment_file, source);
        warnings.extend(
            missing
                .iter()
                .map(|m| format!("the experiment lists runs this report lacks: {m}")),
        );
        let description = loaded.description;
        Some((
            text,
            (!description.trim().is_empty()).then_some(description),
        ))
    } else {
        None
    };
    let runs: Vec<&Run> = groups.values().flat_map(|g| &g.runs).collect();
    page::write_html(&page::Page {
        dir,
        experiment,
        tables,
        figures: &figures,
        manifests: runs.iter().filter_map(|r| r.manifest.as_ref()).collect(),
        runs: runs.len(),
        summary,
        missing,
    })?;
    written.insert(written.len() - 2 * figures.len(), dir.join("report.html"));
    Ok(Written {
        table,
        files: written,
        warnings,
    })
}

/// Removes the temporary files an earlier report left in `dir` when it was killed mid-write
/// (`table.tmp-1a2b.md`: `dagmm_data::atomic`); the caller holds the report's lock, so none is
/// being written.
fn remove_temporaries(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if dagmm_data::atomic::is_temporary(&e.file_name().to_string_lossy())
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            std::fs::remove_file(e.path()).with_context(|| {
                format!(
                    "cannot remove {}, left by a killed report",
                    e.path().display()
                )
            })?;
        }
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::drawing::Series;
    use crate::figures::facets;
    use crate::groups::{load_groups, loss_terms, mean_std, MethodKey};
    use dagmm_pipeline::files::write_json;
    use dagmm_pipeline::{DecisionKind, RunConfig, RunSummary, ThresholdRule, SUMMARY_FILE};
    use dagmm_run_folder::manifest::{GitState, Host, RunTimings, SweepEntryRecord, Versions};
    use dagmm_run_folder::{Manifest, MANIFEST_FILE};

    /// A manifest as `dagmm` writes it, of `config` (a sweep's run when `sweep` is given).
    fn manifest(config: &RunConfig, sweep: Option<&SweepEntryRecord>) -> Manifest {
        Manifest {
            format: dagmm_run_folder::manifest::MANIFEST_FORMAT.into(),
            version: dagmm_run_folder::manifest::MANIFEST_VERSION,
            finished_at: "now".into(),
            command: vec!["dagmm".into()],
            config_file: "c.toml".into(),
            config: config.resolved(),
            seed: Some(config.seed()),
            device: None,
            git: GitState {
                commit: None,
                dirty: None,
                binary_commit: None,
            },
            versions: Versions {
                dagmm: "0".into(),
                burn: "0".into(),
                rustc: "rustc".into(),
            },
            host: Host {
                os: "linux".into(),
                arch: "x86_64".into(),
                cpus: 2,
                hostname: None,
            },
            timings: RunTimings {
                started_at: "now".into(),
                seconds: Default::default(),
            },
            sweep: sweep.cloned(),
            adapter: None,
            resumed_after_epoch: None,
        }
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }

    /// A summary with the fields every run has, and these metrics.
    fn summary(seed: u64, epochs: usize, precision: f64, f1: f64) -> RunSummary {
        RunSummary {
            data: "data.csv".into(),
            score: dagmm_pipeline::ScoreName::Energy,
            decision: DecisionKind::TestPercentile,
            n_rows: 10,
            n_features: 2,
            seed: Some(seed),
            epochs: Some(epochs),
            precision: Some(precision),
            recall: Some(precision),
            f1: Some(f1),
            roc_auc: Some(0.9),
            ..RunSummary::default()
        }
    }

    /// A finished run's folder as a report reads it: the summary, a config and a manifest.
    fn write_summary(run: &Path, s: &RunSummary) {
        std::fs::create_dir_all(run).unwrap();
        write_json(&run.join(SUMMARY_FILE), s).unwrap();
        let config = dagmm_pipeline::RunConfig::new(
            dagmm_pipeline::DetectorKind::Dagmm,
            dagmm_pipeline::DataSection::file("data.csv".into(), None, None),
            Default::default(),
        );
        std::fs::write(run.join("config.toml"), config.to_toml().unwrap()).unwrap();
        let manifest = manifest(&config, None);
        write_json(&run.join(MANIFEST_FILE), &manifest).unwrap();
    }

    #[test]
    fn groups_seed_folders_and_writes_tables() {
        let dir = tempfile::tempdir().unwrap();
        for (seed, f1) in [(0, 0.9), (1, 0.8)] {
            let run = dir.path().join("kddcup/dagmm").join(format!("seed{seed}"));
            let mut s = summary(seed, 200, 0.5, f1);
            s.roc_auc = Some(0.99);
            s.untrained_f1 = Some(0.7);
            s.untrained_roc_auc = Some(0.9);
            s.samples_per_second = Some(1000.0);
            s.sweep = vec![dagmm_evaluation::SweepRow {
                percentile: 10.0,
                threshold: 1.0,
                precision: 1.0,
                recall: 0.5,
                f1,
                flagged: 1,
            }];
            s.threshold_rules = vec![dagmm_pipeline::RuleOutcome {
                rule: ThresholdRule::TestContamination,
                threshold: 1.0,
                flagged: 3,
                precision: f1,
                recall: f1,
                f1,
            }];
            write_summary(&run, &s);
            std::fs::write(run.join("losses.csv"), "epoch,total\n1,3.0\n2,2.0\n").unwrap();
        }
        // A classic detector beside it: no losses, no epochs.
        let mut g = summary(0, 0, 0.4, 0.4);
        g.epochs = None;
        write_summary(&dir.path().join("kddcup/gmm/seed0"), &g);
        write_report_in(dir.path()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
        assert!(md.contains("| kddcup | dagmm | 0, 1 | 200 |"), "{md}");
        assert!(md.contains("0.8500 ± 0.0707"), "{md}");
        assert!(
            md.contains("| kddcup | gmm | 0 | – | 0.4000 | 0.4000 |"),
            "{md}"
        );
        let csv = std::fs::read_to_string(dir.path().join("table.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3);
        let rules = std::fs::read_to_string(dir.path().join("rules.md")).unwrap();
        assert!(
            rules.contains("| kddcup | dagmm | paper | test_contamination | 2 | 0.8500 ± 0.0707 | 0.8500 ± 0.0707 | 0.8500 ± 0.0707 | 0.8000 | 0.9000 |"),
            "{rules}"
        );
        let per = std::fs::read_to_string(dir.path().join("percentiles.md")).unwrap();
        assert!(
            per.contains("| 10 | 2 | 1.0000 ± 0.0000 | 0.5000 ± 0.0000 | 0.8500 ± 0.0707 |"),
            "{per}"
        );
        assert!(dir.path().join("plots/kddcup_losses.svg").is_file());
        assert!(dir
            .path()
            .join("plots/kddcup_f1_vs_percentile.png")
            .is_file());
    }

    #[test]
    fn more_than_ten_series_are_faceted_by_entry_on_a_sequential_palette() {
        let series = |n: usize, base: &'static str| {
            (0..n)
                .map(move |i| {
                    (
                        base,
                        Series {
                            name: format!("{base} {i}"),
                            points: vec![(0.0, 0.0)],
                            errors: None,
                            color: None,
                        },
                    )
                })
                .collect::<Vec<_>>()
        };
        // Twelve entries of one series each (no grid): one figure, twelve distinct colours.
        let twelve_entries: Vec<(&str, Series)> =
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]
                .into_iter()
                .flat_map(|b| series(1, b))
                .collect();
        let one = facets(twelve_entries);
        assert_eq!(one.len(), 1);
        let colours: std::collections::BTreeSet<(u8, u8, u8)> = one[0]
            .1
            .iter()
            .map(|s| {
                let c = s.color.unwrap();
                (c.0, c.1, c.2)
            })
            .collect();
        assert_eq!(colours.len(), 12);
        let ten = facets(series(10, "a"));
        assert_eq!(ten.len(), 1);
        assert!(ten[0].0.is_empty() && ten[0].1.iter().all(|s| s.color.is_none()));
        let mut twelve = series(6, "a");
        twelve.extend(series(6, "b"));
        let f = facets(twelve);
        assert_eq!(
            f.iter()
                .map(|(b, l)| (b.as_str(), l.len()))
                .collect::<Vec<_>>(),
            [("a", 6), ("b", 6)]
        );
        let shades: Vec<_> = f[0].1.iter().map(|s| s.color.unwrap()).collect();
        assert_eq!(shades[0], crate::charts::sequential(0, 6));
        assert_eq!(shades[5], crate::charts::sequential(5, 6));
        assert_ne!(shades[0], shades[5]);
    }

    #[test]
    fn a_contamination_grid_gets_the_f1_against_contamination_figure() {
        let dir = tempfile::tempdir().unwrap();
        for (c, f1s) in [("0.01", [0.9, 0.8]), ("0.05", [0.6, 0.7])] {
            for (seed, f1) in f1s.iter().enumerate() {
                let run = dir
                    .path()
                    .join(format!("kddcup/dagmm/data.contamination={c}/seed{seed}"));
                write_summary(&run, &summary(seed as u64, 2, *f1, *f1));
            }
        }
        let written = write_report_in(dir.path()).unwrap();
        let stem = dir.path().join("plots/kddcup_f1_vs_contamination");
        for ext in ["png", "svg"] {
            assert!(crate::charts::with_extension(&stem, ext).is_file(), "{ext}");
        }
        assert!(written
            .files
            .iter()
            .any(|f| f.ends_with("plots/kddcup_f1_vs_contamination.png")));
        let svg = std::fs::read_to_string(crate::charts::with_extension(&stem, "svg")).unwrap();
        assert!(
            svg.contains("anomalies among the training rows (%)"),
            "no axis title"
        );
    }

    /// Two methods with one config on two devices get the figure of their loss terms' relative
    /// differences (identical epochs sit at its floor); a method whose config differs otherwise
    /// is not compared.
    #[test]
    fn the_same_config_on_two_devices_gets_the_difference_figure() {
        use dagmm_model::DeviceChoice;
        let dir = tempfile::tempdir().unwrap();
        let runs = [
            ("flex", DeviceChoice::Flex, None, "2.0,1.0"),
            ("ndarray", DeviceChoice::Ndarray, None, "2.0,1.1"),
            ("other", DeviceChoice::Ndarray, Some(10.0), "2.0,5.0"),
        ];
        for (method, device, percentile, totals) in runs {
            let run = dir.path().join(format!("kddcup/{method}/seed0"));
            write_summary(&run, &summary(0, 2, 0.5, 0.5));
            let mut config: RunConfig =
                dagmm_pipeline::files::read_json::<Manifest>(&run.join(MANIFEST_FILE))
                    .unwrap()
                    .config;
            config.device = device;
            config.evaluation.anomaly_percentile = percentile;
            write_json(&run.join(MANIFEST_FILE), &manifest(&config, None)).unwrap();
            let (a, b) = totals.split_once(',').unwrap();
            std::fs::write(
                run.join("losses.csv"),
                format!("epoch,total\n1,{a}\n2,{b}\n"),
            )
            .unwrap();
        }
        let groups = load_groups(dir.path(), &mut Vec::new()).unwrap();
        let d = crate::figures::DataSetRuns {
            data: "kddcup",
            methods: groups
                .iter()
                .map(|((_, MethodKey(m)), g)| (m.as_str(), g))
                .collect(),
        };
        let (references, series) = crate::figures::device_difference_series(&d);
        assert_eq!(references, ["flex"]);
        assert_eq!(series.len(), 1, "only flex against ndarray, one term");
        assert_eq!(series[0].name, "objective J: ndarray vs flex (one seed)");
        let p = &series[0].points;
        assert_eq!(p[0], (1.0, 1e-9));
        assert!((p[1].1 - 0.1).abs() < 1e-12, "{p:?}");
        let written = write_report_in(dir.path()).unwrap();
        assert!(written
            .files
            .iter()
            .any(|f| f.ends_with("plots/kddcup_device_differences.png")));
    }

    #[test]
    fn grid_points_of_one_entry_keep_their_point_in_the_label() {
        let dir = tempfile::tempdir().unwrap();
        for (point, f1) in [("loss.lambda_cov=0", 0.6), ("loss.lambda_cov=0.05", 0.9)] {
            let run = dir
                .path()
                .join("kddcup/lambda_cov")
                .join(point)
                .join("seed0");
            let mut s = summary(0, 50, f1, f1);
            s.curves = Some(dagmm_pipeline::Curves {
                roc: vec![[0.0, 0.0], [1.0, 1.0]],
                pr: vec![[0.0, 1.0], [1.0, 0.5]],
                histogram: dagmm_pipeline::records::ClassHistogram {
                    edges: vec![0.0, 1.0, 2.0],
                    normal: vec![3, 1],
                    anomaly: vec![0, 2],
                },
                threshold: 1.0,
            });
            write_summary(&run, &s);
            std::fs::write(run.join("losses.csv"), "epoch,total\n1,3.0\n").unwrap();
            let config = dagmm_pipeline::RunConfig::new(
                dagmm_pipeline::DetectorKind::Dagmm,
                dagmm_pipeline::DataSection::file("data.csv".into(), None, None),
                dagmm_pipeline::EvaluationSection {
                    anomaly_percentile: Some(20.0),
                    ..Default::default()
                },
            );
            let entry = SweepEntryRecord {
                name: "lambda_cov".into(),
                label: "DAGMM".into(),
                data: "kddcup".into(),
                ..Default::default()
            };
            let manifest = manifest(&config, Some(&entry));
            write_json(&run.join(MANIFEST_FILE), &manifest).unwrap();
        }
        write_report_in(dir.path()).unwrap();
        let md = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
        // The better grid point's F1 is marked as the best of its data set.
        for (label, f1) in [
            ("DAGMM (loss.lambda_cov=0)", "0.6000"),
            ("DAGMM (loss.lambda_cov=0.05)", "**0.9000**"),
        ] {
            let row = md
                .lines()
                .find(|l| l.contains(&format!("| {label} |")))
                .unwrap_or_else(|| panic!("no row {label} in\n{md}"));
            assert!(row.contains(&format!("| {f1} |")), "{row}");
            assert!(!row.contains('±'), "one seed has no spread: {row}");
        }
        // One histogram per grid point, the point's dots kept apart from the extension.
        for stem in [
            "kddcup_histogram_lambda_cov_loss_lambda_cov_0",
            "kddcup_histogram_lambda_cov_loss_lambda_cov_0_05",
        ] {
            for ext in ["png", "svg"] {
                let p = dir.path().join(format!("plots/{stem}.{ext}"));
                assert!(p.is_file(), "{} missing", p.display());
            }
        }
    }

    #[test]
    fn method_folders_sort_with_numbers_as_numbers() {
        let mut keys: Vec<MethodKey> = [
            "flex/training.batch_size=16384",
            "flex/training.batch_size=4096",
            "flex/training.batch_size=1024",
            "lambda_cov/loss.lambda_cov=0.05",
            "lambda_cov/loss.lambda_cov=0.0",
            "lambda_cov/loss.lambda_cov=0.005",
            "latent/compression.encoder_layers=60-30-10-4",
            "latent/compression.encoder_layers=60-30-10-1",
            "dagmm",
        ]
        .iter()
        .map(|k| MethodKey(k.to_string()))
        .collect();
        keys.sort();
        let sorted: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(
            sorted,
            [
                "dagmm",
                "flex/training.batch_size=1024",
                "flex/training.batch_size=4096",
                "flex/training.batch_size=16384",
                "lambda_cov/loss.lambda_cov=0.0",
                "lambda_cov/loss.lambda_cov=0.005",
                "lambda_cov/loss.lambda_cov=0.05",
                "latent/compression.encoder_layers=60-30-10-1",
                "latent/compression.encoder_layers=60-30-10-4",
            ]
        );
        // Equal numbers written differently still give a total order.
        assert!(MethodKey("k=1".into()) < MethodKey("k=1.0".into()));
    }

    #[test]
    fn losses_csv_terms_of_the_main_stage_and_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("losses.csv");
        std::fs::write(
            &p,
            "stage,epoch,total,reconstruction,energy,penalty,regularization\n\
             layer1,1,9,9,0,0,0\ntrain,1,2.5,1,-3,40,0\ntrain,2,1.5,0.5,-4,20,0\n",
        )
        .unwrap();
        assert_eq!(
            loss_terms(&p).unwrap(),
            vec![
                ("objective J", vec![2.5, 1.5]),
                ("reconstruction", vec![1.0, 0.5]),
                ("sample energy", vec![-3.0, -4.0]),
                ("covariance penalty", vec![40.0, 20.0]),
            ]
        );
        // Files from before the stage column: every row is the main stage's.
        std::fs::write(&p, "epoch,total,x\n1,2.5,0\n2,1.5,0\n").unwrap();
        assert_eq!(
            loss_terms(&p).unwrap(),
            vec![("objective J", vec![2.5, 1.5])]
        );
        std::fs::write(&p, "epoch,total\n1,oops\n").unwrap();
        let err = format!("{:#}", loss_terms(&p).unwrap_err());
        assert!(
            err.contains("line 2") && err.contains("objective J"),
            "{err}"
        );
    }
}
