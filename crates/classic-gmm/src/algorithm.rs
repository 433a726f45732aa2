//! EM for Gaussian mixtures: fit, and the scikit-learn style scoring methods.
//!
//! Each component keeps the Cholesky factor of its precision (`Σ⁻¹ = U Uᵀ`), so a log-density is a
//! triangular product and a sum of logs, never an explicit inverse or determinant; responsibilities
//! and per-sample log-likelihoods use log-sum-exp. Work is split over rows with rayon.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, CowArray, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::{short_number, GmmError, Result};
use crate::hyperparams::{CovarianceType, GmmParams, InitMethod};
use crate::kmeans;
use crate::linalg::{inverse_cholesky, WIDE};
use crate::narrow::{add_scatter, log_weighted_rows as log_weighted_fixed, with_width, NARROW};
use crate::rows::{for_each_block, map_blocks, map_blocks_mut, with_dense_rows, DenseRows, Rows};

const LN_2PI: f64 = 1.837_877_066_409_345_3;
/// Rows per parallel work item.
const CHUNK: usize = 2048;

/// The fitted covariances, in scikit-learn's shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Covariances {
    /// `K` matrices `d × d`.
    Full(Vec<Array2<f64>>),
    /// One `d × d` matrix shared by all components.
    Tied(Array2<f64>),
    /// `K × d`: the variances of each component.
    Diag(Array2<f64>),
    /// `K` variances, one per component.
    Spherical(Vec<f64>),
}

impl Covariances {
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Covariances::Full(_) => CovarianceType::Full,
            Covariances::Tied(_) => CovarianceType::Tied,
            Covariances::Diag(_) => CovarianceType::Diag,
            Covariances::Spherical(_) => CovarianceType::Spherical,
        }
    }

    /// The full `d × d` covariance of component `k`, whatever the type.
    pub fn component(&self, k: usize, d: usize) -> Array2<f64> {
        match self {
            Covariances::Full(c) => c[k].clone(),
            Covariances::Tied(c) => c.clone(),
            Covariances::Diag(c) => Array2::from_diag(&c.row(k)),
            Covariances::Spherical(v) => Array2::from_diag_elem(d, v[k]),
        }
    }
}

/// The precision factor of one component: the lower-triangular `M = L⁻¹` of its covariance
/// `L Lᵀ` (row-major; scikit-learn's `U = Mᵀ`) or a diagonal.
#[derive(Debug, Clone, PartialEq)]
enum Factor {
    Full(Vec<f64>),
    Diag(Vec<f64>),
}

/// Everything the E-step needs: per component `log φ_k − ½ d ln 2π + log det M_k`, means, factors.
#[derive(Debug, Clone, PartialEq)]
struct Components {
    d: usize,
    log_const: Vec<f64>,
    means: Vec<f64>,
    factors: Vec<Factor>,
}

impl Components {
    fn k(&self) -> usize {
        self.log_const.len()
    }

    /// `out[k] = log φ_k + log N(row | μ_k, Σ_k)`.
    #[inline]
    /// [`Self::log_weighted`] of every row of `rows` into `out` (`rows × K`). Full factors of
    /// [`WIDE`] features or more go through one matrix product per component,
    /// `Y = (X − μ_k) Mᵀ`, with `‖y_i‖²` the squared Mahalanobis distance of row `i`.
    fn log_weighted_rows(&self, rows: &[f64], out: &mut [f64]) {
        let (d, k) = (self.d, self.k());
        let m = rows.len() / d;
        let all_full = self.factors.iter().all(|f| matches!(f, Factor::Full(_)));
        if all_full && d <= NARROW {
            let factors: Vec<&[f64]> = self
                .factors
                .iter()
                .map(|f| match f {
                    Factor::Full(m) | Factor::Diag(m) => m.as_slice(),
                })
                .collect();
            let (means, log_const) = (&self.means, &self.log_const);
            if with_width!(d, log_weighted_fixed(rows, means, &factors, log_const, out)).is_some() {
                return;
            }
        }
        if d < WIDE || !all_full || m == 0 {
            let mut diff = vec![0.0; d];
            for (o, row) in out.chunks_mut(k).zip(rows.chunks(d)) {
                self.log_weighted(row, &mut diff, o);
            }
            return;
        }
        let x = ArrayView2::from_shape((m, d), rows).expect("whole rows");
        for (c, factor) in self.factors.iter().enumerate() {
            let Factor::Full(inverse) = factor else {
                unreachable!("every factor is full here")
            };
            let mean = ndarray::ArrayView1::from(&self.means[c * d..(c + 1) * d]);
            let centred = &x - &mean;
            let inverse = ArrayView2::from_shape((d, d), inverse).expect("d × d");
            // y = (x − μ) Mᵀ with M lower triangular: column block J of y takes only the
            // columns ..j1 of x − μ (half the products of the whole matrix product).
            let mut y = Array2::<f64>::zeros((m, d));
            for j0 in (0..d).step_by(PRODUCT_BLOCK) {
                let j1 = (j0 + PRODUCT_BLOCK).min(d);
                general_mat_mul(
                    1.0,
                    &centred.slice(ndarray::s![.., ..j1]),
                    &inverse.slice(ndarray::s![j0..j1, ..j1]).t(),
                    0.0,
                    &mut y.slice_mut(ndarray::s![.., j0..j1]),
                );
            }
            for (i, y_row) in y.rows().into_iter().enumerate() {
                let maha: f64 = y_row.iter().map(|v| v * v).sum();
                out[i * k + c] = self.log_const[c] - 0.5 * maha;
            }
        }
    }

    fn log_weighted(&self, row: &[f64], diff: &mut [f64], out: &mut [f64]) {
        let d = self.d;
        for (k, o) in out.iter_mut().enumerate() {
            let mean = &self.means[k * d..(k + 1) * d];
            for j in 0..d {
                diff[j] = row[j] - mean[j];
            }
            let mut maha = 0.0;
            match &self.factors[k] {
                Factor::Full(m) => {
                    // y_j = Σ_{i ≤ j} M_ji diff_i (scikit-learn's Σ_{i ≤ j} diff_i U_ij, in the
                    // same order), along row j of M.
                    for (j, m_row) in m.chunks_exact(d).enumerate() {
                        let mut y = 0.0;
                        for (mji, di) in m_row[..=j].iter().zip(&diff[..=j]) {
                            y += di * mji;
                        }
                        maha += y * y;
                    }
                }
                Factor::Diag(p) => {
                    for j in 0..d {
                        let y = diff[j] * p[j];
                        maha += y * y;
                    }
                }
            }
            *o = self.log_const[k] - 0.5 * maha;
        }
    }
}

/// `log Σ exp(v)`, exact for −∞ entries and stable for large magnitudes.
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if max.is_infinite() {
        return max;
    }
    max + v.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// The information criteria of a fit on some rows (lower is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    /// `−2 log L + p ln n`.
    pub bic: f64,
    /// `−2 log L + 2p`.
    pub aic: f64,
}

/// A fitted Gaussian mixture.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    params: GmmParams,
    weights: Vec<f64>,
    means: Array2<f64>,
    covariances: Covariances,
    components: Components,
    converged: bool,
    n_iter: usize,
    lower_bound: f64,
    lower_bound_history: Vec<f64>,
}

/// Where an EM fit stands after one iteration (what [`GaussianMixture::fit_observed`] reports).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmIteration {
    /// The initialisation (1-based) of `n_init`.
    pub init: usize,
    pub n_init: usize,
    /// The EM iteration (1-based) of at most `max_iter`.
    pub iteration: usize,
    pub max_iter: usize,
    /// The lower bound (mean log-likelihood per row) after this iteration's E-step.
    pub lower_bound: f64,
    /// Its change from the previous iteration (infinite after the first); EM stops below `tol`.
    pub change: f64,
    pub tol: f64,
}

impl GaussianMixture {
    /// Fits by EM, `params.n_init` times from different initialisations, keeping the fit with the
    /// highest final lower bound (mean log-likelihood per sample).
    pub fn fit(params: &GmmParams, x: ArrayView2<f64>) -> Result<GaussianMixture> {
        Self::fit_observed(params, x, &mut |_| {})
    }

    /// [`fit`](Self::fit), calling `on_iteration` after every EM iteration of every
    /// initialisation (for a progress display).
    pub fn fit_observed(
        params: &GmmParams,
        x: ArrayView2<f64>,
        on_iteration: &mut dyn FnMut(&EmIteration),
    ) -> Result<GaussianMixture> {
        params.validate()?;
        with_dense_rows(x, |rows| Self::fit_rows(params, rows, on_iteration))
    }

    /// [`fit_observed`](Self::fit_observed) of rows read a block at a time (the same fit, to the
    /// bit, as of the same rows held whole).
    pub fn fit_rows(
        params: &GmmParams,
        x: &dyn Rows,
        on_iteration: &mut dyn FnMut(&EmIteration),
    ) -> Result<GaussianMixture> {
        params.validate()?;
        let (n, d) = (x.n_rows(), x.n_features());
        if n == 0 || d == 0 {
            return Err(GmmError::EmptyData {
                rows: n,
                columns: d,
            });
        }
        if let Some((row, column)) = first_non_finite(x) {
            return Err(GmmError::NonFinite { row, column });
        }
        check_spread(x)?;
        if n < params.n_components.max(2) {
            return Err(GmmError::TooFewRows {
                rows: n,
                components: params.n_components,
                needed: params.n_components.max(2),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut best: Option<GaussianMixture> = None;
        for init in 1..=params.n_init {
            let resp = initial_responsibilities(params, x, &mut rng);
            let run = fit_once(params, x, resp, &mut |iteration, lower_bound, change| {
                on_iteration(&EmIteration {
                    init,
                    n_init: params.n_init,
                    iteration,
                    max_iter: params.max_iter,
                    lower_bound,
                    change,
                    tol: params.tol,
                })
            })?;
            if best
                .as_ref()
                .is_none_or(|b| run.lower_bound > b.lower_bound)
            {
                best = Some(run);
            }
        }
        Ok(best.expect("n_init >= 1"))
    }

    /// A mixture from given parameters (weights sum to 1, `means` is `K × d`).
    pub fn from_parameters(
        weights: Vec<f64>,
        means: Array2<f64>,
        covariances: Covariances,
    ) -> Result<GaussianMixture> {
        let (k, d) = means.dim();
        let bad = |field, message: String| Err(GmmError::InvalidParameter { field, message });
        if weights.len() != k || k == 0 {
            return bad(
                "weights",
                format!("{} weights for {k} means", weights.len()),
            );
        }
        if weights.iter().any(|w| !(*w >= 0.0)) || (weights.iter().sum::<f64>() - 1.0).abs() > 1e-9
        {
            return bad("weights", "must be non-negative and sum to 1".into());
        }
        let shape_ok = match &covariances {
            Covariances::Full(c) => c.len() == k && c.iter().all(|m| m.dim() == (d, d)),
            Covariances::Tied(c) => c.dim() == (d, d),
            Covariances::Diag(c) => c.dim() == (k, d),
            Covariances::Spherical(v) => v.len() == k,
        };
        if !shape_ok {
            return bad(
                "covariances",
                format!("shape does not fit {k} components of {d} features"),
            );
        }
        if d == 0 {
            return bad("means", "the means have no feature columns".into());
        }
        if let Some(((c, j), v)) = means.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return bad(
                "means",
                format!("component {c}, feature {j}: {v} is not finite"),
            );
        }
        let params = GmmParams {
            n_components: k,
            covariance_type: covariances.covariance_type(),
            reg_covar: 0.0,
            ..GmmParams::default()
        };
        let components =
            build_components(&weights, means.as_slice().expect("owned"), &covariances, d)?;
        Ok(GaussianMixture {
            params,
            weights,
            means,
            covariances,
            components,
            converged: true,
            n_iter: 0,
            lower_bound: f64::NAN,
            lower_bound_history: Vec::new(),
        })
    }

    /// Per-sample log-likelihood `log Σ_k φ_k N(x | μ_k, Σ_k)` (scikit-learn's `score_samples`).
    pub fn score_samples(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let x = checked(x, Some(self.n_features()))?;
        let rows = DenseRows::new(x.as_slice().expect("standard layout"), self.n_features());
        Ok(self.log_likelihoods(&rows))
    }

    /// [`score_samples`](Self::score_samples) of rows read a block at a time.
    pub fn score_rows(&self, x: &dyn Rows) -> Result<Array1<f64>> {
        if x.n_features() != self.n_features() {
            return Err(GmmError::FeatureMismatch {
                expected: self.n_features(),
                found: x.n_features(),
            });
        }
        if let Some((row, column)) = first_non_finite(x) {
            return Err(GmmError::NonFinite { row, column });
        }
        Ok(self.log_likelihoods(x))
    }

    fn log_likelihoods(&self, x: &dyn Rows) -> Array1<f64> {
        let k = self.components.k();
        let mut out = vec![0.0; x.n_rows()];
        map_blocks_mut(x, CHUNK, &mut out, 1, |rows, out| {
            let mut lp = vec![0.0; out.len() * k];
            self.components.log_weighted_rows(rows, &mut lp);
            for (o, l) in out.iter_mut().zip(lp.chunks(k)) {
                *o = log_sum_exp(l);
            }
        });
        Array1::from(out)
    }

    /// Mean per-sample log-likelihood (scikit-learn's `score`); an error for zero rows, which
    /// have no mean.
    pub fn score(&self, x: ArrayView2<f64>) -> Result<f64> {
        if x.nrows() == 0 {
            return Err(GmmError::EmptyData {
                rows: 0,
                columns: x.ncols(),
            });
        }
        let s = self.score_samples(x)?;
        Ok(s.sum() / s.len() as f64)
    }

    /// [`score`](Self::score) of rows read a block at a time.
    pub fn score_of_rows(&self, x: &dyn Rows) -> Result<f64> {
        if x.n_rows() == 0 {
            return Err(GmmError::EmptyData {
                rows: 0,
                columns: x.n_features(),
            });
        }
        let s = self.score_rows(x)?;
        Ok(s.sum() / s.len() as f64)
    }

    /// Posterior probability of each component for each row, `n × K`.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        let x = checked(x, Some(self.n_features()))?;
        let k = self.components.k();
        let mut resp = vec![0.0; x.nrows() * k];
        e_step(
            &self.components,
            &DenseRows::new(x.as_slice().expect("standard layout"), self.n_features()),
            &mut resp,
        );
        Ok(Array2::from_shape_vec((x.nrows(), k), resp).expect("n × K"))
    }

    /// The most probable component of each row.
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<usize>> {
        let proba = self.predict_proba(x)?;
        Ok(proba
            .rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (i, &p)| if p > b.1 { (i, p) } else { b },
                    )
                    .0
            })
            .collect())
    }

    /// Number of free parameters: weights (K−1), means (K·d) and covariances.
    pub fn n_parameters(&self) -> usize {
        let (k, d) = (self.components.k(), self.n_features());
        let cov = match self.covariances.covariance_type() {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Tied => d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Spherical => k,
        };
        cov + k * d + k - 1
    }

    /// Bayesian information criterion on `x`: `−2 log L + p ln n` (lower is better).
    pub fn bic(&self, x: ArrayView2<f64>) -> Result<f64> {
        Ok(self.criteria(x)?.bic)
    }

    /// Akaike information criterion on `x`: `−2 log L + 2p` (lower is better).
    pub fn aic(&self, x: ArrayView2<f64>) -> Result<f64> {
        Ok(self.criteria(x)?.aic)
    }

    /// [`bic`](Self::bic) and [`aic`](Self::aic) from one pass over `x`.
    pub fn criteria(&self, x: ArrayView2<f64>) -> Result<Criteria> {
        Ok(self.criteria_from(x.nrows(), self.score(x)?))
    }

    /// [`criteria`](Self::criteria) of rows read a block at a time.
    pub fn criteria_of_rows(&self, x: &dyn Rows) -> Result<Criteria> {
        Ok(self.criteria_from(x.n_rows(), self.score_of_rows(x)?))
    }

    /// BIC and AIC of a mean log-likelihood `score` over `n` rows.
    fn criteria_from(&self, n: usize, score: f64) -> Criteria {
        let n = n as f64;
        let minus_two_log_l = -2.0 * score * n;
        let p = self.n_parameters() as f64;
        Criteria {
            bic: minus_two_log_l + p * n.ln(),
            aic: minus_two_log_l + 2.0 * p,
        }
    }

    pub fn params(&self) -> &GmmParams {
        &self.params
    }
    pub fn n_components(&self) -> usize {
        self.components.k()
    }
    pub fn n_features(&self) -> usize {
        self.components.d
    }
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
    pub fn means(&self) -> &Array2<f64> {
        &self.means
    }
    pub fn covariances(&self) -> &Covariances {
        &self.covariances
    }
    /// Whether the kept initialisation met `tol` within `max_iter` iterations.
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// EM iterations of the kept initialisation.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// The kept initialisation's final lower bound: mean log-likelihood per sample before the last
    /// M-step (scikit-learn's `lower_bound_`).
    pub fn lower_bound(&self) -> f64 {
        self.lower_bound
    }
    /// The lower bound after every E-step of the kept initialisation.
    pub fn lower_bound_history(&self) -> &[f64] {
        &self.lower_bound_history
    }
}

/// The data in standard layout, checked for width and finite values.
fn checked<'a>(x: ArrayView2<'a, f64>, width: Option<usize>) -> Result<CowArray<'a, f64, Ix2>> {
    if let Some(expected) = width {
        if x.ncols() != expected {
            return Err(GmmError::FeatureMismatch {
                expected,
                found: x.ncols(),
            });
        }
    }
    if let Some(pos) = x
        .indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(p, _)| p)
    {
        return Err(GmmError::NonFinite {
            row: pos.0,
            column: pos.1,
        });
    }
    if x.is_standard_layout() {
        Ok(CowArray::from(x))
    } else {
        Ok(CowArray::from(x.as_standard_layout().into_owned()))
    }
}

/// The first (row, column) of `x` holding NaN or an infinity, in row order.
fn first_non_finite(x: &dyn Rows) -> Option<(usize, usize)> {
    let d = x.n_features();
    map_blocks(x, CHUNK, |start, rows| {
        rows.iter()
            .position(|v| !v.is_finite())
            .map(|p| (start + p / d, p % d))
    })
    .into_iter()
    .flatten()
    .next()
}

/// Errors when a column's sum or variance overflows `f64`: EM would then see infinite
/// covariances and report them as ill-defined, which hides the cause. (Each column's sums run
/// over the rows in order.)
fn check_spread(x: &dyn Rows) -> Result<()> {
    let (n, d) = (x.n_rows(), x.n_features());
    let mut sums = vec![0.0; d];
    for_each_block(x, CHUNK, |rows| {
        for row in rows.chunks(d) {
            sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
    });
    let means: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
    let mut scatters = vec![0.0; d];
    for_each_block(x, CHUNK, |rows| {
        for row in rows.chunks(d) {
            for ((s, v), m) in scatters.iter_mut().zip(row).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
    });
    let overflow = |j: usize, quantity| {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for_each_block(x, CHUNK, |rows| {
            for row in rows.chunks(d) {
                (min, max) = (min.min(row[j]), max.max(row[j]));
            }
        });
        GmmError::ColumnOverflow {
            column: j,
            min: short_number(min),
            max: short_number(max),
            quantity,
        }
    };
    for j in 0..d {
        if !sums[j].is_finite() {
            return Err(overflow(j, "sum"));
        }
        if !scatters[j].is_finite() {
            return Err(overflow(j, "variance"));
        }
    }
    Ok(())
}

fn initial_responsibilities<R: Rng>(params: &GmmParams, x: &dyn Rows, rng: &mut R) -> Vec<f64> {
    let n = x.n_rows();
    let k = params.n_components;
    let one_hot = |labels: Vec<usize>| {
        let mut resp = vec![0.0; n * k];
        for (i, l) in labels.into_iter().enumerate() {
            resp[i * k + l] = 1.0;
        }
        resp
    };
    match params.init {
        InitMethod::KMeans => {
            let mut centers = kmeans::kmeans_plusplus_rows(x, k, rng);
            one_hot(kmeans::lloyd_rows(x, &mut centers, 300))
        }
        InitMethod::KMeansPlusPlus => {
            let centers = kmeans::kmeans_plusplus_rows(x, k, rng);
            one_hot(kmeans::assign(x, &centers))
        }
        InitMethod::Random => {
            let mut resp: Vec<f64> = (0..n * k).map(|_| rng.random::<f64>()).collect();
            for row in resp.chunks_mut(k) {
                let s: f64 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= s);
            }
            resp
        }
    }
}

/// EM from the responsibilities `resp` until the lower bound changes by less than `tol`;
/// `on_iteration(iteration, lower bound, change)` after each iteration.
fn fit_once(
    params: &GmmParams,
    x: &dyn Rows,
    mut resp: Vec<f64>,
    on_iteration: &mut dyn FnMut(usize, f64, f64),
) -> Result<GaussianMixture> {
    let (n, d) = (x.n_rows(), x.n_features());
    let (mut weights, mut means, mut covariances) = m_step(params, x, &resp);
    let mut components = build_components(&weights, &means, &covariances, d)?;
    let mut lower_bound = f64::NEG_INFINITY;
    let mut history = Vec::new();
    let mut converged = false;
    let mut n_iter = 0;
    for iter in 1..=params.max_iter {
        let previous = lower_bound;
        lower_bound = e_step(&components, x, &mut resp) / n as f64;
        (weights, means, covariances) = m_step(params, x, &resp);
        components = build_components(&weights, &means, &covariances, d)?;
        history.push(lower_bound);
        n_iter = iter;
        on_iteration(iter, lower_bound, (lower_bound - previous).abs());
        if (lower_bound - previous).abs() < params.tol {
            converged = true;
            break;
        }
    }
    Ok(GaussianMixture {
        params: params.clone(),
        weights,
        means: Array2::from_shape_vec((params.n_components, d), means).expect("K × d"),
        covariances,
        components,
        converged,
        n_iter,
        lower_bound,
        lower_bound_history: history,
    })
}

/// Fills `resp` (`n × K`) with posterior probabilities; returns the summed log-likelihood.
fn e_step(components: &Components, x: &dyn Rows, resp: &mut [f64]) -> f64 {
    let k = components.k();
    map_blocks_mut(x, CHUNK, resp, k, |rows, resp| {
        components.log_weighted_rows(rows, resp);
        let mut total = 0.0;
        for r in resp.chunks_mut(k) {
            let norm = log_sum_exp(r);
            total += norm;
            r.iter_mut().for_each(|v| *v = (*v - norm).exp());
        }
        total
    })
    .into_iter()
    .fold(0.0, |a, b| a + b)
}

/// `Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ` of each component (`K` `d × d` blocks, row-major; the lower
/// triangle and diagonal are the sums, entries above it are not to be read), as
/// `Σ_blocks W_bᵀ W_b` with `W_b = √r_k ∘ (X_b − μ_k)`; blocks of rows run in parallel. For
/// [`WIDE`] data: a rank-one update per row streams the whole `d × d` sum through memory for
/// every row, which for thousands of features was nearly the whole cost of EM; the matrix
/// product (cache-blocked by `matrixmultiply`) does not. Narrower data keep the per-row loop
/// and its results bit for bit.
fn wide_scatter(x: &dyn Rows, resp: &[f64], k: usize, means: &[f64]) -> Vec<f64> {
    let (n, d) = (x.n_rows(), x.n_features());
    // One block of rows per thread: each block's partial sums are K full d × d matrices (36 MB
    // for K = 2 at 1,500 features), which fresh pages make costly to allocate and add.
    let block = n.div_ceil(rayon::current_num_threads()).max(256);
    let parts = (0..n.div_ceil(block))
        .into_par_iter()
        .map(|b| {
            let (start, end) = (b * block, ((b + 1) * block).min(n));
            let mut acc = vec![0.0; k * d * d];
            // W of a few thousand rows at a time, not of the whole block: a copy of the rows
            // per M-step (187 MB on KDDCUP's training half) is what EM's peak memory was.
            let mut w = Array2::<f64>::zeros((SCATTER_ROWS.min(end - start), d));
            let mut buffer = Vec::new();
            for first in (start..end).step_by(SCATTER_ROWS) {
                let last = (first + SCATTER_ROWS).min(end);
                let rows = x.block(first, last, &mut buffer);
                let r = &resp[first * k..last * k];
                let m = last - first;
                let mut w = w.slice_mut(ndarray::s![..m, ..]);
                for c in 0..k {
                    let mean = &means[c * d..(c + 1) * d];
                    for (i, mut w_row) in w.rows_mut().into_iter().enumerate() {
                        let s = r[i * k + c].sqrt();
                        let row = &rows[i * d..(i + 1) * d];
                        for ((wj, xj), mj) in w_row.iter_mut().zip(row).zip(mean) {
                            *wj = s * (xj - mj);
                        }
                    }
                    let mut product = ndarray::ArrayViewMut2::from_shape(
                        (d, d),
                        &mut acc[c * d * d..(c + 1) * d * d],
                    )
                    .expect("d × d");
                    // The lower triangle only (what the covariances read), by blocks of
                    // columns: half the products of the whole WᵀW.
                    for i0 in (0..d).step_by(PRODUCT_BLOCK) {
                        let i1 = (i0 + PRODUCT_BLOCK).min(d);
                        general_mat_mul(
                            1.0,
                            &w.slice(ndarray::s![.., i0..i1]).t(),
                            &w.slice(ndarray::s![.., ..i1]),
                            1.0,
                            &mut product.slice_mut(ndarray::s![i0..i1, ..i1]),
                        );
                    }
                }
            }
            acc
        })
        .collect::<Vec<_>>();
    sum_in_order(parts, k * d * d)
}

/// Rows per product of the wide scatter: enough for the matrix product's own blocking, few enough
/// that `W` stays a few megabytes (24 MB at 1,500 features).
const SCATTER_ROWS: usize = 2048;

/// Columns per block where a wide product skips a triangle of zeros (or of entries nobody reads).
const PRODUCT_BLOCK: usize = 128;

/// Sums `a += b` elementwise; the reduction of per-chunk statistics.
/// The chunks' partial sums added in chunk order (`len` zeros for none). Rayon's `reduce` adds
/// them in the order its threads happen to finish, so the last bits of EM changed from run to
/// run; in order, the same seed gives the same fit to the bit.
fn sum_in_order(parts: Vec<Vec<f64>>, len: usize) -> Vec<f64> {
    let mut total = vec![0.0; len];
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

/// Weights, means (`K × d`, row-major) and covariances from responsibilities.
fn m_step(params: &GmmParams, x: &dyn Rows, resp: &[f64]) -> (Vec<f64>, Vec<f64>, Covariances) {
    let (n, d) = (x.n_rows(), x.n_features());
    let k = params.n_components;
    // The responsibilities of the block of rows starting at `start`.
    let resp_of = |start: usize, rows: &[f64]| &resp[start * k..(start + rows.len() / d) * k];
    // Pass 1: N_k and Σ_i r_ik x_i.
    let sums = map_blocks(x, CHUNK, |start, rows| {
        let resp = resp_of(start, rows);
        let mut acc = vec![0.0; k + k * d];
        for (row, r) in rows.chunks(d).zip(resp.chunks(k)) {
            for c in 0..k {
                acc[c] += r[c];
                let s = &mut acc[k + c * d..k + (c + 1) * d];
                for j in 0..d {
                    s[j] += r[c] * row[j];
                }
            }
        }
        acc
    });
    let sums = sum_in_order(sums, k + k * d);
    let nk: Vec<f64> = sums[..k].iter().map(|v| v + 10.0 * f64::EPSILON).collect();
    let mut means = sums[k..].to_vec();
    for c in 0..k {
        means[c * d..(c + 1) * d]
            .iter_mut()
            .for_each(|m| *m /= nk[c]);
    }
    let weights: Vec<f64> = nk.iter().map(|v| v / n as f64).collect();
    let weight_sum: f64 = weights.iter().sum();
    let weights: Vec<f64> = weights.iter().map(|w| w / weight_sum).collect();

    // Pass 2: Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ, the lower triangle only (or the diagonal).
    let diagonal_only = matches!(
        params.covariance_type,
        CovarianceType::Diag | CovarianceType::Spherical
    );
    let width = if diagonal_only { d } else { d * d };
    let scatter = if !diagonal_only && d >= WIDE {
        wide_scatter(x, resp, k, &means)
    } else {
        let parts = map_blocks(x, CHUNK, |start, rows| {
            let resp = resp_of(start, rows);
            let mut acc = vec![0.0; k * width];
            if !diagonal_only && with_width!(d, add_scatter(rows, resp, &means, &mut acc)).is_some()
            {
                return acc;
            }
            let mut diff = vec![0.0; d];
            for (row, r) in rows.chunks(d).zip(resp.chunks(k)) {
                for c in 0..k {
                    let w = r[c];
                    let mean = &means[c * d..(c + 1) * d];
                    for j in 0..d {
                        diff[j] = row[j] - mean[j];
                    }
                    let s = &mut acc[c * width..(c + 1) * width];
                    if diagonal_only {
                        for j in 0..d {
                            s[j] += w * diff[j] * diff[j];
                        }
                    } else {
                        for i in 0..d {
                            let wi = w * diff[i];
                            let s_row = &mut s[i * d..i * d + i + 1];
                            for (j, v) in s_row.iter_mut().enumerate() {
                                *v += wi * diff[j];
                            }
                        }
                    }
                }
            }
            acc
        });
        sum_in_order(parts, k * width)
    };
    let reg = params.reg_covar;
    let full_from = |s: &[f64], denominator: f64| {
        Array2::from_shape_fn((d, d), |(i, j)| {
            let (a, b) = if j <= i { (i, j) } else { (j, i) };
            s[a * d + b] / denominator + if i == j { reg } else { 0.0 }
        })
    };
    let covariances = match params.covariance_type {
        CovarianceType::Full => Covariances::Full(
            (0..k)
                .map(|c| full_from(&scatter[c * width..(c + 1) * width], nk[c]))
                .collect(),
        ),
        CovarianceType::Tied => {
            let mut total = vec![0.0; d * d];
            for c in 0..k {
                for (t, s) in total.iter_mut().zip(&scatter[c * width..(c + 1) * width]) {
                    *t += s;
                }
            }
            Covariances::Tied(full_from(&total, nk.iter().sum()))
        }
        CovarianceType::Diag | CovarianceType::Spherical => {
            let diag = Array2::from_shape_fn((k, d), |(c, j)| scatter[c * d + j] / nk[c] + reg);
            if params.covariance_type == CovarianceType::Diag {
                Covariances::Diag(diag)
            } else {
                Covariances::Spherical(
                    diag.rows()
                        .into_iter()
                        .map(|r| r.mean().unwrap_or(reg))
                        .collect(),
                )
            }
        }
    };
    (weights, means, covariances)
}

fn build_components(
    weights: &[f64],
    means: &[f64],
    covariances: &Covariances,
    d: usize,
) -> Result<Components> {
    let k = weights.len();
    let mut factors = Vec::with_capacity(k);
    let mut log_const = Vec::with_capacity(k);
    let diagonal = |variances: &mut dyn Iterator<Item = f64>, component| {
        let mut p = Vec::with_capacity(d);
        let mut log_det = 0.0;
        for v in variances {
            if !(v > 0.0) || !v.is_finite() {
                return Err(GmmError::SingularCovariance { component });
            }
            let s = 1.0 / v.sqrt();
            log_det += s.ln();
            p.push(s);
        }
        Ok((Factor::Diag(p), log_det))
    };
    // Full covariances are factored side by side (each is d³/3 work; the first failing
    // component is still the one reported).
    let mut full: std::vec::IntoIter<Result<(Factor, f64)>> = match covariances {
        Covariances::Full(m) => (0..k)
            .into_par_iter()
            .map(|c| full_factor(&m[c], d, c))
            .collect::<Vec<_>>()
            .into_iter(),
        _ => Vec::new().into_iter(),
    };
    for c in 0..k {
        let (factor, log_det) = match covariances {
            Covariances::Full(_) => full.next().expect("one factor per component")?,
            Covariances::Tied(m) => full_factor(m, d, c)?,
            Covariances::Diag(m) => diagonal(&mut m.row(c).iter().copied(), c)?,
            Covariances::Spherical(v) => diagonal(&mut std::iter::repeat_n(v[c], d), c)?,
        };
        log_const.push(weights[c].ln() - 0.5 * d as f64 * LN_2PI + log_det);
        factors.push(factor);
    }
    Ok(Components {
        d,
        log_const,
        means: means.to_vec(),
        factors,
    })
}

fn full_factor(m: &Array2<f64>, d: usize, component: usize) -> Result<(Factor, f64)> {
    let flat: Vec<f64> = m.iter().copied().collect();
    let (m, log_det) =
        inverse_cholesky(&flat, d).ok_or(GmmError::SingularCovariance { component })?;
    Ok((Factor::Full(m), log_det))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Density of a 2-D Gaussian written out by hand: explicit inverse and determinant.
    fn normal_2d(x: [f64; 2], mu: [f64; 2], s: [[f64; 2]; 2]) -> f64 {
        let det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
        let inv = [
            [s[1][1] / det, -s[0][1] / det],
            [-s[1][0] / det, s[0][0] / det],
        ];
        let v = [x[0] - mu[0], x[1] - mu[1]];
        let q = v[0] * (inv[0][0] * v[0] + inv[0][1] * v[1])
            + v[1] * (inv[1][0] * v[0] + inv[1][1] * v[1]);
        (-0.5 * q).exp() / (2.0 * std::f64::consts::PI * det.sqrt())
    }

    /// Rows of `d` features for the wide paths: two clouds, fixed pseudo-random values.
    fn wide_rows(n: usize, d: usize) -> Vec<f64> {
        (0..n * d)
            .map(|i| {
                let (r, j) = (i / d, i % d);
                let noise = ((i * 2_654_435_761) % 10_007) as f64 / 10_007.0 - 0.5;
                noise
                    + if r % 3 == 0 {
                        2.0 + 0.1 * j as f64
                    } else {
                        -0.05 * j as f64
                    }
            })
            .collect()
    }

    /// The matrix-product paths for wide data agree with the per-row loops they replace.
    #[test]
    fn wide_scatter_and_e_step_match_the_per_row_loops() {
        // One block of columns, then several with a ragged last one (and a blocked factor).
        for d in [45, 2 * PRODUCT_BLOCK + 44] {
            wide_paths_match_the_loops(d);
        }
    }

    fn wide_paths_match_the_loops(d: usize) {
        let (n, k) = (700, 2);
        assert!(d >= WIDE);
        let x = wide_rows(n, d);
        let resp: Vec<f64> = (0..n)
            .flat_map(|i| {
                let a = ((i * 37) % 101) as f64 / 101.0;
                [a, 1.0 - a]
            })
            .collect();
        let params = GmmParams {
            n_components: k,
            ..GmmParams::default()
        };
        let (weights, means, covariances) = m_step(&params, &DenseRows::new(&x, d), &resp);
        // The per-row scatter, written out.
        let mut expected = vec![0.0; k * d * d];
        for i in 0..n {
            for c in 0..k {
                for a in 0..d {
                    for b in 0..d {
                        expected[c * d * d + a * d + b] += resp[i * k + c]
                            * (x[i * d + a] - means[c * d + a])
                            * (x[i * d + b] - means[c * d + b]);
                    }
                }
            }
        }
        let wide = wide_scatter(&DenseRows::new(&x, d), &resp, k, &means);
        // The lower triangle is what the wide scatter promises.
        for c in 0..k {
            for a in 0..d {
                for b in 0..=a {
                    let (w, e) = (wide[c * d * d + a * d + b], expected[c * d * d + a * d + b]);
                    assert!(
                        (w - e).abs() <= 1e-9 * (1.0 + e.abs()),
                        "d {d} [{a}, {b}]: {w} vs {e}"
                    );
                }
            }
        }
        let components = build_components(&weights, &means, &covariances, d).unwrap();
        let mut by_blocks = vec![0.0; n * k];
        components.log_weighted_rows(&x, &mut by_blocks);
        let mut diff = vec![0.0; d];
        let mut one = vec![0.0; k];
        for i in 0..n {
            components.log_weighted(&x[i * d..(i + 1) * d], &mut diff, &mut one);
            for c in 0..k {
                let (b, r) = (by_blocks[i * k + c], one[c]);
                assert!(
                    (b - r).abs() <= 1e-9 * (1.0 + r.abs()),
                    "row {i}: {b} vs {r}"
                );
            }
        }
    }

    /// Rows that are copied into the caller's buffer block by block, as an encoded source is
    /// expanded.
    struct Copied(Vec<f64>, usize);

    impl Rows for Copied {
        fn n_rows(&self) -> usize {
            self.0.len() / self.1
        }
        fn n_features(&self) -> usize {
            self.1
        }
        fn block<'a>(&'a self, start: usize, end: usize, buffer: &'a mut Vec<f64>) -> &'a [f64] {
            buffer.clear();
            buffer.extend_from_slice(&self.0[start * self.1..end * self.1]);
            buffer
        }
    }

    /// EM over rows made a block at a time is EM over the rows held whole, to the bit: narrow
    /// (the per-row loops) and wide (the blocked products) data, k-means and k-means++ starts,
    /// several initialisations; and so are the scores, the criteria and the first bad value.
    #[test]
    fn rows_made_block_by_block_fit_as_rows_held_whole() {
        for (n, d, init) in [
            (3 * CHUNK + 17, 3, InitMethod::KMeans),
            (CHUNK + 5, 40, InitMethod::KMeansPlusPlus),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(d as u64);
            let x = Array2::from_shape_fn((n, d), |(i, j)| {
                ((i % 3) * (j % 4)) as f64 + rng.random_range(-1.0..1.0)
            });
            let params = GmmParams {
                n_components: 3,
                n_init: 2,
                init,
                ..GmmParams::default()
            };
            let whole = GaussianMixture::fit(&params, x.view()).unwrap();
            let copied = Copied(x.as_slice().unwrap().to_vec(), d);
            let blocks = GaussianMixture::fit_rows(&params, &copied, &mut |_| {}).unwrap();
            assert_eq!(blocks.lower_bound_history(), whole.lower_bound_history());
            assert_eq!(blocks.means(), whole.means());
            assert_eq!(blocks.covariances(), whole.covariances());
            assert_eq!(blocks.weights(), whole.weights());
            assert_eq!(
                whole.score_rows(&copied).unwrap(),
                whole.score_samples(x.view()).unwrap()
            );
            assert_eq!(
                whole.criteria_of_rows(&copied).unwrap(),
                whole.criteria(x.view()).unwrap()
            );
            let mut bad = copied.0.clone();
            bad[(CHUNK + 2) * d + 1] = f64::NAN;
            assert!(matches!(
                GaussianMixture::fit_rows(&params, &Copied(bad, d), &mut |_| {}),
                Err(GmmError::NonFinite { row, column: 1 }) if row == CHUNK + 2
            ));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_fit_to_the_bit_over_many_chunks() {
        // 40 chunks of rows on two threads: partial sums must be added in the same order.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let x = Array2::from_shape_fn((40 * CHUNK, 3), |(i, j)| {
            (i % 3) as f64 * 4.0 + j as f64 + rng.random_range(-1.0..1.0)
        });
        let params = GmmParams {
            n_components: 3,
            ..GmmParams::default()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let fits: Vec<GaussianMixture> = (0..3)
            .map(|_| pool.install(|| GaussianMixture::fit(&params, x.view()).unwrap()))
            .collect();
        for fit in &fits[1..] {
            assert_eq!(fit.lower_bound_history(), fits[0].lower_bound_history());
            assert_eq!(fit.means(), fits[0].means());
            assert_eq!(fit.covariances(), fits[0].covariances());
            assert_eq!(fit.weights(), fits[0].weights());
        }
    }

    fn points() -> Array2<f64> {
        array![
            [0.0, 0.0],
            [1.0, -2.0],
            [3.5, 0.25],
            [-4.0, 7.0],
            [2.0, 2.0]
        ]
    }

    #[test]
    fn score_samples_equals_closed_form_for_every_covariance_type() {
        let weights = vec![0.3, 0.7];
        let means = array![[0.0, 1.0], [2.0, -1.0]];
        let cases: Vec<(Covariances, [[[f64; 2]; 2]; 2])> = vec![
            (
                Covariances::Full(vec![
                    array![[2.0, 0.5], [0.5, 1.0]],
                    array![[1.0, -0.3], [-0.3, 0.5]],
                ]),
                [[[2.0, 0.5], [0.5, 1.0]], [[1.0, -0.3], [-0.3, 0.5]]],
            ),
            (
                Covariances::Tied(array![[1.5, 0.4], [0.4, 2.0]]),
                [[[1.5, 0.4], [0.4, 2.0]], [[1.5, 0.4], [0.4, 2.0]]],
            ),
            (
                Covariances::Diag(array![[2.0, 0.5], [0.25, 3.0]]),
                [[[2.0, 0.0], [0.0, 0.5]], [[0.25, 0.0], [0.0, 3.0]]],
            ),
            (
                Covariances::Spherical(vec![0.5, 4.0]),
                [[[0.5, 0.0], [0.0, 0.5]], [[4.0, 0.0], [0.0, 4.0]]],
            ),
        ];
        for (cov, dense) in cases {
            let kind = cov.covariance_type();
            let gmm =
                GaussianMixture::from_parameters(weights.clone(), means.clone(), cov).unwrap();
            let scores = gmm.score_samples(points().view()).unwrap();
            let proba = gmm.predict_proba(points().view()).unwrap();
            for (i, row) in points().rows().into_iter().enumerate() {
                let x = [row[0], row[1]];
                let p0 = 0.3 * normal_2d(x, [0.0, 1.0], dense[0]);
                let p1 = 0.7 * normal_2d(x, [2.0, -1.0], dense[1]);
                assert!(
                    (scores[i] - (p0 + p1).ln()).abs() < 1e-12,
                    "{kind:?} row {i}"
                );
                assert!(
                    (proba[[i, 0]] - p0 / (p0 + p1)).abs() < 1e-12,
                    "{kind:?} row {i}"
                );
            }
        }
    }

    #[test]
    fn far_away_rows_keep_finite_log_likelihoods() {
        // exp of the log-densities underflows to 0 here; log-sum-exp must not.
        let gmm = GaussianMixture::from_parameters(
            vec![0.5, 0.5],
            array![[0.0], [1.0]],
            Covariances::Spherical(vec![1.0, 1.0]),
        )
        .unwrap();
        let s = gmm.score_samples(array![[1e3]].view()).unwrap()[0];
        let expected = -0.5 * LN_2PI - 0.5 * 999.0f64.powi(2)
            + (0.5 * (1.0 + (-0.5 * (1e6 - 999.0f64.powi(2))).exp())).ln();
        assert!(s.is_finite());
        assert!((s - expected).abs() < 1e-9, "{s} vs {expected}");
        assert_eq!(
            log_sum_exp(&[f64::NEG_INFINITY, f64::NEG_INFINITY]),
            f64::NEG_INFINITY
        );
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }

    /// Two groups 1000 apart: EM's responsibilities are exactly 0/1, so every covariance type has
    /// a value computable by hand.
    fn two_groups() -> Array2<f64> {
        array![
            [0.0, 0.0],
            [2.0, 0.0],
            [0.0, 4.0],
            [2.0, 4.0],
            [1000.0, 1000.0],
            [1001.0, 1000.0],
            [1000.0, 1003.0],
            [1001.0, 1003.0],
            [1000.5, 1001.5]
        ]
    }

    fn fit_two(kind: CovarianceType) -> GaussianMixture {
        let params = GmmParams {
            n_components: 2,
            covariance_type: kind,
            reg_covar: 0.0,
            ..GmmParams::default()
        };
        let gmm = GaussianMixture::fit(&params, two_groups().view()).unwrap();
        assert!(gmm.converged());
        gmm
    }

    /// Index of the component around the origin.
    fn near(gmm: &GaussianMixture) -> (usize, usize) {
        if gmm.means()[[0, 0]] < 500.0 {
            (0, 1)
        } else {
            (1, 0)
        }
    }

    #[test]
    fn full_covariances_are_each_groups_own() {
        let gmm = fit_two(CovarianceType::Full);
        let (a, b) = near(&gmm);
        assert!((gmm.weights()[a] - 4.0 / 9.0).abs() < 1e-12);
        assert!(
            (gmm.means()[[a, 0]] - 1.0).abs() < 1e-12 && (gmm.means()[[a, 1]] - 2.0).abs() < 1e-12
        );
        // Group A: x ∈ {0,2} → var 1; y ∈ {0,4} → var 4; uncorrelated.
        let Covariances::Full(c) = gmm.covariances() else {
            panic!()
        };
        let expect_a = array![[1.0, 0.0], [0.0, 4.0]];
        // Group B: x ∈ {0,1,0,1,.5}+1000 → var 0.2; y ∈ {0,0,3,3,1.5}+1000 → var 1.8; cov 0.
        let expect_b = array![[0.2, 0.0], [0.0, 1.8]];
        assert!(
            (&c[a] - &expect_a).iter().all(|v| v.abs() < 1e-9),
            "{:?}",
            c[a]
        );
        assert!(
            (&c[b] - &expect_b).iter().all(|v| v.abs() < 1e-9),
            "{:?}",
            c[b]
        );
    }

    #[test]
    fn tied_covariance_is_the_pooled_scatter() {
        let gmm = fit_two(CovarianceType::Tied);
        let Covariances::Tied(c) = gmm.covariances() else {
            panic!()
        };
        // (4·diag(1,4) + 5·diag(0.2,1.8)) / 9
        let expect = array![[5.0 / 9.0, 0.0], [0.0, 25.0 / 9.0]];
        assert!((c - &expect).iter().all(|v| v.abs() < 1e-9), "{c:?}");
    }

    #[test]
    fn diag_and_spherical_variances_match_hand_values() {
        let gmm = fit_two(CovarianceType::Diag);
        let (a, b) = near(&gmm);
        let Covariances::Diag(c) = gmm.covariances() else {
            panic!()
        };
        assert!((c[[a, 0]] - 1.0).abs() < 1e-9 && (c[[a, 1]] - 4.0).abs() < 1e-9);
        assert!((c[[b, 0]] - 0.2).abs() < 1e-9 && (c[[b, 1]] - 1.8).abs() < 1e-9);
        let gmm = fit_two(CovarianceType::Spherical);
        let (a, b) = near(&gmm);
        let Covariances::Spherical(v) = gmm.covariances() else {
            panic!()
        };
        assert!(
            (v[a] - 2.5).abs() < 1e-9 && (v[b] - 1.0).abs() < 1e-9,
            "{v:?}"
        );
    }

    #[test]
    fn reg_covar_is_added_to_the_diagonal() {
        let params = GmmParams {
            n_components: 2,
            reg_covar: 0.5,
            ..GmmParams::default()
        };
        let gmm = GaussianMixture::fit(&params, two_groups().view()).unwrap();
        let (a, _) = near(&gmm);
        let c = gmm.covariances().component(a, 2);
        assert!(
            (c[[0, 0]] - 1.5).abs() < 1e-9
                && (c[[1, 1]] - 4.5).abs() < 1e-9
                && c[[0, 1]].abs() < 1e-9
        );
    }

    fn wavy(n: usize) -> Array2<f64> {
        // Deterministic, well spread, non-Gaussian data.
        Array2::from_shape_fn((n, 3), |(i, j)| {
            let t = i as f64 * 0.37 + j as f64;
            (t * 1.3).sin() * 3.0 + (t * 0.11).cos() * (j + 1) as f64 + (i % 7) as f64 * 0.5
        })
    }

    #[test]
    fn lower_bound_never_decreases() {
        for kind in [
            CovarianceType::Full,
            CovarianceType::Tied,
            CovarianceType::Diag,
            CovarianceType::Spherical,
        ] {
            for init in [InitMethod::Random, InitMethod::KMeansPlusPlus] {
                let params = GmmParams {
                    n_components: 4,
                    covariance_type: kind,
                    init,
                    reg_covar: 0.0,
                    tol: 0.0,
                    max_iter: 60,
                    seed: 3,
                    ..GmmParams::default()
                };
                let gmm = GaussianMixture::fit(&params, wavy(400).view()).unwrap();
                let h = gmm.lower_bound_history();
                assert!(h.len() > 5, "{kind:?} {init:?}: {} iterations", h.len());
                for w in h.windows(2) {
                    assert!(
                        w[1] >= w[0] - 1e-10 * w[0].abs(),
                        "{kind:?} {init:?}: {} then {}",
                        w[0],
                        w[1]
                    );
                }
            }
        }
    }

    /// The observer hears every iteration of every initialisation, in order, with the bounds the
    /// fit records, and the fit is the one `fit` gives.
    #[test]
    fn observed_fit_reports_every_iteration_of_every_init() {
        let params = GmmParams {
            n_components: 3,
            n_init: 2,
            init: InitMethod::Random,
            seed: 4,
            ..GmmParams::default()
        };
        let x = wavy(300);
        let mut seen = Vec::new();
        let gmm =
            GaussianMixture::fit_observed(&params, x.view(), &mut |it| seen.push(*it)).unwrap();
        let plain = GaussianMixture::fit(&params, x.view()).unwrap();
        assert_eq!(gmm.lower_bound(), plain.lower_bound());
        assert!(seen
            .iter()
            .all(|it| it.n_init == 2 && it.max_iter == params.max_iter));
        for init in 1..=2 {
            let runs: Vec<&EmIteration> = seen.iter().filter(|it| it.init == init).collect();
            assert!(!runs.is_empty(), "init {init} reported nothing");
            let numbers: Vec<usize> = runs.iter().map(|it| it.iteration).collect();
            assert_eq!(numbers, (1..=runs.len()).collect::<Vec<_>>());
            assert!(runs[0].change.is_infinite());
            for w in runs.windows(2) {
                assert_eq!(w[1].change, (w[1].lower_bound - w[0].lower_bound).abs());
            }
        }
        // The kept fit's history is one of the two runs' reports.
        let kept: Vec<f64> = gmm.lower_bound_history().to_vec();
        assert!((1..=2).any(|init| seen
            .iter()
            .filter(|it| it.init == init)
            .map(|it| it.lower_bound)
            .collect::<Vec<_>>()
            == kept));
    }

    #[test]
    fn best_of_several_inits_is_at_least_as_good_as_the_first() {
        let one = GmmParams {
            n_components: 5,
            init: InitMethod::Random,
            seed: 11,
            ..GmmParams::default()
        };
        let many = GmmParams {
            n_init: 6,
            ..one.clone()
        };
        let a = GaussianMixture::fit(&one, wavy(300).view()).unwrap();
        let b = GaussianMixture::fit(&many, wavy(300).view()).unwrap();
        assert!(b.lower_bound() >= a.lower_bound());
        // Same seed, same result.
        let c = GaussianMixture::fit(&many, wavy(300).view()).unwrap();
        assert_eq!(b.lower_bound(), c.lower_bound());
    }

    #[test]
    fn bic_and_aic_follow_their_formulas() {
        let gmm = fit_two(CovarianceType::Full);
        let x = two_groups();
        let ll = gmm.score(x.view()).unwrap() * 9.0;
        // 2 full 2×2 covariances (3 each) + 2 means (2 each) + 1 free weight = 11
        assert_eq!(gmm.n_parameters(), 11);
        assert!((gmm.bic(x.view()).unwrap() - (-2.0 * ll + 11.0 * 9f64.ln())).abs() < 1e-9);
        assert!((gmm.aic(x.view()).unwrap() - (-2.0 * ll + 22.0)).abs() < 1e-9);
        assert_eq!(fit_two(CovarianceType::Spherical).n_parameters(), 2 + 4 + 1);
        assert_eq!(fit_two(CovarianceType::Diag).n_parameters(), 4 + 4 + 1);
        assert_eq!(fit_two(CovarianceType::Tied).n_parameters(), 3 + 4 + 1);
        let labels = gmm.predict(x.view()).unwrap();
        assert!(
            labels[..4].iter().all(|&l| l == labels[0])
                && labels[4..].iter().all(|&l| l != labels[0])
        );
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let mut x = two_groups();
        x[[3, 1]] = f64::NAN;
        let params = GmmParams::new(2);
        assert_eq!(
            GaussianMixture::fit(&params, x.view()).unwrap_err(),
            GmmError::NonFinite { row: 3, column: 1 }
        );
        let gmm = fit_two(CovarianceType::Full);
        assert_eq!(
            gmm.score_samples(array![[1.0, 2.0, 3.0]].view())
                .unwrap_err(),
            GmmError::FeatureMismatch {
                expected: 2,
                found: 3
            }
        );
        assert!(matches!(
            GaussianMixture::fit(&GmmParams::new(0), two_groups().view()),
            Err(GmmError::InvalidParameter {
                field: "n_components",
                ..
            })
        ));
        let bad_tol = GmmParams {
            tol: -1.0,
            ..GmmParams::new(1)
        };
        assert!(matches!(
            bad_tol.validate(),
            Err(GmmError::InvalidParameter { field: "tol", .. })
        ));
        assert!(matches!(
            GaussianMixture::fit(&GmmParams::new(10), two_groups().view()),
            Err(GmmError::TooFewRows { .. })
        ));
        // Identical rows and no regularisation: the covariance is singular.
        let flat = Array2::from_elem((10, 2), 1.0);
        let params = GmmParams {
            reg_covar: 0.0,
            ..GmmParams::new(1)
        };
        assert!(matches!(
            GaussianMixture::fit(&params, flat.view()),
            Err(GmmError::SingularCovariance { .. })
        ));
        // With the default regularisation it fits.
        assert!(GaussianMixture::fit(&GmmParams::new(1), flat.view()).is_ok());
    }

    #[test]
    fn transposed_views_are_accepted() {
        let x = two_groups();
        let xt = x.t().to_owned();
        let gmm = fit_two(CovarianceType::Full);
        let a = gmm.score_samples(x.view()).unwrap();
        let b = gmm.score_samples(xt.t()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn empty_data_is_an_error_in_every_fit_entry_point() {
        use crate::{select_by_bic, GaussianDensity, GaussianKind};
        for (rows, columns) in [(0, 2), (5, 0), (0, 0)] {
            let x = Array2::<f64>::zeros((rows, columns));
            let empty = Err(GmmError::EmptyData { rows, columns });
            for kind in [
                CovarianceType::Full,
                CovarianceType::Tied,
                CovarianceType::Diag,
                CovarianceType::Spherical,
            ] {
                let params = GmmParams {
                    covariance_type: kind,
                    ..GmmParams::new(1)
                };
                assert_eq!(GaussianMixture::fit(&params, x.view()).map(|_| ()), empty);
            }
            for kind in [GaussianKind::Multivariate, GaussianKind::PerFeature] {
                assert_eq!(
                    GaussianDensity::fit(kind, x.view(), 1e-6).map(|_| ()),
                    empty
                );
            }
            assert_eq!(
                select_by_bic(&GmmParams::new(1), x.view(), 1, 3).map(|_| ()),
                empty
            );
        }
        assert_eq!(
            GmmError::EmptyData {
                rows: 5,
                columns: 0
            }
            .to_string(),
            "the data are empty (5 rows × 0 columns); a Gaussian needs at least one row and one \
             feature column"
        );
    }

    #[test]
    fn scoring_empty_or_mismatched_data_is_an_error() {
        let gmm = fit_two(CovarianceType::Full);
        let no_rows = Array2::<f64>::zeros((0, 2));
        assert_eq!(gmm.score_samples(no_rows.view()).unwrap().len(), 0);
        let empty = Err(GmmError::EmptyData {
            rows: 0,
            columns: 2,
        });
        assert_eq!(gmm.score(no_rows.view()), empty);
        assert_eq!(gmm.bic(no_rows.view()), empty);
        assert_eq!(gmm.aic(no_rows.view()), empty);
        for width in [0, 1, 3] {
            let x = Array2::<f64>::zeros((4, width));
            let mismatch = GmmError::FeatureMismatch {
                expected: 2,
                found: width,
            };
            assert_eq!(gmm.score_samples(x.view()).unwrap_err(), mismatch);
            assert_eq!(gmm.score(x.view()).unwrap_err(), mismatch);
            assert_eq!(gmm.predict(x.view()).unwrap_err(), mismatch);
            assert_eq!(gmm.predict_proba(x.view()).unwrap_err(), mismatch);
            assert_eq!(gmm.bic(x.view()).unwrap_err(), mismatch);
        }
    }

    #[test]
    fn from_parameters_refuses_zero_features_and_non_finite_means() {
        let zero = GaussianMixture::from_parameters(
            vec![1.0],
            Array2::zeros((1, 0)),
            Covariances::Spherical(vec![1.0]),
        );
        assert!(
            matches!(zero, Err(GmmError::InvalidParameter { field: "means", .. })),
            "{zero:?}"
        );
        let nan = GaussianMixture::from_parameters(
            vec![1.0],
            array![[0.0, f64::NAN]],
            Covariances::Spherical(vec![1.0]),
        );
        assert!(
            matches!(nan, Err(GmmError::InvalidParameter { field: "means", .. })),
            "{nan:?}"
        );
    }

    #[test]
    fn a_column_whose_variance_overflows_is_named() {
        use crate::{GaussianDensity, GaussianKind};
        // Finite values, but (1e308 - mean)² overflows: every covariance would be infinite.
        let x = array![[0.0, -1.0], [1.0, 1e308], [2.0, 0.5], [3.0, 0.25]];
        let expected = GmmError::ColumnOverflow {
            column: 1,
            min: "-1".into(),
            max: "1e308".into(),
            quantity: "variance",
        };
        for kind in [GaussianKind::Multivariate, GaussianKind::PerFeature] {
            assert_eq!(
                GaussianDensity::fit(kind, x.view(), 1e-6).unwrap_err(),
                expected
            );
        }
        assert_eq!(
            GaussianMixture::fit(&GmmParams::new(2), x.view()).unwrap_err(),
            expected
        );
        assert_eq!(
            expected.to_string(),
            "column 1: values range from -1 to 1e308; their variance overflows f64 — rescale \
             this column (or scale the features)"
        );
        // Two values near the top of f64: the sum overflows first.
        let big = array![[1.5e308], [1.5e308], [1.0]];
        assert!(matches!(
            GaussianMixture::fit(&GmmParams::new(1), big.view()),
            Err(GmmError::ColumnOverflow {
                column: 0,
                quantity: "sum",
                ..
            })
        ));
        // Large but harmless magnitudes still fit.
        let large = array![[1e150, 1.0], [2e150, 2.0], [1.5e150, 0.0], [3e150, 1.5]];
        assert!(GaussianMixture::fit(&GmmParams::new(1), large.view()).is_ok());
    }
}
