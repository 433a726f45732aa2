//! How much memory a run will need, estimated from its config and the data's shape before any
//! network or mixture is built, so that a run that cannot fit is refused with the figure instead
//! of allocating until the machine gives out (a layer of a billion units, a full covariance on
//! 10,000 features).
//!
//! The estimate counts the large parts only, in host memory: the rows (as read and as scaled),
//! a network's weights with their gradients and Adam's two moments, a batch's activations, and a
//! mixture's covariances with EM's working copies and responsibilities. It is meant to be right
//! within a factor of two: enough to tell 40 GB from 40 MB.

use dagmm_classic_gmm::{CovarianceType, GaussianKind};

use crate::config::RunConfig;
use crate::detectors::DetectorKind;
use crate::{PipelineError, Result};

/// What a run is estimated to need.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEstimate {
    /// Bytes in all.
    pub bytes: f64,
    /// The largest part, said in the refusal (`the network: 4.0e9 weights`).
    pub largest: String,
}

/// A network of layers `widths[0] → widths[1] → …`: its weights and biases.
fn weights(widths: &[usize]) -> f64 {
    widths
        .windows(2)
        .map(|w| (w[0] as f64 + 1.0) * w[1] as f64)
        .sum()
}

/// The estimate for `config` (resolved: every section present) on `rows` × `features`.
pub fn estimate(config: &RunConfig, rows: usize, features: usize) -> MemoryEstimate {
    let config = config.resolved();
    let (n, d) = (rows as f64, features as f64);
    // The rows as read (f64) and as scaled and split (f64), and an f32 copy for a network.
    let data = n * d * (8.0 + 8.0 + 4.0);
    let mut parts: Vec<(f64, String)> = vec![(data, format!("the data: {rows} × {features}"))];
    let network = |layers: &[usize], batch: usize, field: &str| -> (f64, String) {
        // Encoder and decoder mirror each other.
        let mut widths = vec![features];
        widths.extend_from_slice(layers);
        let w = 2.0 * weights(&widths);
        let activations: f64 = 2.0 * widths.iter().map(|&x| x as f64).sum::<f64>();
        // f32 weights, gradients and Adam's two moments; a batch's activations kept for the
        // backward pass, about four tensors a layer.
        let bytes = w * 4.0 * 4.0 + batch.max(1) as f64 * activations * 4.0 * 4.0;
        (
            bytes,
            format!("the network: {w:.1e} weights at {field} = {layers:?}"),
        )
    };
    match config.kind() {
        DetectorKind::Gmm | DetectorKind::Gaussian => {
            let (k, covariance) = match (&config.gmm, &config.gaussian) {
                (Some(g), _) if config.kind() == DetectorKind::Gmm => (
                    g.select_k.map_or(g.n_components, |[_, max]| max),
                    g.covariance_type,
                ),
                (_, Some(g)) if g.kind == GaussianKind::PerFeature => (1, CovarianceType::Diag),
                _ => (1, CovarianceType::Full),
            };
            let per_component = match covariance {
                CovarianceType::Full | CovarianceType::Tied => d * d,
                CovarianceType::Diag => d,
                CovarianceType::Spherical => 1.0,
            };
            let components = if covariance == CovarianceType::Tied {
                1.0
            } else {
                k as f64
            };
            // Covariances, their Cholesky factors and precisions, the M step's new ones and a
            // copy for the saved detector (f64), and the saved model's JSON text (about 25
            // bytes a number).
            let mixture =
                components * per_component * (8.0 * 5.0 + 25.0) + n * k as f64 * 8.0 * 3.0;
            parts.push((
                mixture,
                format!("the mixture: {k} component(s) of {features} features, {covariance:?} covariance"),
            ));
        }
        DetectorKind::Dsebm => {
            if let Some(c) = &config.dsebm {
                parts.push(network(
                    &c.hidden_layers,
                    c.training.batch_size,
                    "dsebm.hidden_layers",
                ));
            }
        }
        DetectorKind::Dcn => {
            if let Some(c) = &config.dcn {
                parts.push(network(
                    &c.encoder_layers,
                    c.training.batch_size,
                    "dcn.encoder_layers",
                ));
            }
        }
        _ => {
            if let Some(c) = &config.compression {
                let batch = config.training.as_ref().map_or(1024, |t| t.batch_size);
                parts.push(network(
                    &c.encoder_layers,
                    batch,
                    "compression.encoder_layers",
                ));
            }
        }
    }
    let bytes = parts.iter().map(|(b, _)| b).sum();
    let largest = parts
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, what)| what)
        .unwrap_or_default();
    MemoryEstimate { bytes, largest }
}

/// The memory this machine has free for a new process (`MemAvailable`, Linux), if known.
pub fn available_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Bytes as people read them (`1.5 GB`, `300 MB`).
pub fn human(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", (bytes / 1e6).max(1.0))
    }
}

/// Refuses a run whose estimate exceeds `available` bytes.
pub fn check_fits(
    config: &RunConfig,
    rows: usize,
    features: usize,
    available: Option<f64>,
) -> Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    let e = estimate(config, rows, features);
    if e.bytes > available {
        return Err(PipelineError::Invalid(format!(
            "this run needs about {} of memory ({}; {rows} rows × {features} features), and this \
             machine has {} available: make the network or the mixture smaller (fewer units or \
             components, a diagonal covariance) or use fewer features",
            human(e.bytes),
            e.largest,
            human(available)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DataSection, EvaluationSection};

    fn config(kind: DetectorKind) -> RunConfig {
        RunConfig::new(
            kind,
            DataSection::file("x.csv".into(), None, None),
            EvaluationSection::default(),
        )
        .resolved()
    }

    #[test]
    fn a_full_covariance_grows_with_the_square_of_the_features_and_a_huge_layer_is_refused() {
        let mut gmm = config(DetectorKind::Gmm);
        let g = gmm.gmm.as_mut().unwrap();
        g.n_components = 2;
        g.covariance_type = CovarianceType::Full;
        // 2 components × 10,000² × (5 copies × 8 bytes + 25 bytes of JSON) = 13 GB, beside 30
        // rows of data.
        let e = estimate(&gmm, 30, 10_000);
        assert!((e.bytes - 13e9).abs() / 13e9 < 0.01, "{}", e.bytes);
        assert!(
            e.largest.contains("the mixture: 2 component(s)"),
            "{}",
            e.largest
        );
        gmm.gmm.as_mut().unwrap().covariance_type = CovarianceType::Diag;
        assert!(estimate(&gmm, 30, 10_000).bytes < 1e7);

        let mut dagmm = config(DetectorKind::Dagmm);
        dagmm.compression.as_mut().unwrap().encoder_layers = vec![4, 1_000_000_000];
        let err = check_fits(&dagmm, 100, 12, Some(16e9))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("compression.encoder_layers = [4, 1000000000]")
                && err.contains("16.0 GB available"),
            "{err}"
        );
        // The paper's KDDCUP network is a few megabytes.
        let mut kdd = config(DetectorKind::Dagmm);
        kdd.compression.as_mut().unwrap().encoder_layers = vec![60, 30, 10, 1];
        let e = estimate(&kdd, 500_000, 118);
        assert!(e.bytes < 2e9 && e.bytes > 5e8, "{}", e.bytes);
        assert!(check_fits(&kdd, 500_000, 118, Some(16e9)).is_ok());
        assert!(check_fits(&kdd, 500_000, 118, None).is_ok());
    }
}
