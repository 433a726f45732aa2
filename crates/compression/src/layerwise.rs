//! Greedy layer-wise pretraining of the [`Autoencoder`] (the DAGMM paper's pre-trained
//! baselines): encoder layer `i` and its mirror in the decoder are trained alone as a shallow
//! autoencoder of the activation `h_i` that the (already pretrained) layers below give, with the
//! activations they have in the whole network (`tanh` after every encoder layer but the
//! bottleneck, and after every decoder layer but the output). This module gives the pieces; the
//! training loop is the model crate's.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;

use crate::{tanh, Autoencoder};

/// Encoder layer `layer` and the decoder layer that mirrors it, as a shallow autoencoder
/// `h_layer → h_{layer+1} → ĥ_layer`.
#[derive(Module, Debug)]
pub struct LayerPair {
    /// Encoder layer `layer` (`h_layer → h_{layer+1}`).
    pub encoder: Linear,
    /// Its mirror (`h_{layer+1} → ĥ_layer`).
    pub decoder: Linear,
    layer: usize,
    layers: usize,
}

impl LayerPair {
    /// Which encoder layer (0 = the one that reads `x`).
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// `ĥ_layer`: the encoder layer, `tanh` unless it is the bottleneck, the mirror layer, `tanh`
    /// unless it is the network's output layer.
    pub fn reconstruct(&self, h: Tensor<2>) -> Tensor<2> {
        let mut code = self.encoder.forward(h);
        if self.layer + 1 < self.layers {
            code = tanh(code);
        }
        let out = self.decoder.forward(code);
        if self.layer > 0 {
            tanh(out)
        } else {
            out
        }
    }

    /// Mean over rows of `‖h − ĥ‖²`, `[1]` (the reconstruction term of the DAGMM objective,
    /// for this layer's input).
    pub fn loss(&self, h: Tensor<2>) -> Tensor<1> {
        let diff = h.clone() - self.reconstruct(h);
        let n = diff.dims()[0];
        diff.square().sum_dim(1).reshape([n]).mean()
    }
}

impl Autoencoder {
    /// Number of encoder layers (as many decoder layers mirror them).
    pub fn layer_count(&self) -> usize {
        self.encoder.len()
    }

    /// `h_layer`: `x` through the first `layer` encoder layers, each followed by `tanh` (every
    /// layer below the bottleneck has it). `layer = 0` gives `x`.
    ///
    /// # Panics
    /// When `layer` is not below [`layer_count`](Self::layer_count).
    pub fn encode_layers(&self, x: Tensor<2>, layer: usize) -> Tensor<2> {
        assert!(
            layer < self.encoder.len(),
            "layer {layer} of {}",
            self.encoder.len()
        );
        self.encoder[..layer]
            .iter()
            .fold(x, |h, l| tanh(l.forward(h)))
    }

    /// Encoder layer `layer` and its mirror, copied out for pretraining.
    ///
    /// # Panics
    /// When `layer` is not below [`layer_count`](Self::layer_count).
    pub fn layer_pair(&self, layer: usize) -> LayerPair {
        let layers = self.encoder.len();
        assert!(layer < layers, "layer {layer} of {layers}");
        LayerPair {
            encoder: self.encoder[layer].clone(),
            decoder: self.decoder[layers - 1 - layer].clone(),
            layer,
            layers,
        }
    }

    /// This autoencoder with encoder layer `pair.layer()` and its mirror replaced by `pair`'s.
    ///
    /// # Panics
    /// When the pair comes from an autoencoder of another depth.
    pub fn with_layer_pair(mut self, pair: LayerPair) -> Self {
        let layers = self.encoder.len();
        assert_eq!(pair.layers, layers, "a layer pair of another autoencoder");
        self.encoder[pair.layer] = pair.encoder;
        self.decoder[layers - 1 - pair.layer] = pair.decoder;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compression, CompressionConfig};
    use burn::tensor::{Device, TensorData};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ae(d: usize, layers: &[usize], device: &Device) -> Autoencoder {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        match CompressionConfig::autoencoder(layers.to_vec())
            .init(d, &mut rng, device)
            .unwrap()
        {
            Compression::Autoencoder(ae) => ae,
            other => panic!("{other:?}"),
        }
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    fn input(device: &Device) -> Tensor<2> {
        let v: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        Tensor::from_data(TensorData::new(v, [3, 4]), device)
    }

    #[test]
    fn the_outer_pair_of_a_one_layer_autoencoder_is_the_whole_network() {
        let device = Device::flex();
        let net = ae(4, &[2], &device);
        let x = input(&device);
        let pair = net.layer_pair(0);
        assert_eq!(
            values(pair.reconstruct(x.clone())),
            values(net.decode(net.encode(x)))
        );
    }

    #[test]
    fn pairs_read_the_activations_below_them_and_use_the_networks_activations() {
        let device = Device::flex();
        let net = ae(4, &[3, 2, 1], &device);
        let x = input(&device);
        // h_2 is x through two tanh layers; the middle pair keeps tanh on both sides.
        let h1 = tanh(net.encoder[0].forward(x.clone()));
        let h2 = net.encode_layers(x.clone(), 2);
        assert_eq!(
            values(h2.clone()),
            values(tanh(net.encoder[1].forward(h1.clone())))
        );
        let mid = net.layer_pair(1);
        let want = tanh(net.decoder[1].forward(tanh(net.encoder[1].forward(h1.clone()))));
        assert_eq!(values(mid.reconstruct(h1.clone())), values(want));
        // The bottleneck pair: linear code, tanh on the mirror's output.
        let inner = net.layer_pair(2);
        let want = tanh(net.decoder[0].forward(net.encoder[2].forward(h2.clone())));
        assert_eq!(values(inner.reconstruct(h2)), values(want));
        // The outer pair: tanh code, linear output.
        let outer = net.layer_pair(0);
        let want = net.decoder[2].forward(tanh(net.encoder[0].forward(x.clone())));
        assert_eq!(values(outer.reconstruct(x.clone())), values(want));
        // Its loss is the mean squared-error norm per row.
        let r = values(outer.reconstruct(x.clone()));
        let xv = values(x.clone());
        let want: f32 = (0..3)
            .map(|i| {
                (0..4)
                    .map(|j| (xv[i * 4 + j] - r[i * 4 + j]).powi(2))
                    .sum::<f32>()
            })
            .sum::<f32>()
            / 3.0;
        let got = outer
            .loss(x)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()[0];
        assert!((got - want).abs() < 1e-5 * (1.0 + want), "{got} vs {want}");
    }

    #[test]
    fn a_pair_goes_back_where_it_came_from() {
        let device = Device::flex();
        let net = ae(4, &[3, 1], &device);
        let other = ae(4, &[3, 1], &device);
        let mut pair = net.layer_pair(1);
        pair.encoder = other.encoder[1].clone();
        let swapped = net.clone().with_layer_pair(pair);
        assert_eq!(
            values(swapped.encoder[1].weight.val()),
            values(other.encoder[1].weight.val())
        );
        assert_eq!(
            values(swapped.encoder[0].weight.val()),
            values(net.encoder[0].weight.val())
        );
        assert_eq!(
            values(swapped.decoder[0].weight.val()),
            values(net.decoder[0].weight.val())
        );
    }
}
