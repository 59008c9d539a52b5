//! The model directory written by training and read by translation:
//!
//! ```text
//! model_dir/
//!   config.toml                  the full experiment config (all defaults filled in)
//!   tokenizer.json               joint BPE model (or tokenizer.src.json + tokenizer.tgt.json)
//!   best/model.safetensors       checkpoint "best": weights with the best validation BLEU (+ state.json)
//!   last/{model,optimizer}.safetensors, state.json   checkpoint "last": the latest, for --resume
//!   step-N/                      with keep_checkpoints > 1: the newest saves, by update
//!   */checksums.json             SHA-256 of each file of a checkpoint, verified on load
//!   shortlist.json               lexical shortlist for `translate --shortlist`
//!   checksums.json               SHA-256 of the tokenizer file(s) and shortlist.json
//!   metrics.csv                  one row per validation
//!   corpus/                      the prepared (binary) training corpus, memory-mapped by training
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use tch::nn::VarStore;
use tch::Device;

use super::checkpoint::{self, CheckpointError};
use super::checksum::{self, ChecksumError};
use crate::config::Config;
use crate::model::Seq2Seq;
use crate::subword::SubwordModel;

/// Name of the checkpoint with the best validation score.
pub const BEST: &str = "best";
/// Name of the latest checkpoint (with optimizer state), the one `--resume` continues.
pub const LAST: &str = "last";

/// Paths inside a model directory.
#[derive(Debug, Clone)]
pub struct ModelDir {
    /// The directory itself.
    pub root: PathBuf,
}

impl ModelDir {
    /// Wraps a directory path (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    /// Tokenizer files `(source, target)`; the same path when the BPE model is joint.
    pub fn tokenizers(&self, joint: bool) -> (PathBuf, PathBuf) {
        if joint {
            let p = self.root.join("tokenizer.json");
            (p.clone(), p)
        } else {
            (
                self.root.join("tokenizer.src.json"),
                self.root.join("tokenizer.tgt.json"),
            )
        }
    }
    /// The directory of checkpoint `name` (e.g. [`BEST`], [`LAST`]).
    pub fn checkpoint(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    /// `best/`: the checkpoint with the best validation BLEU.
    pub fn best(&self) -> PathBuf {
        self.checkpoint(BEST)
    }
    /// `last/`: the latest checkpoint (with optimizer state).
    pub fn last(&self) -> PathBuf {
        self.checkpoint(LAST)
    }
    /// `step-N/`: the checkpoint after update `step`, kept with `keep_checkpoints` > 1.
    pub fn step_checkpoint(&self, step: usize) -> PathBuf {
        self.checkpoint(&format!("step-{step}"))
    }

    /// The `step-N/` checkpoints present, oldest first.
    ///
    /// Errors: the directory cannot be listed.
    pub fn step_checkpoints(&self) -> anyhow::Result<Vec<(usize, PathBuf)>> {
        let entries = std::fs::read_dir(&self.root)
            .with_context(|| format!("listing {}", self.root.display()))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", self.root.display()))?;
            let name = entry.file_name();
            let step = name.to_str().and_then(|n| n.strip_prefix("step-"));
            if let Some(step) = step.and_then(|n| n.parse::<usize>().ok()) {
                found.push((step, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The names of the checkpoints present (`best`, `last`, `step-N`, and any `NAME.old` a
    /// crash between the renames of a save left), sorted; broken links count, they are there.
    ///
    /// Errors: the directory cannot be listed.
    pub fn checkpoints_present(&self) -> Result<Vec<String>, crate::error::Error> {
        let io = |source| crate::error::Error::Io {
            path: self.root.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let name = name.to_string_lossy();
            if is_checkpoint_name(name.strip_suffix(".old").unwrap_or(&name)) {
                names.push(name.into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// `metrics.csv`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// The lexical shortlist for decoding, `shortlist.json`.
    pub fn shortlist(&self) -> PathBuf {
        self.root.join("shortlist.json")
    }

    /// The prepared training corpus, `corpus/` ([`crate::data::prepared`]).
    pub fn corpus(&self) -> PathBuf {
        self.root.join("corpus")
    }

    /// `checksums.json` of the directory itself: SHA-256 of its tokenizer file(s) and
    /// `shortlist.json` (each checkpoint has its own).
    pub fn checksums(&self) -> PathBuf {
        self.root.join(super::checksum::MANIFEST)
    }

    /// Verifies the directory's own files at `paths` (its tokenizers, `shortlist.json`) against
    /// its `checksums.json` before they are read. Files it does not list (a directory written
    /// before tolk checksummed them) load with a warning naming them, and are added to it when
    /// the directory is writable. A file that is neither there nor listed is left to its
    /// loader to report.
    ///
    /// Errors: a listed file that is missing or differs from its digest, naming it; an
    /// unreadable manifest.
    pub fn check_files(&self, paths: &[&Path]) -> Result<(), ChecksumError> {
        let names = file_names(paths);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let unlisted: Vec<&str> = checksum::verify_listed(&self.root, &names)?
            .into_iter()
            .filter(|n| self.root.join(n).is_file())
            .collect();
        if unlisted.is_empty() {
            return Ok(());
        }
        let added = match checksum::record(&self.root, &unlisted) {
            Ok(()) => "added to it now".to_string(),
            Err(e) => format!("could not add them: {e}"),
        };
        tracing::warn!(
            "{}: {} not listed in {} (a model directory written before tolk checksummed these \
             files): loaded without checking for corruption; {added}",
            self.root.display(),
            unlisted.join(", "),
            checksum::MANIFEST
        );
        Ok(())
    }

    /// Records the digests of the directory's own files at `paths` in its `checksums.json`,
    /// after they were written.
    ///
    /// Errors: a file cannot be read, the manifest cannot be written.
    pub fn record_files(&self, paths: &[&Path]) -> Result<(), ChecksumError> {
        let names = file_names(paths);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        checksum::record(&self.root, &names)
    }

    /// The files of a run beside its config and checkpoints, present or not: the tokenizer
    /// files (joint and separate names), `shortlist.json`, `metrics.csv`, `checksums.json`,
    /// the prepared corpus (with its partial writes `corpus.tmp/`, `corpus.old/`).
    pub fn run_files(&self) -> Vec<PathBuf> {
        let (joint, _) = self.tokenizers(true);
        let (src, tgt) = self.tokenizers(false);
        vec![
            joint,
            src,
            tgt,
            self.shortlist(),
            self.metrics(),
            self.checksums(),
            self.corpus(),
            self.root.join("corpus.tmp"),
            self.root.join("corpus.old"),
        ]
    }
}

/// The distinct file names of `paths` (a joint tokenizer is both the source and the target
/// one), in order.
fn file_names(paths: &[&Path]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Whether `name` is the name of a checkpoint directory: `best`, `last` or `step-N`.
pub fn is_checkpoint_name(name: &str) -> bool {
    let step = name.strip_prefix("step-");
    name == BEST || name == LAST || step.is_some_and(|n| n.parse::<usize>().is_ok())
}

/// Why no checkpoint of a model directory can be chosen.
#[derive(Debug, thiserror::Error)]
pub enum ModelDirError {
    /// The checkpoint asked for by name is not there.
    #[error("{}: no checkpoint named {name:?}", .root.display())]
    NoSuchCheckpoint {
        /// The model directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
    },
    /// Neither `best/` nor `last/` is there.
    #[error("{}: no checkpoint in best/ or last/", .root.display())]
    NoCheckpoint {
        /// The model directory.
        root: PathBuf,
    },
    /// A checkpoint is there but cannot be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A file of the directory differs from its recorded checksum.
    #[error(transparent)]
    Checksum(#[from] ChecksumError),
    /// A tokenizer's vocabulary is not the one the checkpoint's embeddings were trained for.
    #[error(
        "{}: {vocab} subwords, but {tensor} in {} has {rows} rows: the tokenizer is not this \
         model's (was it replaced?)",
        .tokenizer.display(), .weights.display()
    )]
    VocabularyMismatch {
        /// The tokenizer file.
        tokenizer: PathBuf,
        /// Its vocabulary size.
        vocab: usize,
        /// The weights file.
        weights: PathBuf,
        /// The embedding table.
        tensor: String,
        /// Its rows.
        rows: i64,
    },
}

impl ModelDir {
    /// The directory of the checkpoint to load: the one named `name`, or with `None` `best/`,
    /// falling back to `last/` (with a warning) only when nothing at all is at `best` (links
    /// not followed). The one rule for `translate --checkpoint`, the server and averaging.
    ///
    /// Errors: the named checkpoint (or both best and last) is not there; a checkpoint that is
    /// there but cannot be read (a dangling link, a link loop, not a directory, incomplete),
    /// naming it.
    pub fn resolve_checkpoint(&self, name: Option<&str>) -> Result<PathBuf, ModelDirError> {
        if let Some(name) = name {
            return checkpoint::resolve(&self.checkpoint(name))?.ok_or_else(|| {
                ModelDirError::NoSuchCheckpoint {
                    root: self.root.clone(),
                    name: name.to_string(),
                }
            });
        }
        if let Some(best) = checkpoint::resolve(&self.best())? {
            return Ok(best);
        }
        let last =
            checkpoint::resolve(&self.last())?.ok_or_else(|| ModelDirError::NoCheckpoint {
                root: self.root.clone(),
            })?;
        tracing::warn!(
            "{}: no best/ checkpoint (no validation yet?); loading {}",
            self.root.display(),
            last.display()
        );
        Ok(last)
    }
}

/// A trained model loaded for translation.
#[derive(Debug)]
pub struct LoadedModel {
    /// The experiment config saved with the model.
    pub config: Config,
    /// Holds the weights.
    pub vs: VarStore,
    /// The network.
    pub model: Seq2Seq,
    /// Source subword model.
    pub src_subwords: SubwordModel,
    /// Target subword model.
    pub tgt_subwords: SubwordModel,
}

impl LoadedModel {
    /// Loads `config.toml`, the tokenizer(s) and the weights of the checkpoint `name`; `None`
    /// reads `best/`, or `last/` when nothing is at `best` ([`ModelDir::resolve_checkpoint`]).
    ///
    /// Errors: not a model directory, the named checkpoint is missing or unreadable, weights
    /// that do not fit the config.
    pub fn load(dir: &Path, name: Option<&str>, device: Device) -> anyhow::Result<Self> {
        let md = ModelDir::new(dir);
        let config = Config::from_file(&md.config())
            .with_context(|| format!("{} is not a tolk model directory", dir.display()))?;
        let (src_path, tgt_path) = md.tokenizers(config.subword.joint);
        md.check_files(&[&src_path, &tgt_path])?;
        let src_subwords = SubwordModel::load(&src_path)?;
        let tgt_subwords = SubwordModel::load(&tgt_path)?;
        let ckpt = md.resolve_checkpoint(name)?;
        let weights = ckpt.join("model.safetensors");
        for (path, sw, tensor) in [
            (&src_path, &src_subwords, "encoder.embed.weight"),
            (&tgt_path, &tgt_subwords, "decoder.embed.weight"),
        ] {
            check_vocabulary(path, sw.vocab_size(), &weights, tensor)?;
        }
        let mut vs = VarStore::new(device);
        let model = Seq2Seq::new(
            &vs.root(),
            &config.model,
            src_subwords.vocab_size() as i64,
            tgt_subwords.vocab_size() as i64,
        )?;
        checkpoint::load_weights(&ckpt, &mut vs, None)?;
        tracing::info!(checkpoint = %ckpt.display(), "model loaded");
        Ok(Self {
            config,
            vs,
            model,
            src_subwords,
            tgt_subwords,
        })
    }
}

/// Checks that the tokenizer at `tokenizer` (of `vocab` subwords) fits the embedding table
/// `tensor` of the weights file `weights`: each id it produces must have a row. A table or
/// header the file does not have is left to the weight loader (after its checksums) to report.
///
/// Errors: [`ModelDirError::VocabularyMismatch`].
fn check_vocabulary(
    tokenizer: &Path,
    vocab: usize,
    weights: &Path,
    tensor: &str,
) -> Result<(), ModelDirError> {
    let Ok(Some(shape)) = checkpoint::stored_shape(weights, tensor) else {
        return Ok(());
    };
    if shape.first() != Some(&(vocab as i64)) {
        return Err(ModelDirError::VocabularyMismatch {
            tokenizer: tokenizer.to_path_buf(),
            vocab,
            weights: weights.to_path_buf(),
            tensor: tensor.to_string(),
            rows: shape.first().copied().unwrap_or(0),
        });
    }
    Ok(())
}
