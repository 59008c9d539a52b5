//! Corpus-level MT evaluation metrics that reproduce sacreBLEU 2.x exactly.
//!
//! [`by_length`] scores source-length buckets (Bahdanau et al. 2015, Figure 2) with these.
//!
//! Everything here is a line-by-line port of the default configuration of
//! [sacreBLEU](https://github.com/mjpost/sacrebleu) (Post, 2018, "A Call for
//! Clarity in Reporting BLEU Scores"), version [`SACREBLEU_VERSION`]:
//!
//! * [`corpus_bleu`]: BLEU (Papineni et al., 2002) with the `13a` tokenizer
//!   ([`tokenize_13a()`]), case-sensitive, maximum n-gram order 4, `exp`
//!   smoothing, no effective order, sacreBLEU's brevity penalty.
//!   Signature `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
//! * [`corpus_chrf`]: chrF (Popović, 2015) with character n-gram order 6,
//!   word n-gram order 0, beta 2, whitespace removed, case-sensitive and
//!   sacreBLEU's effective-order averaging (no epsilon smoothing).
//!   Signature `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
//!
//! Scores are on sacreBLEU's 0..=100 scale and are computed with the same
//! floating-point operations in the same order as the Python code, so the
//! numbers (not only the two rounded decimals) agree with sacreBLEU; the
//! fixtures under `tests/fixtures/metrics/` pin this down.
//!
//! Both metrics take the hypotheses as one stream and the references as one
//! or more *streams* (`refs[k][i]` is the `k`-th reference of segment `i`),
//! exactly like `sacrebleu.corpus_bleu(hyps, [refs])`. Empty hypothesis or
//! reference lines are valid input.
//!
//! "Whitespace" means Python's `str.split()` whitespace everywhere (Rust's
//! [`char::is_whitespace`] plus the separators U+001C..=U+001F), because that
//! is what sacreBLEU splits on.
//!
//! For streaming evaluation the sufficient statistics are public as well:
//! [`BleuStats`] / [`ChrfStats`] can be computed per segment, summed, and
//! turned into a score with [`BleuScore::from_stats`] / [`ChrfScore::from_stats`].
//!
//! ```
//! use tolk::metrics::{corpus_bleu, corpus_chrf};
//!
//! let hyps = vec!["The cat sat on the mat.".to_string()];
//! let refs = vec![vec!["The cat sat on the mat.".to_string()]];
//! let bleu = corpus_bleu(&hyps, &refs);
//! assert!((bleu.score - 100.0).abs() < 1e-9);
//! assert_eq!(bleu.signature(), "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
//! let chrf = corpus_chrf(&hyps, &refs);
//! assert_eq!(chrf.format(), "chrF2 = 100.00");
//! ```

pub mod bleu;
pub mod by_length;
pub mod chrf;
pub mod significance;
pub mod tokenize_13a;

pub use bleu::{corpus_bleu, BleuScore, BleuStats, MAX_NGRAM_ORDER};
pub use chrf::{corpus_chrf, ChrfScore, ChrfStats, CHRF_BETA, CHRF_CHAR_ORDER, CHRF_WORD_ORDER};
pub use tokenize_13a::{tokenize_13a, TOKENIZER_13A_SIGNATURE};

/// The sacreBLEU release whose numbers these implementations reproduce; it is
/// the `version:` field of the signatures ([`BleuScore::signature`],
/// [`ChrfScore::signature`]).
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// Python's `str.isspace()`: Rust's Unicode `White_Space` plus the
/// information separators U+001C..=U+001F, which Python also splits on.
pub(crate) fn is_py_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.split()` (no argument): split on runs of whitespace, dropping
/// empty pieces.
pub(crate) fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_whitespace).filter(|w| !w.is_empty())
}

/// Python's `s.rstrip()` (no argument).
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_whitespace)
}

/// Checks that a corpus of `n_hyps` hypotheses has at least one reference stream and that
/// every stream (of lengths `stream_lens`) has one line per hypothesis; returns the number of
/// streams. The rule of [`corpus_bleu`], [`corpus_chrf`] and the Python binding's scores.
///
/// Errors: [`crate::error::Error::Input`] naming the stream and both lengths.
pub fn corpus_shape(n_hyps: usize, stream_lens: &[usize]) -> Result<usize, crate::error::Error> {
    use crate::error::Error;
    if stream_lens.is_empty() {
        return Err(Error::Input(
            "at least one reference stream is required".into(),
        ));
    }
    if let Some((k, len)) = stream_lens.iter().enumerate().find(|(_, &l)| l != n_hyps) {
        return Err(Error::Input(format!(
            "reference stream {k} has {len} lines but there are {n_hyps} hypotheses"
        )));
    }
    Ok(stream_lens.len())
}

/// [`corpus_shape`] for the public `corpus_*` functions, which document a panic.
pub(crate) fn check_corpus_shape<R>(n_hyps: usize, refs: &[R], len: impl Fn(&R) -> usize) -> usize {
    let lens: Vec<usize> = refs.iter().map(len).collect();
    corpus_shape(n_hyps, &lens).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace_split_and_rstrip() {
        let s = " a\u{1f}b\u{a0}\u{3000}c\u{2028}d\u{85}\te \u{200b}f\u{1c} ";
        let words: Vec<&str> = py_split(s).collect();
        // U+200B ZERO WIDTH SPACE is not whitespace in Python either.
        assert_eq!(words, ["a", "b", "c", "d", "e", "\u{200b}f"]);
        assert_eq!(
            py_rstrip(s),
            " a\u{1f}b\u{a0}\u{3000}c\u{2028}d\u{85}\te \u{200b}f"
        );
        assert_eq!(py_split("").count(), 0);
        assert_eq!(py_split(" \t ").count(), 0);
    }
}
