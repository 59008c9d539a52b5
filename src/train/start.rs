//! How a run starts in its model directory: from scratch, continuing `last/` (`--resume`), or
//! from scratch over an earlier run (`--overwrite`). The refusals here keep a run's
//! checkpoints from being overwritten or mixed with another run's, and every check passes
//! before anything in the directory is changed.

use std::fs;
use std::path::{Path, PathBuf};

use tracing::warn;

use super::state::TrainingState;
use crate::artifacts::checkpoint::{self, CheckpointError};
use crate::artifacts::{checksum, write_file_atomic, ModelDir};
use crate::config::Config;

/// How `tolk train` treats what is already in the model directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// A new run; refused when the directory holds any checkpoint.
    #[default]
    Fresh,
    /// Continue the run in `last/` (`--resume`); a directory without any checkpoint starts
    /// from scratch, one with checkpoints but no `last/` is refused.
    Resume,
    /// Delete the earlier run's checkpoints, tokenizers, shortlist and metrics, then start
    /// from scratch (`--overwrite`).
    Overwrite,
}

/// Why a run cannot start in its model directory.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The model directory cannot be created.
    #[error("creating model directory {}", .root.display())]
    Create {
        /// The model directory.
        root: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A new run into a directory that holds checkpoints.
    #[error(
        "{} already holds {}: pass --resume to continue the run from last/, or --overwrite to \
         delete them and train from scratch (or choose another training.model_dir)",
        .root.display(), listed(.held)
    )]
    Occupied {
        /// The model directory.
        root: PathBuf,
        /// The checkpoints in it.
        held: Vec<String>,
    },
    /// `--resume` into a directory that holds checkpoints but no `last/`.
    #[error(
        "--resume: {} holds {} but no last/ to continue from: pass --overwrite to delete them \
         and train from scratch (or choose another training.model_dir)",
        .root.display(), listed(.held)
    )]
    NothingToResume {
        /// The model directory.
        root: PathBuf,
        /// The checkpoints in it.
        held: Vec<String>,
    },
    /// `--resume` with a `last` that is there but cannot be read.
    #[error("--resume: cannot continue from {0} (nothing was changed)")]
    UnusableLast(
        /// What is wrong with it, naming it (shown in the message, so not as a cause).
        CheckpointError,
    ),
    /// `--resume` with a `last/` that is damaged or not of this run.
    #[error("--resume: cannot continue from {} (nothing was changed)", .path.display())]
    DamagedLast {
        /// The checkpoint.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--resume` with a config whose model or subword setup differs from the saved one.
    #[error("--resume: {} holds a different model or subword setup than this config", .path.display())]
    DifferentSetup {
        /// The saved config.
        path: PathBuf,
    },
    /// Reading or changing the model directory failed.
    #[error(transparent)]
    Io(#[from] crate::error::Error),
}

/// `best/, last/` for a list of checkpoint names.
fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n}/"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates the model directory, checks it against `start` and writes the config. Returns it
/// with the checkpoint to resume from (`None`: from scratch). Nothing in the directory is
/// changed unless every check passed.
///
/// Errors: see [`StartError`].
pub fn open_model_dir(
    config: &Config,
    start: Start,
) -> Result<(ModelDir, Option<PathBuf>), StartError> {
    let md = ModelDir::new(&config.training.model_dir);
    fs::create_dir_all(&md.root).map_err(|source| StartError::Create {
        root: md.root.clone(),
        source,
    })?;
    let held = md.checkpoints_present()?;
    let from = match start {
        Start::Fresh if !held.is_empty() => {
            return Err(StartError::Occupied {
                root: md.root.clone(),
                held,
            })
        }
        Start::Fresh => None,
        Start::Resume => resumable_last(config, &md, held)?,
        Start::Overwrite => {
            remove_earlier_run(&md, &held)?;
            None
        }
    };
    write_file_atomic(&md.config(), config.to_toml().as_bytes())?;
    Ok((md, from))
}

/// The `last/` checkpoint `--resume` continues, checked whole (readable, its checksums, its
/// state, the same model setup); `None` for a directory without any checkpoint.
fn resumable_last(
    config: &Config,
    md: &ModelDir,
    held: Vec<String>,
) -> Result<Option<PathBuf>, StartError> {
    let Some(last) = checkpoint::resolve(&md.last()).map_err(StartError::UnusableLast)? else {
        if !held.is_empty() {
            return Err(StartError::NothingToResume {
                root: md.root.clone(),
                held,
            });
        }
        warn!(
            "--resume: no checkpoint in {} yet; starting the run from scratch",
            md.last().display()
        );
        return Ok(None);
    };
    let damaged = |source: anyhow::Error| StartError::DamagedLast {
        path: last.clone(),
        source: source.into(),
    };
    let saved = Config::from_file(&md.config()).map_err(damaged)?;
    if saved.model != config.model || saved.subword != config.subword {
        return Err(StartError::DifferentSetup { path: md.config() });
    }
    checksum::verify(&last).map_err(|e| damaged(e.into()))?;
    checkpoint::load_state::<TrainingState>(&last).map_err(damaged)?;
    Ok(Some(last))
}

/// Deletes what an earlier run left in `md` (its checkpoints `held`, their partial writes,
/// tokenizers, shortlist, metrics and checksums), for `--overwrite`; the config is rewritten
/// after.
fn remove_earlier_run(md: &ModelDir, held: &[String]) -> Result<(), StartError> {
    let mut paths: Vec<PathBuf> = held.iter().map(|n| md.checkpoint(n)).collect();
    let partial = held.iter().map(String::as_str).chain(["best", "last"]);
    paths.extend(partial.map(|n| md.checkpoint(&format!("{n}.tmp"))));
    paths.extend(md.run_files());
    let mut removed = Vec::new();
    for path in paths {
        if remove_entry(&path)? {
            removed.push(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    if !removed.is_empty() {
        warn!(
            "--overwrite: deleted {} from {}; training from scratch",
            removed.join(", "),
            md.root.display()
        );
    }
    Ok(())
}

/// Removes a file, a link (not what it points to) or a directory tree; `false` when nothing
/// was there.
fn remove_entry(path: &Path) -> Result<bool, crate::error::Error> {
    let io = |source| crate::error::Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(e)),
    };
    if meta.is_dir() {
        fs::remove_dir_all(path).map_err(io)?;
    } else {
        fs::remove_file(path).map_err(io)?;
    }
    Ok(true)
}
