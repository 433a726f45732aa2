//! One run of any detector under the protocol: prepare the data, judge the untrained control
//! (where there is one), fit, score the training and test rows, judge the test scores (or take
//! the PU decision), and gather the summary, the model card and the per-row results. Nothing is
//! written here: the caller decides where the results go.

use std::time::Instant;

use dagmm_classic_gmm::EmIteration;
use dagmm_model::{Checkpointing, EpochLosses};
use serde::{Deserialize, Serialize};

use crate::classic::ClassicShape;
use crate::config::RunConfig;
use crate::detector::{Detector, RowScores};
use crate::detectors::{FitProgress, FitReport};
use crate::protocol::{both_classes, judge, prepare, PreparedData};
use crate::pu::pu_decide;
use crate::records::{
    curves, Decision, DecisionKind, ModelCard, ProtocolRecord, PuRecord, RunSummary,
};
use crate::{PipelineError, Result};

/// What a run tells its caller while it runs.
pub enum RunEvent<'a> {
    /// The data are loaded, split and scaled.
    Prepared(&'a PreparedData),
    /// An epoch of a neural detector finished (any stage).
    Epoch(&'a EpochLosses),
    /// An EM iteration of a classic mixture's fit finished.
    EmIteration(&'a EmIteration),
}

/// Seconds spent in each part of a run.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    pub load_seconds: f64,
    pub untrained_seconds: f64,
    pub fit_seconds: f64,
    /// Every epoch of every stage together.
    pub train_seconds: f64,
    pub score_seconds: f64,
    pub wall_seconds: f64,
}

/// The judged rows and what the run made of them.
pub struct TestRows {
    /// Row numbers in the loaded data set.
    pub indices: Vec<usize>,
    pub scores: RowScores,
    /// PU: `1 − h/c` of every row.
    pub pu_score: Option<Vec<f64>>,
    pub flagged: Vec<u8>,
    pub labels: Option<Vec<u8>>,
}

/// Everything a run produced.
pub struct RunOutput {
    pub summary: RunSummary,
    /// Every epoch of every stage (neural detectors).
    pub history: Vec<EpochLosses>,
    pub detector: Box<dyn Detector>,
    pub card: ModelCard,
    pub test: TestRows,
    pub timings: Timings,
}

/// Runs `config` end to end, without checkpoints.
pub fn run(config: &RunConfig, on_event: &mut dyn FnMut(RunEvent<'_>)) -> Result<RunOutput> {
    run_checkpointed(config, None, on_event)
}

/// Runs `config` end to end; a neural detector saves its training's checkpoints in
/// `checkpoints.dir` and, with `checkpoints.resume`, continues the one it finds there.
pub fn run_checkpointed(
    config: &RunConfig,
    checkpoints: Option<&Checkpointing>,
    on_event: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunOutput> {
    let wall = Instant::now();
    let family = config.kind().family();
    let capabilities = family.capabilities();
    if capabilities.uses_device {
        // A device that cannot start fails the run before the data are read.
        config.device.try_device()?;
    }
    let prepared = prepare(config)?;
    crate::memory::check_fits(
        config,
        prepared.n_rows,
        prepared.train.ncols(),
        crate::memory::available_bytes(),
    )?;
    let load_seconds = wall.elapsed().as_secs_f64();
    on_event(RunEvent::Prepared(&prepared));
    let evaluation = &config.evaluation;
    let same_rows = prepared.judged_on_training_rows();
    let score_both = |d: &dyn Detector| -> Result<(RowScores, RowScores)> {
        let train = d.score(prepared.train.view())?;
        let test = if same_rows {
            train.clone()
        } else {
            d.score(prepared.test().view())?
        };
        Ok((train, test))
    };
    let pu_seed = evaluation.pu.as_ref().map_or(0, |p| p.seed ^ config.seed());
    let pu_labels = || -> Result<(&[u8], &[u8])> {
        match (&prepared.train_labels, &prepared.test_labels) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(PipelineError::Invalid(
                "the PU decision needs labelled rows".into(),
            )),
        }
    };

    // The control: the same network at its initial weights, the same protocol.
    let started = Instant::now();
    let untrained = match family.untrained(config, prepared.train.view())? {
        Some(control) => {
            let (train, test) = score_both(control.as_ref())?;
            match &evaluation.pu {
                Some(pu) => {
                    let (train_labels, test_labels) = pu_labels()?;
                    Some(pu_decide(pu, pu_seed, &train, train_labels, &test, test_labels)?.metrics)
                }
                None => {
                    judge(
                        evaluation,
                        &train.score,
                        &test.score,
                        prepared.test_labels.as_deref(),
                    )?
                    .metrics
                }
            }
        }
        None => None,
    };
    let untrained_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let labels = if config.needs_training_labels() {
        prepared.train_labels.as_deref()
    } else {
        None
    };
    let fitted = family.fit(
        config,
        prepared.train.view(),
        labels,
        checkpoints,
        &mut |p| match p {
            FitProgress::Epoch(e) => on_event(RunEvent::Epoch(e)),
            FitProgress::EmIteration(i) => on_event(RunEvent::EmIteration(i)),
        },
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let detector = fitted.detector;
    let (train_scores, test_scores) = score_both(detector.as_ref())?;
    let test_labels = prepared.test_labels.as_deref();
    let judgement = judge(
        evaluation,
        &train_scores.score,
        &test_scores.score,
        test_labels,
    )?;
    let mut decision = Decision::Cut {
        rule: judgement.rule,
        threshold: judgement.threshold,
    };
    let mut decision_kind = DecisionKind::from(judgement.rule);
    let mut threshold = judgement.threshold;
    let mut flagged = judgement.flagged.clone();
    let mut metrics = judgement.metrics;
    let mut pu_record = None;
    let mut pu_score = None;
    let mut plot = both_classes(test_labels)
        .map(|l| curves(&test_scores.score, l, threshold))
        .transpose()?;
    if let Some(pu) = &evaluation.pu {
        let (train_labels, labels) = pu_labels()?;
        let outcome = pu_decide(
            pu,
            pu_seed,
            &train_scores,
            train_labels,
            &test_scores,
            labels,
        )?;
        let percentile_metrics = metrics.ok_or_else(|| {
            PipelineError::Invalid("the PU decision needs test rows of both classes".into())
        })?;
        let t = &outcome.threshold;
        pu_record = Some(PuRecord {
            c: t.c(),
            threshold: t.threshold(),
            labelling_rate: t.labelling_rate(),
            labelled: outcome.labelled,
            labelled_fit: t.n_labelled_fit(),
            held_out: t.n_held_out(),
            unlabelled: t.n_unlabelled(),
            classifier_converged: t.classifier().converged(),
            percentile_metrics,
        });
        plot = Some(curves(&outcome.score, labels, 0.5)?);
        flagged = outcome.flagged;
        metrics = Some(outcome.metrics);
        threshold = 0.5;
        decision_kind = DecisionKind::Pu;
        decision = Decision::Pu(outcome.threshold);
        pu_score = Some(outcome.score);
    }
    let score_seconds = started.elapsed().as_secs_f64();

    let history = fitted.history;
    // A fold from +0: an empty sum of f64 is -0.0.
    let train_seconds = history.iter().fold(0.0, |a, e| a + e.seconds);
    let rows_trained: usize = history.iter().map(|e| e.rows).sum();
    let n_flagged = flagged.iter().filter(|&&f| f == 1).count();
    let (classic, ocsvm) = match fitted.report {
        FitReport::None => (None, None),
        FitReport::Classic(c) => (Some(*c), None),
        FitReport::OcSvm(o) => (None, Some(o)),
    };
    let log_likelihood = test_scores.column("log_likelihood");
    let summary = RunSummary {
        detector: Some(config.kind()),
        data: prepared.path.display().to_string(),
        source: Some(config.data.source),
        protocol: Some(ProtocolRecord {
            split: evaluation.split,
            threshold: evaluation.threshold,
            anomaly_percentile: evaluation.anomaly_percentile,
            threshold_value: evaluation.threshold_value,
            train_fraction: config.data.train_fraction,
            contamination: config.data.contamination,
            pu: evaluation.pu.is_some(),
        }),
        score: detector.score_name(),
        decision: decision_kind,
        n_rows: prepared.n_rows,
        n_features: prepared.train.ncols(),
        n_train: Some(prepared.train.nrows()),
        n_train_anomalies: prepared.n_train_anomalies(),
        n_test: Some(prepared.test().nrows()),
        n_test_anomalies: prepared.n_test_anomalies(),
        threshold,
        anomaly_percentile: evaluation.anomaly_percentile,
        flagged: n_flagged,
        flagged_fraction: Some(n_flagged as f64 / flagged.len() as f64),
        precision: metrics.map(|m| m.precision),
        recall: metrics.map(|m| m.recall),
        f1: metrics.map(|m| m.f1),
        roc_auc: metrics.map(|m| m.roc_auc),
        pr_auc: metrics.map(|m| m.pr_auc),
        confusion: metrics.map(|m| m.confusion),
        best_f1: judgement.best_f1,
        sweep: judgement.sweep,
        threshold_rules: judgement.rules,
        untrained_precision: untrained.map(|m| m.precision),
        untrained_recall: untrained.map(|m| m.recall),
        untrained_f1: untrained.map(|m| m.f1),
        untrained_roc_auc: untrained.map(|m| m.roc_auc),
        pu: pu_record,
        mean_log_likelihood: log_likelihood.map(|l| l.iter().sum::<f64>() / l.len() as f64),
        log_likelihood_threshold: log_likelihood
            .filter(|_| evaluation.pu.is_none())
            .map(|_| -threshold),
        n_iter: classic.as_ref().map(|c| c.n_iter),
        converged: classic.as_ref().map(|c| c.converged),
        lower_bound: classic.as_ref().map(|c| c.lower_bound),
        bic: classic.as_ref().map(|c| c.bic),
        aic: classic.as_ref().map(|c| c.aic),
        model: classic.as_ref().map(|c| ClassicShape::from(&c.model)),
        selection: classic.as_ref().and_then(|c| c.selection.clone()),
        ocsvm,
        seed: Some(config.seed()),
        split_seed: Some(config.split_seed()),
        device: capabilities.uses_device.then_some(config.device),
        epochs: config.epochs(),
        train_seconds: capabilities.trains_by_epoch.then_some(train_seconds),
        fit_seconds: Some(fit_seconds),
        wall_seconds: Some(wall.elapsed().as_secs_f64()),
        samples_per_second: (rows_trained > 0 && train_seconds > 0.0)
            .then(|| rows_trained as f64 / train_seconds),
        first_loss: history.first().copied(),
        final_loss: history.last().copied(),
        nan_free: capabilities
            .trains_by_epoch
            .then(|| history.iter().all(|e| e.total.is_finite())),
        curves: plot,
    };
    let card = ModelCard::new(
        config.kind(),
        detector.score_name(),
        prepared.columns.clone(),
        prepared.scaler.clone(),
        decision,
        config.data.clone(),
    );
    let timings = Timings {
        load_seconds,
        untrained_seconds,
        fit_seconds,
        train_seconds,
        score_seconds,
        wall_seconds: wall.elapsed().as_secs_f64(),
    };
    Ok(RunOutput {
        summary,
        history,
        detector,
        card,
        test: TestRows {
            indices: prepared.test_indices,
            scores: test_scores,
            pu_score,
            flagged,
            labels: prepared.test_labels,
        },
        timings,
    })
}
