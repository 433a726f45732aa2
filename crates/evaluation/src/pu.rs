//! Positive-unlabelled (PU) thresholding after Elkan & Noto (2008), "Learning classifiers from
//! only positive and unlabeled data" (KDD '08).
//!
//! Some normal rows are labelled (`s = 1`); every other row, normal or anomalous, is unlabelled
//! (`s = 0`). A probabilistic classifier `h(x) ≈ p(s = 1 | x)` is trained labelled against
//! unlabelled. When the labelled rows are a random sample of the normal rows,
//! `p(s = 1 | x) = c · p(normal | x)` with `c = p(s = 1 | normal)`, so `h(x) / c` is the
//! probability that a row is normal, and a row is flagged anomalous when `h(x) < c / 2`. `c` is
//! the mean of `h` over labelled rows held out from the fit (Elkan & Noto's estimator e1).
//!
//! * [`LogisticRegression`] is the classifier `h`: binary logistic regression in `f64` with an
//!   L2 penalty, standardised features and an optional quadratic expansion, fitted by Newton's
//!   method (IRLS) with step halving.
//! * [`PuConfig`] holds the settings a runner reads from a file; [`PuThreshold`] fits `h` and
//!   `c`, and flags or scores rows.
//!
//! Because the held-out rows are labelled normal rows taken out of the fit, `c` estimates the
//! labelling rate of the normal rows *in the fitting sample*, `(L − H) / (P − H)` for `L`
//! labelled, `H` held-out and `P` normal rows; that is the `c` that `h / c` needs.
//! [`PuThreshold::labelling_rate`] converts it back to the rate over all rows, `L / P`.
//!
//! This module does not choose which rows are labelled (the runner samples
//! [`PuConfig::labelled_fraction`] of the normal training rows), and it is not a general
//! classifier library: no sample weights, no multi-class, no sparse inputs. A Newton step costs
//! O(n q² + q³) for `q` design columns (`q = p + p(p + 1) / 2` with the quadratic expansion), so
//! it is meant for low-dimensional inputs such as DAGMM's latent representation.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::check;
use crate::error::{EvaluationError, Result};

/// Settings of [`LogisticRegression::fit`]. The objective is the mean log-loss plus
/// `l2 / 2 · ‖w‖²` over the weights of the standardised (and expanded) features; the bias is not
/// penalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogisticConfig {
    /// L2 penalty on the weights; finite and `>= 0` (default `1e-4`).
    pub l2: f64,
    /// Append every product `z_i · z_j` (`i <= j`) of the standardised features (default false).
    pub quadratic: bool,
    /// Newton steps at most; `>= 1` (default 50).
    pub max_iter: usize,
    /// Stop when the largest absolute Newton step is below this; finite and `> 0` (default `1e-8`).
    pub tol: f64,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            l2: 1e-4,
            quadratic: false,
            max_iter: 50,
            tol: 1e-8,
        }
    }
}

impl LogisticConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`EvaluationError::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        require("l2", self.l2.is_finite() && self.l2 >= 0.0, || {
            format!("must be finite and >= 0, got {}", self.l2)
        })?;
        require("max_iter", self.max_iter >= 1, || {
            "must be at least 1, got 0".to_string()
        })?;
        require("tol", self.tol.is_finite() && self.tol > 0.0, || {
            format!("must be finite and > 0, got {}", self.tol)
        })
    }
}

/// Binary logistic regression `p(y = 1 | x) = σ(w · φ(z) + b)`, where `z` is `x` standardised
/// with the mean and (population) standard deviation of the training rows (a constant column
/// gets standard deviation 1) and `φ` appends the products `z_i · z_j` (`i <= j`, row-major
/// order) when the model is quadratic. Serialisable, so a runner can store a fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    n_features: usize,
    quadratic: bool,
    mean: Vec<f64>,
    std: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
    iterations: usize,
    converged: bool,
}

impl LogisticRegression {
    /// Fits the model to the flat row-major `x` (`n_features` per row) and 0/1 labels `y` by
    /// Newton's method, halving a step until the objective does not increase, and stopping when
    /// the largest absolute step is below `config.tol` or after `config.max_iter` steps.
    ///
    /// # Errors
    /// [`InvalidConfig`](EvaluationError::InvalidConfig), [`Empty`](EvaluationError::Empty),
    /// [`BadShape`](EvaluationError::BadShape), [`NonFinite`](EvaluationError::NonFinite),
    /// [`LengthMismatch`](EvaluationError::LengthMismatch),
    /// [`InvalidLabel`](EvaluationError::InvalidLabel), and
    /// [`SingleClass`](EvaluationError::SingleClass) when `y` holds only one class.
    pub fn fit(x: &[f64], n_features: usize, y: &[u8], config: &LogisticConfig) -> Result<Self> {
        config.validate()?;
        let n = rows("features", x, n_features)?;
        check::same_len("labels", y.len(), "feature rows", n)?;
        let ones = check::binary("labels", y)?;
        if ones == 0 || ones == n {
            let class = u8::from(ones == n);
            return Err(EvaluationError::SingleClass {
                metric: "logistic regression",
                class,
                n,
            });
        }
        let (mut mean, mut std) = (vec![0.0; n_features], vec![0.0; n_features]);
        for j in 0..n_features {
            let column = x.iter().skip(j).step_by(n_features);
            if column.clone().all(|&v| v == x[j]) {
                (mean[j], std[j]) = (x[j], 1.0);
            } else {
                mean[j] = column.clone().sum::<f64>() / n as f64;
                let var = column.map(|v| (v - mean[j]).powi(2)).sum::<f64>() / n as f64;
                std[j] = var.sqrt();
            }
        }
        let q = design_width(n_features, config.quadratic);
        let mut model = LogisticRegression {
            n_features,
            quadratic: config.quadratic,
            mean,
            std,
            weights: vec![0.0; q],
            bias: (ones as f64 / (n - ones) as f64).ln(),
            iterations: 0,
            converged: false,
        };
        let design = model.design(x);
        let y: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
        let m = q + 1; // the weights, then the bias
        let mut beta: Vec<f64> = model.weights.iter().copied().chain([model.bias]).collect();
        let mut f = objective(&design, &y, &beta, config.l2);
        let mut ext = vec![0.0; m];
        for iteration in 1..=config.max_iter {
            let (mut grad, mut hess) = (vec![0.0; m], vec![0.0; m * m]);
            for (row, &yi) in design.chunks_exact(q).zip(&y) {
                ext[..q].copy_from_slice(row);
                ext[q] = 1.0;
                let p = sigmoid(dot(&ext, &beta));
                let (e, w) = (p - yi, p * (1.0 - p));
                for a in 0..m {
                    grad[a] += e * ext[a];
                    let wa = w * ext[a];
                    for b in 0..=a {
                        hess[a * m + b] += wa * ext[b];
                    }
                }
            }
            let scale = 1.0 / n as f64;
            grad.iter_mut().for_each(|g| *g *= scale);
            hess.iter_mut().for_each(|h| *h *= scale);
            for a in 0..q {
                grad[a] += config.l2 * beta[a];
                hess[a * m + a] += config.l2;
            }
            let Some(step) = solve_spd(&hess, m, &grad) else {
                break;
            };
            model.iterations = iteration;
            let largest = step.iter().fold(0.0_f64, |acc, s| acc.max(s.abs()));
            let mut t = 1.0;
            loop {
                let candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
                let fc = objective(&design, &y, &candidate, config.l2);
                if fc <= f + 4.0 * f64::EPSILON * f.abs() || t < 1e-10 {
                    (beta, f) = (candidate, fc);
                    break;
                }
                t *= 0.5;
            }
            if largest < config.tol {
                model.converged = true;
                break;
            }
        }
        model.bias = beta[q];
        beta.truncate(q);
        model.weights = beta;
        Ok(model)
    }

    /// The logit `w · φ(z) + b` of every row of the flat row-major `x`.
    ///
    /// # Errors
    /// [`Empty`](EvaluationError::Empty), [`BadShape`](EvaluationError::BadShape) and
    /// [`NonFinite`](EvaluationError::NonFinite) for `x`; a
    /// [`LengthMismatch`](EvaluationError::LengthMismatch) for a deserialised model whose
    /// vectors do not fit its `n_features`.
    pub fn decision_function(&self, x: &[f64]) -> Result<Vec<f64>> {
        rows("features", x, self.n_features)?;
        let p = self.n_features;
        check::same_len("model means", self.mean.len(), "n_features", p)?;
        check::same_len("model standard deviations", self.std.len(), "n_features", p)?;
        let q = design_width(p, self.quadratic);
        check::same_len("model weights", self.weights.len(), "design columns", q)?;
        let design = self.design(x);
        Ok(design
            .chunks_exact(q)
            .map(|row| dot(row, &self.weights) + self.bias)
            .collect())
    }

    /// The probability of class 1 for every row: the logistic sigmoid of
    /// [`decision_function`](Self::decision_function), computed without overflow.
    ///
    /// # Errors
    /// As [`decision_function`](Self::decision_function).
    pub fn predict_proba(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .decision_function(x)?
            .into_iter()
            .map(sigmoid)
            .collect())
    }

    /// The weights and bias in the original feature units (`p(y = 1 | x) = σ(w · x + b)`) for a
    /// linear model; `None` for a quadratic one.
    pub fn coefficients(&self) -> Option<(Vec<f64>, f64)> {
        if self.quadratic {
            return None;
        }
        let w: Vec<f64> = self
            .weights
            .iter()
            .zip(&self.std)
            .map(|(w, s)| w / s)
            .collect();
        let shift: f64 = w.iter().zip(&self.mean).map(|(w, m)| w * m).sum();
        Some((w, self.bias - shift))
    }

    /// The number of features per row the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The number of Newton steps taken.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the last Newton step was below the tolerance (false when `max_iter` ran out).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The standardised (and expanded) design matrix of rows already checked, row-major.
    fn design(&self, x: &[f64]) -> Vec<f64> {
        let p = self.n_features;
        let mut out = Vec::with_capacity(x.len() / p * design_width(p, self.quadratic));
        let mut z = vec![0.0; p];
        for row in x.chunks_exact(p) {
            for j in 0..p {
                z[j] = (row[j] - self.mean[j]) / self.std[j];
            }
            out.extend_from_slice(&z);
            if self.quadratic {
                for i in 0..p {
                    out.extend(z[i..].iter().map(|zj| z[i] * zj));
                }
            }
        }
        out
    }
}

/// Settings of a PU threshold, as a runner reads them from a file (unknown keys are rejected,
/// missing keys take their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PuConfig {
    /// Fraction of the NORMAL training rows the runner labels, in `(0, 1]` (default 0.1).
    pub labelled_fraction: f64,
    /// Share of the labelled rows held out to estimate `c`, in `(0, 1)` (default 0.2); the count
    /// is rounded to the nearest integer.
    pub holdout_fraction: f64,
    /// L2 penalty of the classifier, see [`LogisticConfig::l2`] (default `1e-4`).
    pub l2: f64,
    /// Quadratic expansion of the classifier's features (default true).
    pub quadratic: bool,
    /// Newton steps at most (default 50).
    pub max_iter: usize,
    /// Newton step tolerance (default `1e-8`).
    pub tol: f64,
    /// Seed of the shuffle that picks the held-out rows (default 0).
    pub seed: u64,
}

impl Default for PuConfig {
    fn default() -> Self {
        PuConfig {
            labelled_fraction: 0.1,
            holdout_fraction: 0.2,
            l2: 1e-4,
            quadratic: true,
            max_iter: 50,
            tol: 1e-8,
            seed: 0,
        }
    }
}

impl PuConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`EvaluationError::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        let lf = self.labelled_fraction;
        require("labelled_fraction", lf > 0.0 && lf <= 1.0, || {
            format!("must be in (0, 1], got {lf}")
        })?;
        let hf = self.holdout_fraction;
        require("holdout_fraction", hf > 0.0 && hf < 1.0, || {
            format!("must be in (0, 1), got {hf}")
        })?;
        self.logistic().validate()
    }

    /// The classifier settings within this config.
    pub fn logistic(&self) -> LogisticConfig {
        LogisticConfig {
            l2: self.l2,
            quadratic: self.quadratic,
            max_iter: self.max_iter,
            tol: self.tol,
        }
    }
}

/// A fitted Elkan-Noto threshold: the classifier `h ≈ p(s = 1 | x)`, the labelling rate `c` and
/// the row counts of the fit. Serialisable, so a runner can store it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PuThreshold {
    classifier: LogisticRegression,
    c: f64,
    n_labelled_fit: usize,
    n_held_out: usize,
    n_unlabelled: usize,
}

impl PuThreshold {
    /// Fits `h` and `c` on the flat row-major `x` (`n_features` per row), where `labelled[i]`
    /// says that row `i` is a labelled normal row. `round(holdout_fraction · L)` of the `L`
    /// labelled rows, picked by a shuffle seeded with `config.seed`, are held out; `h` is fitted
    /// on the other labelled rows (`s = 1`) against all unlabelled rows (`s = 0`), and `c` is the
    /// mean of `h` over the held-out rows.
    ///
    /// # Errors
    /// [`InvalidConfig`](EvaluationError::InvalidConfig); [`Empty`](EvaluationError::Empty),
    /// [`BadShape`](EvaluationError::BadShape) and [`NonFinite`](EvaluationError::NonFinite) for
    /// `x`; [`LengthMismatch`](EvaluationError::LengthMismatch) when `labelled` does not have
    /// one entry per row; [`TooFewRows`](EvaluationError::TooFewRows) without labelled rows,
    /// unlabelled rows, a held-out row or a labelled row left to fit on; and
    /// [`DegenerateEstimate`](EvaluationError::DegenerateEstimate) when `c` is not finite and
    /// positive.
    pub fn fit(x: &[f64], n_features: usize, labelled: &[bool], config: &PuConfig) -> Result<Self> {
        config.validate()?;
        let n = rows("features", x, n_features)?;
        check::same_len("labelled", labelled.len(), "feature rows", n)?;
        let mut lab: Vec<usize> = (0..n).filter(|&i| labelled[i]).collect();
        let n_unlabelled = n - lab.len();
        let too_few = |what: String, n| Err(EvaluationError::TooFewRows { what, n, needed: 1 });
        if lab.is_empty() {
            return too_few("labelled rows".into(), 0);
        }
        if n_unlabelled == 0 {
            return too_few("unlabelled rows".into(), 0);
        }
        let n_held = (config.holdout_fraction * lab.len() as f64).round() as usize;
        if n_held == 0 {
            let what = format!(
                "held-out labelled rows (holdout_fraction {} of {} labelled rows, rounded)",
                config.holdout_fraction,
                lab.len()
            );
            return too_few(what, 0);
        }
        if n_held == lab.len() {
            return too_few(
                format!("labelled rows left to fit on after holding out {n_held}"),
                0,
            );
        }
        lab.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed));
        let mut held = vec![false; n];
        lab[..n_held].iter().for_each(|&i| held[i] = true);
        let (mut x_fit, mut s, mut x_held) = (Vec::new(), Vec::new(), Vec::new());
        for (i, row) in x.chunks_exact(n_features).enumerate() {
            if held[i] {
                x_held.extend_from_slice(row);
            } else {
                x_fit.extend_from_slice(row);
                s.push(u8::from(labelled[i]));
            }
        }
        let classifier = LogisticRegression::fit(&x_fit, n_features, &s, &config.logistic())?;
        let h = classifier.predict_proba(&x_held)?;
        let c = checked_c(h.iter().sum::<f64>() / n_held as f64)?;
        Ok(PuThreshold {
            classifier,
            c,
            n_labelled_fit: lab.len() - n_held,
            n_held_out: n_held,
            n_unlabelled,
        })
    }

    /// The estimated `c = p(s = 1 | normal)` in the fitting sample (see the module doc).
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The cut on `h`: `c / 2`; rows with `h < c / 2` are flagged.
    pub fn threshold(&self) -> f64 {
        self.c / 2.0
    }

    /// The labelling rate over all rows, `L / P̂` with `P̂ = H + (L − H) / c` normal rows: the
    /// estimate of the fraction of normal rows that were labelled.
    pub fn labelling_rate(&self) -> f64 {
        let (fit, held) = (self.n_labelled_fit as f64, self.n_held_out as f64);
        (fit + held) / (held + fit / self.c)
    }

    /// The fitted classifier `h`.
    pub fn classifier(&self) -> &LogisticRegression {
        &self.classifier
    }

    /// The labelled rows `h` was fitted on.
    pub fn n_labelled_fit(&self) -> usize {
        self.n_labelled_fit
    }

    /// The labelled rows held out to estimate `c`.
    pub fn n_held_out(&self) -> usize {
        self.n_held_out
    }

    /// The unlabelled rows `h` was fitted on.
    pub fn n_unlabelled(&self) -> usize {
        self.n_unlabelled
    }

    /// `h(x) ≈ p(s = 1 | x)` for every row of the flat row-major `x`.
    ///
    /// # Errors
    /// As [`LogisticRegression::decision_function`].
    pub fn labelled_probability(&self, x: &[f64]) -> Result<Vec<f64>> {
        self.classifier.predict_proba(x)
    }

    /// `p(normal | x) = min(h(x) / c, 1)` for every row.
    ///
    /// # Errors
    /// As [`labelled_probability`](Self::labelled_probability).
    pub fn normal_probability(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .labelled_probability(x)?
            .into_iter()
            .map(|h| (h / self.c).min(1.0))
            .collect())
    }

    /// Flags every row: 1 (anomaly) when `h(x) < c / 2`, else 0.
    ///
    /// # Errors
    /// As [`labelled_probability`](Self::labelled_probability).
    pub fn flag(&self, x: &[f64]) -> Result<Vec<u8>> {
        let cut = self.threshold();
        Ok(self
            .labelled_probability(x)?
            .into_iter()
            .map(|h| u8::from(h < cut))
            .collect())
    }

    /// `1 − h(x) / c` for every row, not clipped: higher is more anomalous, so use it with
    /// [`Direction::HighIsAnomalous`](crate::Direction::HighIsAnomalous) for ROC AUC.
    ///
    /// # Errors
    /// As [`labelled_probability`](Self::labelled_probability).
    pub fn anomaly_score(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .labelled_probability(x)?
            .into_iter()
            .map(|h| 1.0 - h / self.c)
            .collect())
    }
}

fn require(field: &'static str, ok: bool, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(EvaluationError::InvalidConfig {
            field,
            message: message(),
        })
    }
}

/// Checks a flat row-major matrix (non-empty, whole rows, finite) and returns its row count.
fn rows(what: &'static str, x: &[f64], n_features: usize) -> Result<usize> {
    if x.is_empty() {
        return Err(EvaluationError::Empty { what });
    }
    if n_features == 0 || !x.chunks_exact(n_features).remainder().is_empty() {
        return Err(EvaluationError::BadShape {
            what,
            len: x.len(),
            n_features,
        });
    }
    match x.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(EvaluationError::NonFinite {
            what,
            row: i / n_features,
            column: i % n_features,
            value: x[i],
        }),
        None => Ok(x.len() / n_features),
    }
}

fn checked_c(c: f64) -> Result<f64> {
    if c.is_finite() && c > 0.0 {
        Ok(c)
    } else {
        let what = "labelling rate c (mean of h over the held-out labelled rows)";
        Err(EvaluationError::DegenerateEstimate { what, value: c })
    }
}

fn design_width(p: usize, quadratic: bool) -> usize {
    if quadratic {
        p + p * (p + 1) / 2
    } else {
        p
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// `1 / (1 + e^-z)` without overflow for large `|z|`.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow for large `|z|`.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Mean log-loss plus `l2 / 2 · ‖w‖²`; `beta` holds the weights then the bias.
fn objective(design: &[f64], y: &[f64], beta: &[f64], l2: f64) -> f64 {
    let q = beta.len() - 1;
    let loss: f64 = design
        .chunks_exact(q)
        .zip(y)
        .map(|(row, &yi)| {
            let eta = dot(row, &beta[..q]) + beta[q];
            softplus(eta) - yi * eta
        })
        .sum();
    loss / y.len() as f64 + 0.5 * l2 * dot(&beta[..q], &beta[..q])
}

/// Solves `H s = g` for the symmetric `m × m` matrix `H` (lower triangle used) by Cholesky,
/// adding a growing ridge (`1e-10`, `1e-8`, …, `1`) to the diagonal when `H` is not positive
/// definite; `None` when even that fails.
fn solve_spd(h: &[f64], m: usize, g: &[f64]) -> Option<Vec<f64>> {
    for ridge in [0.0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0] {
        let mut l = vec![0.0; m * m];
        let mut ok = true;
        'outer: for i in 0..m {
            for j in 0..=i {
                let mut sum = h[i * m + j] - dot(&l[i * m..i * m + j], &l[j * m..j * m + j]);
                if i == j {
                    sum += ridge;
                    if !(sum > 0.0 && sum.is_finite()) {
                        ok = false;
                        break 'outer;
                    }
                    l[i * m + i] = sum.sqrt();
                } else {
                    l[i * m + j] = sum / l[j * m + j];
                }
            }
        }
        if !ok {
            continue;
        }
        let mut s = g.to_vec();
        for i in 0..m {
            s[i] = (s[i] - dot(&l[i * m..i * m + i], &s[..i])) / l[i * m + i];
        }
        for i in (0..m).rev() {
            let tail: f64 = (i + 1..m).map(|k| l[k * m + i] * s[k]).sum();
            s[i] = (s[i] - tail) / l[i * m + i];
        }
        return Some(s);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{roc_auc, Confusion, Direction};
    use rand::Rng;

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let (u1, u2) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn recovers_generating_coefficients_in_original_units() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x: Vec<f64> = (0..20_000).map(|_| 1.0 + 1.5 * normal(&mut rng)).collect();
        let y: Vec<u8> = x
            .iter()
            .map(|&v| u8::from(rng.random::<f64>() < sigmoid(2.0 * v - 1.0)))
            .collect();
        let model = LogisticRegression::fit(&x, 1, &y, &LogisticConfig::default()).unwrap();
        assert!(
            model.converged() && model.iterations() < 20,
            "{}",
            model.iterations()
        );
        let (w, b) = model.coefficients().unwrap();
        assert!(
            (w[0] - 2.0).abs() < 0.1 && (b + 1.0).abs() < 0.1,
            "w {w:?}, b {b}"
        );
        let quad = LogisticConfig {
            quadratic: true,
            ..LogisticConfig::default()
        };
        assert!(LogisticRegression::fit(&x, 1, &y, &quad)
            .unwrap()
            .coefficients()
            .is_none());
    }

    #[test]
    fn penalised_gradient_vanishes_at_the_fit_in_a_hand_case() {
        let x = [0.0, 1.0, 1.0, 3.0, 2.0, 2.0, 3.0, 5.0];
        let y = [0.0, 1.0, 0.0, 1.0];
        let l2 = 0.5;
        let config = LogisticConfig {
            l2,
            quadratic: true,
            ..LogisticConfig::default()
        };
        let model = LogisticRegression::fit(&x, 2, &[0, 1, 0, 1], &config).unwrap();
        assert!(model.converged());
        // Hand design: column means (1.5, 2.75), population stds (sqrt 1.25, sqrt 2.1875).
        let (m, s) = ([1.5, 2.75], [1.25_f64.sqrt(), 2.1875_f64.sqrt()]);
        let design: Vec<[f64; 6]> = x
            .chunks(2)
            .map(|r| {
                let (a, b) = ((r[0] - m[0]) / s[0], (r[1] - m[1]) / s[1]);
                [a, b, a * a, a * b, b * b, 1.0]
            })
            .collect();
        let beta: Vec<f64> = model.weights.iter().copied().chain([model.bias]).collect();
        let probs = model.predict_proba(&x).unwrap();
        let mut grad = [0.0; 6];
        for ((row, &yi), &p) in design.iter().zip(&y).zip(&probs) {
            let hand = sigmoid(dot(row, &beta));
            assert!((hand - p).abs() < 1e-12, "{hand} vs {p}");
            grad.iter_mut()
                .zip(row)
                .for_each(|(g, r)| *g += (p - yi) * r / 4.0);
        }
        // The penalty's gradient on the five weights (the bias, last, is not penalised).
        grad.iter_mut()
            .zip(&model.weights)
            .for_each(|(g, w)| *g += l2 * w);
        assert!(grad.iter().all(|g| g.abs() < 1e-9), "{grad:?}");
        assert!(
            model.weights.iter().any(|w| w.abs() > 0.01),
            "{:?}",
            model.weights
        );
    }

    #[test]
    fn elkan_noto_recovers_the_labelling_rate_and_the_negatives() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (n_pos, n_neg) = (4000, 1000);
        let mut x = Vec::new();
        for i in 0..n_pos + n_neg {
            let centre = if i < n_pos { 0.0 } else { 4.0 };
            x.extend([centre + normal(&mut rng), centre + normal(&mut rng)]);
        }
        let truth: Vec<u8> = (0..n_pos + n_neg).map(|i| u8::from(i >= n_pos)).collect();
        let mut positives: Vec<usize> = (0..n_pos).collect();
        positives.shuffle(&mut rng);
        let mut labelled = vec![false; n_pos + n_neg];
        positives[..1200].iter().for_each(|&i| labelled[i] = true);
        let pu = PuThreshold::fit(&x, 2, &labelled, &PuConfig::default()).unwrap();
        assert_eq!(
            (pu.n_labelled_fit(), pu.n_held_out(), pu.n_unlabelled()),
            (960, 240, 3800)
        );
        assert!(pu.classifier().converged());
        // c is the labelling rate of the fitting sample, 960 / 3760; the overall rate is 0.3.
        assert!((pu.c() - 960.0 / 3760.0).abs() < 0.02, "c = {}", pu.c());
        assert!(
            (pu.labelling_rate() - 0.3).abs() < 0.05,
            "rate {}",
            pu.labelling_rate()
        );
        assert_eq!(pu.threshold(), pu.c() / 2.0);
        let flags = pu.flag(&x).unwrap();
        let f1 = Confusion::from_labels(&truth, &flags).unwrap().f1();
        assert!(f1 > 0.95, "F1 {f1}");
        let auc = roc_auc(
            &pu.anomaly_score(&x).unwrap(),
            &truth,
            Direction::HighIsAnomalous,
        );
        assert!(auc.unwrap() > 0.99);
        let normal_p = pu.normal_probability(&x).unwrap();
        assert!(normal_p.iter().all(|&p| (0.0..=1.0).contains(&p)));
        // The fit is deterministic and survives a JSON round trip.
        assert_eq!(
            PuThreshold::fit(&x, 2, &labelled, &PuConfig::default()).unwrap(),
            pu
        );
        let back: PuThreshold = serde_json::from_str(&serde_json::to_string(&pu).unwrap()).unwrap();
        assert_eq!(back.flag(&x).unwrap(), flags);
        let other_seed = PuConfig {
            seed: 1,
            ..PuConfig::default()
        };
        assert_ne!(
            PuThreshold::fit(&x, 2, &labelled, &other_seed).unwrap().c(),
            pu.c()
        );
    }

    #[test]
    fn extreme_logits_and_separable_data_stay_finite() {
        assert_eq!((sigmoid(1000.0), sigmoid(-1000.0)), (1.0, 0.0));
        assert_eq!((softplus(1000.0), softplus(-1000.0)), (1000.0, 0.0));
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        // Perfectly separable, one constant column: the penalty keeps the weights finite.
        let x = [-2.0, 5.0, -1.0, 5.0, 1.0, 5.0, 2.0, 5.0];
        let model =
            LogisticRegression::fit(&x, 2, &[0, 0, 1, 1], &LogisticConfig::default()).unwrap();
        assert!(model.converged() && model.std[1] == 1.0);
        let p = model.predict_proba(&[-1e6, 5.0, 1e6, 5.0]).unwrap();
        assert!(p[0] < 1e-6 && p[1] > 1.0 - 1e-6 && p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_problem() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let cfg = PuConfig {
            holdout_fraction: 0.5,
            ..PuConfig::default()
        };
        let fit = |x: &[f64], p, l: &[bool], c: &PuConfig| PuThreshold::fit(x, p, l, c);
        let mut lab = [
            true, true, false, false, false, false, false, false, false, false,
        ];
        assert!(fit(&x, 1, &lab, &cfg).is_ok());
        assert!(err(fit(&x, 1, &[false; 10], &cfg)).contains("too few labelled rows: got 0"));
        assert!(err(fit(&x, 1, &[true; 10], &cfg)).contains("too few unlabelled rows: got 0"));
        let cfg_small = PuConfig {
            holdout_fraction: 0.2,
            ..cfg.clone()
        };
        assert!(err(fit(&x, 1, &lab, &cfg_small)).contains("held-out labelled rows"));
        lab[1] = false;
        assert!(err(fit(&x, 1, &lab, &cfg)).contains("labelled rows left to fit on"));
        assert!(err(fit(&x, 1, &lab[..9], &cfg))
            .contains("labelled has 9 entries but feature rows has 10"));
        assert!(err(fit(&x, 3, &lab, &cfg)).contains("n_features = 3"));
        assert!(err(fit(&x, 0, &lab, &cfg)).contains("n_features = 0"));
        assert!(err(fit(&[], 1, &[], &cfg)).contains("features is empty"));
        let mut bad = x;
        bad[7] = f64::NAN;
        assert!(err(fit(&bad, 2, &lab[..5], &cfg)).contains("NaN at row 3, column 1"));
        bad[7] = f64::INFINITY;
        assert!(err(fit(&bad, 2, &lab[..5], &cfg)).contains("inf at row 3, column 1"));
        for c in [0.0, f64::NAN, f64::INFINITY] {
            assert!(err(checked_c(c)).contains("labelling rate c"));
        }
        let lr = LogisticConfig::default();
        assert!(err(LogisticRegression::fit(&x, 1, &[1; 10], &lr)).contains("only class 1"));
        assert!(err(LogisticRegression::fit(
            &x,
            1,
            &[0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
            &lr
        ))
        .contains("contain 2"));
        assert!(err(LogisticRegression::fit(&x, 2, &[0, 1], &lr)).contains("labels has 2 entries"));
        let model = LogisticRegression::fit(&x, 2, &[0, 0, 1, 1, 1], &lr).unwrap();
        assert_eq!(model.n_features(), 2);
        assert!(err(model.decision_function(&x[..3])).contains("n_features = 2"));
        let mut broken = model.clone();
        broken.weights.pop();
        assert!(err(broken.predict_proba(&x)).contains("model weights has 1 entries"));
    }

    #[test]
    fn configs_reject_out_of_range_and_unknown_fields() {
        assert!(PuConfig::default().validate().is_ok());
        let cases = [
            (r#"{"labelled_fraction": 0.0}"#, "labelled_fraction"),
            (r#"{"labelled_fraction": 1.5}"#, "labelled_fraction"),
            (r#"{"holdout_fraction": 0.0}"#, "holdout_fraction"),
            (r#"{"holdout_fraction": 1.0}"#, "holdout_fraction"),
            (r#"{"l2": -1.0}"#, "l2"),
            (r#"{"max_iter": 0}"#, "max_iter"),
            (r#"{"tol": 0.0}"#, "tol"),
        ];
        for (json, field) in cases {
            let cfg: PuConfig = serde_json::from_str(json).unwrap();
            let message = format!("invalid {field}: must be");
            assert!(err(cfg.validate()).starts_with(&message), "{json}");
            let fit = PuThreshold::fit(&[0.0, 1.0], 1, &[true, false], &cfg);
            assert!(err(fit).starts_with(&message), "{json}");
        }
        let mut cfg = PuConfig {
            holdout_fraction: f64::NAN,
            ..PuConfig::default()
        };
        assert!(err(cfg.validate()).contains("holdout_fraction: must be in (0, 1), got NaN"));
        (cfg.holdout_fraction, cfg.tol) = (0.5, f64::INFINITY);
        assert!(err(cfg.logistic().validate()).starts_with("invalid tol"));
        assert!(
            serde_json::from_str::<PuConfig>(r#"{"labelled_fraction": 1.0}"#)
                .unwrap()
                .validate()
                .is_ok()
        );
        let parsed: PuConfig = serde_json::from_str(r#"{"seed": 3, "quadratic": false}"#).unwrap();
        assert_eq!(
            parsed,
            PuConfig {
                seed: 3,
                quadratic: false,
                ..PuConfig::default()
            }
        );
        let unknown = serde_json::from_str::<PuConfig>(r#"{"holdout": 0.3}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `holdout`"),
            "{unknown}"
        );
        assert!(serde_json::from_str::<LogisticConfig>(r#"{"seed": 1}"#).is_err());
    }
}
