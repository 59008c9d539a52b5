//! Sources made ready for search: cut to the input limit, encoded into subwords once, with
//! their batch cost. The one owner of that rule: the CLI, the server's queue and validation
//! all measure and cut sources through [`prepare_sources`].
//!
//! The limit is `max_input_subwords` subwords. So that a huge line (a 20 MB line took 2.35 GB
//! to encode whole) is never encoded whole, a source is first cut to
//! [`input_char_limit`] characters, [`CHARS_PER_SUBWORD`] per subword, and then to the
//! subword limit.

use crate::error::Error;
use crate::subword::SubwordModel;

/// Characters of source text allowed per subword of `max_input_subwords` when a source is cut
/// before it is encoded. A generous upper bound on a BPE subword's length (most are 2 to 8
/// characters; 16 also covers long whole-word subwords and runs of single-character ones), so
/// the character cut removes only text the subword cut would remove anyway, in practice.
pub const CHARS_PER_SUBWORD: usize = 16;

/// The most characters of a source that are encoded: `max_input_subwords` ×
/// [`CHARS_PER_SUBWORD`]; `None` for no limit (`max_input_subwords` 0).
pub fn input_char_limit(max_input_subwords: usize) -> Option<usize> {
    (max_input_subwords > 0).then(|| max_input_subwords.saturating_mul(CHARS_PER_SUBWORD))
}

/// A source cut in characters before it was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharCut {
    /// Characters of the whole source.
    pub original: usize,
    /// Characters kept (the first ones) and encoded.
    pub kept: usize,
}

/// A source cut to the input limit before search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Subwords of the source as encoded: the whole source, or with [`Truncation::chars`]
    /// its first characters.
    pub original: usize,
    /// Subwords searched (the first ones).
    pub kept: usize,
    /// Set when the source was first cut in characters ([`input_char_limit`]).
    pub chars: Option<CharCut>,
}

/// `text` cut to its first `limit` characters (`None`: no limit), with the cut when one was
/// made.
pub fn cut_chars(text: &str, limit: Option<usize>) -> (&str, Option<CharCut>) {
    let Some(limit) = limit else {
        return (text, None);
    };
    match text.char_indices().nth(limit) {
        Some((end, _)) => {
            let original = limit + text[end..].chars().count();
            (
                &text[..end],
                Some(CharCut {
                    original,
                    kept: limit,
                }),
            )
        }
        None => (text, None),
    }
}

/// One source sentence ready for search.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSource {
    /// The text as given, or its first characters when it was cut in characters (UNK
    /// replacement and alignments read it).
    pub text: String,
    /// Source subword ids after the cut, without `</s>`; empty for a blank text.
    pub ids: Vec<i64>,
    /// Set when the text was longer than the limit and cut to it.
    pub truncation: Option<Truncation>,
}

impl PreparedSource {
    /// True for an empty or whitespace-only text: it translates to the empty text without a
    /// model run.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// What it costs in a batch: source subwords + 1 (`</s>`), the measure batches are cut by
    /// (1 for a blank text).
    pub fn cost(&self) -> usize {
        self.ids.len() + 1
    }
}

/// Cuts each of `texts` to [`input_char_limit`] characters, encodes it with the source
/// subword model and cuts it to `max_input_subwords` subwords (0 = no limit). Blank texts are
/// not encoded.
///
/// Errors: [`Error::Input`] for text the subword model rejects.
pub fn prepare_sources<S: AsRef<str>>(
    subwords: &SubwordModel,
    texts: &[S],
    max_input_subwords: usize,
) -> Result<Vec<PreparedSource>, Error> {
    let char_limit = input_char_limit(max_input_subwords);
    let cut: Vec<(&str, Option<CharCut>)> = texts
        .iter()
        .map(|t| cut_chars(t.as_ref(), char_limit))
        .collect();
    let todo: Vec<&str> = cut
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !t.trim().is_empty())
        .collect();
    let mut encoded = subwords.encode_batch(&todo)?.into_iter();
    cut.into_iter()
        .map(|(text, chars)| {
            let text = text.to_string();
            if text.trim().is_empty() {
                return Ok(PreparedSource {
                    text,
                    ids: Vec::new(),
                    truncation: None,
                });
            }
            let mut ids = encoded
                .next()
                .ok_or_else(|| Error::Internal("fewer encodings than texts".into()))?;
            let limit = max_input_subwords;
            let original = ids.len();
            if limit > 0 && ids.len() > limit {
                ids.truncate(limit);
            }
            let truncation = (ids.len() < original || chars.is_some()).then_some(Truncation {
                original,
                kept: ids.len(),
                chars,
            });
            Ok(PreparedSource {
                text,
                ids,
                truncation,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_source_is_cut_in_characters_before_it_is_encoded() {
        let sw = crate::subword::train_bpe(["ein mann läuft im park"], 40, 1).unwrap();
        let long = "ein mann läuft im park ".repeat(50);
        let texts = ["ein mann".to_string(), long.clone(), "  ".to_string()];
        let got = prepare_sources(&sw, &texts, 2).unwrap();
        assert_eq!(got[0].truncation, None);
        assert_eq!(got[1].text, long.chars().take(32).collect::<String>());
        let cut = got[1].truncation.expect("cut");
        assert_eq!(
            cut.chars,
            Some(CharCut {
                original: long.chars().count(),
                kept: 2 * CHARS_PER_SUBWORD
            })
        );
        assert_eq!((got[1].ids.len(), cut.kept), (2, 2));
        assert!(got[2].is_blank() && got[2].truncation.is_none());
        // No limit: nothing is cut.
        let whole = prepare_sources(&sw, &texts, 0).unwrap();
        assert_eq!(whole[1].text, long);
        assert_eq!(whole[1].truncation, None);
    }

    #[test]
    fn cut_chars_counts_characters_not_bytes() {
        assert_eq!(cut_chars("äöü", Some(3)), ("äöü", None));
        assert_eq!(
            cut_chars("äöüß", Some(2)),
            (
                "äö",
                Some(CharCut {
                    original: 4,
                    kept: 2
                })
            )
        );
        assert_eq!(cut_chars("äöüß", None), ("äöüß", None));
    }
}
