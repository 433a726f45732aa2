//! The classic detectors behind [`Detector`]: an EM Gaussian mixture and a single Gaussian on the
//! input features (`dagmm-classic-gmm`). Both score a row by its negative log-likelihood
//! `−log p(x)`, DAGMM's "energy" of the input itself, and keep the log-likelihood beside it.

use std::path::Path;

use dagmm_classic_gmm::{
    select_by_bic_of_rows, CovarianceType, Covariances, EmIteration, GaussianDensity, GaussianKind,
    GaussianMixture, GmmParams, Rows,
};
use dagmm_data::FeaturesView;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::detector::{Detector, RowScores, ScoreName};
use crate::detectors::{DetectorKind, GaussianSection, GmmSection};
use crate::files::{read_json, write_json_compact};
use crate::{PipelineError, Result};

/// File of a saved [`ClassicDetector`] in a model folder.
pub const CLASSIC_FILE: &str = "gaussian_mixture.json";
const FORMAT: &str = "dagmm-gaussian-mixture";
const VERSION: u32 = 1;

/// The fitted parameters as summaries and model files record them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicModel {
    /// `gaussian_mixture`, or the single Gaussian's kind (`multivariate`, `per_feature`).
    pub kind: String,
    pub n_components: usize,
    pub covariance_type: CovarianceType,
    pub weights: Vec<f64>,
    /// One row per component.
    pub means: Vec<Vec<f64>>,
    pub covariances: Covariances,
    /// The EM settings of a mixture (none for a single Gaussian).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<GmmParams>,
    /// The single Gaussian's `reg_covar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_covar: Option<f64>,
}

impl ClassicModel {
    fn of(
        kind: String,
        gmm: &GaussianMixture,
        params: Option<GmmParams>,
        reg_covar: Option<f64>,
    ) -> Self {
        ClassicModel {
            kind,
            n_components: gmm.n_components(),
            covariance_type: gmm.covariances().covariance_type(),
            weights: gmm.weights().to_vec(),
            means: gmm.means().rows().into_iter().map(|r| r.to_vec()).collect(),
            covariances: gmm.covariances().clone(),
            params,
            reg_covar,
        }
    }

    fn mixture(&self) -> Result<GaussianMixture> {
        let d = self.means.first().map_or(0, Vec::len);
        let flat: Vec<f64> = self.means.iter().flatten().copied().collect();
        let means = Array2::from_shape_vec((self.means.len(), d), flat)
            .map_err(|e| PipelineError::Invalid(format!("ragged means: {e}")))?;
        Ok(GaussianMixture::from_parameters(
            self.weights.clone(),
            means,
            self.covariances.clone(),
        )?)
    }
}

/// What `summary.json` records of a fitted mixture: its shape, weights and settings. Its means
/// and covariances are in the model folder only (K·d² numbers: hundreds of megabytes on a wide
/// data set). Summaries of earlier versions, which held them too, read back (the extra fields
/// are passed by).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicShape {
    pub kind: String,
    pub n_components: usize,
    pub covariance_type: CovarianceType,
    pub weights: Vec<f64>,
    /// The number of features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_features: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<GmmParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_covar: Option<f64>,
}

impl From<&ClassicModel> for ClassicShape {
    fn from(m: &ClassicModel) -> Self {
        ClassicShape {
            kind: m.kind.clone(),
            n_components: m.n_components,
            covariance_type: m.covariance_type,
            weights: m.weights.clone(),
            n_features: m.means.first().map(Vec::len),
            params: m.params.clone(),
            reg_covar: m.reg_covar,
        }
    }
}

/// One row of a BIC selection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BicRow {
    pub k: usize,
    pub bic: f64,
}

/// `gmm.select_k`: the range tried, the count kept, every BIC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BicSelectionRecord {
    pub criterion: String,
    pub range: [usize; 2],
    pub selected_k: usize,
    pub bic_by_k: Vec<BicRow>,
}

/// What an EM fit reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicFit {
    pub n_iter: usize,
    pub converged: bool,
    /// Final mean log-likelihood of the training rows.
    pub lower_bound: f64,
    /// On the training rows.
    pub bic: f64,
    pub aic: f64,
    pub model: ClassicModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<BicSelectionRecord>,
}

/// Feature rows as EM reads them, a block at a time: borrowed where they are one f64 matrix,
/// else widened (f32) or expanded (encoded rows) block by block, never whole.
pub(crate) struct FeatureRows<'a>(pub FeaturesView<'a>);

impl Rows for FeatureRows<'_> {
    fn n_rows(&self) -> usize {
        self.0.nrows()
    }

    fn n_features(&self) -> usize {
        self.0.ncols()
    }

    fn block<'b>(&'b self, start: usize, end: usize, buffer: &'b mut Vec<f64>) -> &'b [f64] {
        let d = self.0.ncols();
        if let FeaturesView::F64(x) = &self.0 {
            if let Some(all) = x.as_slice() {
                return &all[start * d..end * d];
            }
        }
        buffer.resize((end - start) * d, 0.0);
        for (i, out) in (start..end).zip(buffer.chunks_exact_mut(d.max(1))) {
            self.0.row_to_f64(i, out);
        }
        buffer
    }
}

impl ClassicFit {
    fn of(gmm: &GaussianMixture, x: &dyn Rows, model: ClassicModel) -> Result<Self> {
        let criteria = gmm.criteria_of_rows(x)?;
        Ok(ClassicFit {
            n_iter: gmm.n_iter(),
            converged: gmm.converged(),
            lower_bound: gmm.lower_bound(),
            bic: criteria.bic,
            aic: criteria.aic,
            model,
            selection: None,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassicFile {
    format: String,
    version: u32,
    detector: DetectorKind,
    model: ClassicModel,
}

fn save_classic(dir: &Path, detector: DetectorKind, model: &ClassicModel) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| PipelineError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    write_json_compact(
        &dir.join(CLASSIC_FILE),
        &ClassicFile {
            format: FORMAT.into(),
            version: VERSION,
            detector,
            model: model.clone(),
        },
    )
}

fn load_classic(dir: &Path, detector: DetectorKind) -> Result<ClassicModel> {
    let path = dir.join(CLASSIC_FILE);
    let file: ClassicFile = read_json(&path)?;
    if file.format != FORMAT || file.version != VERSION || file.detector != detector {
        return Err(PipelineError::Format {
            path,
            message: format!(
                "{} v{} of a {} detector, expected {FORMAT} v{VERSION} of a {} detector",
                file.format,
                file.version,
                file.detector.name(),
                detector.name()
            ),
        });
    }
    Ok(file.model)
}

/// A classic detector: an EM Gaussian mixture (`[gmm]`) or a single Gaussian (`[gaussian]`),
/// both held as a mixture (one component for the single Gaussian).
#[derive(Debug, Clone)]
pub struct ClassicDetector {
    kind: DetectorKind,
    gmm: GaussianMixture,
    model: ClassicModel,
}

impl ClassicDetector {
    /// EM with `section`'s settings and `seed`; with `select_k`, every count in the range and the
    /// lowest BIC kept.
    /// `on_iteration` hears every EM iteration of a fit without `select_k`.
    pub fn fit_gmm(
        section: &GmmSection,
        seed: u64,
        x: FeaturesView<'_>,
        on_iteration: &mut dyn FnMut(&EmIteration),
    ) -> Result<(Self, ClassicFit)> {
        let params = section.params(seed);
        let rows = x.nrows();
        let x = FeatureRows(x);
        match section.select_k {
            Some([min, max]) if max > rows => {
                return Err(PipelineError::Invalid(format!(
                    "gmm.select_k = [{min}, {max}] (--select-k {min}..{max}) tries up to {max} \
                     components, but only {rows} rows are fitted on, and a mixture needs at least \
                     as many rows as components: make the range's top at most {rows}"
                )))
            }
            None if section.n_components > rows => {
                return Err(PipelineError::Invalid(format!(
                    "gmm.n_components = {k} (-k/--components {k}) needs at least {k} rows to fit \
                     on, and there are {rows}",
                    k = section.n_components
                )))
            }
            _ => {}
        }
        let (gmm, selection) = match section.select_k {
            Some([min, max]) => {
                let s = select_by_bic_of_rows(&params, &x, min, max)?;
                let record = BicSelectionRecord {
                    criterion: "bic".into(),
                    range: [min, max],
                    selected_k: s.best.n_components(),
                    bic_by_k: s.bics.iter().map(|&(k, bic)| BicRow { k, bic }).collect(),
                };
                (s.best, Some(record))
            }
            None => (GaussianMixture::fit_rows(&params, &x, on_iteration)?, None),
        };
        let used = GmmParams {
            n_components: gmm.n_components(),
            ..params
        };
        let model = ClassicModel::of("gaussian_mixture".into(), &gmm, Some(used), None);
        let mut fit = ClassicFit::of(&gmm, &x, model.clone())?;
        fit.selection = selection;
        Ok((Self::new(DetectorKind::Gmm, gmm, model), fit))
    }

    /// The maximum-likelihood Gaussian of `section.kind`.
    pub fn fit_gaussian(
        section: &GaussianSection,
        x: ArrayView2<f64>,
    ) -> Result<(Self, ClassicFit)> {
        let density = GaussianDensity::fit(section.kind, x, section.reg_covar)?;
        let kind = match section.kind {
            GaussianKind::Multivariate => "multivariate",
            GaussianKind::PerFeature => "per_feature",
        };
        let gmm = density.as_mixture().clone();
        let model = ClassicModel::of(kind.into(), &gmm, None, Some(section.reg_covar));
        let fit = ClassicFit::of(&gmm, &FeatureRows(x.into()), model.clone())?;
        Ok((Self::new(DetectorKind::Gaussian, gmm, model), fit))
    }

    fn new(kind: DetectorKind, gmm: GaussianMixture, model: ClassicModel) -> Self {
        ClassicDetector { kind, gmm, model }
    }

    /// Reads a classic detector of `kind` saved in `dir`.
    pub fn load(dir: &Path, kind: DetectorKind) -> Result<Self> {
        let model = load_classic(dir, kind)?;
        Ok(Self::new(kind, model.mixture()?, model))
    }
}

impl Detector for ClassicDetector {
    fn kind(&self) -> DetectorKind {
        self.kind
    }
    fn score_name(&self) -> ScoreName {
        ScoreName::NegativeLogLikelihood
    }
    fn input_dim(&self) -> usize {
        self.gmm.n_features()
    }
    fn score(&self, x: FeaturesView<'_>) -> Result<RowScores> {
        let ll = self.gmm.score_rows(&FeatureRows(x))?.to_vec();
        Ok(RowScores {
            score: ll.iter().map(|l| -l).collect(),
            columns: vec![("log_likelihood", ll)],
            embedding: None,
        })
    }
    fn save(&self, dir: &Path) -> Result<()> {
        save_classic(dir, self.kind, &self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Blocks of rows read through [`FeatureRows`] are the rows of the whole matrix widened to
    /// f64: borrowed from a standard f64 matrix, copied from a transposed view, widened from f32.
    #[test]
    fn feature_rows_blocks_are_the_whole_matrix_rows() {
        let narrow = Array2::from_shape_fn((7, 3), |(i, j)| (i * 3 + j) as f32 * 0.1);
        let whole = narrow.mapv(f64::from);
        let transposed = whole.t().to_owned();
        for view in [
            FeaturesView::from(narrow.view()),
            FeaturesView::from(whole.view()),
            FeaturesView::from(transposed.t()),
        ] {
            let rows = FeatureRows(view);
            assert_eq!((rows.n_rows(), rows.n_features()), (7, 3));
            let mut buffer = Vec::new();
            for (start, end) in [(0, 3), (3, 6), (6, 7)] {
                let block = rows.block(start, end, &mut buffer).to_vec();
                let want: Vec<f64> = whole
                    .slice(ndarray::s![start..end, ..])
                    .iter()
                    .copied()
                    .collect();
                assert_eq!(block, want, "rows {start}..{end}");
            }
        }
    }
}
