//! Shared helpers of the benchmark: data paths, JSON files, tensors from JSON, medians, resident memory, the FLOPs of a training step.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;
use tch::Tensor;

use tolk::artifacts::ModelDir;
use tolk::config::{Config, ModelConfig, OutputLayerType, RnnType};
use tolk::subword::SubwordModel;

/// `path` if it exists, else `fallback_dir/<file name of path>`.
pub fn resolve_data(path: &Path, fallback_dir: &Path) -> Result<PathBuf> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let alt = fallback_dir.join(name);
    anyhow::ensure!(
        alt.exists(),
        "neither {} nor {} exists",
        path.display(),
        alt.display()
    );
    Ok(alt)
}

/// The test set next to the training source: `test2016.<src ext>` / `test2016.<tgt ext>`.
pub fn test_paths(config: &Config, data: &Path) -> Result<(PathBuf, PathBuf)> {
    let lang = |p: &Path| -> String {
        // train.de.gz -> "de"
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.trim_end_matches(".gz")
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let src = data.join(format!("test2016.{}.gz", lang(&config.data.train_src)));
    let tgt = data.join(format!("test2016.{}.gz", lang(&config.data.train_tgt)));
    anyhow::ensure!(
        src.exists() && tgt.exists(),
        "{} / {} missing",
        src.display(),
        tgt.display()
    );
    Ok((src, tgt))
}

pub fn load_subwords(model: &Path, config: &Config) -> Result<(SubwordModel, SubwordModel)> {
    let (s, t) = ModelDir::new(model).tokenizers(config.subword.joint);
    Ok((SubwordModel::load(&s)?, SubwordModel::load(&t)?))
}

pub fn write_json(path: &Path, v: &Value) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string(v)?)
        .with_context(|| format!("writing {}", path.display()))
}

pub fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

pub fn rows_of(t: &Tensor) -> Vec<Vec<i64>> {
    let (r, c) = t.size2().expect("2-D");
    let flat = Vec::<i64>::try_from(t.flatten(0, -1)).expect("int64");
    (0..r as usize)
        .map(|i| flat[i * c as usize..(i + 1) * c as usize].to_vec())
        .collect()
}

pub fn ids_of(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("int"))
        .collect()
}

pub fn matrix_of(v: &Value) -> Tensor {
    let rows: Vec<Vec<i64>> = v.as_array().expect("rows").iter().map(ids_of).collect();
    let (r, c) = (rows.len() as i64, rows.first().map_or(0, Vec::len) as i64);
    let flat: Vec<i64> = rows.into_iter().flatten().collect();
    Tensor::from_slice(&flat).view([r, c])
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Resets the peak-RSS counter of this process (Linux: "5" to /proc/self/clear_refs).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size (VmHWM) in MiB.
pub fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Current resident set size (VmRSS) in MiB.
pub fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

pub fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// FLOPs of one forward pass over a padded batch (multiply-add = 2 FLOPs, matrix products
/// only; elementwise ops, softmax and the loss are left out). `b` sentences, `s` padded
/// source length (EOS included), `t` padded target length. See bench/NOTES.md.
pub fn forward_flops(m: &ModelConfig, tgt_vocab: i64, b: i64, s: i64, t: i64) -> f64 {
    let g = match m.rnn {
        RnnType::Gru => 3.0,
        RnnType::Lstm => 4.0,
    };
    let (b, s, t) = (b as f64, s as f64, t as f64);
    let es = m.src_embed_dim as f64;
    let et = m.tgt_embed_dim as f64;
    let h = m.encoder_hidden as f64;
    let d = m.decoder_hidden as f64;
    let a = m.attention_dim as f64;
    let o = m.output_dim as f64;
    let k = match m.output_layer {
        OutputLayerType::Maxout => o / 2.0,
        OutputLayerType::Tanh => o,
    };
    let v = tgt_vocab as f64;
    // Encoder: per layer and direction, input transform + recurrence over all S positions.
    let mut enc = 0.0;
    let mut input = es;
    for _ in 0..m.encoder_layers {
        enc += 2.0 * (2.0 * b * s * g * h * input + 2.0 * b * s * g * h * h);
        input = 2.0 * h;
    }
    let bridge = 2.0 * b * h * d;
    let keys = 2.0 * b * s * 2.0 * h * a; // U_a h_j, once per batch
    let emb_transform = 2.0 * b * t * et * g * d; // W_x E y for all steps at once
    let per_step = 2.0 * b * d * a       // W_a s_{i-1}
        + 2.0 * b * s * a                // v_a^T tanh(.)
        + 2.0 * b * s * 2.0 * h          // c_i = sum_j alpha_ij h_j
        + 2.0 * b * 2.0 * h * g * d      // W_u c_i
        + 2.0 * b * d * g * d; // W_h s_{i-1}
    let deep_out = 2.0 * b * t * (d + 2.0 * h + et) * o;
    let vocab = 2.0 * b * t * k * v;
    enc + bridge + keys + emb_transform + t * per_step + deep_out + vocab
}
