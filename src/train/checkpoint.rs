//! Checkpoints written atomically: every file of a checkpoint goes into a fresh temporary
//! directory, is fsynced, and the directory is renamed into place, so a run killed at any
//! moment leaves either the old or the new checkpoint, never a mix.
//!
//! A checkpoint directory holds `model.safetensors` (weights), `optimizer.safetensors` (Adam
//! moments, `last/` only) and `state.json` ([`TrainingState`]).

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use super::optimizer::Adam;
use super::schedule::PlateauSchedule;

/// Everything besides tensors needed to continue a run exactly.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingState {
    /// Updates done.
    pub step: usize,
    /// Current epoch (0-based).
    pub epoch: usize,
    /// Batches of `epoch` already consumed; the epoch's order is re-derived from the seed.
    pub batch_in_epoch: usize,
    /// Learning-rate / early-stopping state.
    pub schedule: PlateauSchedule,
    /// Wall time spent training so far, seconds.
    pub elapsed_seconds: f64,
    /// Target tokens seen so far.
    pub target_tokens: u64,
    /// Validation BLEU of this checkpoint's weights (best/ only).
    pub valid_bleu: Option<f64>,
    /// Hard attention: the REINFORCE reward baseline.
    #[serde(default)]
    pub reinforce_baseline: Option<f64>,
}

/// Writes `path` with `write`, fsyncing the file.
fn write_synced(
    path: &Path,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    write(path)?;
    File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("fsync {}", path.display()))
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("fsync {}", dir.display()))
}

/// Writes a whole file atomically: temp file in the same directory, fsync, rename.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    write_synced(&tmp, |p| {
        fs::write(p, bytes).with_context(|| format!("writing {}", p.display()))
    })?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    sync_dir(dir)
}

/// Saves a checkpoint into `dir` (e.g. `model_dir/last`) atomically. `optimizer` is saved
/// when given.
pub fn save(
    dir: &Path,
    vs: &VarStore,
    optimizer: Option<&Adam>,
    state: &TrainingState,
) -> anyhow::Result<()> {
    let parent = dir.parent().context("checkpoint dir has no parent")?;
    fs::create_dir_all(parent)?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("ckpt");
    let tmp = parent.join(format!("{name}.tmp"));
    let old = parent.join(format!("{name}.old"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    write_synced(&tmp.join("model.safetensors"), |p| {
        vs.save(p)
            .with_context(|| format!("writing {}", p.display()))
    })?;
    if let Some(opt) = optimizer {
        write_synced(&tmp.join("optimizer.safetensors"), |p| opt.save(p))?;
    }
    write_synced(&tmp.join("state.json"), |p| {
        fs::write(p, serde_json::to_string_pretty(state)?)
            .with_context(|| format!("writing {}", p.display()))
    })?;
    sync_dir(&tmp)?;
    if dir.exists() {
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::rename(dir, &old)?;
    }
    fs::rename(&tmp, dir)?;
    sync_dir(parent)?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// The checkpoint directory to read: `dir`, or `dir.old` if a crash happened between the two
/// renames of [`save`]. `None` if neither exists.
pub fn locate(dir: &Path) -> Option<PathBuf> {
    if dir.join("state.json").exists() {
        return Some(dir.to_path_buf());
    }
    let name = dir.file_name()?.to_str()?;
    let old = dir.with_file_name(format!("{name}.old"));
    old.join("state.json").exists().then_some(old)
}

/// Reads the training state of a checkpoint directory.
pub fn load_state(dir: &Path) -> anyhow::Result<TrainingState> {
    let path = dir.join("state.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid training state", path.display()))
}

/// Loads weights (and optimizer moments, when given) from a checkpoint directory.
pub fn load_weights(
    dir: &Path,
    vs: &mut VarStore,
    optimizer: Option<&mut Adam>,
) -> anyhow::Result<()> {
    let path = dir.join("model.safetensors");
    vs.load(&path)
        .with_context(|| format!("loading weights {}", path.display()))?;
    if let Some(opt) = optimizer {
        opt.load(&dir.join("optimizer.safetensors"))?;
    }
    Ok(())
}
