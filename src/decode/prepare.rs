//! Sources made ready for search: encoded into subwords once and cut to the input limit, with
//! their batch cost. The one owner of that rule: the CLI, the server's queue and validation
//! all measure and cut sources through [`prepare_sources`].

use crate::error::Error;
use crate::subword::SubwordModel;

/// A source cut to the subword limit before search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Subwords of the whole source.
    pub original: usize,
    /// Subwords searched (the first ones).
    pub kept: usize,
}

/// One source sentence ready for search.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedSource {
    /// The text as given (UNK replacement and alignments read it).
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

/// Encodes `texts` with the source subword model and cuts each to `max_input_subwords`
/// subwords (0 = no limit). Blank texts are not encoded.
///
/// Errors: [`Error::Input`] for text the subword model rejects.
pub fn prepare_sources<S: AsRef<str>>(
    subwords: &SubwordModel,
    texts: &[S],
    max_input_subwords: usize,
) -> Result<Vec<PreparedSource>, Error> {
    let todo: Vec<&str> = texts
        .iter()
        .map(AsRef::as_ref)
        .filter(|t| !t.trim().is_empty())
        .collect();
    let mut encoded = subwords.encode_batch(&todo)?.into_iter();
    texts
        .iter()
        .map(|t| {
            let text = t.as_ref().to_string();
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
            let truncation = (limit > 0 && ids.len() > limit).then(|| {
                let original = ids.len();
                ids.truncate(limit);
                Truncation {
                    original,
                    kept: limit,
                }
            });
            Ok(PreparedSource {
                text,
                ids,
                truncation,
            })
        })
        .collect()
}
