//! `dagmm`: unsupervised anomaly detection with Gaussian mixtures, from the command line.
//!
//! This binary only parses arguments, calls the library crates and writes their results; every
//! computation lives in a library crate (the protocol and the detectors in `dagmm-pipeline`).

mod bench;
mod classic;
mod cli;
mod git;
mod output;
mod own_data;
mod progress;
mod record;
#[cfg(test)]
mod reference_tests;
mod report;
mod runs;
mod sweep;
mod train;

use anyhow::Result;
use clap::Parser;

use cli::{BenchCommand, Cli, Command, DataCommand};

/// mimalloc instead of glibc's malloc: a training step allocates and frees its activations (half
/// a megabyte each) from two threads, which glibc served from fresh pages (page faults under the
/// kernel's per-process lock) so that the threads waited on each other.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Burn puts what it loads without a device (Adam's state on resume) on `Device::default()`,
    // a wgpu adapter in this build; every tensor of ours names its device. Set before any thread.
    if std::env::var_os("BURN_DEVICE").is_none() {
        std::env::set_var("BURN_DEVICE", "flex");
    }
    // Paths and the command line go into JSON records (manifest.json), which hold text: an
    // argument that is not UTF-8 cannot be recorded as given, so it is refused before anything.
    if let Some((i, arg)) = std::env::args_os()
        .enumerate()
        .find(|(_, a)| a.to_str().is_none())
    {
        eprintln!(
            "error: argument {i} (`{}`) is not valid UTF-8; dagmm records its command line and \
             paths in its run files as UTF-8 text: rename the file or folder",
            arg.to_string_lossy()
        );
        std::process::exit(2);
    }
    let cli = Cli::parse();
    // The checkout's commit as the command starts, before a long sweep lets it move on.
    record::git_state();
    if let Err(err) = run(cli) {
        eprintln!("error: {}", message(&err));
        std::process::exit(1);
    }
}

/// The error and its causes, `: `-joined, each cause said once: an error that already quotes its
/// source (`FILE: No such file or directory (os error 2)`) is not followed by that source again.
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) || out.contains(&format!("{text}:")) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Gmm(args) => classic::run_gmm(&args),
        Command::Gaussian(args) => classic::run_gaussian(&args),
        Command::Train(args) => train::run_train(&args),
        Command::Score(args) => train::run_score(&args),
        Command::Export(args) => train::run_export(&args),
        Command::Devices => {
            for d in dagmm_model::available_devices() {
                println!("{:<22} {}", d.name, d.description);
            }
            if !dagmm_model::DeviceChoice::WGPU_BUILT {
                println!("(this build has no wgpu support)");
            }
            Ok(())
        }
        Command::Sweep(args) => sweep::run_sweep(
            &args.experiment,
            &args.out,
            args.jobs.unwrap_or_else(sweep::default_jobs),
            args.shard,
            args.order,
            own_data::OwnData::from_args(&args.own_data)?.as_ref(),
        ),
        Command::Report { dir, out } => report::print_report(&dir, out.as_deref()),
        Command::Data {
            command: DataCommand::Fetch { name, dir },
        } => {
            let dir = dir.unwrap_or_else(dagmm_data::fetch::default_cache_dir);
            let files = dagmm_data::fetch::fetch(&name, &dir)?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(())
        }
        Command::Data {
            command: DataCommand::List,
        } => {
            for d in dagmm_data::fetch::KNOWN_DATASETS {
                let files: Vec<&str> = d.files.iter().map(|f| f.name).collect();
                println!(
                    "{:<24} {}/{:<28} {}",
                    d.name,
                    d.folder,
                    files.join(", "),
                    d.base_url
                );
            }
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Gmm(args),
        } => bench::run_gmm_bench(&args),
        Command::Bench {
            command: BenchCommand::Train(args),
        } => bench::run_train_bench(&args),
    }
}
