//! `dagmm train` (any config, under its protocol, into a run folder) and `dagmm score` (new rows
//! with a saved detector). The work is the pipeline's: this file turns arguments into its calls
//! and prints what came back.

use std::path::Path;

use anyhow::{bail, Context, Result};
use dagmm_data::LoadOptions;
use dagmm_pipeline::config::locate;
use dagmm_pipeline::{RunConfig, RunSummary, SavedDetector};

use crate::cli::{ExportArgs, ScoreArgs, TrainArgs};
use crate::output::write_scores_csv;
use crate::own_data::OwnData;
use crate::progress::EpochProgress;
use crate::runs::{run_into, staging_dir, Extras, Resume};

/// Where a run's config comes from: a file (with the user's data in its place when `--data` is
/// given), or the default config for `--data`.
pub enum ConfigSource<'a> {
    File(&'a std::path::Path, Option<&'a OwnData>),
    Default(&'a OwnData),
}

impl ConfigSource<'_> {
    fn load(&self, overrides: &[String]) -> Result<RunConfig> {
        match self {
            ConfigSource::File(file, None) => Ok(RunConfig::load(file, overrides)?),
            ConfigSource::File(file, Some(own)) => own.config(Some(file), overrides),
            ConfigSource::Default(own) => own.config(None, overrides),
        }
    }

    fn name(&self) -> String {
        match self {
            ConfigSource::File(file, _) => file.display().to_string(),
            ConfigSource::Default(own) => own.default_config_name().display().to_string(),
        }
    }
}

/// Reads the config with the `--set` overrides and the shorthands after them: `--seed`,
/// `--device`, and `--epochs`, which sets the field its detector trains for (refused for a
/// detector that does not train by epoch).
fn load_config(
    source: &ConfigSource,
    set: &[String],
    epochs: Option<usize>,
    seed: Option<u64>,
    device: Option<&str>,
) -> Result<RunConfig> {
    let mut overrides = set.to_vec();
    overrides.extend(seed.map(|s| format!("seed={s}")));
    overrides.extend(device.map(|d| format!("device=\"{d}\"")));
    if let Some(e) = epochs {
        let kind = source.load(&overrides)?.kind();
        match kind.family().epochs_field() {
            Some(field) => overrides.push(format!("{field}={e}")),
            None => bail!(
                "--epochs: a {} detector does not train by epoch ({})",
                kind.name(),
                source.name()
            ),
        }
    }
    source.load(&overrides).map_err(|e| {
        // Quote the shorthands as the user typed them, not the overrides they became.
        let mut message = format!("{e:#}");
        if let Some(e) = epochs {
            for field in [
                "training.epochs",
                "dsebm.training.epochs",
                "dcn.training.epochs",
            ] {
                message =
                    message.replace(&format!("override `{field}={e}`"), &format!("--epochs {e}"));
            }
        }
        if let Some(s) = seed {
            message = message.replace(&format!("override `seed={s}`"), &format!("--seed {s}"));
        }
        if let Some(d) = device {
            message = message.replace(
                &format!("override `device=\"{d}\"`"),
                &format!("--device {d}"),
            );
        }
        anyhow::anyhow!(message)
    })
}

/// The line a finished run prints.
pub fn result_line(s: &RunSummary) -> String {
    let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.4}"));
    let mut line = format!(
        "{} of {} rows flagged ({})",
        s.flagged,
        s.n_test.unwrap_or(s.n_rows),
        s.decision
    );
    if s.f1.is_some() {
        line.push_str(&format!(
            ": precision {}, recall {}, F1 {}, ROC AUC {}",
            f(s.precision),
            f(s.recall),
            f(s.f1),
            f(s.roc_auc)
        ));
    }
    if s.untrained_f1.is_some() {
        line.push_str(&format!(
            " (untrained: F1 {}, ROC AUC {})",
            f(s.untrained_f1),
            f(s.untrained_roc_auc)
        ));
    }
    if let Some(v) = s.samples_per_second {
        line.push_str(&format!("; {v:.0} samples/s"));
    }
    line
}

pub fn run_train(args: &TrainArgs) -> Result<()> {
    let own = OwnData::from_args(&args.own_data)?;
    // A resumed run without --config continues with the config it saved (its manifest names
    // that config where it ends up, in the published run folder).
    let saved = staging_dir(&args.out)?.join("config.toml");
    let source = match (&args.config, args.resume, &own) {
        (Some(file), _, own) => ConfigSource::File(file, own.as_ref()),
        (None, true, _) => {
            if !saved.is_file() {
                bail!(
                    "nothing to resume: {} does not exist (the staging folder of an interrupted \
                     run into {} holds it)",
                    saved.display(),
                    args.out.display()
                );
            }
            ConfigSource::File(&saved, None)
        }
        (None, false, Some(own)) => ConfigSource::Default(own),
        (None, false, None) => {
            bail!(
                "--config FILE or --data FILE is required (--config may be left out with --resume)"
            )
        }
    };
    let config = load_config(
        &source,
        &args.set,
        args.epochs,
        args.seed,
        args.device.as_deref(),
    )?;
    let recorded = match (&args.config, &own) {
        (Some(file), _) => file.clone(),
        (None, _) if args.resume => args.out.join("config.toml"),
        (None, Some(own)) => own.default_config_name(),
        (None, None) => args.out.join("config.toml"),
    };
    let progress = EpochProgress::new(config.epochs(), "", None);
    let resume = if args.resume {
        Resume::Required
    } else {
        Resume::No
    };
    let output = run_into(
        &config,
        &recorded,
        &args.out,
        &progress,
        None,
        Extras {
            run_pictures: true,
            ..Extras::default()
        },
        resume,
    );
    progress.finish(None);
    let output = output?;
    println!(
        "{}; wrote {}",
        result_line(&output.summary),
        args.out.display()
    );
    Ok(())
}

pub fn run_export(args: &ExportArgs) -> Result<()> {
    let config = load_config(
        &ConfigSource::File(&args.config, None),
        &args.set,
        args.epochs,
        args.seed,
        None,
    )?;
    let setup = dagmm_pipeline::peer::export_peer_setup(&config, &args.out)?;
    let u = &setup.untrained;
    println!(
        "{} training and {} test rows of {} features, seed {}; untrained control: F1 {:.4}, \
         ROC AUC {:.4}; wrote {}",
        setup.n_train,
        setup.n_test,
        setup.n_features,
        setup.seed,
        u.f1,
        u.roc_auc,
        args.out.display()
    );
    Ok(())
}

/// Refuses an `out` that is one of the `inputs` (option, path, whether a folder whose files
/// `out` must not be among): writing it would replace what the command reads.
fn refuse_overwriting_inputs(out: &Path, inputs: &[(&str, &Path, bool)]) -> Result<()> {
    // The path `out` will have: itself if it exists, else its folder's real path and its name.
    let out_real = match out.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            match (parent.canonicalize(), out.file_name()) {
                (Ok(p), Some(name)) => p.join(name),
                _ => return Ok(()), // a new folder: nothing there to replace
            }
        }
    };
    for &(option, input, folder) in inputs {
        let Ok(real) = input.canonicalize() else {
            continue;
        };
        if out_real == real || (folder && out_real.starts_with(&real)) {
            bail!(
                "--out {} is {} {option} {}: writing the scores there would replace what this \
                 command reads; choose another --out",
                out.display(),
                if out_real == real {
                    "the file given as"
                } else {
                    "inside"
                },
                input.display()
            );
        }
    }
    Ok(())
}

pub fn run_score(args: &ScoreArgs) -> Result<()> {
    let device = args
        .device
        .as_deref()
        .map(str::parse::<dagmm_model::DeviceChoice>)
        .transpose()
        .context("--device")?;
    let path = locate(&args.data)?;
    refuse_overwriting_inputs(
        &args.out,
        &[
            ("--data", path.as_path(), false),
            ("--model", args.model.as_path(), true),
        ]
        .into_iter()
        .chain(args.names.as_deref().map(|n| ("--names", n, false)))
        .collect::<Vec<_>>(),
    )?;
    let saved = SavedDetector::load(&args.model, device)?;
    // The rows stay as compact as their format allows and are scored a chunk at a time.
    let rows = dagmm_data::load_rows(
        &path,
        LoadOptions {
            label_column: args.label_column.as_deref(),
            names: args.names.as_deref(),
        },
    )?;
    if let Some(w) = crate::runs::numeric_header_warning(&path, &rows.columns) {
        eprintln!("{w}");
    }
    let n_rows = rows.n_rows();
    let labels = rows.labels.clone();
    let scored = saved
        .score_rows(rows, &path)
        .with_context(|| format!("scoring {} with {}", path.display(), saved.dir.display()))?;
    if !scored.ignored_columns.is_empty() {
        eprintln!(
            "warning: columns the detector never saw are ignored: {}",
            scored.ignored_columns.join(", ")
        );
    }
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let indices: Vec<usize> = (0..n_rows).collect();
    write_scores_csv(
        &args.out,
        &indices,
        &scored.scores,
        scored.pu_score.as_deref(),
        &scored.flagged,
        labels.as_deref(),
    )?;
    let n_flagged = scored.flagged.iter().filter(|&&f| f == 1).count();
    print!("{n_rows} rows scored, {n_flagged} flagged");
    if let Some(m) = scored.metrics {
        print!(
            " (precision {:.4}, recall {:.4}, F1 {:.4}, ROC AUC {:.4})",
            m.precision, m.recall, m.f1, m.roc_auc
        );
    }
    println!("; wrote {}", args.out.display());
    Ok(())
}
