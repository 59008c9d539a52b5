//! Alignments from attention: the soft matrix α (one row per target token, one column per
//! source token), merged from subwords to words on request, and hard alignments in Pharaoh
//! `i-j` format (source index i, target index j) by taking the arg-max source position of each
//! target token.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::subword::{merge_to_words, EOS_TOKEN, META_SPACE};

/// The attention matrix of one translation with its token labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentMatrix {
    /// Source labels (subwords or words), `[src_len]`; includes `</s>` for subwords.
    pub src_tokens: Vec<String>,
    /// Target labels, `[tgt_len]`.
    pub tgt_tokens: Vec<String>,
    /// Weights α `[tgt_len][src_len]`; each row sums to 1 (subwords) or to at most 1 (words,
    /// where `</s>` is dropped).
    pub weights: Vec<Vec<f32>>,
}

impl AlignmentMatrix {
    /// Word-level matrix: source columns of one word are summed (the probability of
    /// attending to any of its pieces), target rows of one word are averaged. `</s>` rows and
    /// columns are dropped. Pieces starting with `▁` begin words (see
    /// [`crate::subword::merge_to_words`]).
    pub fn merge_to_words(&self) -> Self {
        let strip = |tokens: &[String]| -> Vec<String> {
            tokens.iter().filter(|t| *t != EOS_TOKEN).cloned().collect()
        };
        let src_pieces = strip(&self.src_tokens);
        let tgt_pieces = strip(&self.tgt_tokens);
        let src_words = merge_to_words(&src_pieces);
        let tgt_words = merge_to_words(&tgt_pieces);
        let label = |pieces: &[String], group: &[usize]| -> String {
            group
                .iter()
                .map(|&i| pieces[i].as_str())
                .collect::<String>()
                .trim_start_matches(META_SPACE)
                .to_string()
        };
        let weights = tgt_words
            .iter()
            .map(|tg| {
                src_words
                    .iter()
                    .map(|sg| {
                        let total: f32 = tg
                            .iter()
                            .map(|&t| sg.iter().map(|&s| self.weights[t][s]).sum::<f32>())
                            .sum();
                        total / tg.len() as f32
                    })
                    .collect()
            })
            .collect();
        Self {
            src_tokens: src_words.iter().map(|g| label(&src_pieces, g)).collect(),
            tgt_tokens: tgt_words.iter().map(|g| label(&tgt_pieces, g)).collect(),
            weights,
        }
    }

    /// Hard alignment: for each target position j the source position i with the largest
    /// weight, as `(i, j)` pairs.
    pub fn hard(&self) -> Vec<(usize, usize)> {
        self.weights
            .iter()
            .enumerate()
            .filter_map(|(j, row)| {
                row.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| (i, j))
            })
            .collect()
    }

    /// Word links of a subword matrix, as byte ranges: for each target word, the source word
    /// its attention weighted most (word-level [`AlignmentMatrix::hard`] of
    /// [`AlignmentMatrix::merge_to_words`]), as `(range in source, range in target)`, where
    /// words are the whitespace-separated words of `source` (the text the model read) and
    /// `target` (the detokenised output). Empty when the word counts of the texts and of the
    /// subwords disagree (a piece that is not a word of the text), so no link is ever wrong
    /// by position.
    pub fn word_links(&self, source: &str, target: &str) -> Vec<(Range<usize>, Range<usize>)> {
        let words = self.merge_to_words();
        let (src, tgt) = (word_ranges(source), word_ranges(target));
        if src.len() != words.src_tokens.len() || tgt.len() != words.tgt_tokens.len() {
            return Vec::new();
        }
        words
            .hard()
            .into_iter()
            .map(|(i, j)| (src[i].clone(), tgt[j].clone()))
            .collect()
    }

    /// Pharaoh format: `"i-j i-j ..."` (source-target, 0-based).
    pub fn pharaoh(&self) -> String {
        self.hard()
            .iter()
            .map(|(i, j)| format!("{i}-{j}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Byte ranges of the whitespace-separated words of `text`.
fn word_ranges(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn merges_subwords_and_takes_argmax() {
        let m = AlignmentMatrix {
            src_tokens: s(&["▁Ein", "▁Hund", "e", "</s>"]),
            tgt_tokens: s(&["▁A", "▁do", "gs", "</s>"]),
            weights: vec![
                vec![0.7, 0.1, 0.1, 0.1],
                vec![0.1, 0.5, 0.3, 0.1],
                vec![0.0, 0.2, 0.7, 0.1],
                vec![0.0, 0.0, 0.0, 1.0],
            ],
        };
        assert_eq!(m.pharaoh(), "0-0 1-1 2-2 3-3");
        let w = m.merge_to_words();
        assert_eq!(w.src_tokens, s(&["Ein", "Hunde"]));
        assert_eq!(w.tgt_tokens, s(&["A", "dogs"]));
        assert!((w.weights[1][1] - (0.8 + 0.9) / 2.0).abs() < 1e-6);
        assert!((w.weights[0][0] - 0.7).abs() < 1e-6);
        assert_eq!(w.pharaoh(), "0-0 1-1");
        assert_eq!(
            m.word_links("Ein Hunde", "A dogs"),
            vec![(0..3, 0..1), (4..9, 2..6)]
        );
        assert!(m.word_links("Ein Hunde bellen", "A dogs").is_empty());
    }
}
