//! Checkpoints written atomically: every file of a checkpoint goes into a fresh temporary
//! directory, is fsynced, and the directory is renamed into place, so a run killed at any
//! moment leaves either the old or the new checkpoint, never a mix.
//!
//! A checkpoint directory holds `model.safetensors` (weights), `optimizer.safetensors`
//! (optimizer moments, when saved), `state.json` (whatever state the trainer needs to
//! continue: the training loop's `TrainingState`) and `checksums.json` (SHA-256 of each of
//! them, see [`super::checksum`]), which loading verifies.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tch::nn::VarStore;
use tch::Tensor;

use super::atomic::sync_dir;
use super::checksum::{self, MANIFEST};

/// Optimizer state that a checkpoint stores beside the weights (e.g. Adam's moments).
pub trait OptimizerState {
    /// Writes the state to `path` (a safetensors file).
    fn save(&self, path: &Path) -> anyhow::Result<()>;
    /// Reads what [`OptimizerState::save`] wrote. Errors for a state of another model.
    fn load(&mut self, path: &Path) -> anyhow::Result<()>;
}

/// Writes `path` with `write`, fsyncing the file.
fn write_synced(
    path: &Path,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    write(path)?;
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("fsync {}", path.display()))
}

/// Saves a checkpoint into `dir` (e.g. `model_dir/last`) atomically; `optimizer` is saved
/// when given, `state` as `state.json`.
pub fn save(
    dir: &Path,
    vs: &VarStore,
    optimizer: Option<&dyn OptimizerState>,
    state: &impl Serialize,
) -> anyhow::Result<()> {
    save_with(dir, &|p| Ok(vs.save(p)?), optimizer, state)
}

/// Saves named weights (not held in a [`VarStore`], e.g. averaged ones) as a checkpoint in
/// `dir`, atomically as [`save`] does, without optimizer state.
pub fn save_tensors(
    dir: &Path,
    weights: &[(String, Tensor)],
    state: &impl Serialize,
) -> anyhow::Result<()> {
    save_with(
        dir,
        &|p| Ok(Tensor::write_safetensors(weights, p)?),
        None,
        state,
    )
}

/// Writes the weights file of a checkpoint to the given path.
type WeightsWriter<'a> = dyn Fn(&Path) -> anyhow::Result<()> + 'a;

/// [`save`] with the weights written by `weights`.
fn save_with(
    dir: &Path,
    weights: &WeightsWriter<'_>,
    optimizer: Option<&dyn OptimizerState>,
    state: &impl Serialize,
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
    if let Err(e) = write_files(&tmp, weights, optimizer, state) {
        // Do not leave a partial checkpoint behind (on a full disk it holds the space the
        // next attempt needs); the previous checkpoint is untouched.
        let _ = fs::remove_dir_all(&tmp);
        return Err(e.context(format!(
            "saving checkpoint {} failed; the previous one is kept",
            dir.display()
        )));
    }
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

/// Writes the files of a checkpoint into `tmp`, each fsynced, the checksum manifest last.
fn write_files(
    tmp: &Path,
    weights: &WeightsWriter<'_>,
    optimizer: Option<&dyn OptimizerState>,
    state: &impl Serialize,
) -> anyhow::Result<()> {
    let mut files = vec!["model.safetensors"];
    write_synced(&tmp.join(files[0]), |p| {
        weights(p).with_context(|| format!("writing {}", p.display()))
    })?;
    if let Some(opt) = optimizer {
        files.push("optimizer.safetensors");
        write_synced(&tmp.join("optimizer.safetensors"), |p| opt.save(p))?;
    }
    files.push("state.json");
    write_json_synced(&tmp.join("state.json"), state)?;
    let manifest = checksum::manifest_of(tmp, &files)?;
    write_json_synced(&tmp.join(MANIFEST), &manifest)
}

/// Writes `value` as pretty JSON to `path`, fsyncing the file.
fn write_json_synced(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    write_synced(path, |p| {
        fs::write(p, serde_json::to_string_pretty(value)?)
            .with_context(|| format!("writing {}", p.display()))
    })
}

/// Why a checkpoint directory cannot be read. Each names the path as given (e.g.
/// `model/last`), so that a user can see which checkpoint is meant.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The path is a symbolic link to something that does not exist.
    #[error("{}: a symbolic link to {}, which does not exist", .path.display(), .target.display())]
    DanglingLink {
        /// The checkpoint path.
        path: PathBuf,
        /// Where the link points.
        target: PathBuf,
    },
    /// Following the path's symbolic links never ends.
    #[error("{}: a symbolic link loop", .path.display())]
    LinkLoop {
        /// The checkpoint path.
        path: PathBuf,
    },
    /// The path (after its links) is a file or something else, not a directory.
    #[error("{}: not a directory (a checkpoint is a directory)", .path.display())]
    NotADirectory {
        /// The checkpoint path.
        path: PathBuf,
    },
    /// A directory without the `state.json` every saved checkpoint has.
    #[error("{}: no state.json, so not a complete checkpoint", .path.display())]
    Incomplete {
        /// The checkpoint path.
        path: PathBuf,
    },
    /// The file system refused to say what the path is (e.g. permissions).
    #[error("{}: cannot be read: {source}", .path.display())]
    Unreadable {
        /// The checkpoint path.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// Whether anything at all is at `path`, links not followed (a dangling link is something).
///
/// Errors: [`CheckpointError::Unreadable`] when the file system cannot tell.
pub fn is_present(path: &Path) -> Result<bool, CheckpointError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(CheckpointError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The checkpoint directory to read for `dir` (e.g. `model_dir/last`): `dir` itself, or
/// `dir.old` when nothing is at `dir` and a crash happened between the two renames of
/// [`save`]. `Ok(None)` only when nothing at all is at `dir` (links not followed) and there
/// is no complete `dir.old`; anything else that keeps `dir` from loading is an error, never a
/// reason to look elsewhere.
///
/// Errors: a dangling link, a link loop, not a directory, a directory without `state.json`
/// (see [`CheckpointError`]).
pub fn resolve(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    if !is_present(dir)? {
        let old = dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(|name| dir.with_file_name(format!("{name}.old")));
        return Ok(old.filter(|o| o.join("state.json").is_file()));
    }
    let meta = fs::metadata(dir).map_err(|source| followed_error(dir, source))?;
    if !meta.is_dir() {
        return Err(CheckpointError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    if !dir.join("state.json").is_file() {
        return Err(CheckpointError::Incomplete {
            path: dir.to_path_buf(),
        });
    }
    Ok(Some(dir.to_path_buf()))
}

/// The error for a present `path` whose links could not be followed.
fn followed_error(path: &Path, source: std::io::Error) -> CheckpointError {
    let path = path.to_path_buf();
    match source.kind() {
        std::io::ErrorKind::NotFound => CheckpointError::DanglingLink {
            target: fs::read_link(&path).unwrap_or_default(),
            path,
        },
        _ if source.raw_os_error() == Some(ELOOP) => CheckpointError::LinkLoop { path },
        _ => CheckpointError::Unreadable { path, source },
    }
}

/// `ELOOP`, "too many levels of symbolic links" (`io::ErrorKind::FilesystemLoop` is not stable
/// yet): 40 on Linux, 62 on macOS and the BSDs.
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// The shape of tensor `name` as stored in the safetensors file `path`, read from the file's
/// header alone (no tensor data); `None` when the file has no such tensor.
///
/// Errors: the file cannot be read or its header is not safetensors JSON.
pub fn stored_shape(path: &Path, name: &str) -> anyhow::Result<Option<Vec<i64>>> {
    use std::io::Read;
    let bad = || {
        format!(
            "loading weights {}: not a safetensors header",
            path.display()
        )
    };
    let mut file = fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).with_context(bad)?;
    let len = u64::from_le_bytes(len);
    let file_len = file.metadata()?.len();
    if len > file_len.saturating_sub(8) || len > 100 << 20 {
        bail!(bad());
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).with_context(bad)?;
    let header: serde_json::Value = serde_json::from_slice(&header).with_context(bad)?;
    let Some(shape) = header.get(name).and_then(|t| t.get("shape")) else {
        return Ok(None);
    };
    let shape: Vec<i64> = serde_json::from_value(shape.clone()).with_context(bad)?;
    Ok(Some(shape))
}

/// Reads the state saved with a checkpoint.
pub fn load_state<S: DeserializeOwned>(dir: &Path) -> anyhow::Result<S> {
    let path = dir.join("state.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid training state", path.display()))
}

/// Verifies the checksums of a checkpoint directory, then loads its weights into `vs` (and
/// optimizer state, when given). A checkpoint without `checksums.json` (written before tolk
/// recorded them) loads with a warning.
///
/// Errors: a checksum mismatch naming the file; weights of another model, naming the first
/// tensor (in name order) that is missing, unexpected or of another shape.
pub fn load_weights(
    dir: &Path,
    vs: &mut VarStore,
    optimizer: Option<&mut dyn OptimizerState>,
) -> anyhow::Result<()> {
    if !checksum::verify(dir)? {
        tracing::warn!(
            "{}: no {MANIFEST}; loaded without checking for corruption",
            dir.display()
        );
    }
    let path = dir.join("model.safetensors");
    copy_named(&path, vs)?;
    if let Some(opt) = optimizer {
        opt.load(&dir.join("optimizer.safetensors"))?;
    }
    Ok(())
}

/// Copies the tensors of the safetensors file `path` into the variables of `vs` by name.
fn copy_named(path: &Path, vs: &mut VarStore) -> anyhow::Result<()> {
    let stored: HashMap<String, Tensor> = Tensor::read_safetensors(path)
        .with_context(|| format!("loading weights {}", path.display()))?
        .into_iter()
        .collect();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let hint = "the checkpoint is of another model: compare its config.toml";
    for (name, var) in &vars {
        let Some(src) = stored.get(name) else {
            bail!("{}: tensor {name} is missing ({hint})", path.display());
        };
        if src.size() != var.size() || src.kind() != var.kind() {
            bail!(
                "{}: tensor {name} is {:?} {:?}, the model expects {:?} {:?} ({hint})",
                path.display(),
                src.kind(),
                src.size(),
                var.kind(),
                var.size()
            );
        }
        tch::no_grad(|| var.shallow_clone().f_copy_(src))
            .with_context(|| format!("{}: copying tensor {name}", path.display()))?;
    }
    let known: HashSet<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    let mut extra: Vec<&String> = stored
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    extra.sort();
    if let Some(name) = extra.first() {
        bail!(
            "{}: tensor {name} is not part of this model ({hint})",
            path.display()
        );
    }
    Ok(())
}
