use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore};

/// A `d_in → d_out` linear layer initialised as PyTorch's `nn.Linear` does by default: weight and
/// bias `U(−1/√d_in, 1/√d_in)`, drawn on the host from `rng` (weight row-major `[d_in, d_out]`,
/// Burn's layout, then the bias), so the same seed gives the same layer on every device.
pub fn linear_pytorch_default(
    d_in: usize,
    d_out: usize,
    rng: &mut dyn RngCore,
    device: &Device,
) -> Linear {
    let bound = 1.0 / (d_in as f64).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect()
    };
    let w = draw(d_in * d_out);
    let b = draw(d_out);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(b, [d_out]),
            device,
        ))),
    }
}
