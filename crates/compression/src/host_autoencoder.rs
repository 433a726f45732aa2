//! The plain autoencoder's training pass on the host: forward and backward written out, f32, for
//! the threads of a split training step (`dagmm_model`'s `parallel` module).
//!
//! Why: on flex each layer of the tensor version is a matrix product and six element-wise ops
//! (the bias, `tanh` as `2σ(2x) − 1` with libm's scalar `expf`, and their backward ops), each a
//! pass over the batch with autodiff bookkeeping; the products were a sixth of a training step.
//! Here a layer is one matrix product (`matrixmultiply`, through ndarray) and one pass that adds
//! the bias and applies a `tanh` the compiler vectorises; the backward pass is the textbook one.
//!
//! The same function as [`Autoencoder::compress`](crate::Autoencoder) (tests check the outputs
//! and the gradients against Burn's autodiff): `h_l = tanh(h_{l−1} W_l + b_l)` except after the
//! encoder's and the decoder's last layers; `z = [z_c, ‖x − x'‖_ε/‖x‖_ε, x·x'/(‖x‖_ε ‖x'‖_ε)]`;
//! the squared error `Σ_j (x_j − x'_j)²`.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::Tensor;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::{wide_fn, Autoencoder};

/// What follows a layer's matrix product and bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    /// [`tanh_f32`].
    Tanh,
}

/// A copy of one Burn linear layer's weights (`[in, out]`, Burn's layout) and bias on the host.
#[derive(Debug, Clone)]
pub struct HostLinear {
    pub weight: Array2<f32>,
    pub bias: Option<Array1<f32>>,
}

/// An autoencoder's weights on the host, for [`forward`](Self::forward) and
/// [`backward`](Self::backward).
#[derive(Debug, Clone)]
pub struct HostAutoencoder {
    /// Encoder layers, then decoder layers.
    layers: Vec<HostLinear>,
    encoder_layers: usize,
    norm_eps: f32,
}

/// What the forward pass keeps for the backward pass, and its outputs.
#[derive(Debug, Clone)]
pub struct HostPass {
    /// Every layer's output, `h_1 … h_L` (`h_E = z_c`, `h_L = x'`).
    outputs: Vec<Array2<f32>>,
    /// `z = [z_c, relative distance, cosine]`, `[n, latent + 2]`.
    pub z: Array2<f32>,
    /// `Σ_j (x_j − x'_j)²` per row.
    pub squared_error: Vec<f32>,
    /// `(‖x‖_ε, ‖x'‖_ε, ‖x − x'‖_ε)` per row, which the backward pass needs again.
    norms: Vec<(f32, f32, f32)>,
}

/// The gradients of one layer's weight and bias, in [`HostAutoencoder`]'s layer order.
#[derive(Debug, Clone)]
pub struct LayerGradients {
    pub weight: Array2<f32>,
    pub bias: Option<Array1<f32>>,
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32")
}

impl HostLinear {
    /// A copy of `layer`'s weights.
    pub fn of(layer: &Linear) -> Self {
        let [fan_in, fan_out] = layer.weight.shape().dims::<2>();
        let weight = Array2::from_shape_vec((fan_in, fan_out), values(layer.weight.val()))
            .expect("[in, out]");
        let bias = layer
            .bias
            .as_ref()
            .map(|b| Array1::from_vec(values(b.val())));
        Self { weight, bias }
    }

    /// `h W + b` of the rows `h`, then `activation` of each output.
    pub fn forward(&self, h: ArrayView2<f32>, activation: Activation) -> Array2<f32> {
        let mut a = Array2::<f32>::zeros((h.nrows(), self.weight.ncols()));
        general_mat_mul(1.0, &h, &self.weight, 0.0, &mut a);
        let width = a.ncols();
        let bias = self
            .bias
            .as_ref()
            .map(|b| b.as_slice().expect("contiguous"));
        let values = a.as_slice_mut().expect("standard layout");
        match activation {
            Activation::Identity => add_bias(values, width, bias),
            Activation::Tanh => add_bias_then_tanh(values, width, bias),
        }
        a
    }

    /// The backward pass of the layer for `∂/∂a` = `grad` (`[n, out]`) at the input `input`:
    /// the weight's and bias's gradients, and `∂/∂input` unless `need_input` is false.
    pub fn backward(
        &self,
        input: ArrayView2<f32>,
        grad: ArrayView2<f32>,
        need_input: bool,
    ) -> (LayerGradients, Option<Array2<f32>>) {
        let mut d_weight = Array2::<f32>::zeros(self.weight.raw_dim());
        general_mat_mul(1.0, &input.t(), &grad, 0.0, &mut d_weight);
        let d_bias = self.bias.as_ref().map(|_| grad.sum_axis(Axis(0)));
        let below = need_input.then(|| {
            let mut below = Array2::<f32>::zeros(input.raw_dim());
            general_mat_mul(1.0, &grad, &self.weight.t(), 0.0, &mut below);
            below
        });
        (
            LayerGradients {
                weight: d_weight,
                bias: d_bias,
            },
            below,
        )
    }
}

wide_fn! {
    /// `v ← v + b` for each row of `width` values (plain slices, so that the loop vectorises).
    fn add_bias(values: &mut [f32], width: usize, bias: Option<&[f32]>) {
        if let Some(b) = bias {
            values.chunks_exact_mut(width).for_each(|row| {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            });
        }
    }
}

wide_fn! {
    /// `v ← tanh(v + b)` for each row of `width` values.
    fn add_bias_then_tanh(values: &mut [f32], width: usize, bias: Option<&[f32]>) {
        match bias {
            Some(b) => values.chunks_exact_mut(width).for_each(|row| {
                row.iter_mut().zip(b).for_each(|(v, b)| *v = tanh_f32(*v + b));
            }),
            None => values.iter_mut().for_each(|v| *v = tanh_f32(*v)),
        }
    }
}

/// Adds one column's terms to a row's `[Σ (a−b)², Σ a², Σ b², Σ ab]`.
#[inline(always)]
fn add_terms(sums: &mut [f32; 4], a: f32, b: f32) {
    sums[0] += (a - b) * (a - b);
    sums[1] += a * a;
    sums[2] += b * b;
    sums[3] += a * b;
}

wide_fn! {
    /// `[Σ (a−b)², Σ a², Σ b², Σ ab]` of each row of `x` (`width` values each) and its
    /// reconstruction `x_hat`, each summed left to right. Two rows at a time, so that eight sums
    /// are in flight rather than four (each row's sums still in its own order).
    fn reconstruction_sums(x: &[f32], x_hat: &[f32], width: usize, sums: &mut [[f32; 4]]) {
        let mut rows = x.chunks_exact(width).zip(x_hat.chunks_exact(width));
        let mut pairs = sums.chunks_exact_mut(2);
        for pair in &mut pairs {
            let (a0, b0) = rows.next().expect("a row per sum");
            let (a1, b1) = rows.next().expect("a row per sum");
            let (mut s0, mut s1) = ([0.0f32; 4], [0.0f32; 4]);
            for j in 0..width {
                add_terms(&mut s0, a0[j], b0[j]);
                add_terms(&mut s1, a1[j], b1[j]);
            }
            pair[0] = s0;
            pair[1] = s1;
        }
        if let [last] = pairs.into_remainder() {
            let (a, b) = rows.next().expect("a row per sum");
            a.iter().zip(b).for_each(|(a, b)| add_terms(last, *a, *b));
        }
    }
}

wide_fn! {
    /// `g = c_diff (x − x') + c_x x + c_y x'` row by row, `[c_diff, c_x, c_y]` per row.
    fn reconstruction_gradient(
        x: &[f32],
        x_hat: &[f32],
        width: usize,
        coefficients: &[[f32; 3]],
        grad: &mut [f32],
    ) {
        if width == 0 {
            return;
        }
        for (((g, a), b), &[c_diff, c_x, c_y]) in grad
            .chunks_exact_mut(width)
            .zip(x.chunks_exact(width))
            .zip(x_hat.chunks_exact(width))
            .zip(coefficients)
        {
            for ((g, a), b) in g.iter_mut().zip(a).zip(b) {
                *g = c_diff * (a - b) + c_x * a + c_y * b;
            }
        }
    }
}

wide_fn! {
    /// `g ← g (1 − h²)`: back through `h = tanh(·)`.
    fn times_tanh_derivative(g: &mut [f32], h: &[f32]) {
        g.iter_mut().zip(h).for_each(|(g, h)| *g *= 1.0 - h * h);
    }
}

/// Hands each layer's weight and bias gradients (`grads`, in `layers`' order) to `register` with
/// the parameter's id.
pub fn register_linear_gradients<'a>(
    layers: impl Iterator<Item = &'a Linear>,
    grads: Vec<LayerGradients>,
    register: &mut dyn FnMut(burn::module::ParamId, HostGradient),
) {
    for (layer, g) in layers.zip(grads) {
        register(layer.weight.id, HostGradient::Matrix(g.weight));
        if let (Some(b), Some(gb)) = (&layer.bias, g.bias) {
            register(b.id, HostGradient::Vector(gb));
        }
    }
}

impl HostAutoencoder {
    /// A copy of `ae`'s weights.
    pub fn of(ae: &Autoencoder) -> Self {
        Self {
            layers: ae
                .encoder
                .iter()
                .chain(&ae.decoder)
                .map(HostLinear::of)
                .collect(),
            encoder_layers: ae.encoder.len(),
            norm_eps: ae.norm_eps() as f32,
        }
    }

    /// Whether layer `l` (0-based, encoder then decoder) is followed by `tanh`.
    fn has_tanh(&self, l: usize) -> bool {
        l + 1 != self.encoder_layers && l + 1 != self.layers.len()
    }

    /// The forward pass of the rows `x` (`[n, d]`).
    pub fn forward(&self, x: ArrayView2<f32>) -> HostPass {
        let n = x.nrows();
        let mut outputs: Vec<Array2<f32>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let input = match outputs.last() {
                Some(h) => h.view(),
                None => x.view(),
            };
            let activation = if self.has_tanh(l) {
                Activation::Tanh
            } else {
                Activation::Identity
            };
            let a = layer.forward(input, activation);
            outputs.push(a);
        }
        let z_c = &outputs[self.encoder_layers - 1];
        let x_hat = outputs.last().expect("at least two layers");
        let latent = z_c.ncols();
        let eps2 = self.norm_eps * self.norm_eps;
        let mut z = Array2::<f32>::zeros((n, latent + 2));
        let mut squared_error = Vec::with_capacity(n);
        let mut norms = Vec::with_capacity(n);
        let x = x.as_standard_layout();
        let mut sums = vec![[0.0f32; 4]; n];
        reconstruction_sums(
            x.as_slice().expect("standard layout"),
            x_hat.as_slice().expect("standard layout"),
            x.ncols(),
            &mut sums,
        );
        for (i, &[sq, xx, yy, xy]) in sums.iter().enumerate() {
            let (x_norm, y_norm) = ((xx + eps2).sqrt(), (yy + eps2).sqrt());
            let mut zi = z.row_mut(i);
            for j in 0..latent {
                zi[j] = z_c[[i, j]];
            }
            let distance = (sq + eps2).sqrt();
            zi[latent] = distance / x_norm;
            zi[latent + 1] = xy / (x_norm * y_norm);
            squared_error.push(sq);
            norms.push((x_norm, y_norm, distance));
        }
        HostPass {
            outputs,
            z,
            squared_error,
            norms,
        }
    }

    /// The gradients of every layer's weight and bias of `Σ_i dz_i · z_i + error_weight ·
    /// Σ_i ‖x_i − x'_i‖²` over the rows `x` of `pass`.
    pub fn backward(
        &self,
        x: ArrayView2<f32>,
        pass: &HostPass,
        dz: ArrayView2<f32>,
        error_weight: f32,
    ) -> Vec<LayerGradients> {
        let n = x.nrows();
        let z_c = &pass.outputs[self.encoder_layers - 1];
        let x_hat = pass.outputs.last().expect("at least two layers");
        let latent = z_c.ncols();
        // ∂/∂x' of the relative distance, the cosine and the weighted squared error.
        let mut grad = Array2::<f32>::zeros(x_hat.raw_dim());
        // Each row's ∂/∂x' is c_diff (x − x') + c_x x + c_y x'.
        let coefficients: Vec<[f32; 3]> = (0..n)
            .map(|i| {
                let (x_norm, y_norm, distance) = pass.norms[i];
                let cosine = pass.z[[i, latent + 1]];
                let (d_rel, d_cos) = (dz[[i, latent]], dz[[i, latent + 1]]);
                // rel = √(sq+ε²)/‖x‖: ∂/∂x' = −(x − x')/(‖x‖ √(sq+ε²)); sq: −2(x − x').
                let c_diff = -d_rel / (x_norm * distance) - 2.0 * error_weight;
                // cos = x·x'/(‖x‖‖x'‖): ∂/∂x' = x/(‖x‖‖x'‖) − cos x'/‖x'‖².
                let c_x = d_cos / (x_norm * y_norm);
                let c_y = -d_cos * cosine / (y_norm * y_norm);
                [c_diff, c_x, c_y]
            })
            .collect();
        let x_rows = x.as_standard_layout();
        reconstruction_gradient(
            x_rows.as_slice().expect("standard layout"),
            x_hat.as_slice().expect("standard layout"),
            x_hat.ncols(),
            &coefficients,
            grad.as_slice_mut().expect("standard layout"),
        );
        let mut grads: Vec<Option<LayerGradients>> = vec![None; self.layers.len()];
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let output = &pass.outputs[l];
            if self.has_tanh(l) {
                times_tanh_derivative(
                    grad.as_slice_mut().expect("standard layout"),
                    output.as_slice().expect("standard layout"),
                );
            }
            let input = if l == 0 {
                x.view()
            } else {
                pass.outputs[l - 1].view()
            };
            let (g, below) = layer.backward(input, grad.view(), l > 0);
            grads[l] = Some(g);
            let Some(mut below) = below else {
                break;
            };
            if l == self.encoder_layers {
                // The decoder's input is z_c, which z also holds.
                below.zip_mut_with(&dz.slice(ndarray::s![.., ..latent]), |g, d| *g += d);
            }
            grad = below;
        }
        grads.into_iter().map(|g| g.expect("every layer")).collect()
    }
}

impl Autoencoder {
    /// Visits every layer's weight and bias parameters with the gradients of
    /// [`HostAutoencoder::backward`] for them (same order): `register(param id, gradient)`.
    pub fn host_gradients(
        &self,
        grads: Vec<LayerGradients>,
        register: &mut dyn FnMut(burn::module::ParamId, HostGradient),
    ) {
        register_linear_gradients(self.encoder.iter().chain(&self.decoder), grads, register);
    }
}

/// A parameter's gradient from [`HostAutoencoder::backward`].
#[derive(Debug, Clone)]
pub enum HostGradient {
    Matrix(Array2<f32>),
    Vector(Array1<f32>),
}

/// `compare(host, autodiff, name)` of [`compare_gradients`].
pub type CompareGradient<'a> = dyn FnMut(&[f64], &[f64], &str) + 'a;

/// Each float parameter's gradient from a hand-written backward pass (`host`, by parameter id)
/// beside Burn's (`autodiff`), in `module`'s visiting order: `compare(host, autodiff, name)` for
/// each, both widened to f64 (an empty slice where one has none). Returns how many it compared.
pub fn compare_gradients<M: Module>(
    module: &M,
    autodiff: &burn::tensor::Gradients,
    host: &std::collections::HashMap<ParamId, HostGradient>,
    compare: &mut CompareGradient<'_>,
) -> usize {
    struct Compare<'a> {
        autodiff: &'a burn::tensor::Gradients,
        host: &'a std::collections::HashMap<ParamId, HostGradient>,
        compare: &'a mut CompareGradient<'a>,
        compared: usize,
    }
    impl ModuleVisitor for Compare<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let want: Vec<f64> = param
                .val()
                .grad(self.autodiff)
                .map(|g| values(g).into_iter().map(f64::from).collect())
                .unwrap_or_default();
            let got: Vec<f64> = match self.host.get(&param.id) {
                Some(HostGradient::Matrix(m)) => m.iter().map(|&v| f64::from(v)).collect(),
                Some(HostGradient::Vector(v)) => v.iter().map(|&v| f64::from(v)).collect(),
                None => Vec::new(),
            };
            (self.compare)(&got, &want, &format!("parameter {}", self.compared));
            self.compared += 1;
        }
    }
    let mut visitor = Compare {
        autodiff,
        host,
        compare,
        compared: 0,
    };
    module.visit(&mut visitor);
    visitor.compared
}

/// `tanh(x) = 1 − 2/(1 + e^{2x})` with an `exp` of plain arithmetic (so loops over it vectorise),
/// within 2e-7 of `tanh` (Burn's `2σ(2x) − 1` in f32 is as close).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp_f32(2.0 * x))
}

/// `e^x` for `x` clamped to `[−87, 88]`: `2^n · p(r)` with `n = round(x / ln 2)`, `r = x − n ln 2`
/// (`|r| ≤ ln 2 / 2`) and `p` the degree-6 Taylor polynomial (relative error about 1e-7); the
/// rounding and `2^n` by the bits of `x / ln 2 + 1.5·2²³`.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + MAGIC;
    let nf = shifted - MAGIC;
    let r = x - nf * LN2_HI - nf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let n = shifted.to_bits() as i32 - MAGIC.to_bits() as i32;
    p * f32::from_bits(((n + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompressionConfig, CompressionNetwork};
    use burn::module::Module;
    use burn::tensor::{Device, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn tanh_is_within_2e_7_of_tanh() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5; // [-10, 10]
            let err = (f64::from(tanh_f32(x)) - f64::from(x).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 2e-7, "largest error {worst}");
        assert_eq!(tanh_f32(100.0), 1.0);
        assert_eq!(tanh_f32(-100.0), -1.0);
        assert_eq!(tanh_f32(0.0), 0.0);
    }

    /// Forward outputs and the gradients of `Σ dz·z + w Σ‖x − x'‖²` equal Burn's autodiff of
    /// [`Autoencoder::compress`], on the paper's layer shapes (smaller input) and random rows.
    #[test]
    fn forward_and_gradients_match_autodiff() {
        let (n, d) = (37, 20);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let device = Device::flex();
        let ae = match CompressionConfig::autoencoder(vec![12, 6, 1])
            .init(d, &mut rng, &device)
            .unwrap()
        {
            crate::Compression::Autoencoder(ae) => ae,
            _ => unreachable!(),
        };
        let x: Vec<f32> = (0..n * d).map(|_| rng.random_range(0.0..1.0f32)).collect();
        let dz: Vec<f32> = (0..n * 3).map(|_| rng.random_range(-1.0..1.0f32)).collect();
        let w = 0.01f32;
        let xa = Array2::from_shape_vec((n, d), x.clone()).unwrap();
        let host = HostAutoencoder::of(&ae);
        let pass = host.forward(xa.view());
        let dza = Array2::from_shape_vec((n, 3), dz.clone()).unwrap();
        let grads = host.backward(xa.view(), &pass, dza.view(), w);

        let trained = ae.clone().train();
        let ad = device.clone().autodiff();
        let xt = Tensor::<2>::from_data(TensorData::new(x, [n, d]), &ad);
        let out = trained.compress(xt, None);
        let close = |a: &[f32], b: &[f32], what: &str| {
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert!(
                    (p - q).abs() <= 1e-4 * scale,
                    "{what}[{i}]: host {p} autodiff {q}"
                );
            }
        };
        close(
            pass.z.as_slice().unwrap(),
            &values(out.z.clone().inner()),
            "z",
        );
        close(
            &pass.squared_error,
            &values(out.reconstruction_error.clone().inner()),
            "error",
        );
        let dzt = Tensor::<2>::from_data(TensorData::new(dz, [n, 3]), &ad);
        let objective = (out.z * dzt).sum() + out.reconstruction_error.sum().mul_scalar(w);
        let autodiff = objective.backward();
        let mut host_grads = std::collections::HashMap::new();
        trained.host_gradients(grads, &mut |id, g| {
            host_grads.insert(id, g);
        });
        // The gradients are f32 values widened exactly: compared as f32.
        let narrow = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let compared =
            compare_gradients(&trained, &autodiff, &host_grads, &mut |got, want, what| {
                close(&narrow(got), &narrow(want), what)
            });
        assert_eq!(compared, 12, "6 layers, weight and bias each");
    }
}
