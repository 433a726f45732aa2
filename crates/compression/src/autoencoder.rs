use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use rand::RngCore;

use crate::{
    linear_pytorch_default, reconstruction_features, CompressionNetwork, CompressionOutput,
};

/// The paper's deterministic autoencoder: encoder `d-h1-…-latent` with `tanh` between layers
/// and a linear bottleneck, decoder mirrored (`latent-…-h1-d`, `tanh` between layers, linear
/// output).
#[derive(Module, Debug)]
pub struct Autoencoder {
    /// Encoder layers, input first.
    pub encoder: Vec<Linear>,
    /// Decoder layers, code first.
    pub decoder: Vec<Linear>,
    norm_eps: f64,
    input_dim: usize,
    latent_dim: usize,
}

impl Autoencoder {
    /// A new autoencoder for `input_dim` features with these encoder widths (the last is the
    /// latent width), weights drawn from `rng` (encoder layers first, then decoder layers).
    pub fn new(
        input_dim: usize,
        encoder_layers: &[usize],
        norm_eps: f64,
        rng: &mut dyn RngCore,
        device: &Device,
    ) -> Self {
        let mut widths = vec![input_dim];
        widths.extend_from_slice(encoder_layers);
        let encoder = widths
            .windows(2)
            .map(|w| linear_pytorch_default(w[0], w[1], rng, device))
            .collect();
        let decoder = widths
            .iter()
            .rev()
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| linear_pytorch_default(*w[0], *w[1], rng, device))
            .collect();
        Self {
            encoder,
            decoder,
            norm_eps,
            input_dim,
            latent_dim: *encoder_layers
                .last()
                .expect("validated: at least one layer"),
        }
    }

    /// The code `z_c` of `x`.
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        run_layers(&self.encoder, x)
    }

    /// The last hidden activation of the encoder (the input of its last, linear layer; `x` itself
    /// when the encoder has one layer). A VAE puts its log-variance head here.
    pub fn encode_hidden(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.encoder.len() - 1;
        self.encoder[..last]
            .iter()
            .fold(x, |h, layer| tanh(layer.forward(h)))
    }

    /// Width of the last hidden activation of the encoder.
    pub fn hidden_width(&self) -> usize {
        self.encoder[self.encoder.len() - 1]
            .weight
            .shape()
            .dims::<2>()[0]
    }

    /// The reconstruction of a code.
    pub fn decode(&self, z_c: Tensor<2>) -> Tensor<2> {
        run_layers(&self.decoder, z_c)
    }

    /// The `ε` of the reconstruction features' norms.
    pub(crate) fn norm_eps(&self) -> f64 {
        self.norm_eps
    }

    /// The layer widths, input first, code in the middle, output last.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.input_dim];
        for layer in self.encoder.iter().chain(self.decoder.iter()) {
            w.push(layer.weight.shape().dims::<2>()[1]);
        }
        w
    }
}

impl Autoencoder {
    /// Decode `z_c` and assemble the output: `z = [z_c, relative distance, cosine]`, the squared
    /// error per row, and the variant's extra loss term (shared by every variant).
    pub(crate) fn finish(
        &self,
        x: Tensor<2>,
        z_c: Tensor<2>,
        regularization: Option<Tensor<1>>,
    ) -> CompressionOutput {
        let x_hat = self.decode(z_c.clone());
        let f = reconstruction_features(x, x_hat.clone(), self.norm_eps);
        let z = Tensor::cat(
            vec![z_c.clone(), f.relative_distance, f.cosine_similarity],
            1,
        );
        let n = f.squared_error.dims()[0];
        CompressionOutput {
            z_c,
            z,
            x_hat,
            reconstruction_error: f.squared_error.reshape([n]),
            regularization,
            code_counts: None,
        }
    }
}

/// `tanh(x)` computed as `2σ(2x) − 1`, equal to it within ~1e-7 absolute in f32.
///
/// Why not `Tensor::tanh`: Burn 0.22's autodiff recomputes `tanh` from the input in the backward
/// pass, and the CPU backends evaluate it with libm's scalar `tanhf` (through `expm1f`), which
/// made `tanh` about 30% of a KDDCUP training step on flex; the sigmoid is one fused kernel built
/// on `expf`, so a training step is about 1.5× faster. Training and evaluation use the same
/// function.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    burn::tensor::activation::sigmoid(x.mul_scalar(2.0))
        .mul_scalar(2.0)
        .sub_scalar(1.0)
}

/// Linear layers with `tanh` between them and none after the last.
fn run_layers(layers: &[Linear], mut h: Tensor<2>) -> Tensor<2> {
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        h = layer.forward(h);
        if i < last {
            h = tanh(h);
        }
    }
    h
}

impl CompressionNetwork for Autoencoder {
    fn compress(&self, x: Tensor<2>, _rng: Option<&mut dyn RngCore>) -> CompressionOutput {
        let z_c = self.encode(x.clone());
        self.finish(x, z_c, None)
    }

    fn input_dim(&self) -> usize {
        self.input_dim
    }

    fn latent_dim(&self) -> usize {
        self.latent_dim
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compression, CompressionConfig};
    use burn::tensor::TensorData;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn to_vec(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    fn batch(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
        let d = rows[0].len();
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), d]), device)
    }

    fn ae(d: usize, layers: &[usize], seed: u64, device: &Device) -> Autoencoder {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match CompressionConfig::autoencoder(layers.to_vec())
            .init(d, &mut rng, device)
            .unwrap()
        {
            Compression::Autoencoder(ae) => ae,
            other => panic!("asked for an autoencoder, got {other:?}"),
        }
    }

    #[test]
    fn kddcup_architecture_is_d_60_30_10_1_mirrored() {
        let device = Device::flex();
        let net = ae(118, &[60, 30, 10, 1], 0, &device);
        assert_eq!(net.widths(), vec![118, 60, 30, 10, 1, 10, 30, 60, 118]);
        assert_eq!(
            (net.input_dim(), net.latent_dim(), net.z_dim()),
            (118, 1, 3)
        );
        // 118*60+60 + 60*30+30 + 30*10+10 + 10*1+1, twice mirrored.
        let enc = 118 * 60 + 60 + 60 * 30 + 30 + 30 * 10 + 10 + 10 + 1;
        let dec = 10 + 10 + 10 * 30 + 30 + 30 * 60 + 60 + 60 * 118 + 118;
        assert_eq!(net.num_params(), enc + dec);
    }

    #[test]
    fn z_is_code_relative_distance_and_cosine_and_error_is_squared_l2() {
        let device = Device::flex();
        let net = ae(5, &[3, 2], 7, &device);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let rows: Vec<Vec<f32>> = (0..6)
            .map(|_| (0..5).map(|_| rng.random_range(0.0..1.0f32)).collect())
            .collect();
        let out = net.compress(batch(&rows, &device), None);
        assert_eq!(out.z.dims(), [6, 4]);
        assert!(out.regularization.is_none());
        let z = to_vec(out.z);
        let z_c = to_vec(out.z_c);
        let x_hat = to_vec(out.x_hat);
        let err = out
            .reconstruction_error
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        for (i, x) in rows.iter().enumerate() {
            let xh = &x_hat[i * 5..(i + 1) * 5];
            let sq: f64 = x
                .iter()
                .zip(xh)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum();
            let nx: f64 = x.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
            let nxh: f64 = xh.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
            let dot: f64 = x
                .iter()
                .zip(xh)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum();
            let want = [
                z_c[2 * i] as f64,
                z_c[2 * i + 1] as f64,
                sq.sqrt() / nx,
                dot / (nx * nxh),
            ];
            for (j, w) in want.iter().enumerate() {
                let got = z[4 * i + j] as f64;
                assert!(
                    (got - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "row {i} col {j}: {got} vs {w}"
                );
            }
            assert!((err[i] as f64 - sq).abs() <= 1e-5 * (1.0 + sq), "error {i}");
        }
    }

    #[test]
    fn zero_row_gives_finite_z_and_finite_gradients() {
        let device = Device::flex().autodiff();
        let net = ae(4, &[3, 1], 3, &device);
        let x = batch(&[vec![0.0; 4], vec![0.2, 0.9, 0.1, 0.5]], &device);
        let out = net.compress(x, None);
        let z = out.z.clone();
        let loss = z.clone().sum() + out.reconstruction_error.sum();
        let grads = loss.backward();
        assert!(to_vec(z.inner()).iter().all(|v| v.is_finite()));
        let mut seen = 0;
        for layer in net.encoder.iter().chain(net.decoder.iter()) {
            let gw = layer.weight.val().grad(&grads).expect("weight gradient");
            let gb = layer
                .bias
                .as_ref()
                .unwrap()
                .val()
                .grad(&grads)
                .expect("bias gradient");
            assert!(to_vec(gw).iter().all(|v| v.is_finite()));
            assert!(gb
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|v| v.is_finite()));
            seen += 1;
        }
        assert_eq!(seen, 4);
    }

    #[test]
    fn tanh_via_sigmoid_equals_tanh() {
        let device = Device::flex();
        let v: Vec<f32> = (-400..=400).map(|i| i as f32 * 0.025).collect();
        let n = v.len();
        let got = to_vec(tanh(Tensor::<2>::from_data(
            TensorData::new(v.clone(), [1, n]),
            &device,
        )));
        for (g, x) in got.iter().zip(&v) {
            assert!(
                (g - x.tanh()).abs() < 2e-7,
                "tanh({x}) = {g} vs {}",
                x.tanh()
            );
        }
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let device = Device::flex();
        let w = |seed| to_vec(ae(6, &[4, 1], seed, &device).encoder[0].weight.val());
        assert_eq!(w(11), w(11));
        assert_ne!(w(11), w(12));
        // PyTorch's default bound 1/sqrt(fan_in).
        assert!(w(11).iter().all(|v| v.abs() <= 1.0 / 6f32.sqrt()));
    }
}
