use dagmm_evaluation::{roc_auc, Direction};
use dagmm_model::{Dagmm, DagmmConfig};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
include!("/tmp/gen.rs");
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let epochs: usize = args[1].parse().unwrap();
    let lr: f64 = args[2].parse().unwrap();
    let seed: u64 = args[3].parse().unwrap();
    let lam2: f64 = args[4].parse().unwrap();
    let (train, _) = line_vs_shuffled(1000, 0, 10 + seed * 100);
    let (test, labels) = line_vs_shuffled(500, 100, 11 + seed * 100);
    let mut c = DagmmConfig::kddcup();
    c.compression.encoder_layers = vec![8, 4, 1];
    c.estimation.n_components = 2;
    c.loss.lambda_cov = lam2;
    c.training.epochs = epochs;
    c.training.batch_size = 128;
    c.training.learning_rate = lr;
    c.training.seed = seed;
    let control = Dagmm::untrained(c.clone(), train.view()).unwrap();
    let sc = control.score(test.view()).unwrap();
    let (m, losses) = Dagmm::fit(c, train.view(), &mut |_| {}).unwrap();
    for e in losses.iter().step_by((epochs / 10).max(1)) {
        println!(
            "{} tot {:.4} rec {:.5} en {:.3} pen {:.2}",
            e.epoch, e.total, e.reconstruction, e.energy, e.penalty
        );
    }
    let s = m.score(test.view()).unwrap();
    let auc = |v: &[f64]| roc_auc(v, &labels, Direction::HighIsAnomalous).unwrap();
    let rel: Vec<f64> = s.z.column(1).to_vec();
    let relc: Vec<f64> = sc.z.column(1).to_vec();
    println!(
        "untrained: energy {:.3} rec {:.3} rel {:.3} | trained: energy {:.3} rec {:.3} rel {:.3}",
        auc(&sc.energy),
        auc(&sc.reconstruction_error),
        auc(&relc),
        auc(&s.energy),
        auc(&s.reconstruction_error),
        auc(&rel)
    );
    println!("mixture {:?}", m.mixture().unwrap());
}
