//! `metrics.csv`: one row per validation, for plotting learning curves. Written by training,
//! read by `tolk plot --metrics` and by resumption, all through [`MetricsRow`] and the `csv`
//! crate.

use std::fs;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize, Serializer};

/// Column names of `metrics.csv`, in file order.
pub const HEADER: &str =
    "step,epoch,train_loss,valid_loss,valid_ppl,valid_bleu,valid_chrf,learning_rate,elapsed_s,target_tokens,train_tokens_per_s";

/// Columns a reader needs; the others may be missing (files of older versions) and then read
/// as their default (`valid_ppl` as exp(valid_loss)).
pub const REQUIRED_COLUMNS: [&str; 5] = [
    "step",
    "train_loss",
    "valid_loss",
    "valid_bleu",
    "valid_chrf",
];

/// One validation row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Updates done.
    pub step: usize,
    /// Epoch (0-based, fractional progress not included).
    #[serde(default)]
    pub epoch: usize,
    /// Mean label-smoothed training loss per target token since the previous row (nats).
    #[serde(serialize_with = "decimals::<5, _>")]
    pub train_loss: f64,
    /// Mean validation NLL per target token (nats).
    #[serde(serialize_with = "decimals::<5, _>")]
    pub valid_loss: f64,
    /// exp(valid_loss).
    #[serde(serialize_with = "decimals::<4, _>", default = "nan")]
    pub valid_ppl: f64,
    /// Greedy validation BLEU (sacreBLEU defaults).
    #[serde(serialize_with = "decimals::<2, _>")]
    pub valid_bleu: f64,
    /// Greedy validation chrF.
    #[serde(serialize_with = "decimals::<2, _>")]
    pub valid_chrf: f64,
    /// Learning rate at this step.
    #[serde(serialize_with = "scientific3", default = "nan")]
    pub learning_rate: f64,
    /// Training wall time so far, seconds.
    #[serde(serialize_with = "decimals::<1, _>", default = "nan")]
    pub elapsed_s: f64,
    /// Target tokens seen so far.
    #[serde(default)]
    pub target_tokens: u64,
    /// Training throughput since the previous row, target tokens per second.
    #[serde(serialize_with = "decimals::<1, _>", default = "nan")]
    pub train_tokens_per_s: f64,
}

fn nan() -> f64 {
    f64::NAN
}

fn decimals<const N: usize, S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:.N$}"))
}

fn scientific3<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:.3e}"))
}

/// The rows as CSV text, with the header when `header`.
fn to_csv(rows: &[MetricsRow], header: bool) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(header)
        .from_writer(Vec::new());
    for row in rows {
        w.serialize(row)?;
    }
    if header && rows.is_empty() {
        return Ok(format!("{HEADER}\n").into_bytes());
    }
    Ok(w.into_inner()?)
}

/// Appends a row, writing the header first if the file is new; fsyncs.
pub fn append(path: &Path, row: &MetricsRow) -> anyhow::Result<()> {
    use std::io::Write;
    let new = !path.exists();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(&to_csv(std::slice::from_ref(row), new)?)
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()?;
    Ok(())
}

/// Reads every row, in file order.
///
/// Errors name the file and 1-based line: a header without one of [`REQUIRED_COLUMNS`], a row
/// with another number of fields than the header, a field that is not a number.
pub fn read(path: &Path) -> anyhow::Result<Vec<MetricsRow>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let names: Vec<String> = r
        .headers()
        .with_context(|| format!("{}:1: not a CSV header", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    anyhow::ensure!(
        !names.is_empty() && names.iter().any(|n| !n.is_empty()),
        "{}: empty file, expected a CSV header",
        path.display()
    );
    for required in REQUIRED_COLUMNS {
        anyhow::ensure!(
            names.iter().any(|n| n == required),
            "{}:1: the header has no column `{required}` (found: {})",
            path.display(),
            names.join(",")
        );
    }
    let header = csv::StringRecord::from(names.clone());
    let mut rows = Vec::new();
    for record in r.records() {
        let record = record.map_err(|e| explain(path, &names, None, e))?;
        let row: MetricsRow = record
            .deserialize(Some(&header))
            .map_err(|e| explain(path, &names, Some(&record), e))?;
        rows.push(row);
    }
    for row in &mut rows {
        if row.valid_ppl.is_nan() {
            row.valid_ppl = row.valid_loss.exp();
        }
    }
    Ok(rows)
}

/// A csv error as "file:line: what is wrong", quoting the bad field of `record`.
fn explain(
    path: &Path,
    names: &[String],
    record: Option<&csv::StringRecord>,
    e: csv::Error,
) -> anyhow::Error {
    let line = record
        .and_then(|r| r.position())
        .or(e.position())
        .map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::UnequalLengths { len, .. } => anyhow::anyhow!(
            "{}:{line}: expected {} comma-separated fields as in the header, found {len}",
            path.display(),
            names.len()
        ),
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().map(|i| i as usize);
            let column = field.and_then(|i| names.get(i)).map_or("?", String::as_str);
            let value = field.and_then(|i| record?.get(i)).unwrap_or("");
            anyhow::anyhow!(
                "{}:{line}: column `{column}`: `{value}` is not a valid value ({})",
                path.display(),
                err.kind()
            )
        }
        _ => anyhow::anyhow!("{}:{line}: {e}", path.display()),
    }
}

/// On resume: drops rows logged after `step` (they belong to the lost part of a killed run).
pub fn truncate_after(path: &Path, step: usize) -> anyhow::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let kept: Vec<MetricsRow> = read(path)?.into_iter().filter(|r| r.step <= step).collect();
    super::write_file_atomic(path, &to_csv(&kept, true)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: usize) -> MetricsRow {
        MetricsRow {
            step,
            epoch: 1,
            train_loss: 3.123456,
            valid_loss: 2.5,
            valid_ppl: 12.182494,
            valid_bleu: 21.456,
            valid_chrf: 45.0,
            learning_rate: 0.0005,
            elapsed_s: 61.26,
            target_tokens: 123_456,
            train_tokens_per_s: 1999.96,
        }
    }

    #[test]
    fn the_file_format_is_the_documented_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        append(&path, &row(100)).unwrap();
        append(&path, &row(200)).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let line = "3.12346,2.50000,12.1825,21.46,45.00,5.000e-4,61.3,123456,2000.0";
        assert_eq!(
            text,
            format!("{HEADER}\n100,1,{line}\n200,1,{line}\n"),
            "same bytes as the hand-formatted writer before the csv crate"
        );
    }

    #[test]
    fn rows_round_trip_to_the_written_precision_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        for s in [100, 200, 300] {
            append(&path, &row(s)).unwrap();
        }
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 3);
        let r = &back[1];
        assert_eq!((r.step, r.epoch, r.target_tokens), (200, 1, 123_456));
        assert_eq!(
            (r.train_loss, r.valid_bleu, r.learning_rate),
            (3.12346, 21.46, 5e-4)
        );
        let before = fs::read_to_string(&path).unwrap();
        truncate_after(&path, 200).unwrap();
        let after = fs::read_to_string(&path).unwrap();
        let two_rows: Vec<&str> = before.lines().take(3).collect();
        assert_eq!(after, two_rows.join("\n") + "\n");
    }
}
