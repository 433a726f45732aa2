//! `dagmm bench gmm`: times EM on contaminated blobs, the figure the classic GMM crate's speed
//! target is stated in (scikit-learn: 6.6 s for 500k × 8, K = 8, full, n_init = 1 on 2 cores).
//! `dagmm bench train`: DAGMM training samples/s with the paper's KDDCUP network and batch, the
//! figure `scripts/bench_torch_dagmm.py` gives for PyTorch.

use std::time::Instant;

use anyhow::Result;
use dagmm_classic_gmm::{GaussianMixture, GmmParams};
use serde::{Deserialize, Serialize};

use crate::cli::{GmmBenchArgs, TrainBenchArgs};

/// `dagmm bench gmm --json FILE`: what was timed and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GmmBenchRecord {
    /// Always `gmm_em`.
    pub benchmark: String,
    pub rows: usize,
    pub dims: usize,
    pub components: usize,
    /// The blobs' standard deviation and the share of uniform outliers.
    pub std: f64,
    pub outliers: f64,
    pub seed: u64,
    /// Rayon's threads.
    pub threads: usize,
    /// Each timed fit, in order.
    pub seconds: Vec<f64>,
    pub fastest_seconds: f64,
    pub median_seconds: f64,
    /// The last fit's EM iterations, lower bound and convergence.
    pub n_iter: usize,
    pub lower_bound: f64,
    pub converged: bool,
}

pub fn run_gmm_bench(args: &GmmBenchArgs) -> Result<()> {
    if args.repeats == 0 {
        anyhow::bail!("--repeats must be at least 1 (the number of timed fits)");
    }
    let (rows, dims, components) = args.shape();
    for (name, value) in [
        ("--rows", rows),
        ("--dims", dims),
        ("--components", components),
    ] {
        if value == 0 {
            anyhow::bail!("{name} must be at least 1");
        }
    }
    let data = dagmm_data::synthetic::contaminated_blobs(
        rows,
        dims,
        components,
        args.std,
        args.outliers,
        args.common.seed,
    )?;
    if let Some(path) = &args.common.write_data {
        let mut text = String::new();
        text.push_str(&data.columns.join(","));
        text.push_str(",label\n");
        let labels = data.labels.as_deref().unwrap_or(&[]);
        for (row, label) in data.features.rows().into_iter().zip(labels) {
            for v in row {
                text.push_str(&format!("{v},"));
            }
            text.push_str(&format!("{label}\n"));
        }
        crate::output::write_bytes(path, text.as_bytes())?;
    }
    let params = GmmParams {
        n_components: components,
        n_init: 1,
        seed: args.common.seed,
        ..GmmParams::default()
    };
    let threads = rayon::current_num_threads();
    println!(
        "EM, {rows} rows × {dims} features, K = {components}, full covariance, n_init = 1, \
         {threads} threads"
    );
    let mut times = Vec::new();
    let mut last = None;
    for r in 0..args.repeats {
        let started = Instant::now();
        let gmm = GaussianMixture::fit(&params, data.features.view())?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  run {}: {secs:.3} s, {} iterations ({:.1} ms each, k-means init included), lower bound {:.5}, converged {}",
            r + 1,
            gmm.n_iter(),
            1e3 * secs / gmm.n_iter() as f64,
            gmm.lower_bound(),
            gmm.converged()
        );
        times.push(secs);
        last = Some(gmm);
    }
    let gmm = last.expect("at least one run");
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    println!("fastest {:.3} s, median {median:.3} s", sorted[0]);
    if let Some(path) = &args.common.json {
        crate::output::write_json(
            path,
            &GmmBenchRecord {
                benchmark: "gmm_em".into(),
                rows,
                dims,
                components,
                std: args.std,
                outliers: args.outliers,
                seed: args.common.seed,
                threads,
                seconds: times,
                fastest_seconds: sorted[0],
                median_seconds: median,
                n_iter: gmm.n_iter(),
                lower_bound: gmm.lower_bound(),
                converged: gmm.converged(),
            },
        )?;
    }
    Ok(())
}

/// One timed epoch of `dagmm bench train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainBenchEpoch {
    pub seconds: f64,
    pub samples_per_second: f64,
    /// The epoch's mean objective `J`.
    pub mean_loss: f64,
}

/// `dagmm bench train --json FILE`: what was trained, on what, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainBenchRecord {
    /// Always `dagmm_train`.
    pub benchmark: String,
    pub rows: usize,
    pub dims: usize,
    pub batch_size: usize,
    pub device: String,
    /// `training.threads` (the parts of a step on the CPU devices).
    pub threads: usize,
    pub seed: u64,
    pub epochs: Vec<TrainBenchEpoch>,
    /// The best epoch after the first (the first warms caches), or the only one.
    pub samples_per_second: f64,
    /// The process's peak resident memory, bytes (Linux's `VmHWM`; absent elsewhere).
    pub peak_rss_bytes: Option<u64>,
}

/// KDDCUP-shaped rows: four Gaussian blobs with 2% uniform outliers, min-max scaled to `[0, 1]`
/// like the KDDCUP features after the paper's preprocessing, in `f32` (what the network's
/// tensors hold), each value scaled in `f64` and rounded once. The rows are drawn twice, a row
/// at a time, never held in `f64`: once to fit the scaler, once to scale them (187 MB of `f64`
/// rows beside their 94 MB in `f32` were this command's peak).
pub fn train_bench_rows(rows: usize, dims: usize, seed: u64) -> Result<ndarray::Array2<f32>> {
    use dagmm_data::scaling::{ScalerFit, ScalingKind};
    use dagmm_data::synthetic::for_each_contaminated_blob;
    type Visit<'v> = &'v mut dyn FnMut(&[f64]) -> dagmm_data::Result<()>;
    let draw = |visit: Visit| {
        for_each_contaminated_blob(rows, dims, 4, 1.5, 0.02, seed, |row, _| visit(row))
    };
    let scaler = ScalerFit::run(
        ScalingKind::MinMax,
        dagmm_data::Dataset::default_columns(dims),
        |fit| draw(&mut |row| fit.add(row)),
    )?;
    let mut x = ndarray::Array2::<f32>::zeros((rows, dims));
    let mut out = x.rows_mut().into_iter().enumerate();
    let mut scaled = vec![0.0; dims];
    draw(&mut |row| {
        let (i, mut out) = out.next().expect("a row per sample");
        scaled.copy_from_slice(row);
        scaler.transform_row(&mut scaled, i + 1)?;
        out.iter_mut()
            .zip(&scaled)
            .for_each(|(o, v)| *o = *v as f32);
        Ok(())
    })?;
    Ok(x)
}

/// The peak resident memory of this process so far (`VmHWM` of `/proc/self/status`), bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub fn run_train_bench(args: &TrainBenchArgs) -> Result<()> {
    for (name, value) in [
        ("--rows", args.rows),
        ("--dims", args.dims),
        ("--epochs", args.epochs),
        ("--batch-size", args.batch_size),
    ] {
        if value == 0 {
            anyhow::bail!("{name} must be at least 1");
        }
    }
    let device: dagmm_model::DeviceChoice = args.device.clone().try_into()?;
    let x = train_bench_rows(args.rows, args.dims, args.common.seed)?;
    if let Some(path) = &args.common.write_data {
        // Streamed a row at a time (the whole text would be another 230 MB).
        dagmm_pipeline::files::atomically(path, |tmp| -> std::io::Result<()> {
            use std::io::Write as _;
            let mut out = std::io::BufWriter::new(std::fs::File::create(tmp)?);
            let header: Vec<String> = (0..args.dims).map(|j| format!("x{j}")).collect();
            writeln!(out, "{}", header.join(","))?;
            for row in x.rows() {
                let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
            out.flush()
        })?;
    }
    let mut config = dagmm_model::DagmmConfig {
        device,
        ..Default::default()
    };
    config.training.epochs = args.epochs;
    config.training.batch_size = args.batch_size;
    config.training.seed = args.common.seed;
    if let Some(t) = args.threads {
        config.training.threads = t;
    }
    config.validate()?;
    let threads = config.training.threads;
    println!(
        "DAGMM training, {} rows × {} features, batch {}, the paper's KDDCUP network ({}), {}, \
         training.threads = {threads}",
        args.rows,
        args.dims,
        args.batch_size,
        std::iter::once(args.dims)
            .chain(config.compression.encoder_layers.iter().copied())
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        device
    );
    let mut epochs = Vec::new();
    let (_model, _history) = dagmm_model::Dagmm::fit(config, x.view(), &mut |e| {
        let rate = e.rows as f64 / e.seconds;
        println!(
            "  epoch {}: {:.2} s, {rate:.0} samples/s, loss {:.4}",
            e.epoch, e.seconds, e.total
        );
        epochs.push(TrainBenchEpoch {
            seconds: e.seconds,
            samples_per_second: rate,
            mean_loss: e.total,
        });
    })?;
    let timed = if epochs.len() > 1 {
        &epochs[1..]
    } else {
        &epochs[..]
    };
    let best = timed
        .iter()
        .map(|e| e.samples_per_second)
        .fold(0.0, f64::max);
    let peak = peak_rss_bytes();
    println!(
        "{best:.0} samples/s (best epoch after the first){}",
        peak.map_or(String::new(), |b| format!(
            "; peak resident memory {:.0} MB",
            b as f64 / 1e6
        ))
    );
    if let Some(path) = &args.common.json {
        crate::output::write_json(
            path,
            &TrainBenchRecord {
                benchmark: "dagmm_train".into(),
                rows: args.rows,
                dims: args.dims,
                batch_size: args.batch_size,
                device: device.name(),
                threads,
                seed: args.common.seed,
                epochs,
                samples_per_second: best,
                peak_rss_bytes: peak,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed benchmark file reads back as the record the command writes.
    #[test]
    fn the_committed_benchmark_file_reads_as_a_record() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../results/benchmarks/gmm_em.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let record: GmmBenchRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (record.benchmark.as_str(), record.rows, record.dims),
            ("gmm_em", 500_000, 8)
        );
        assert_eq!(record.seconds.len(), 5);
        assert!(record.fastest_seconds <= record.median_seconds);
    }

    /// The committed wide EM benchmark reads back as the record, at the lower bound scikit-learn
    /// reaches on the same rows (`results/README.md`).
    #[test]
    fn the_committed_wide_benchmark_reads_as_a_record() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../results/benchmarks/gmm_em_wide.json"
        );
        let record: GmmBenchRecord =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(
            (record.rows, record.dims, record.components),
            (2_000, 1_500, 2)
        );
        assert!(
            (record.lower_bound - 1167.65236).abs() < 1e-5,
            "{}",
            record.lower_bound
        );
        assert!(record.converged);
    }

    /// The committed training benchmarks read back as the record the command writes, and their
    /// figure is the best epoch after the first.
    #[test]
    fn the_committed_training_benchmarks_read_as_records() {
        for (file, threads) in [("train_flex.json", 2), ("train_flex_1_thread.json", 1)] {
            let path = format!(
                "{}/../../results/benchmarks/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap();
            let record: TrainBenchRecord = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (
                    record.benchmark.as_str(),
                    record.rows,
                    record.dims,
                    record.threads
                ),
                ("dagmm_train", 198_401, 118, threads)
            );
            let best = record.epochs[1..]
                .iter()
                .map(|e| e.samples_per_second)
                .fold(0.0, f64::max);
            assert_eq!(record.samples_per_second, best, "{file}");
        }
    }
}
