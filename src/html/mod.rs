//! Translation of HTML fragments (LibreTranslate's `format=html`): the text
//! of a fragment is translated and its markup kept.
//!
//! # Use
//! [`HtmlDocument::parse`] cuts the fragment into running texts,
//! [`HtmlDocument::texts`] lists them for the translator, and
//! [`HtmlDocument::render`] writes the translations (with their word
//! alignments) back into the markup.
//!
//! # Parser
//! [`scraper`] (html5ever, the HTML5 parser of the Servo project, with an
//! [`ego_tree`] DOM). html5ever parses a fragment as browsers do (context
//! `<body>`, so no `<html>/<head>/<body>` is added; malformed markup is repaired by
//! the spec's rules) and serializes with the spec's escaping. The DOM can be
//! restructured, which tag placement needs: an inline element may move, grow or
//! swap with its siblings in the translation. A streaming rewriter (`lol_html`)
//! cannot move an end tag once it has been streamed.
//!
//! # Running texts
//! A run is the inline content of a block element (anything that is not an
//! inline element, e.g. `p`, `div`, `li`, `h1`, `td`, `title`, `label`,
//! `option`, `button`, or the fragment itself) between two block boundaries.
//! Its text is what a browser shows: inline tags (`b`, `i`, `a`, `span`, `em`,
//! `sub`, ...) removed, entities decoded, collapsible whitespace collapsed to one
//! space and trimmed (`&nbsp;` is kept as U+00A0). Runs with nothing but
//! whitespace are not returned.
//!
//! * `<br>` ends a run: the text before and after it are separate runs, and the
//!   `<br>` stays between them. An inline element holding a `<br>` or a block
//!   is itself treated as a block (its content is cut into runs of its own).
//! * `pre` and any block with `translate="no"` (or class `notranslate`) end a
//!   run and are left exactly as parsed.
//! * `code`, `script`, `style`, `textarea`, `svg`, `img`, `input`, ... and any
//!   inline element with `translate="no"` inside a run are atoms: kept whole
//!   (content untouched), not shown to the translator, and placed in the
//!   translation by alignment, after the translation of the word before them.
//!   So `<p>Run <code>ls -l</code> now.</p>` gives the text `Run now.`. Neither
//!   a placeholder (a model may drop or mangle it) nor the atom's text (a missing
//!   link would leave a translated copy beside the original) reaches the model;
//!   the price is that the model sees the sentence with a gap. An atom that
//!   stands between two word characters counts as a space (`a<img>b` is
//!   `a b`), except `wbr` and invisible ones.
//! * Comments are kept and placed like empty inline elements.
//!
//! # Placement
//! Bergamot's approach, detailed in `place.rs`: an inline element goes around
//! the target words its source words are linked to; elements without linked
//! words go next to their neighbours' translations. Every element of the
//! source appears once in the output, with its attributes, properly nested.
//!
//! # Formatting
//! Where the translation keeps two source words adjacent, the source's
//! whitespace between them is kept (see `spacing.rs`); a run's leading and
//! trailing whitespace always is. Attributes are never translated.
//!
//! # Limits
//! Elements nested more than [`MAX_DEPTH`] deep are refused
//! ([`HtmlError::TooDeep`]). A full document is parsed as a fragment too: its
//! `<html>`, `<head>` and `<body>` tags (and their attributes) are dropped.
//! Attribute text (`alt`, `title`, `placeholder`) is not translated. With
//! word-level links, a tag ending inside a word (`<b>two</b>,` where the
//! translator's word is `two,`) covers the whole target word. A document is
//! `Send` (not `Sync`): a server can hold it across an `.await`.

mod align;
mod classify;
mod collapse;
mod error;
mod extract;
mod place;
mod render;
mod run;
mod spacing;
mod stream;
#[cfg(test)]
mod tests;

use std::ops::Range;

use ego_tree::iter::Edge;
use scraper::Html;

pub use error::HtmlError;

use align::Alignment;
use run::Run;
use spacing::Out;

/// The deepest element nesting [`HtmlDocument::parse`] accepts (as Chromium's parser).
pub const MAX_DEPTH: usize = 512;

/// A parsed HTML fragment and the running texts to translate in it.
#[derive(Debug, Clone)]
pub struct HtmlDocument {
    html: Html,
    runs: Vec<Run>,
    texts: Vec<String>,
}

/// A translated run with a word alignment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlignedTranslation {
    /// The translated text of the run.
    pub text: String,
    /// Alignment links (source byte range in the run's text, target byte range
    /// in `text`): "these source bytes were translated as these target bytes",
    /// at word or subword level; a source or target range may occur in several
    /// links; unaligned words have no link.
    pub links: Vec<(Range<usize>, Range<usize>)>,
}

impl HtmlDocument {
    /// Parses an HTML fragment. Malformed HTML is repaired as browsers do.
    ///
    /// # Errors
    /// [`HtmlError::TooDeep`] if elements are nested more than [`MAX_DEPTH`] deep.
    pub fn parse(html: &str) -> Result<Self, HtmlError> {
        let html = Html::parse_fragment(html);
        check_depth(&html)?;
        let runs = match html.tree.root().children().find(|n| n.value().is_element()) {
            Some(root) => extract::runs(root),
            None => Vec::new(),
        };
        let texts = runs.iter().map(|run| run.text.clone()).collect();
        Ok(HtmlDocument { html, runs, texts })
    }

    /// The running texts to translate, in document order: one per run of
    /// inline content in a block (see the module doc), with tags removed,
    /// entities decoded, whitespace collapsed and trimmed as a browser shows
    /// it, untranslatable atoms (`code`, `img`, ...) left out, and `<br>`
    /// ending a run. Runs with only whitespace are not returned.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// The fragment with each run replaced by its translation (in the order
    /// and number of [`texts`](Self::texts)), serialized. Link ranges out of
    /// bounds or not on char boundaries are clamped.
    ///
    /// # Errors
    /// [`HtmlError::Count`] if `translations.len() != texts().len()`.
    pub fn render(&self, translations: &[AlignedTranslation]) -> Result<String, HtmlError> {
        if translations.len() != self.runs.len() {
            return Err(HtmlError::Count {
                expected: self.runs.len(),
                got: translations.len(),
            });
        }
        let mut html = self.html.clone();
        for (run, translation) in self.runs.iter().zip(translations) {
            render::apply(&mut html.tree, run, &translate_run(run, translation));
        }
        render::serialize(&html)
    }

    /// The fragment as parsed, serialized without translation.
    ///
    /// # Errors
    /// [`HtmlError::Serialize`] only on a serializer bug.
    pub fn html(&self) -> Result<String, HtmlError> {
        render::serialize(&self.html)
    }
}

/// The output of one run: tags placed, source spacing transferred.
fn translate_run(run: &Run, translation: &AlignedTranslation) -> Vec<Out> {
    let alignment = Alignment::new(&run.text, &translation.text, &translation.links);
    let placed = place::place(run, &alignment);
    let pieces = stream::stream(run, &placed, &translation.text);
    spacing::spaced(run, &alignment, &pieces)
}

/// Refuses trees nested deeper than [`MAX_DEPTH`] (below the fragment root).
fn check_depth(html: &Html) -> Result<(), HtmlError> {
    // The tree's root and the fragment's context element come first.
    let limit = MAX_DEPTH + 2;
    let mut depth = 0usize;
    for edge in html.tree.root().traverse() {
        match edge {
            Edge::Open(_) => depth += 1,
            Edge::Close(_) => depth = depth.saturating_sub(1),
        }
        if depth > limit {
            return Err(HtmlError::TooDeep { max: MAX_DEPTH });
        }
    }
    Ok(())
}
