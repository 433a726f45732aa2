use burn::tensor::Tensor;

/// The reconstruction features of a batch.
#[derive(Debug, Clone)]
pub struct ReconstructionFeatures {
    /// `‖x − x'‖ / ‖x‖`, `[n, 1]`.
    pub relative_distance: Tensor<2>,
    /// `x·x' / (‖x‖ ‖x'‖)`, `[n, 1]`.
    pub cosine_similarity: Tensor<2>,
    /// `Σ_j (x_j − x'_j)²`, `[n, 1]` (exact, no `ε`).
    pub squared_error: Tensor<2>,
}

/// The paper's reconstruction features `z_r` of `x` and `x'` (both `[n, d]`), guarded against zero
/// norms: every norm is `‖v‖_ε = sqrt(Σv² + ε²)` (so at least `ε`, smooth everywhere, with a
/// finite gradient even at `v = 0`), and the features are
/// `relative_distance = ‖x−x'‖_ε / ‖x‖_ε` and `cosine = x·x' / (‖x‖_ε ‖x'‖_ε)`. For rows whose
/// norms are well above `ε` (the default `ε = 1e-6`) they equal the unguarded formulas of the paper
/// and of the reference code to f32 precision; a zero row gives finite features and gradients.
pub fn reconstruction_features(x: Tensor<2>, x_hat: Tensor<2>, eps: f64) -> ReconstructionFeatures {
    let eps2 = eps * eps;
    let diff = x.clone() - x_hat.clone();
    let squared_error = diff.square().sum_dim(1);
    let x_norm = x.clone().square().sum_dim(1).add_scalar(eps2).sqrt();
    let x_hat_norm = x_hat.clone().square().sum_dim(1).add_scalar(eps2).sqrt();
    let dot = (x * x_hat).sum_dim(1);
    let relative_distance = squared_error.clone().add_scalar(eps2).sqrt() / x_norm.clone();
    let cosine_similarity = dot / (x_norm * x_hat_norm);
    ReconstructionFeatures {
        relative_distance,
        cosine_similarity,
        squared_error,
    }
}
