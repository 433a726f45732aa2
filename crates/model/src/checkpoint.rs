//! Checkpoints of the main training stage: every `training.checkpoint_every` epochs (and after
//! the last epoch, and once after pretraining) a fit given a [`Checkpointing`] folder saves the
//! network's weights, Adam's state, the dropout stream's position, the epoch and every epoch's
//! losses so far. A fit asked to resume reads them back and continues: the shuffles of the epochs
//! already done are replayed from the seed, so on the same device the resumed run's losses,
//! weights and scores are bit-identical to the run never interrupted.
//!
//! A checkpoint is written atomically: its weights and optimizer files carry the epoch in their
//! names, `checkpoint.json` (which names them) is renamed into place last, and only then are the
//! previous epoch's files removed. A kill at any point leaves the last complete checkpoint. The
//! files are not synced to the disk: a checkpoint outlives the process (killed, out of memory,
//! out of time), not necessarily a power cut, after which the folder may have to go.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use dagmm_data::atomic::{is_temporary, write_atomically};
use dagmm_data::FeaturesView;
use serde::{Deserialize, Serialize};

use crate::epoch::{EpochLosses, TrainingStage};
use crate::{DagmmConfig, DagmmNetwork, ModelError, Result};

/// Name of the file that describes a checkpoint folder's checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// The checkpoint folder's epoch losses, one JSON line each.
const HISTORY_FILE: &str = "history.jsonl";
const FORMAT: &str = "dagmm-checkpoint";
const VERSION: u32 = 1;

/// Where a fit keeps its checkpoints, and whether it starts from the one found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpointing {
    /// The checkpoint folder (created when the first checkpoint is written).
    pub dir: PathBuf,
    /// Continue from the checkpoint in `dir` when there is one (a fresh fit otherwise).
    pub resume: bool,
}

/// `checkpoint.json`: what a checkpoint holds besides its two binary files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointFile {
    /// `dagmm-checkpoint`.
    pub format: String,
    /// Layout version (1).
    pub version: u32,
    /// Epochs of the main training stage finished (0: pretraining only).
    pub epochs_done: usize,
    /// `training.epochs` of the run that wrote it.
    pub epochs_planned: usize,
    /// The config the run trained with.
    pub config: DagmmConfig,
    /// Rows and columns of the training matrix.
    pub rows: usize,
    pub columns: usize,
    /// FNV-1a digest of the training rows (hex): a resume on other data is refused.
    pub data_digest: String,
    /// Position of the dropout stream (ChaCha8 word position, decimal).
    pub dropout_word_pos: String,
    /// The network's weights (Burn burnpack), relative to the folder.
    pub weights: String,
    /// Adam's state (Burn burnpack), relative to the folder; none before the first epoch.
    pub optimizer: Option<String>,
    /// How many epochs (of every stage, as `losses.csv` lists them) the history file holds for
    /// this checkpoint, and in how many bytes: the file only grows (one JSON line an epoch), so a
    /// checkpoint costs the same at epoch 20 000 as at epoch 20; a kill mid-append leaves a tail
    /// past these bytes, which the next checkpoint cuts off.
    pub history_len: usize,
    pub history_bytes: u64,
}

/// A checkpoint read back.
pub(crate) struct Resumed {
    pub file: CheckpointFile,
    pub dir: PathBuf,
}

/// FNV-1a over the rows' bit patterns: the same rows give the same digest on every machine.
pub(crate) fn data_digest(x: FeaturesView<'_>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&(x.nrows() as u64).to_le_bytes());
    eat(&(x.ncols() as u64).to_le_bytes());
    x.for_each_f64(|v| eat(&v.to_bits().to_le_bytes()));
    format!("{h:016x}")
}

/// `text` (read from `path`) as `T`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A file's `(format, version)` must be the one this build writes.
pub(crate) fn check_format(path: &Path, found: (&str, u32), want: (&str, u32)) -> Result<()> {
    if found == want {
        return Ok(());
    }
    Err(ModelError::Format {
        path: path.to_path_buf(),
        message: format!(
            "format {} v{}, expected {} v{}",
            found.0, found.1, want.0, want.1
        ),
    })
}

/// Writes a Burn record's bytes (weights or optimizer state) to `path`.
fn write_record<E: std::fmt::Display>(
    path: &Path,
    bytes: std::result::Result<burn::tensor::Bytes, E>,
) -> Result<()> {
    let bytes = bytes.map_err(|e| ModelError::Weights {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::write(path, &*bytes).map_err(io(path))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Checkpointing {
    /// The checkpoint in `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<CheckpointFile>> {
        let path = dir.join(CHECKPOINT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let file: CheckpointFile = parse_json(&path, &text)?;
        check_format(&path, (&file.format, file.version), (FORMAT, VERSION))?;
        Ok(Some(file))
    }

    /// The checkpoint to resume from, checked against the run about to continue it.
    pub(crate) fn resumed(
        &self,
        config: &DagmmConfig,
        x: FeaturesView<'_>,
        digest: &str,
    ) -> Result<Option<Resumed>> {
        if !self.resume {
            return Ok(None);
        }
        let Some(file) = Self::read(&self.dir)? else {
            return Ok(None);
        };
        let path = self.dir.join(CHECKPOINT_FILE);
        let refuse = |message: String| {
            Err(ModelError::Format {
                path: path.clone(),
                message,
            })
        };
        if (file.rows, file.columns) != (x.nrows(), x.ncols()) || file.data_digest != digest {
            return refuse(format!(
                "the checkpoint was trained on other rows ({} × {}, digest {}; these are {} × {}, \
                 digest {digest}): resume with the same data, split, scaling and seed",
                file.rows,
                file.columns,
                file.data_digest,
                x.nrows(),
                x.ncols()
            ));
        }
        let (a, b) = (&file.config, config);
        let fixed = [
            ("compression", a.compression != b.compression),
            ("estimation", a.estimation != b.estimation),
            ("pretraining", a.pretraining != b.pretraining),
            ("training.seed", a.training.seed != b.training.seed),
            (
                "training.batch_size",
                a.training.batch_size != b.training.batch_size,
            ),
            (
                "training.drop_last",
                a.training.drop_last != b.training.drop_last,
            ),
            (
                "training.freeze_compression",
                a.training.freeze_compression != b.training.freeze_compression,
            ),
        ];
        let changed: Vec<&str> = fixed.iter().filter(|(_, c)| *c).map(|(n, _)| *n).collect();
        if !changed.is_empty() {
            return refuse(format!(
                "the run to resume differs in {}: a resumed run may change the learning rate, \
                 the loss weights, the epochs, the clipping, the device or the scoring, not what \
                 shapes the network or orders its batches",
                changed.join(", ")
            ));
        }
        if file.epochs_done > config.training.epochs {
            return refuse(format!(
                "the checkpoint is at epoch {} but training.epochs is {}",
                file.epochs_done, config.training.epochs
            ));
        }
        Ok(Some(Resumed {
            file,
            dir: self.dir.clone(),
        }))
    }

    /// Writes a checkpoint of `network` (any device) after `epochs_done` epochs of the main stage.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn save<M: Module>(
        &self,
        config: &DagmmConfig,
        x: FeaturesView<'_>,
        digest: &str,
        network: &M,
        optimizer: Option<&ModuleOptimizer>,
        epochs_done: usize,
        dropout_word_pos: u128,
        history: &[&[EpochLosses]],
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let (history_len, history_bytes) = self.append_history(history)?;
        let weights = format!("weights-{epochs_done:06}.bpk");
        let weights_path = self.dir.join(&weights);
        // Burn's own `save_file` syncs each file to the disk (4 fsyncs a checkpoint: 7 ms, a
        // fifth of a Thyroid run checkpointed every 10 epochs); a checkpoint only has to survive
        // the process, which the page cache does, so the bytes are written plainly.
        write_record(&weights_path, network.clone().into_record().into_bytes())?;
        let optimizer_name = match optimizer {
            Some(o) => {
                let name = format!("adam-{epochs_done:06}.bpk");
                write_record(&self.dir.join(&name), o.into_bytes())?;
                Some(name)
            }
            None => None,
        };
        let file = CheckpointFile {
            format: FORMAT.into(),
            version: VERSION,
            epochs_done,
            epochs_planned: config.training.epochs,
            config: config.clone(),
            rows: x.nrows(),
            columns: x.ncols(),
            data_digest: digest.into(),
            dropout_word_pos: dropout_word_pos.to_string(),
            weights: weights.clone(),
            optimizer: optimizer_name.clone(),
            history_len,
            history_bytes,
        };
        let path = self.dir.join(CHECKPOINT_FILE);
        let json = serde_json::to_string_pretty(&file).map_err(|source| ModelError::Json {
            path: path.clone(),
            source,
        })?;
        // Not synced (see the module's note).
        write_atomically(&path, |f| f.write_all(json.as_bytes()))
            .map_err(|e| e.into_error(std::convert::identity))
            .map_err(io(&path))?;
        // The earlier checkpoint's files are no longer named by checkpoint.json.
        let mut keep = vec![HISTORY_FILE, CHECKPOINT_FILE, weights.as_str()];
        keep.extend(optimizer_name.as_deref());
        self.remove_files_except(&keep)?;
        Ok(())
    }

    /// Removes the checkpoint in the folder, if any (its files only): a fit that does not
    /// resume starts afresh.
    pub(crate) fn clear(&self) -> Result<()> {
        self.remove_files_except(&[])
    }

    /// Removes the checkpoint files in the folder that `keep` does not name; other files are
    /// left alone.
    fn remove_files_except(&self, keep: &[&str]) -> Result<()> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name == CHECKPOINT_FILE
                || name == HISTORY_FILE
                || is_temporary(&name)
                || ((name.starts_with("weights-") || name.starts_with("adam-"))
                    && name.ends_with(".bpk"));
            if ours && !keep.contains(&name.as_str()) {
                std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            }
        }
        Ok(())
    }

    /// Appends to the history file the epochs of `parts` (in order) that the checkpoint on disk
    /// does not hold yet, after cutting off what a killed append may have left; returns the
    /// epochs and bytes the file then holds.
    fn append_history(&self, parts: &[&[EpochLosses]]) -> Result<(usize, u64)> {
        let path = self.dir.join(HISTORY_FILE);
        let (held, bytes) = match Self::read(&self.dir)? {
            Some(c) => (c.history_len, c.history_bytes),
            None => (0, 0),
        };
        let mut text = String::new();
        let mut len = 0;
        for e in parts.iter().flat_map(|p| p.iter()) {
            if len >= held {
                let line = serde_json::to_string(e).map_err(|source| ModelError::Json {
                    path: path.clone(),
                    source,
                })?;
                text.push_str(&line);
                text.push('\n');
            }
            len += 1;
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(false)
                .open(&path)?;
            f.set_len(bytes)?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(bytes))?;
            f.write_all(text.as_bytes())?;
            f.flush()
        };
        write().map_err(io(&path))?;
        Ok((len, bytes + text.len() as u64))
    }

    /// Checks that the checkpoint `file` read from `dir` is whole before a run continues it: its
    /// weights and Adam files are there and not empty, its history reads back, and the history's
    /// main-stage epochs agree with `epochs_done` (an edited `checkpoint.json` is refused). The
    /// error names the broken file first.
    pub fn check(dir: &Path, file: &CheckpointFile) -> Result<()> {
        for name in std::iter::once(&file.weights).chain(file.optimizer.as_ref()) {
            let path = dir.join(name);
            match std::fs::metadata(&path) {
                Ok(m) if m.len() > 0 => {}
                Ok(_) => {
                    return Err(ModelError::Format {
                        path,
                        message: "empty (0 bytes)".into(),
                    })
                }
                Err(e) => return Err(io(&path)(e)),
            }
        }
        let history = Self::history(dir, file)?;
        let trained = history
            .iter()
            .filter(|e| e.stage == TrainingStage::Train)
            .count();
        if trained != file.epochs_done {
            return Err(ModelError::Format {
                path: dir.join(CHECKPOINT_FILE),
                message: format!(
                    "says epochs_done = {}, but its history ({HISTORY_FILE}) holds {trained} \
                     epochs of the main stage: the two disagree (was checkpoint.json edited?)",
                    file.epochs_done
                ),
            });
        }
        Ok(())
    }

    /// The epochs a checkpoint holds: the first `history_len` lines of its history file.
    pub fn history(dir: &Path, file: &CheckpointFile) -> Result<Vec<EpochLosses>> {
        let path = dir.join(HISTORY_FILE);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let held = usize::try_from(file.history_bytes)
            .ok()
            .and_then(|n| bytes.get(..n))
            .ok_or_else(|| ModelError::Format {
                path: path.clone(),
                message: format!(
                    "holds {} bytes; the checkpoint counts {}",
                    bytes.len(),
                    file.history_bytes
                ),
            })?;
        let text = std::str::from_utf8(held).map_err(|e| ModelError::Format {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let history: Vec<EpochLosses> = text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| ModelError::Format {
                    path: path.clone(),
                    message: format!("line {}: {e}", i + 1),
                })
            })
            .collect::<Result<_>>()?;
        if history.len() != file.history_len {
            return Err(ModelError::Format {
                path,
                message: format!(
                    "{} epochs in its first {} bytes; the checkpoint counts {}",
                    history.len(),
                    file.history_bytes,
                    file.history_len
                ),
            });
        }
        Ok(history)
    }
}

/// Runs `f` with Burn's default device on the CPU. Burn's `ModuleOptimizer::load_record` puts
/// the state it reads on `Device::default()`, which in a build with wgpu is a wgpu adapter: one
/// would start for nothing (and fail on a machine without any). `BURN_DEVICE=flex`, set where
/// the user has not set it, keeps the state on the CPU until the first step moves it to the
/// parameters' device (an exact copy: the resumed run stays bit-identical). Nothing of this
/// crate uses `Device::default()`: every tensor names its device.
fn default_device_on_the_cpu<T>(f: impl FnOnce() -> T) -> T {
    // Set once and left set (the `dagmm` binary sets it first thing in `main`): removing it
    // again would race with another thread's load.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("BURN_DEVICE").is_none() {
            std::env::set_var("BURN_DEVICE", "flex");
        }
    });
    f()
}

impl Resumed {
    /// The epochs of every stage the checkpoint holds.
    pub(crate) fn history(&self) -> Result<Vec<EpochLosses>> {
        Checkpointing::history(&self.dir, &self.file)
    }

    /// The checkpoint's weights applied to `network` (its parameter ids too, which key Adam's
    /// state).
    pub(crate) fn network(&self, network: DagmmNetwork) -> Result<DagmmNetwork> {
        let path = self.dir.join(&self.file.weights);
        network
            .try_load_file(&path)
            .map_err(|e| ModelError::Weights {
                path: path.clone(),
                message: e.to_string(),
            })
    }

    /// Adam's state, on a fresh optimizer of the same settings.
    pub(crate) fn optimizer(&self, fresh: ModuleOptimizer) -> Result<ModuleOptimizer> {
        match &self.file.optimizer {
            Some(name) => {
                let path = self.dir.join(name);
                default_device_on_the_cpu(|| fresh.load(&path)).map_err(|e| ModelError::Weights {
                    path: path.clone(),
                    message: e.to_string(),
                })
            }
            None => Ok(fresh),
        }
    }

    pub(crate) fn dropout_word_pos(&self) -> Result<u128> {
        self.file
            .dropout_word_pos
            .parse()
            .map_err(|_| ModelError::Format {
                path: self.dir.join(CHECKPOINT_FILE),
                message: format!(
                    "dropout_word_pos `{}` is not a number",
                    self.file.dropout_word_pos
                ),
            })
    }

    /// Epochs of the main stage already trained.
    pub(crate) fn epochs_done(&self) -> usize {
        self.file.epochs_done
    }
}
