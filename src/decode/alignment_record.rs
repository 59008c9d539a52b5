//! The alignments JSON lines file: one [`AlignmentRecord`] per translated sentence, written by
//! `tolk translate --alignments` and read by `tolk plot --alignments`.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize, Serializer};

use super::alignment::AlignmentMatrix;

/// One line of the alignments file. Keys are written in this (alphabetical) order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentRecord {
    /// 0-based line number of the sentence in the input.
    #[serde(default)]
    pub index: usize,
    /// Hard alignment of `weights` in Pharaoh `i-j` format ([`AlignmentMatrix::pharaoh`]).
    #[serde(default)]
    pub pharaoh: String,
    /// The source sentence.
    #[serde(default)]
    pub source: String,
    /// Source labels, `[src_len]`.
    pub src_tokens: Vec<String>,
    /// Target labels, `[tgt_len]`.
    pub tgt_tokens: Vec<String>,
    /// The translation (detokenised best hypothesis).
    #[serde(default)]
    pub translation: String,
    /// Attention weights α `[tgt_len][src_len]`, written as the f64 widening of each f32 (the
    /// digits `serde_json::Value` gave before this type existed; read back, the same f32).
    #[serde(serialize_with = "widened")]
    pub weights: Vec<Vec<f32>>,
}

fn widened<S: Serializer>(weights: &[Vec<f32>], s: S) -> Result<S::Ok, S::Error> {
    let rows: Vec<Vec<f64>> = weights
        .iter()
        .map(|r| r.iter().map(|&w| f64::from(w)).collect())
        .collect();
    rows.serialize(s)
}

impl AlignmentRecord {
    /// The record of sentence `index`: its source, translation and attention matrix.
    pub fn new(index: usize, source: &str, translation: &str, matrix: AlignmentMatrix) -> Self {
        Self {
            index,
            pharaoh: matrix.pharaoh(),
            source: source.to_string(),
            translation: translation.to_string(),
            src_tokens: matrix.src_tokens,
            tgt_tokens: matrix.tgt_tokens,
            weights: matrix.weights,
        }
    }

    /// The attention matrix with its labels.
    pub fn matrix(&self) -> AlignmentMatrix {
        AlignmentMatrix {
            src_tokens: self.src_tokens.clone(),
            tgt_tokens: self.tgt_tokens.clone(),
            weights: self.weights.clone(),
        }
    }

    /// Writes the record as one JSON line.
    pub fn write_line(&self, out: &mut impl Write) -> anyhow::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        writeln!(out)?;
        Ok(())
    }

    /// Reads the `index`-th (0-based) non-empty line of an alignments file. Unknown fields are
    /// ignored; only `src_tokens`, `tgt_tokens` and `weights` are required.
    ///
    /// Errors name the file and line: unreadable, not a record, index out of range.
    pub fn read_nth(path: &Path, index: usize) -> anyhow::Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut seen = 0usize;
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}:{}", path.display(), n + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            if seen == index {
                return serde_json::from_str(&line).with_context(|| {
                    format!("{}:{}: not an alignment record", path.display(), n + 1)
                });
            }
            seen += 1;
        }
        anyhow::bail!(
            "{} has {seen} alignment line(s); index {index} is out of range",
            path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> AlignmentMatrix {
        AlignmentMatrix {
            src_tokens: vec!["▁Ein".into(), "▁Hund".into(), "</s>".into()],
            tgt_tokens: vec!["▁A".into(), "▁dog".into(), "</s>".into()],
            weights: vec![
                vec![0.7, 0.2, 0.1],
                vec![0.146_137_5, 0.8, 0.053_862_5],
                vec![0.0, 0.1, 0.9],
            ],
        }
    }

    #[test]
    fn bytes_are_those_of_the_json_value_writer() {
        let m = matrix();
        let old = serde_json::json!({
            "index": 3,
            "source": "Ein Hund",
            "translation": "A dog",
            "src_tokens": m.src_tokens,
            "tgt_tokens": m.tgt_tokens,
            "weights": m.weights,
            "pharaoh": m.pharaoh(),
        });
        let mut line = Vec::new();
        AlignmentRecord::new(3, "Ein Hund", "A dog", m)
            .write_line(&mut line)
            .unwrap();
        assert_eq!(String::from_utf8(line).unwrap(), format!("{old}\n"));
    }

    #[test]
    fn written_records_read_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        let records: Vec<AlignmentRecord> = (0..3)
            .map(|i| AlignmentRecord::new(i, "Ein Hund", "A dog", matrix()))
            .collect();
        for r in &records {
            r.write_line(&mut f).unwrap();
        }
        drop(f);
        for (i, r) in records.iter().enumerate() {
            let back = AlignmentRecord::read_nth(&path, i).unwrap();
            assert_eq!(&back, r);
            assert_eq!(
                back.matrix(),
                matrix(),
                "f32 weights exact after the round trip"
            );
        }
        let err = AlignmentRecord::read_nth(&path, 3).unwrap_err().to_string();
        assert!(err.contains("3 alignment line(s)"), "{err}");
    }
}
