//! The in-memory data set every loader returns.

use ndarray::{Array2, Axis};

use crate::error::{DataError, Result};

/// A feature matrix (rows are samples), optional 0/1 labels (1 = anomaly) and the column names.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub features: Array2<f64>,
    pub labels: Option<Vec<u8>>,
    pub columns: Vec<String>,
}

impl Dataset {
    /// Builds a data set, checking that the shapes agree and every value is finite.
    pub fn new(
        features: Array2<f64>,
        labels: Option<Vec<u8>>,
        columns: Vec<String>,
    ) -> Result<Self> {
        if columns.len() != features.ncols() {
            return Err(DataError::InvalidArgument(format!(
                "{} column names for {} feature columns",
                columns.len(),
                features.ncols()
            )));
        }
        if let Some(labels) = &labels {
            if labels.len() != features.nrows() {
                return Err(DataError::InvalidArgument(format!(
                    "{} labels for {} rows",
                    labels.len(),
                    features.nrows()
                )));
            }
            if let Some(bad) = labels.iter().find(|&&l| l > 1) {
                return Err(DataError::InvalidArgument(format!(
                    "label {bad} is neither 0 nor 1"
                )));
            }
        }
        Ok(Dataset {
            features,
            labels,
            columns,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.features.nrows()
    }

    pub fn n_features(&self) -> usize {
        self.features.ncols()
    }

    /// Number of rows labelled 1 (anomalies), if labels are known.
    pub fn n_anomalies(&self) -> Option<usize> {
        self.labels
            .as_ref()
            .map(|l| l.iter().filter(|&&v| v == 1).count())
    }

    /// The rows at `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Dataset {
        Dataset {
            features: self.features.select(Axis(0), indices),
            labels: self
                .labels
                .as_ref()
                .map(|l| indices.iter().map(|&i| l[i]).collect()),
            columns: self.columns.clone(),
        }
    }

    /// Default column names `x0, x1, ...` for formats that carry none.
    pub fn default_columns(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("x{i}")).collect()
    }
}
