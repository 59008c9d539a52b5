//! Checkpoint averaging: the element-wise mean of the weights of several checkpoints of one
//! run, written as a normal model directory (as Marian's and OpenNMT-py's average scripts do;
//! Junczys-Dowmunt et al. 2016 report it as a cheap ensemble).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::checkpoint;
use super::checksum;
use super::model_dir::{ModelDir, BEST};

/// What `state.json` of an averaged checkpoint records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AveragedState {
    /// The checkpoint directories averaged, in the order given.
    pub averaged_from: Vec<String>,
}

/// The newest `n` `step-N/` checkpoints of `model` (kept with `training.keep_checkpoints`),
/// oldest first.
///
/// Errors: fewer than `n` (or none) present.
pub fn last_step_checkpoints(model: &ModelDir, n: usize) -> anyhow::Result<Vec<PathBuf>> {
    let all = model.step_checkpoints()?;
    ensure!(n > 0, "--last must be at least 1");
    ensure!(
        all.len() >= n,
        "{}: {n} step checkpoints asked for, {} present (keep them with \
         training.keep_checkpoints > 1)",
        model.checkpoint("").display(),
        all.len()
    );
    Ok(all[all.len() - n..]
        .iter()
        .map(|(_, p)| p.clone())
        .collect())
}

/// The checkpoints to average: the newest `last` step checkpoints
/// ([`last_step_checkpoints`]), or else the checkpoints `names` of `model` (`best`, `last`,
/// `step-4000`, ...). `tolk average` and the Python binding's `tolk.average` both choose with
/// this.
///
/// Errors: both or neither given; a name that is not a checkpoint of `model`; fewer step
/// checkpoints than `last`.
pub fn checkpoints_to_average(
    model: &ModelDir,
    last: Option<usize>,
    names: &[String],
) -> anyhow::Result<Vec<PathBuf>> {
    match last {
        Some(_) if !names.is_empty() => {
            bail!("name the checkpoints to average or give the number of the last ones, not both")
        }
        Some(n) => last_step_checkpoints(model, n),
        None => {
            ensure!(
                !names.is_empty(),
                "name the checkpoints to average, or use --last N"
            );
            Ok(names
                .iter()
                .map(|name| model.resolve_checkpoint(Some(name)))
                .collect::<Result<_, _>>()?)
        }
    }
}

/// The element-wise mean of the weights in the checkpoints `dirs` (each verified against its
/// checksums first), accumulated in float64 and returned in each tensor's stored kind.
///
/// Errors: no checkpoint; a checksum mismatch; a checkpoint whose tensor names or shapes
/// differ from the first one's (naming the checkpoint and the tensor).
pub fn average_weights(dirs: &[PathBuf]) -> anyhow::Result<BTreeMap<String, Tensor>> {
    let (first, rest) = dirs.split_first().context("no checkpoint to average")?;
    let read = |dir: &Path| -> anyhow::Result<BTreeMap<String, Tensor>> {
        checksum::verify(dir)?;
        let path = dir.join("model.safetensors");
        Ok(Tensor::read_safetensors(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .into_iter()
            .collect())
    };
    let mut sum: BTreeMap<String, (Kind, Tensor)> = read(first)?
        .into_iter()
        .map(|(name, t)| (name, (t.kind(), t.to_kind(Kind::Double))))
        .collect();
    for dir in rest {
        let weights = read(dir)?;
        if let Some(name) = sum.keys().find(|n| !weights.contains_key(*n)) {
            bail!("{}: no tensor {name:?} (not the same model)", dir.display());
        }
        for (name, t) in weights {
            let Some((_, acc)) = sum.get_mut(&name) else {
                bail!(
                    "{}: unexpected tensor {name:?} (not the same model)",
                    dir.display()
                );
            };
            ensure!(
                acc.size() == t.size(),
                "{}: tensor {name:?} has shape {:?}, {} has {:?}",
                dir.display(),
                t.size(),
                first.display(),
                acc.size()
            );
            *acc += t.to_kind(Kind::Double);
        }
    }
    let n = dirs.len() as f64;
    Ok(sum
        .into_iter()
        .map(|(name, (kind, acc))| (name, (acc / n).to_kind(kind)))
        .collect())
}

/// Writes the mean of `checkpoints` (of the run in `model`) as a model directory `out`: its
/// config, subword models and shortlist copied (checked against `model`'s checksums, recorded
/// in `out`'s), and the averaged weights as `best/` (written
/// atomically with checksums, no optimizer state), so `tolk translate --model out` reads it.
///
/// Errors: `out` exists and is not empty; as [`average_weights`]; I/O.
pub fn write_averaged_model(
    model: &Path,
    checkpoints: &[PathBuf],
    out: &Path,
) -> anyhow::Result<()> {
    let empty = fs::read_dir(out).map_or(true, |mut d| d.next().is_none());
    ensure!(empty, "{} exists and is not empty", out.display());
    let weights = average_weights(checkpoints)?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let source = ModelDir::new(model);
    let mut copied = Vec::new();
    for entry in fs::read_dir(model).with_context(|| format!("listing {}", model.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let wanted = name == "config.toml"
            || name == "shortlist.json"
            || (name.starts_with("tokenizer") && name.ends_with(".json"));
        if wanted && path.is_file() {
            if name != "config.toml" {
                source.check_files(&[&path])?;
            }
            fs::copy(&path, out.join(name))
                .with_context(|| format!("copying {} to {}", path.display(), out.display()))?;
            if name != "config.toml" {
                copied.push(out.join(name));
            }
        }
    }
    let out_dir = ModelDir::new(out);
    out_dir.record_files(&copied.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let state = AveragedState {
        averaged_from: checkpoints
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    let named: Vec<(String, Tensor)> = weights.into_iter().collect();
    checkpoint::save_tensors(&ModelDir::new(out).checkpoint(BEST), &named, &state)
}
