//! `metrics.csv`: one row per validation, for plotting learning curves.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Column names of `metrics.csv`.
pub const HEADER: &str =
    "step,epoch,train_loss,valid_loss,valid_ppl,valid_bleu,valid_chrf,learning_rate,elapsed_s,target_tokens,train_tokens_per_s";

/// One validation row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    /// Updates done.
    pub step: usize,
    /// Epoch (0-based, fractional progress not included).
    pub epoch: usize,
    /// Mean label-smoothed training loss per target token since the previous row (nats).
    pub train_loss: f64,
    /// Mean validation NLL per target token (nats).
    pub valid_loss: f64,
    /// exp(valid_loss).
    pub valid_ppl: f64,
    /// Greedy validation BLEU (sacreBLEU defaults).
    pub valid_bleu: f64,
    /// Greedy validation chrF.
    pub valid_chrf: f64,
    /// Learning rate at this step.
    pub learning_rate: f64,
    /// Training wall time so far, seconds.
    pub elapsed_s: f64,
    /// Target tokens seen so far.
    pub target_tokens: u64,
    /// Training throughput since the previous row, target tokens per second.
    pub train_tokens_per_s: f64,
}

/// Appends a row, writing the header first if the file is new.
pub fn append(path: &Path, row: &MetricsRow) -> anyhow::Result<()> {
    let new = !path.exists();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    if new {
        writeln!(f, "{HEADER}")?;
    }
    writeln!(
        f,
        "{},{},{:.5},{:.5},{:.4},{:.2},{:.2},{:.3e},{:.1},{},{:.1}",
        row.step,
        row.epoch,
        row.train_loss,
        row.valid_loss,
        row.valid_ppl,
        row.valid_bleu,
        row.valid_chrf,
        row.learning_rate,
        row.elapsed_s,
        row.target_tokens,
        row.train_tokens_per_s
    )?;
    f.sync_all()?;
    Ok(())
}

/// On resume: drops rows logged after `step` (they belong to the lost part of a killed run).
pub fn truncate_after(path: &Path, step: usize) -> anyhow::Result<()> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| {
            *i == 0
                || l.split(',')
                    .next()
                    .and_then(|s| s.parse::<usize>().ok())
                    .is_some_and(|s| s <= step)
        })
        .map(|(_, l)| l)
        .collect();
    crate::artifacts::write_file_atomic(path, (kept.join("\n") + "\n").as_bytes())?;
    Ok(())
}
