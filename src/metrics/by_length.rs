//! Corpus BLEU and chrF per source-length bucket: the measurement behind Bahdanau et al. 2015,
//! Figure 2 (BLEU against sentence length, where the fixed-length context of the plain
//! encoder-decoder degrades and attention does not).

use serde::{Deserialize, Serialize};

use super::{corpus_bleu, corpus_chrf, py_split};

/// The default bucket edges in source words: 0-9, 10-19, 20-29, 30-39, 40 and more.
pub const DEFAULT_EDGES: [usize; 4] = [10, 20, 30, 40];

/// The scores of the sentences whose source has `min_words ≤ words < max_words` words
/// (whitespace-separated, as sacreBLEU splits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthBucket {
    /// Smallest source length in the bucket (words, inclusive).
    pub min_words: usize,
    /// Bound on the source length (words, exclusive); `None` for the last, open bucket.
    pub max_words: Option<usize>,
    /// Sentences in the bucket.
    pub sentences: usize,
    /// Corpus BLEU of the bucket (sacreBLEU defaults); `None` for an empty bucket.
    pub bleu: Option<f64>,
    /// Corpus chrF of the bucket; `None` for an empty bucket.
    pub chrf: Option<f64>,
}

impl LengthBucket {
    /// "0-9", "40+".
    pub fn label(&self) -> String {
        match self.max_words {
            Some(hi) => format!("{}-{}", self.min_words, hi - 1),
            None => format!("{}+", self.min_words),
        }
    }
}

/// Scores `hyps` against `refs` (one reference stream, line-aligned) in buckets of the length
/// of `sources`, cut at `edges` (strictly increasing, each > 0): buckets [0, e₁), [e₁, e₂), …,
/// [e_last, ∞).
///
/// Errors: the three files differ in length; edges not strictly increasing or starting at 0.
pub fn score_by_length(
    sources: &[String],
    hyps: &[String],
    refs: &[String],
    edges: &[usize],
) -> anyhow::Result<Vec<LengthBucket>> {
    anyhow::ensure!(
        sources.len() == hyps.len() && hyps.len() == refs.len(),
        "sources, hypotheses and references have {}, {} and {} lines",
        sources.len(),
        hyps.len(),
        refs.len()
    );
    anyhow::ensure!(
        edges.first().is_none_or(|&e| e > 0) && edges.windows(2).all(|w| w[0] < w[1]),
        "length edges must be positive and strictly increasing, got {edges:?}"
    );
    let bucket_of = |src: &str| {
        let words = py_split(src).count();
        edges.iter().take_while(|&&e| words >= e).count()
    };
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); edges.len() + 1];
    for (i, src) in sources.iter().enumerate() {
        members[bucket_of(src)].push(i);
    }
    Ok(members
        .iter()
        .enumerate()
        .map(|(b, rows)| {
            let pick = |v: &[String]| rows.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
            let (h, r) = (pick(hyps), pick(refs));
            let scored = !rows.is_empty();
            LengthBucket {
                min_words: if b == 0 { 0 } else { edges[b - 1] },
                max_words: edges.get(b).copied(),
                sentences: rows.len(),
                bleu: scored.then(|| corpus_bleu(&h, &[&r]).score),
                chrf: scored.then(|| corpus_chrf(&h, &[&r]).score),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn buckets_by_source_words_and_scores_each_as_its_own_corpus() {
        let src = strings(&["a b", "a b c d e", "a", "a b c d e f g"]);
        let hyp = strings(&[
            "the cat sat on the mat",
            "x y z",
            "the dog ran in the park",
            "a b",
        ]);
        let refs = strings(&[
            "the cat sat on the mat",
            "a big house",
            "the dog ran in the park",
            "a b c",
        ]);
        let buckets = score_by_length(&src, &hyp, &refs, &[3, 6, 20]).unwrap();
        let labels: Vec<String> = buckets.iter().map(LengthBucket::label).collect();
        assert_eq!(labels, ["0-2", "3-5", "6-19", "20+"]);
        let counts: Vec<usize> = buckets.iter().map(|b| b.sentences).collect();
        assert_eq!(counts, [2, 1, 1, 0]);
        // Bucket 0 holds the two exact matches: BLEU 100; the same as scoring them alone.
        assert!((buckets[0].bleu.unwrap() - 100.0).abs() < 1e-9);
        let alone = corpus_bleu(&hyp[1..2], &[&refs[1..2]]).score;
        assert_eq!(buckets[1].bleu, Some(alone));
        assert_eq!((buckets[3].bleu, buckets[3].chrf), (None, None));
    }

    #[test]
    fn rejects_mismatched_files_and_bad_edges() {
        let one = strings(&["a"]);
        assert!(score_by_length(&one, &one, &[], &[10]).is_err());
        assert!(score_by_length(&one, &one, &one, &[10, 10]).is_err());
        assert!(score_by_length(&one, &one, &one, &[0, 10]).is_err());
        assert_eq!(score_by_length(&one, &one, &one, &[]).unwrap().len(), 1);
    }
}
