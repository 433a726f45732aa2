//! DSEBM and DCN, the DAGMM paper's deep external baselines: DSEBM's energy and its hand-written
//! gradient against a host computation in f64, central differences and Burn's autodiff; DCN's
//! centroid update against the running mean it stands for, its k-means start against Lloyd's
//! fixed point, its score against the distances it names; both learn and round-trip.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use dagmm_evaluation::{roc_auc, Direction};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::f64s;
use crate::*;

/// The energy `½‖x − b′‖² − Σ h_L` of one row in f64, from the layers' values
/// (`[in, out]` row-major weights, biases).
fn host_energy(layers: &[(Vec<f64>, Vec<f64>)], b_prime: &[f64], x: &[f64]) -> f64 {
    let mut h = x.to_vec();
    for (w, b) in layers {
        let out = b.len();
        h = (0..out)
            .map(|j| {
                let a: f64 = b[j]
                    + h.iter()
                        .enumerate()
                        .map(|(i, v)| v * w[i * out + j])
                        .sum::<f64>();
                a.max(0.0) + (-a.abs()).exp().ln_1p()
            })
            .collect();
    }
    let quadratic: f64 = x.iter().zip(b_prime).map(|(v, b)| (v - b) * (v - b)).sum();
    0.5 * quadratic - h.iter().sum::<f64>()
}

fn rows(values: &[f64], n: usize, d: usize, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(v, [n, d]), device)
}

#[test]
fn dsebm_energy_and_gradient_match_f64_central_differences_and_autodiff() {
    let device = Device::flex();
    let (n, d) = (6, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut net = DsebmNetwork::new(d, &[4, 5], &mut rng, &device);
    let b_prime = [0.3, -0.2, 0.1];
    net.b_prime = Param::from_tensor(Tensor::from_data(
        TensorData::new(b_prime.iter().map(|&v| v as f32).collect(), [d]),
        &device,
    ));
    let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.5..1.5)).collect();
    let layers: Vec<(Vec<f64>, Vec<f64>)> = net
        .layers
        .iter()
        .map(|l| {
            (
                f64s(l.weight.val()),
                f64s(l.bias.as_ref().expect("bias").val()),
            )
        })
        .collect();
    // The f32 values the device sees, so the comparison measures the algebra, not the rounding.
    let x32: Vec<f64> = x.iter().map(|&v| v as f32 as f64).collect();
    let b32: Vec<f64> = b_prime.iter().map(|&v| v as f32 as f64).collect();

    let (energy, gradient) = net.energy_and_gradient(rows(&x, n, d, &device));
    let (energy, gradient) = (f64s(energy), f64s(gradient));

    let step = 1e-5;
    for i in 0..n {
        let row = &x32[i * d..(i + 1) * d];
        let want = host_energy(&layers, &b32, row);
        assert!(
            (energy[i] - want).abs() < 1e-5 * want.abs().max(1.0),
            "row {i}: energy {} vs {want}",
            energy[i]
        );
        for k in 0..d {
            let mut up = row.to_vec();
            let mut down = row.to_vec();
            up[k] += step;
            down[k] -= step;
            let fd = (host_energy(&layers, &b32, &up) - host_energy(&layers, &b32, &down))
                / (2.0 * step);
            let got = gradient[i * d + k];
            assert!(
                (got - fd).abs() < 1e-4 * fd.abs().max(1.0),
                "row {i}, feature {k}: ∂E/∂x {got} vs central difference {fd}"
            );
        }
    }

    // Burn's autodiff of the energy with respect to the rows gives the same gradient.
    let autodiff = device.clone().autodiff();
    let x_ad = rows(&x, n, d, &autodiff).require_grad();
    let (e_ad, _) = net.clone().train().energy_and_gradient(x_ad.clone());
    let grads = e_ad.sum().backward();
    let g_ad = f64s(x_ad.grad(&grads).expect("x requires its gradient"));
    for (a, b) in g_ad.iter().zip(&gradient) {
        assert!(
            (a - b).abs() < 1e-5 * b.abs().max(1.0),
            "autodiff {a} vs by hand {b}"
        );
    }
}

/// Rows of `N(centre, spread² I)` in 2-D.
fn blob(n: usize, centre: [f64; 2], spread: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n)
        .flat_map(|_| {
            let r = spread * (-2.0 * rng.random_range(1e-12..1.0f64).ln()).sqrt();
            let t = rng.random_range(0.0..std::f64::consts::TAU);
            [centre[0] + r * t.cos(), centre[1] + r * t.sin()]
        })
        .collect()
}

/// Rows at distance `radius` from `centre`, in every direction.
fn ring(n: usize, centre: [f64; 2], radius: f64) -> Vec<f64> {
    (0..n)
        .flat_map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            [centre[0] + radius * t.cos(), centre[1] + radius * t.sin()]
        })
        .collect()
}

fn dsebm_config(score: DsebmScore) -> DsebmConfig {
    DsebmConfig {
        hidden_layers: vec![16, 16],
        noise_std: 0.2,
        score,
        training: Schedule {
            epochs: 40,
            batch_size: 32,
            learning_rate: 1e-2,
        },
    }
}

#[test]
fn dsebm_learns_where_the_rows_are_and_scores_rows_away_from_them_higher() {
    // The untrained energy is ½‖x‖² plus a random network: lowest near the origin, not near the
    // rows. Outliers sit on a ring around the rows' centre, half of them nearer the origin.
    let centre = [1.5, -1.5];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let train = Array2::from_shape_vec((400, 2), blob(400, centre, 0.2, &mut rng)).unwrap();
    let mut test = blob(100, centre, 0.2, &mut rng);
    test.extend(ring(40, centre, 1.2));
    let test = Array2::from_shape_vec((140, 2), test).unwrap();
    let labels: Vec<u8> = (0..140).map(|i| u8::from(i >= 100)).collect();

    let config = dsebm_config(DsebmScore::Energy);
    let (model, history) = Dsebm::fit(
        config,
        DeviceChoice::Flex,
        0,
        test_view(&train),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(history.len(), 40);
    assert!(history.iter().all(|e| e.total.is_finite()));
    assert!(
        history[39].total < 0.8 * history[0].total,
        "the score-matching loss falls: {} -> {}",
        history[0].total,
        history[39].total
    );
    let s = model.scores(test_view(&test)).unwrap();
    let energy_auc = roc_auc(&s.energy, &labels, Direction::HighIsAnomalous).unwrap();
    let recon_auc = roc_auc(&s.reconstruction_error, &labels, Direction::HighIsAnomalous).unwrap();
    assert!(energy_auc > 0.95, "energy ROC AUC {energy_auc}");
    assert!(recon_auc > 0.9, "reconstruction ROC AUC {recon_auc}");
    assert_eq!(s.score(DsebmScore::Energy), &s.energy[..]);
    assert_eq!(
        s.score(DsebmScore::Reconstruction),
        &s.reconstruction_error[..]
    );

    // The same seed gives the same model; a saved one scores the same.
    let (again, _) = Dsebm::fit(
        dsebm_config(DsebmScore::Energy),
        DeviceChoice::Flex,
        0,
        test_view(&train),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(again.scores(test_view(&test)).unwrap(), s);
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = Dsebm::load(dir.path(), None).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.scores(test_view(&test)).unwrap(), s);
}

fn test_view(x: &Array2<f64>) -> dagmm_data::FeaturesView<'_> {
    x.view().into()
}

#[test]
fn dcn_centroid_update_is_the_running_mean_of_what_each_centroid_absorbed() {
    let mut c = Centroids {
        dim: 2,
        means: vec![0.0, 0.0, 10.0, 10.0],
        counts: vec![3.0, 5.0],
    };
    let codes = [
        [1.0, 2.0],
        [9.0, 11.0],
        [-1.0, 0.5],
        [12.0, 8.0],
        [2.0, 1.0],
    ];
    let ks: Vec<usize> = codes.iter().map(|z| c.absorb(z)).collect();
    assert_eq!(ks, vec![0, 1, 0, 1, 0]);
    // Closed form: (c₀·m₀ + Σ absorbed) / (c₀ + absorbed).
    let mean0 = [
        (3.0 * 0.0 + 1.0 - 1.0 + 2.0) / 6.0,
        (3.0 * 0.0 + 2.0 + 0.5 + 1.0) / 6.0,
    ];
    let mean1 = [
        (5.0 * 10.0 + 9.0 + 12.0) / 7.0,
        (5.0 * 10.0 + 11.0 + 8.0) / 7.0,
    ];
    for (got, want) in c.means.iter().zip(mean0.iter().chain(&mean1)) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert_eq!(c.counts, vec![6.0, 7.0]);
    assert_eq!(c.nearest(&[9.0, 9.0]).0, 1);
}

/// Three tight groups in 5-D, 60 rows each, in [0, 1].
fn groups(rng: &mut ChaCha8Rng) -> (Array2<f64>, Vec<usize>) {
    let centres = [
        [0.1, 0.1, 0.9, 0.5, 0.2],
        [0.9, 0.2, 0.1, 0.5, 0.8],
        [0.5, 0.9, 0.5, 0.1, 0.5],
    ];
    let mut v = Vec::new();
    let mut group = Vec::new();
    for i in 0..180 {
        let g = i % 3;
        group.push(g);
        v.extend(centres[g].iter().map(|c| c + rng.random_range(-0.03..0.03)));
    }
    (Array2::from_shape_vec((180, 5), v).unwrap(), group)
}

fn dcn_config(pretrain_epochs: usize, epochs: usize) -> DcnConfig {
    DcnConfig {
        encoder_layers: vec![8, 2],
        n_clusters: 3,
        lambda: 1.0,
        initial_counts: 100.0,
        kmeans_starts: 5,
        pretrain_epochs,
        training: Schedule {
            epochs,
            batch_size: 32,
            learning_rate: 1e-2,
        },
    }
}

#[test]
fn dcn_starts_from_lloyds_fixed_point_and_scores_the_distance_to_the_nearest_centroid() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (x, group) = groups(&mut rng);

    // No training: the centroids are k-means' on the codes, a fixed point of Lloyd's step
    // (every centroid the mean of the codes nearest to it).
    let (start, history) = Dcn::fit(
        dcn_config(0, 0),
        DeviceChoice::Flex,
        0,
        test_view(&x),
        &mut |_| {},
    )
    .unwrap();
    assert!(history.is_empty());
    let s = start.scores(test_view(&x)).unwrap();
    let c = start.centroids();
    assert_eq!(c.counts, vec![100.0; 3]);
    for k in 0..3 {
        let members: Vec<usize> = (0..180).filter(|&i| s.cluster[i] == k).collect();
        assert!(!members.is_empty(), "cluster {k} is empty");
        for j in 0..2 {
            let mean = members.iter().map(|&i| s.z[[i, j]]).sum::<f64>() / members.len() as f64;
            assert!(
                (mean - c.means[k * 2 + j]).abs() < 1e-4,
                "centroid {k}, coordinate {j}: {} vs the mean of its codes {mean}",
                c.means[k * 2 + j]
            );
        }
    }

    // Trained: pretraining then joint epochs, each reported; the three groups are three clusters.
    let (model, history) = Dcn::fit(
        dcn_config(30, 20),
        DeviceChoice::Flex,
        0,
        test_view(&x),
        &mut |_| {},
    )
    .unwrap();
    let stages: Vec<String> = history.iter().map(|e| e.stage.to_string()).collect();
    assert_eq!(stages.iter().filter(|s| *s == "finetune").count(), 30);
    assert_eq!(stages.iter().filter(|s| *s == "train").count(), 20);
    let joint = &history[30..];
    assert!(joint
        .iter()
        .all(|e| e.regularization > 0.0 && e.total.is_finite()));
    for e in joint {
        assert!((e.total - e.reconstruction - e.regularization).abs() < 1e-5 * e.total.max(1.0));
    }
    let s = model.scores(test_view(&x)).unwrap();
    let c = model.centroids();
    assert!(c.counts.iter().sum::<f64>() == 300.0 + 20.0 * 180.0);
    let mut cluster_of_group = [None; 3];
    for i in 0..180 {
        let slot = &mut cluster_of_group[group[i]];
        assert_eq!(
            *slot.get_or_insert(s.cluster[i]),
            s.cluster[i],
            "group {} split",
            group[i]
        );
        // The score is the Euclidean distance to the nearest centroid.
        let want = (0..3)
            .map(|k| {
                ((s.z[[i, 0]] - c.means[2 * k]).powi(2)
                    + (s.z[[i, 1]] - c.means[2 * k + 1]).powi(2))
                .sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert!((s.distance[i] - want).abs() < 1e-9);
    }
    let mut used: Vec<usize> = cluster_of_group.iter().map(|c| c.unwrap()).collect();
    used.sort();
    used.dedup();
    assert_eq!(used.len(), 3, "three groups, three clusters");

    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = Dcn::load(dir.path(), None).unwrap();
    assert_eq!(loaded.centroids(), model.centroids());
    assert_eq!(loaded.scores(test_view(&x)).unwrap(), s);
}

#[test]
fn bad_settings_name_their_field() {
    let d = DsebmConfig {
        hidden_layers: vec![8, 0],
        ..DsebmConfig::default()
    };
    assert!(d
        .validate()
        .unwrap_err()
        .to_string()
        .contains("dsebm.hidden_layers"));
    let c = DcnConfig {
        n_clusters: 0,
        ..DcnConfig::default()
    };
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("dcn.n_clusters"));
    let mut c = DcnConfig::default();
    c.training.batch_size = 0;
    assert!(c.validate().unwrap_err().to_string().contains("batch_size"));
    // Fewer rows than clusters is a data error, not a panic.
    let x = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 / 12.0);
    let err = Dcn::fit(
        DcnConfig::default(),
        DeviceChoice::Flex,
        0,
        test_view(&x),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("n_clusters"), "{err}");
}
