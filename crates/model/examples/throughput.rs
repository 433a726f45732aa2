//! Training throughput (samples/s) on the KDDCUP shape: 118 features, AE 118-60-30-10-1,
//! estimation 3-10-4, batch 1024. Usage:
//! `cargo run -p dagmm-model --example throughput -- [rows] [epochs] [flex|ndarray]`
//! (defaults 200000, 1, flex). Dev builds optimise dependencies (Burn) at opt-level 3.

use std::time::Instant;

use dagmm_model::{Dagmm, DagmmConfig, DeviceChoice};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args.get(1).map_or(Ok(200_000), |s| s.parse())?;
    let epochs: usize = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let device: DeviceChoice = args.get(3).map_or(Ok(DeviceChoice::Flex), |s| s.parse())?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Array2::from_shape_fn((rows, 118), |(_, j)| {
        if j < 80 {
            (rng.random_range(0.0..1.0f64) < 0.05) as u8 as f64
        } else {
            rng.random_range(0.0..1.0)
        }
    });
    let mut config = DagmmConfig::kddcup();
    config.device = device;
    config.training.epochs = epochs;
    let mut model = Dagmm::new(config, 118)?;
    let started = Instant::now();
    let losses = model.train(x.view(), &mut |e| {
        println!(
            "epoch {} total {:.4} rec {:.4} energy {:.4} penalty {:.2}: {:.2}s, {:.0} samples/s",
            e.epoch,
            e.total,
            e.reconstruction,
            e.energy,
            e.penalty,
            e.seconds,
            e.rows as f64 / e.seconds
        )
    })?;
    let train_s = started.elapsed().as_secs_f64();
    let trained_rows: usize = losses.iter().map(|e| e.rows).sum();
    let started = Instant::now();
    model.fit_mixture(x.view())?;
    let energies = model.energies(x.view())?;
    let score_s = started.elapsed().as_secs_f64();
    println!(
        "{device}: training {:.0} samples/s ({trained_rows} rows in {train_s:.2}s); mixture fit + scoring {:.0} rows/s ({} energies)",
        trained_rows as f64 / train_s,
        2.0 * rows as f64 / score_s,
        energies.len()
    );
    Ok(())
}
