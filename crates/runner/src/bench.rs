//! `dagmm bench gmm`: times EM on contaminated blobs, the figure the classic GMM crate's speed
//! target is stated in (scikit-learn: 6.6 s for 500k × 8, K = 8, full, n_init = 1 on 2 cores).

use std::time::Instant;

use anyhow::Result;
use dagmm_classic_gmm::{GaussianMixture, GmmParams};
use serde_json::json;

use crate::cli::GmmBenchArgs;

pub fn run_gmm_bench(args: &GmmBenchArgs) -> Result<()> {
    if args.repeats == 0 {
        anyhow::bail!("--repeats must be at least 1 (the number of timed fits)");
    }
    for (name, value) in [
        ("--rows", args.rows),
        ("--dims", args.dims),
        ("--components", args.components),
    ] {
        if value == 0 {
            anyhow::bail!("{name} must be at least 1");
        }
    }
    let data = dagmm_data::synthetic::contaminated_blobs(
        args.rows,
        args.dims,
        args.components,
        args.std,
        args.outliers,
        args.seed,
    )?;
    if let Some(path) = &args.write_data {
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
        n_components: args.components,
        n_init: 1,
        seed: args.seed,
        ..GmmParams::default()
    };
    let threads = rayon::current_num_threads();
    println!(
        "EM, {} rows × {} features, K = {}, full covariance, n_init = 1, {threads} threads",
        args.rows, args.dims, args.components
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
    if let Some(path) = &args.json {
        crate::output::write_json(
            path,
            &json!({
                "benchmark": "gmm_em",
                "rows": args.rows, "dims": args.dims, "components": args.components,
                "std": args.std, "outliers": args.outliers, "seed": args.seed,
                "threads": threads,
                "seconds": times, "fastest_seconds": sorted[0], "median_seconds": median,
                "n_iter": gmm.n_iter(), "lower_bound": gmm.lower_bound(), "converged": gmm.converged(),
            }),
        )?;
    }
    Ok(())
}
