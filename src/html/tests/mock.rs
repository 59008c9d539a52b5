//! Mock translators that need no model: each maps the words of a run's text
//! and links every kept source word to its target word.

use std::ops::Range;

use super::super::run::words;
use super::super::AlignedTranslation;

/// A mock translator.
pub(super) type Mock = fn(&str) -> AlignedTranslation;

/// The text unchanged, each word linked to itself.
pub(super) fn identity(text: &str) -> AlignedTranslation {
    build(text, |words| words.into_iter().collect())
}

/// Each word upper-cased (`ß` becomes `SS`), linked to itself.
pub(super) fn upper(text: &str) -> AlignedTranslation {
    build(text, |words| {
        words
            .into_iter()
            .map(|(i, w)| (i, w.to_uppercase()))
            .collect()
    })
}

/// The words in reverse order (crossing links).
pub(super) fn reverse(text: &str) -> AlignedTranslation {
    build(text, |words| words.into_iter().rev().collect())
}

/// The second word dropped (left unaligned).
pub(super) fn drop_second(text: &str) -> AlignedTranslation {
    build(text, |words| {
        words.into_iter().filter(|(i, _)| *i != 1).collect()
    })
}

/// Joins the words `order` makes from the numbered source words with one
/// space, linking each to its source word.
fn build(
    text: &str,
    order: impl Fn(Vec<(usize, String)>) -> Vec<(usize, String)>,
) -> AlignedTranslation {
    let ranges: Vec<Range<usize>> = words(text);
    let numbered = ranges
        .iter()
        .map(|r| text[r.clone()].to_owned())
        .enumerate()
        .collect();
    let mut out = AlignedTranslation::default();
    for (source, word) in order(numbered) {
        if !out.text.is_empty() {
            out.text.push(' ');
        }
        let start = out.text.len();
        out.text.push_str(&word);
        out.links
            .push((ranges[source].clone(), start..out.text.len()));
    }
    out
}

/// Applies `mock` to every text.
pub(super) fn translate_all(texts: &[String], mock: Mock) -> Vec<AlignedTranslation> {
    texts.iter().map(|text| mock(text)).collect()
}
