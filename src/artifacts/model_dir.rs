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
//!   metrics.csv                  one row per validation
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use tch::nn::VarStore;
use tch::Device;

use super::checkpoint;
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

    /// `metrics.csv`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// The lexical shortlist for decoding, `shortlist.json`.
    pub fn shortlist(&self) -> PathBuf {
        self.root.join("shortlist.json")
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
    /// reads `best/`, or `last/` when no best checkpoint exists.
    ///
    /// Errors: not a model directory, the named checkpoint is missing, weights that do not fit
    /// the config.
    pub fn load(dir: &Path, name: Option<&str>, device: Device) -> anyhow::Result<Self> {
        let md = ModelDir::new(dir);
        let config = Config::from_file(&md.config())
            .with_context(|| format!("{} is not a tolk model directory", dir.display()))?;
        let (src_path, tgt_path) = md.tokenizers(config.subword.joint);
        let src_subwords = SubwordModel::load(&src_path)?;
        let tgt_subwords = SubwordModel::load(&tgt_path)?;
        let mut vs = VarStore::new(device);
        let model = Seq2Seq::new(
            &vs.root(),
            &config.model,
            src_subwords.vocab_size() as i64,
            tgt_subwords.vocab_size() as i64,
        )?;
        let ckpt = match name {
            Some(name) => checkpoint::locate(&md.checkpoint(name))
                .with_context(|| format!("{}: no checkpoint named {name:?}", dir.display()))?,
            None => [md.best(), md.last()]
                .iter()
                .find_map(|d| checkpoint::locate(d))
                .with_context(|| format!("{}: no checkpoint in best/ or last/", dir.display()))?,
        };
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
