//! Corpus chrF exactly as sacreBLEU 2.x computes it with its defaults.
//!
//! chrF (Popović, 2015, "chrF: character n-gram F-score for automatic MT
//! evaluation") is an F-beta score over character n-grams. This module ports
//! sacreBLEU's `CHRF` metric (Post, 2018) with its defaults: character
//! n-gram order 6, no word n-grams (`word_order=0`, i.e. chrF, not chrF++),
//! beta 2, case-sensitive, whitespace removed before extracting n-grams
//! (`whitespace=False`) and effective-order averaging instead of epsilon
//! smoothing (`eps_smoothing=False`); its signature is
//! `nrefs:N|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
//!
//! The corpus score is computed from the summed per-segment n-gram counts
//! ([`ChrfStats`]): for every order whose hypothesis and reference counts
//! are both non-zero, precision and recall are averaged over those orders
//! only ("effective order"), and the F-beta score of the two averages is
//! reported. With several references, each segment uses the statistics of
//! the reference that gives it the best segment-level chrF (the first on
//! ties). Characters are Unicode scalar values, like Python's `str`.

use std::collections::HashMap;
use std::fmt;
use std::ops::AddAssign;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{check_corpus_shape, is_py_whitespace, SACREBLEU_VERSION};

/// Maximum character n-gram order (sacreBLEU's `CHRF.CHAR_ORDER`).
pub const CHRF_CHAR_ORDER: usize = 6;
/// Word n-gram order (sacreBLEU's `CHRF.WORD_ORDER`; 0 means chrF, 2 would be chrF++).
pub const CHRF_WORD_ORDER: usize = 0;
/// Recall is weighted `beta` times as much as precision (sacreBLEU's `CHRF.BETA`).
pub const CHRF_BETA: u32 = 2;

/// Sufficient statistics of chrF for one segment or, summed with `+=`, for a
/// corpus. Index `n - 1` holds the counts of character n-grams of order `n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChrfStats {
    /// Hypothesis n-grams (0 for a segment whose reference has no n-gram of
    /// this order, as in sacreBLEU).
    pub hyp: [u64; CHRF_CHAR_ORDER],
    /// Reference n-grams.
    pub reference: [u64; CHRF_CHAR_ORDER],
    /// Matched (clipped) n-grams.
    pub matches: [u64; CHRF_CHAR_ORDER],
}

/// Character n-gram counts of order 1..=6 of a line with all (Python)
/// whitespace removed (sacreBLEU's `extract_all_char_ngrams`).
fn char_ngrams(chars: &[char]) -> Vec<HashMap<&[char], u64>> {
    (1..=CHRF_CHAR_ORDER)
        .map(|n| {
            let mut counts = HashMap::new();
            for ngram in chars.windows(n) {
                *counts.entry(ngram).or_insert(0) += 1;
            }
            counts
        })
        .collect()
}

fn strip_whitespace(line: &str) -> Vec<char> {
    line.chars().filter(|&c| !is_py_whitespace(c)).collect()
}

impl ChrfStats {
    /// Statistics of one segment: a hypothesis and its references (raw text).
    /// With several references, the one giving the best segment-level chrF
    /// is used (the first on ties).
    ///
    /// # Panics
    /// If `refs` is empty.
    pub fn from_segment<R: AsRef<str>>(hyp: &str, refs: &[R]) -> Self {
        assert!(!refs.is_empty(), "a segment needs at least one reference");
        let hyp_chars = strip_whitespace(hyp);
        let hyp_ngrams = char_ngrams(&hyp_chars);

        let mut best = ChrfStats::default();
        let mut best_f = -1.0;
        for r in refs {
            let ref_chars = strip_whitespace(r.as_ref());
            let ref_ngrams = char_ngrams(&ref_chars);
            let mut stats = ChrfStats::default();
            for (i, (h, r)) in hyp_ngrams.iter().zip(&ref_ngrams).enumerate() {
                // sacreBLEU's CHRF._get_match_statistics.
                let mut hyp_count = 0;
                let mut match_count = 0;
                for (ngram, &count) in h {
                    hyp_count += count;
                    if let Some(&ref_count) = r.get(ngram) {
                        match_count += count.min(ref_count);
                    }
                }
                // Don't count hypothesis n-grams if the reference has none.
                stats.hyp[i] = if r.is_empty() { 0 } else { hyp_count };
                stats.reference[i] = r.values().sum();
                stats.matches[i] = match_count;
            }
            let f = stats.f_score();
            if f > best_f {
                best_f = f;
                best = stats;
            }
        }
        best
    }

    /// The statistics in sacreBLEU's flattened layout:
    /// `[hyp_1, ref_1, match_1, hyp_2, ref_2, match_2, …]`.
    pub fn to_sacrebleu_vec(&self) -> Vec<u64> {
        (0..CHRF_CHAR_ORDER)
            .flat_map(|i| [self.hyp[i], self.reference[i], self.matches[i]])
            .collect()
    }

    /// sacreBLEU's `CHRF._compute_f_score` with `eps_smoothing=False`:
    /// chrF in `0.0..=100.0` from these statistics.
    pub fn f_score(&self) -> f64 {
        let factor = f64::from(CHRF_BETA * CHRF_BETA);
        let mut avg_prec = 0.0;
        let mut avg_rec = 0.0;
        let mut effective_order = 0u32;
        for i in 0..CHRF_CHAR_ORDER {
            let (n_hyp, n_ref, n_match) = (self.hyp[i], self.reference[i], self.matches[i]);
            // Effective-order averaging (sacreBLEU < 2.0.0 style smoothing):
            // only orders with both hypothesis and reference n-grams count.
            if n_hyp > 0 && n_ref > 0 {
                avg_prec += n_match as f64 / n_hyp as f64;
                avg_rec += n_match as f64 / n_ref as f64;
                effective_order += 1;
            }
        }
        if effective_order == 0 {
            avg_prec = 0.0;
            avg_rec = 0.0;
        } else {
            avg_prec /= f64::from(effective_order);
            avg_rec /= f64::from(effective_order);
        }
        if avg_prec + avg_rec != 0.0 {
            let mut score = (1.0 + factor) * avg_prec * avg_rec;
            score /= factor * avg_prec + avg_rec;
            100.0 * score
        } else {
            0.0
        }
    }
}

impl AddAssign for ChrfStats {
    fn add_assign(&mut self, other: Self) {
        for i in 0..CHRF_CHAR_ORDER {
            self.hyp[i] += other.hyp[i];
            self.reference[i] += other.reference[i];
            self.matches[i] += other.matches[i];
        }
    }
}

impl std::iter::Sum for ChrfStats {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(ChrfStats::default(), |mut acc, s| {
            acc += s;
            acc
        })
    }
}

/// A corpus chrF score (sacreBLEU's `CHRFScore`) with its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct ChrfScore {
    /// chrF in `0.0..=100.0` (100 = identical to the references, ignoring whitespace).
    pub score: f64,
    /// Summed character n-gram statistics of the corpus.
    pub stats: ChrfStats,
    /// Number of reference streams (`nrefs` in the signature).
    pub nrefs: usize,
}

impl ChrfScore {
    /// Computes chrF from corpus statistics. `nrefs` is only used for the
    /// signature.
    pub fn from_stats(stats: &ChrfStats, nrefs: usize) -> Self {
        ChrfScore {
            score: stats.f_score(),
            stats: *stats,
            nrefs,
        }
    }

    /// The metric name sacreBLEU prints: `chrF2` (beta 2, no `+` for word n-grams).
    pub fn name(&self) -> String {
        format!("chrF{CHRF_BETA}{}", "+".repeat(CHRF_WORD_ORDER))
    }

    /// sacreBLEU's reproducibility signature, e.g.
    /// `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
    pub fn signature(&self) -> String {
        format!(
            "nrefs:{}|case:mixed|eff:yes|nc:{CHRF_CHAR_ORDER}|nw:{CHRF_WORD_ORDER}|space:no|version:{SACREBLEU_VERSION}",
            self.nrefs
        )
    }

    /// sacreBLEU's `CHRFScore.format()`, e.g. `chrF2 = 55.23`.
    pub fn format(&self) -> String {
        format!("{} = {:.2}", self.name(), self.score)
    }

    /// The line the `sacrebleu` command prints with `-f text`, e.g.
    /// `chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 55.23`.
    pub fn format_with_signature(&self) -> String {
        format!("{}|{} = {:.2}", self.name(), self.signature(), self.score)
    }
}

impl fmt::Display for ChrfScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

/// Serializes like sacreBLEU's JSON output (`name`, `score`, `signature`)
/// plus the full-precision statistics.
impl Serialize for ChrfScore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ChrfScore", 5)?;
        s.serialize_field("name", &self.name())?;
        s.serialize_field("score", &self.score)?;
        s.serialize_field("signature", &self.signature())?;
        s.serialize_field("stats", &self.stats)?;
        s.serialize_field("nrefs", &self.nrefs)?;
        s.end()
    }
}

/// Corpus chrF of `hyps` against one or more reference streams, identical
/// to `sacrebleu.corpus_chrf(hyps, refs)` (sacreBLEU 2.x defaults: character
/// 6-grams, beta 2, whitespace ignored, case-sensitive).
///
/// `refs[k][i]` is the `k`-th reference for hypothesis `i`, so a single
/// reference set is `&[refs]`. Empty lines are allowed. The result's
/// `score` is in `0.0..=100.0`.
///
/// ```
/// use tolk::metrics::corpus_chrf;
/// let hyps = ["a cat sat".to_string(), String::new()];
/// let refs = [vec!["the cat sat".to_string(), "hello".to_string()]];
/// assert_eq!(corpus_chrf(&hyps, &refs).format(), "chrF2 = 40.81");
/// ```
///
/// # Panics
/// If `refs` is empty or a reference stream's length differs from `hyps.len()`.
pub fn corpus_chrf<H, V, R>(hyps: &[H], refs: &[V]) -> ChrfScore
where
    H: AsRef<str>,
    V: AsRef<[R]>,
    R: AsRef<str>,
{
    let nrefs = check_corpus_shape(hyps.len(), refs, |s| s.as_ref().len());
    let stats: ChrfStats = hyps
        .iter()
        .enumerate()
        .map(|(i, hyp)| {
            let seg_refs: Vec<&str> = refs.iter().map(|s| s.as_ref()[i].as_ref()).collect();
            ChrfStats::from_segment(hyp.as_ref(), &seg_refs)
        })
        .sum();
    ChrfScore::from_stats(&stats, nrefs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sacreBLEU 2.6.0: `CHRF()._extract_corpus_statistics(["ab  c", ""], [["abc", "xy"]])`
    /// and `sacrebleu.corpus_chrf(...)`.
    #[test]
    fn whitespace_removed_and_empty_hypothesis() {
        let hyps = ["ab  c", ""];
        let refs = [["abc", "xy"]];
        let c = corpus_chrf(&hyps, &refs);
        assert_eq!(
            c.stats.to_sacrebleu_vec(),
            [3, 5, 3, 2, 3, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!((c.score - 79.43925233644859).abs() < 1e-12, "{}", c.score);
        assert_eq!(
            c.format_with_signature(),
            "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 79.44"
        );
    }

    #[test]
    fn no_overlap_and_all_empty_are_zero() {
        assert_eq!(corpus_chrf(&["xyz"], &[["abc"]]).score, 0.0);
        let c = corpus_chrf(&["", ""], &[["abc", ""]]);
        assert_eq!(c.score, 0.0);
        assert_eq!(c.format(), "chrF2 = 0.00");
    }

    #[test]
    fn best_reference_is_chosen_per_segment() {
        let hyps = ["the cat"];
        let refs = [["a dog"], ["the cat"]];
        let c = corpus_chrf(&hyps, &refs);
        assert!((c.score - 100.0).abs() < 1e-9);
        assert_eq!(c.nrefs, 2);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["name"], "chrF2");
        assert_eq!(json["stats"]["matches"][0], 6);
    }
}
