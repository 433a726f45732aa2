//! Our DSEBM against a PyTorch DSEBM written from Zhai et al. (2016) in float64, whose score is
//! torch.autograd's and whose training gradient is a true second-order derivative (ours writes
//! the score out by hand and Burn differentiates once). The fixture (`fixtures/torch_dsebm.json`,
//! made by `scripts/make_dsebm_fixture.py`) holds, from the same weights, rows and corruption
//! noise: energies and scores of clean rows, the score-matching loss and its gradient with respect
//! to every parameter, and the losses and weights along 30 full-batch Adam steps.
//!
//! Ours runs in f32: each quantity must match within `REL` of the largest magnitude of its kind
//! (f32 carries about 6e-8; a wrong sign, factor or transposition moves them by far more).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;

use super::f64s;
use crate::dsebm::score_matching_loss;
use crate::*;

const FIXTURE: &str = include_str!("fixtures/torch_dsebm.json");
/// The tolerance, as a share of each quantity's largest magnitude.
const REL: f64 = 1e-4;

#[derive(Deserialize)]
struct Fixture {
    input_dim: usize,
    hidden_layers: Vec<usize>,
    rows: usize,
    learning_rate: f64,
    x: Vec<f64>,
    noises: Vec<Vec<f64>>,
    /// `W_1, b_1, W_2, b_2, …, b′`.
    initial: Vec<Vec<f64>>,
    energy: Vec<f64>,
    score: Vec<f64>,
    loss: f64,
    gradients: Vec<Vec<f64>>,
    losses: Vec<f64>,
    #[serde(rename = "final")]
    final_weights: Vec<Vec<f64>>,
}

fn tensor<const D: usize>(v: &[f64], shape: [usize; D], device: &Device) -> Tensor<D> {
    let f: Vec<f32> = v.iter().map(|&a| a as f32).collect();
    Tensor::from_data(TensorData::new(f, shape), device)
}

fn network(f: &Fixture, device: &Device) -> DsebmNetwork {
    let mut widths = vec![f.input_dim];
    widths.extend(&f.hidden_layers);
    let layers = widths
        .windows(2)
        .enumerate()
        .map(|(l, w)| Linear {
            weight: Param::from_tensor(tensor(&f.initial[2 * l], [w[0], w[1]], device)),
            bias: Some(Param::from_tensor(tensor(
                &f.initial[2 * l + 1],
                [w[1]],
                device,
            ))),
        })
        .collect();
    let b = f.initial.last().unwrap();
    DsebmNetwork {
        layers,
        b_prime: Param::from_tensor(tensor(b, [f.input_dim], device)),
    }
}

/// The network's parameters in the fixture's order.
fn values(net: &DsebmNetwork) -> Vec<Vec<f64>> {
    let mut v = Vec::new();
    for l in &net.layers {
        v.push(f64s(l.weight.val()));
        v.push(f64s(l.bias.as_ref().unwrap().val()));
    }
    v.push(f64s(net.b_prime.val()));
    v
}

fn gradients(net: &DsebmNetwork, grads: &GradientsParams) -> Vec<Vec<f64>> {
    let mut v = Vec::new();
    for l in &net.layers {
        v.push(f64s(grads.get::<2>(l.weight.id).unwrap()));
        v.push(f64s(grads.get::<1>(l.bias.as_ref().unwrap().id).unwrap()));
    }
    v.push(f64s(grads.get::<1>(net.b_prime.id).unwrap()));
    v
}

fn assert_close(ours: &[f64], torch: &[f64], what: &str) {
    assert_eq!(ours.len(), torch.len(), "{what}");
    let scale = torch.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    for (i, (a, b)) in ours.iter().zip(torch).enumerate() {
        assert!(
            (a - b).abs() <= REL * scale,
            "{what}[{i}]: ours {a}, PyTorch {b} (largest magnitude {scale})"
        );
    }
}

#[test]
fn energy_score_loss_gradients_and_adam_steps_match_pytorch() {
    let f: Fixture = serde_json::from_str(FIXTURE).unwrap();
    let (n, d) = (f.rows, f.input_dim);
    let device = Device::flex();
    let net = network(&f, &device);

    let (energy, score) = net.energy_and_gradient(tensor(&f.x, [n, d], &device));
    assert_close(&f64s(energy), &f.energy, "energy");
    assert_close(&f64s(score), &f.score, "∂E/∂x");

    let autodiff = device.autodiff();
    let x = tensor(&f.x, [n, d], &autodiff);
    let mut net = net.train();
    let (loss, _) = score_matching_loss(&net, x.clone(), tensor(&f.noises[0], [n, d], &autodiff));
    assert_close(&f64s(loss.clone()), &[f.loss], "score-matching loss");
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    for (k, (ours, torch)) in gradients(&net, &grads).iter().zip(&f.gradients).enumerate() {
        assert_close(ours, torch, &format!("gradient of parameter {k}"));
    }

    let mut adam = AdamConfig::new().with_epsilon(1e-8).init();
    for (step, noise) in f.noises.iter().enumerate() {
        let (loss, _) = score_matching_loss(&net, x.clone(), tensor(noise, [n, d], &autodiff));
        let value = f64s(loss.clone())[0];
        assert!(
            (value - f.losses[step]).abs() <= 1e-3 * f.losses[step].abs(),
            "loss before step {step}: ours {value}, PyTorch {}",
            f.losses[step]
        );
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = adam.step(f.learning_rate, net, grads);
    }
    for (k, (ours, torch)) in values(&net).iter().zip(&f.final_weights).enumerate() {
        let scale = torch.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in ours.iter().zip(torch) {
            assert!(
                (a - b).abs() <= 1e-3 * scale,
                "parameter {k} after {} Adam steps: ours {a}, PyTorch {b}",
                f.noises.len()
            );
        }
    }
}
