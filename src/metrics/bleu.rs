//! Corpus BLEU exactly as sacreBLEU 2.x computes it with its defaults.
//!
//! BLEU (Papineni et al., 2002, "BLEU: a Method for Automatic Evaluation of
//! Machine Translation") is the geometric mean of the modified n-gram
//! precisions for n = 1..=4, aggregated over the whole corpus, times a
//! brevity penalty. This module ports sacreBLEU's `BLEU` metric (Post, 2018)
//! with the defaults `tokenize="13a"`, `lowercase=False`, `smooth_method="exp"`,
//! `max_ngram_order=4`, `effective_order=False`; its signature is
//! `nrefs:N|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
//!
//! Per segment, the hypothesis and every reference are `rstrip()`ped and
//! tokenized with [`tokenize_13a`]; the reference n-gram counts are merged by
//! taking the maximum count over the references (clipping), and the
//! reference length used for the brevity penalty is the one closest to the
//! hypothesis length (the shorter one on ties). The corpus statistics are
//! the sums of the segment statistics ([`BleuStats`]).

use std::collections::HashMap;
use std::fmt;
use std::ops::AddAssign;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::tokenize_13a::{tokenize_13a, TOKENIZER_13A_SIGNATURE};
use super::{check_corpus_shape, py_rstrip, py_split, SACREBLEU_VERSION};

/// The maximum n-gram order of BLEU (sacreBLEU's `MAX_NGRAM_ORDER`): n-gram
/// precisions are computed for n = 1..=4.
pub const MAX_NGRAM_ORDER: usize = 4;

/// sacreBLEU's `my_log`: the natural logarithm, with `log(0)` floored to
/// `-9999999999` instead of `-inf`.
fn my_log(x: f64) -> f64 {
    if x == 0.0 {
        -9_999_999_999.0
    } else {
        x.ln()
    }
}

/// Sufficient statistics of BLEU for one segment or, summed with `+=`, for a
/// corpus (sacreBLEU's flattened `[sys_len, ref_len, *correct, *total]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BleuStats {
    /// Number of hypothesis tokens (after 13a tokenization).
    pub sys_len: u64,
    /// Number of tokens of the reference whose length is closest to the
    /// hypothesis length (the shorter one on ties).
    pub ref_len: u64,
    /// `counts[n - 1]`: clipped number of hypothesis n-grams found in the
    /// references (sacreBLEU's `correct`).
    pub counts: [u64; MAX_NGRAM_ORDER],
    /// `totals[n - 1]`: number of hypothesis n-grams (sacreBLEU's `total`).
    pub totals: [u64; MAX_NGRAM_ORDER],
}

/// Counts all n-grams of order 1..=[`MAX_NGRAM_ORDER`] of a token sequence
/// (sacreBLEU's `extract_all_word_ngrams`).
fn count_ngrams<'a>(tokens: &'a [&'a str]) -> HashMap<&'a [&'a str], u64> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_NGRAM_ORDER.min(tokens.len()) {
        for ngram in tokens.windows(n) {
            *counts.entry(ngram).or_insert(0) += 1;
        }
    }
    counts
}

/// sacreBLEU's `BLEU._get_closest_ref_len`.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    let mut closest: Option<(u64, u64)> = None; // (diff, len)
    for &ref_len in ref_lens {
        let diff = hyp_len.abs_diff(ref_len);
        match closest {
            Some((best_diff, best_len))
                if diff > best_diff || (diff == best_diff && ref_len >= best_len) => {}
            _ => closest = Some((diff, ref_len)),
        }
    }
    closest.map_or(0, |(_, len)| len)
}

impl BleuStats {
    /// Statistics of one segment: a raw (untokenized) hypothesis and its raw
    /// references. Both are `rstrip()`ped and tokenized with
    /// [`tokenize_13a`] first, as sacreBLEU does.
    ///
    /// # Panics
    /// If `refs` is empty.
    pub fn from_segment<R: AsRef<str>>(hyp: &str, refs: &[R]) -> Self {
        assert!(!refs.is_empty(), "a segment needs at least one reference");
        let ref_toks: Vec<String> = refs
            .iter()
            .map(|r| tokenize_13a(py_rstrip(r.as_ref())))
            .collect();
        let ref_tokens: Vec<Vec<&str>> = ref_toks.iter().map(|r| py_split(r).collect()).collect();
        let mut ref_ngrams: HashMap<&[&str], u64> = HashMap::new();
        let mut ref_lens = Vec::with_capacity(ref_tokens.len());
        for tokens in &ref_tokens {
            ref_lens.push(tokens.len() as u64);
            for (ngram, count) in count_ngrams(tokens) {
                let merged = ref_ngrams.entry(ngram).or_insert(0);
                *merged = (*merged).max(count);
            }
        }

        let hyp_tok = tokenize_13a(py_rstrip(hyp));
        let hyp_tokens: Vec<&str> = py_split(&hyp_tok).collect();
        let hyp_len = hyp_tokens.len() as u64;

        let mut stats = BleuStats {
            sys_len: hyp_len,
            ref_len: closest_ref_len(hyp_len, &ref_lens),
            ..BleuStats::default()
        };
        for (ngram, count) in count_ngrams(&hyp_tokens) {
            let n = ngram.len() - 1;
            stats.totals[n] += count;
            if let Some(&ref_count) = ref_ngrams.get(ngram) {
                stats.counts[n] += count.min(ref_count);
            }
        }
        stats
    }
}

impl AddAssign for BleuStats {
    fn add_assign(&mut self, other: Self) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_NGRAM_ORDER {
            self.counts[n] += other.counts[n];
            self.totals[n] += other.totals[n];
        }
    }
}

impl std::iter::Sum for BleuStats {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(BleuStats::default(), |mut acc, s| {
            acc += s;
            acc
        })
    }
}

/// A corpus BLEU score with the statistics it was computed from (sacreBLEU's
/// `BLEUScore`).
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScore {
    /// BLEU in `0.0..=100.0` (100 = identical to the references).
    pub score: f64,
    /// `counts[n - 1]`: matched (clipped) hypothesis n-grams, n = 1..=4.
    pub counts: [u64; MAX_NGRAM_ORDER],
    /// `totals[n - 1]`: hypothesis n-grams, n = 1..=4.
    pub totals: [u64; MAX_NGRAM_ORDER],
    /// `precisions[n - 1]`: n-gram precision in percent (`0.0..=100.0`),
    /// `exp`-smoothed where `counts[n - 1]` is 0; all 0 when nothing matched.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty in `0.0..=1.0`: `exp(1 - ref_len / sys_len)` when the
    /// hypotheses are shorter than the references, else 1 (0 if `sys_len` is 0).
    pub bp: f64,
    /// Total hypothesis length in 13a tokens (`hyp_len` in sacreBLEU's output).
    pub sys_len: u64,
    /// Total effective reference length in 13a tokens.
    pub ref_len: u64,
    /// Number of reference streams (`nrefs` in the signature).
    pub nrefs: usize,
}

impl BleuScore {
    /// Computes BLEU from corpus statistics, as sacreBLEU's
    /// `BLEU.compute_bleu` with `smooth_method="exp"`,
    /// `effective_order=False` and `max_ngram_order=4`. `nrefs` is only used
    /// for the signature.
    pub fn from_stats(stats: &BleuStats, nrefs: usize) -> Self {
        let BleuStats {
            sys_len,
            ref_len,
            counts,
            totals,
        } = *stats;

        let mut bp = 1.0;
        if sys_len < ref_len {
            bp = if sys_len > 0 {
                (1.0 - ref_len as f64 / sys_len as f64).exp()
            } else {
                0.0
            };
        }

        let mut precisions = [0.0; MAX_NGRAM_ORDER];
        let mut score = 0.0;
        // Early stop if there are no matches (sacreBLEU #141).
        if counts.iter().any(|&c| c != 0) {
            let mut smooth_mteval = 1.0;
            for n in 0..MAX_NGRAM_ORDER {
                if totals[n] == 0 {
                    break;
                }
                precisions[n] = if counts[n] == 0 {
                    smooth_mteval *= 2.0;
                    100.0 / (smooth_mteval * totals[n] as f64)
                } else {
                    100.0 * counts[n] as f64 / totals[n] as f64
                };
            }
            // Without effective order all four orders count, including
            // unset (zero) precisions, whose floored log zeroes the score.
            let eff_order = MAX_NGRAM_ORDER;
            let log_sum = precisions[..eff_order]
                .iter()
                .fold(0.0, |acc, &p| acc + my_log(p));
            score = bp * (log_sum / eff_order as f64).exp();
        }

        BleuScore {
            score,
            counts,
            totals,
            precisions,
            bp,
            sys_len,
            ref_len,
            nrefs,
        }
    }

    /// `sys_len / ref_len` (0 when `ref_len` is 0), as printed by sacreBLEU.
    pub fn ratio(&self) -> f64 {
        if self.ref_len == 0 {
            0.0
        } else {
            self.sys_len as f64 / self.ref_len as f64
        }
    }

    /// sacreBLEU's reproducibility signature, e.g.
    /// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    pub fn signature(&self) -> String {
        format!(
            "nrefs:{}|case:mixed|eff:no|tok:{TOKENIZER_13A_SIGNATURE}|smooth:exp|version:{SACREBLEU_VERSION}",
            self.nrefs
        )
    }

    /// The part after the score in sacreBLEU's output, e.g.
    /// `67.1/42.3/28.9/19.8 (BP = 0.981 ratio = 0.981 hyp_len = 12345 ref_len = 12580)`.
    pub fn verbose(&self) -> String {
        let prec: Vec<String> = self.precisions.iter().map(|p| format!("{p:.1}")).collect();
        format!(
            "{} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            prec.join("/"),
            self.bp,
            self.ratio(),
            self.sys_len,
            self.ref_len
        )
    }

    /// sacreBLEU's `BLEUScore.format()`, e.g.
    /// `BLEU = 35.12 67.1/42.3/28.9/19.8 (BP = 0.981 ratio = 0.981 hyp_len = 12345 ref_len = 12580)`.
    pub fn format(&self) -> String {
        format!("BLEU = {:.2} {}", self.score, self.verbose())
    }

    /// The line the `sacrebleu` command prints with `-f text`, e.g.
    /// `BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 35.12 67.1/…`.
    pub fn format_with_signature(&self) -> String {
        format!(
            "BLEU|{} = {:.2} {}",
            self.signature(),
            self.score,
            self.verbose()
        )
    }
}

impl fmt::Display for BleuScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

/// Serializes like sacreBLEU's JSON output (`name`, `score`, `signature`,
/// `verbose_score`) plus the full-precision statistics.
impl Serialize for BleuScore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("BleuScore", 12)?;
        s.serialize_field("name", "BLEU")?;
        s.serialize_field("score", &self.score)?;
        s.serialize_field("signature", &self.signature())?;
        s.serialize_field("verbose_score", &self.verbose())?;
        s.serialize_field("counts", &self.counts)?;
        s.serialize_field("totals", &self.totals)?;
        s.serialize_field("precisions", &self.precisions)?;
        s.serialize_field("bp", &self.bp)?;
        s.serialize_field("ratio", &self.ratio())?;
        s.serialize_field("sys_len", &self.sys_len)?;
        s.serialize_field("ref_len", &self.ref_len)?;
        s.serialize_field("nrefs", &self.nrefs)?;
        s.end()
    }
}

/// Corpus BLEU of `hyps` against one or more reference streams, identical
/// to `sacrebleu.corpus_bleu(hyps, refs)` (sacreBLEU 2.x defaults: 13a
/// tokenization, case-sensitive, `exp` smoothing, 4-grams).
///
/// `refs[k][i]` is the `k`-th reference for hypothesis `i`, so a single
/// reference set is `&[refs]`. Lines are raw detokenized text; empty lines
/// are allowed. The result's `score` is in `0.0..=100.0`.
///
/// ```
/// use tolk::metrics::corpus_bleu;
/// let hyps = ["a cat sat on the mat".to_string(), String::new()];
/// let refs = [vec!["the cat sat on the mat".to_string(), "hello".to_string()]];
/// let bleu = corpus_bleu(&hyps, &refs);
/// assert_eq!(bleu.counts, [5, 4, 3, 2]);
/// assert_eq!((bleu.sys_len, bleu.ref_len), (6, 7));
/// ```
///
/// # Panics
/// If `refs` is empty or a reference stream's length differs from `hyps.len()`.
pub fn corpus_bleu<H, V, R>(hyps: &[H], refs: &[V]) -> BleuScore
where
    H: AsRef<str>,
    V: AsRef<[R]>,
    R: AsRef<str>,
{
    let nrefs = check_corpus_shape(hyps.len(), refs, |s| s.as_ref().len());
    let stats: BleuStats = hyps
        .iter()
        .enumerate()
        .map(|(i, hyp)| {
            let seg_refs: Vec<&str> = refs.iter().map(|s| s.as_ref()[i].as_ref()).collect();
            BleuStats::from_segment(hyp.as_ref(), &seg_refs)
        })
        .sum();
    BleuScore::from_stats(&stats, nrefs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn closest_ref_len_prefers_shorter_on_ties() {
        assert_eq!(closest_ref_len(5, &[7, 3]), 3);
        assert_eq!(closest_ref_len(5, &[3, 7]), 3);
        assert_eq!(closest_ref_len(5, &[9, 6, 4]), 4);
        assert_eq!(closest_ref_len(0, &[2, 1]), 1);
    }

    /// Values from sacreBLEU 2.6.0:
    /// `sacrebleu.corpus_bleu(["The cat is on the mat.", ""], [["The cat sat on the mat.", "Hi there"]])`.
    #[test]
    fn small_corpus_matches_sacrebleu() {
        let hyps = strings(&["The cat is on the mat.", ""]);
        let refs = vec![strings(&["The cat sat on the mat.", "Hi there"])];
        let b = corpus_bleu(&hyps, &refs);
        assert_eq!(b.counts, [6, 4, 2, 1]);
        assert_eq!(b.totals, [7, 6, 5, 4]);
        assert_eq!((b.sys_len, b.ref_len), (7, 9));
        assert_eq!(
            b.format(),
            "BLEU = 36.74 85.7/66.7/40.0/25.0 (BP = 0.751 ratio = 0.778 hyp_len = 7 ref_len = 9)"
        );
        assert!((b.score - 36.74145494215666).abs() < 1e-12, "{}", b.score);
    }

    #[test]
    fn all_empty_hypotheses_score_zero() {
        let hyps = strings(&["", ""]);
        let refs = vec![strings(&["a b c", "d"])];
        let b = corpus_bleu(&hyps, &refs);
        assert_eq!(b.score, 0.0);
        assert_eq!(b.bp, 0.0);
        assert_eq!(
            b.format(),
            "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 0.000 ratio = 0.000 hyp_len = 0 ref_len = 4)"
        );
    }

    #[test]
    fn multiple_references_and_generic_inputs() {
        let hyps = ["the cat sat on a mat"];
        let refs: [&[&str]; 2] = [&["the cat sat on the mat"], &["a cat sat on a mat"]];
        let b = corpus_bleu(&hyps, &refs);
        assert_eq!(b.nrefs, 2);
        assert!(b.signature().starts_with("nrefs:2|"));
        // Reference n-grams are merged across references (sacreBLEU 2.6.0
        // gives BLEU = 100.00 with counts [6, 5, 4, 3] here).
        assert_eq!(b.counts, [6, 5, 4, 3]);
        assert_eq!(b.ref_len, 6);
        assert!((b.score - 100.0).abs() < 1e-9, "{}", b.score);
    }

    #[test]
    fn identical_is_100_and_serializes() {
        let hyps = strings(&["Two dogs play in the snow."]);
        let b = corpus_bleu(&hyps, std::slice::from_ref(&hyps));
        assert!((b.score - 100.0).abs() < 1e-9, "{}", b.score);
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["name"], "BLEU");
        assert_eq!(json["counts"], serde_json::json!([7, 6, 5, 4]));
        assert_eq!(
            json["signature"],
            "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
        );
    }

    #[test]
    #[should_panic(expected = "reference stream 0 has 1 lines")]
    fn length_mismatch_panics() {
        corpus_bleu(&["a", "b"], &[vec!["a"]]);
    }
}
