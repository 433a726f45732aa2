//! Checkpoints: a fit stopped after a checkpoint and resumed is the fit never stopped, to the
//! bit, on flex; a checkpoint refuses other data and other networks; a non-finite loss names its
//! epoch, batch and term and leaves the last good checkpoint.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dagmm_compression::CompressionKind;

use super::{kddcup_like, parameters, small_config};
use crate::*;

/// Every value of an epoch except its wall-clock seconds.
fn losses(h: &[EpochLosses]) -> Vec<String> {
    h.iter()
        .map(|e| {
            format!(
                "{} {} {} {} {} {} {} {:?} {:?} {}",
                e.stage,
                e.epoch,
                e.total.to_bits(),
                e.reconstruction.to_bits(),
                e.energy.to_bits(),
                e.penalty.to_bits(),
                e.regularization.to_bits(),
                e.codes_used,
                e.code_perplexity.map(f64::to_bits),
                e.rows
            )
        })
        .collect()
}

/// Fits `config` with checkpoints in `dir`, the process "killed" (a panic out of the epoch
/// callback) once `stop_after` epochs of the main stage are done.
fn fit_killed(
    config: &DagmmConfig,
    x: &ndarray::Array2<f64>,
    dir: &std::path::Path,
    stop_after: usize,
) {
    let target = Checkpointing {
        dir: dir.to_path_buf(),
        resume: false,
    };
    let killed = catch_unwind(AssertUnwindSafe(|| {
        Dagmm::fit_checkpointed(config.clone(), x.view(), None, Some(&target), &mut |e| {
            if e.stage == TrainingStage::Train && e.epoch == stop_after {
                panic!("killed after epoch {stop_after}");
            }
        })
    }));
    assert!(killed.is_err(), "the fit was stopped");
}

fn assert_resume_is_bit_identical(config: DagmmConfig, every: usize, stop_after: usize) {
    let x = kddcup_like(240, 11);
    let mut config = config;
    config.training.checkpoint_every = every;
    let (whole, whole_history) = Dagmm::fit(config.clone(), x.view(), &mut |_| {}).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("checkpoint");
    fit_killed(&config, &x, &ckpt, stop_after);
    let saved = Checkpointing::read(&ckpt)
        .unwrap()
        .expect("a checkpoint was written");
    // The epoch callback runs before that epoch's checkpoint is saved.
    assert_eq!(saved.epochs_done, (stop_after - 1) / every * every);
    assert!(saved.epochs_done < stop_after, "the killed epochs are lost");
    // A kill in the middle of the next append leaves half a line past the checkpoint's bytes.
    let history = ckpt.join("history.jsonl");
    let mut text = std::fs::read_to_string(&history).unwrap();
    text.push_str("{\"stage\":\"train\",\"epo");
    std::fs::write(&history, text).unwrap();

    let mut seen = Vec::new();
    let (resumed, history) = Dagmm::fit_checkpointed(
        config.clone(),
        x.view(),
        None,
        Some(&Checkpointing {
            dir: ckpt.clone(),
            resume: true,
        }),
        &mut |e| seen.push(e.epoch),
    )
    .unwrap();
    // Only the epochs after the checkpoint ran again.
    let first = saved.epochs_done + 1;
    assert_eq!(seen, (first..=config.training.epochs).collect::<Vec<_>>());
    assert_eq!(losses(&history), losses(&whole_history));
    assert_eq!(parameters(resumed.network()), parameters(whole.network()));
    assert_eq!(resumed.mixture(), whole.mixture());
    let (a, b) = (
        resumed.score(x.view()).unwrap(),
        whole.score(x.view()).unwrap(),
    );
    assert_eq!(a.score, b.score);
    assert_eq!(a.energy, b.energy);
}

#[test]
fn a_fit_killed_after_a_checkpoint_resumes_bit_identically_on_flex() {
    // Dropout on (the estimation network's), a last short batch, Adam 5 epochs in.
    let config = small_config(vec![20, 10, 1], 7, 64, 1e-3, 5);
    assert_resume_is_bit_identical(config, 2, 5);
}

#[test]
fn the_variants_resume_bit_identically_too() {
    // The VAE draws its noise from the dropout stream. The pretrained network is killed before
    // its first main-stage checkpoint: it resumes from the one saved after pretraining.
    let mut vae = small_config(vec![20, 10, 1], 5, 64, 1e-3, 6);
    vae.compression.kind = CompressionKind::Vae;
    assert_resume_is_bit_identical(vae, 2, 3);
    let mut pretrained = small_config(vec![20, 10, 1], 4, 64, 1e-3, 6);
    pretrained.pretraining = Some(PretrainingConfig {
        layer_epochs: 2,
        finetune_epochs: 2,
        learning_rate: None,
        batch_size: None,
    });
    assert_resume_is_bit_identical(pretrained, 3, 3);
}

#[test]
fn a_checkpoint_refuses_other_rows_and_other_networks_but_takes_a_new_learning_rate() {
    let x = kddcup_like(200, 3);
    let mut config = small_config(vec![20, 10, 1], 4, 64, 1e-3, 1);
    config.training.checkpoint_every = 1;
    let dir = tempfile::tempdir().unwrap();
    fit_killed(&config, &x, dir.path(), 2);
    let resume = Checkpointing {
        dir: dir.path().to_path_buf(),
        resume: true,
    };
    let other_rows = kddcup_like(200, 4);
    let err = Dagmm::fit_checkpointed(
        config.clone(),
        other_rows.view(),
        None,
        Some(&resume),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("other rows") && err.contains("checkpoint.json"),
        "{err}"
    );
    let mut wider = config.clone();
    wider.compression.encoder_layers = vec![30, 10, 1];
    let err = Dagmm::fit_checkpointed(wider, x.view(), None, Some(&resume), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("differs in compression"), "{err}");
    let mut fewer = config.clone();
    fewer.training.epochs = 0;
    let err = Dagmm::fit_checkpointed(fewer, x.view(), None, Some(&resume), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("at epoch 1 but training.epochs is 0"), "{err}");
    let mut slower = config;
    slower.training.learning_rate = 1e-4;
    let (_, history) =
        Dagmm::fit_checkpointed(slower, x.view(), None, Some(&resume), &mut |_| {}).unwrap();
    assert_eq!(
        history.len(),
        4,
        "epoch 1 from the checkpoint, 2-4 trained again"
    );
}

#[test]
fn a_non_finite_loss_names_its_epoch_batch_and_term_and_keeps_the_last_checkpoint() {
    let x = kddcup_like(200, 9);
    let mut config = small_config(vec![20, 10, 1], 4, 64, 1e-3, 2);
    config.training.checkpoint_every = 2;
    let dir = tempfile::tempdir().unwrap();
    let target = Checkpointing {
        dir: dir.path().to_path_buf(),
        resume: true,
    };
    Dagmm::fit_checkpointed(config.clone(), x.view(), None, Some(&target), &mut |_| {}).unwrap();
    // Resumed with a learning rate of 1e30, the weights leave f32's range within a few steps.
    let mut wild = config.clone();
    wild.training.learning_rate = 1e30;
    wild.training.epochs = 8;
    let mut reached = 4;
    let err = Dagmm::fit_checkpointed(wild, x.view(), None, Some(&target), &mut |e| {
        reached = e.epoch
    })
    .unwrap_err();
    let message = err.to_string();
    let ModelError::NonFiniteLoss {
        stage,
        epoch,
        batch,
        batches,
        ref terms,
        last_checkpoint,
    } = err
    else {
        panic!("{message}")
    };
    assert_eq!(stage, TrainingStage::Train);
    assert_eq!(epoch, reached + 1, "the first epoch that did not finish");
    assert_eq!(
        batches, 4,
        "200 rows in batches of 64, the last 8 joined to the third"
    );
    assert!((1..=batches).contains(&batch));
    assert!(
        terms.contains("= NaN") || terms.contains("= inf") || terms.contains("= -inf"),
        "{terms}"
    );
    assert!(
        message.contains(&format!("train epoch {epoch}, batch {batch} of 4")),
        "{message}"
    );
    // The checkpoint on disk is the last good one: every epoch in it finite, none after the
    // failure, and the message says which.
    let last = last_checkpoint.expect("a checkpoint was on disk");
    assert!(last >= 4 && last < epoch, "{last} vs {epoch}");
    assert!(
        message.contains(&format!("checkpoint after epoch {last} is kept")),
        "{message}"
    );
    let kept = Checkpointing::read(dir.path()).unwrap().unwrap();
    assert_eq!(kept.epochs_done, last);
    let history = Checkpointing::history(dir.path(), &kept).unwrap();
    assert_eq!(history.len(), last);
    assert!(history.iter().all(|h| h.total.is_finite()));
}
