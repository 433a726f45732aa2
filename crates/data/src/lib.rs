//! Data sets for anomaly detection with Gaussian mixtures.
//!
//! Loaders return a [`Dataset`]: a feature matrix, optional 0/1 labels (1 = anomaly) and column
//! names. Formats: CSV with a header, the raw KDDCUP99 file (`.gz` or plain) with `kddcup.names`,
//! MATLAB level-5 `.mat` (ODDS: `X`, `y`) and NumPy `.npz` (`X`, `y`). Beside them: the DAGMM
//! protocol's seeded 50/50 split, min-max or z-score scaling fitted on training rows, the seeded
//! synthetic sets of the tutorials (blobs, moons) and a checksum-checked download; and
//! [`atomic::write_atomically`], the one whole-or-nothing file write of the workspace.
//!
//! [`load_rows`] keeps a file's rows as compact as its format allows ([`LoadedRows`]); the protocol
//! splits them by row numbers and writes the scaled parts in `f64` or `f32` ([`Features`]) without
//! the whole expanded matrix ever existing.
//!
//! This crate knows nothing of models: it hands plain matrices to the crates that fit them.

pub mod atomic;
pub mod csv_file;
mod dataset;
pub mod encoded;
pub mod error;
pub mod fetch;
pub mod kddcup;
pub mod load;
pub mod mat;
pub mod matrix;
pub mod npz;
pub mod rows;
pub mod scaling;
pub mod split;
pub mod synthetic;
#[cfg(test)]
pub(crate) mod test_support;
mod value;

pub use dataset::Dataset;
pub use error::{short_number, DataError, Result};
pub use load::{load, load_rows, LoadOptions};
pub use matrix::{Features, FeaturesView, Precision};
pub use rows::LoadedRows;
pub use value::FeatureValue;
