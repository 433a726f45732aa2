//! The two numbers a feature matrix is stored in.

/// A number a feature matrix can be stored in: `f64` or `f32`.
pub trait FeatureValue: Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static {
    /// Rounds (for `f32`) an `f64` value.
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl FeatureValue for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl FeatureValue for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}
