//! A request's texts as running text (`format=text`) or HTML (`format=html`), from the texts to
//! their text-level n-best lists and per-sentence answers, shared by both APIs.

use std::sync::Arc;

use super::error::ApiError;
use super::job::{SentenceOut, TextHypothesis, TextOut};
use super::model_pool::ServedModel;
use super::state::AppState;
use crate::decode::TranslateOptions;
use crate::document::{nbest_rows, Sentence};
use crate::html::{AlignedTranslation, HtmlDocument};

/// LibreTranslate's `format` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Running text: paragraphs, lines, sentences; the layout is kept.
    Text,
    /// An HTML fragment: markup kept, the text of each block translated, inline elements
    /// placed by the attention's word alignment ([`crate::html`]).
    Html,
}

impl Format {
    /// `text` (default) or `html`. Errors (400): anything else.
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("text") => Ok(Self::Text),
            Some("html") => Ok(Self::Html),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid request: format {other:?} must be text or html"
            ))),
        }
    }
}

/// One sentence of a text with its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceResult {
    /// The sentence as segmented from the text (or from a block of the HTML).
    pub sentence: Sentence,
    /// Whether `sentence.start..end` are character offsets into the request's text (false
    /// for HTML, where they are offsets into a block's text).
    pub in_text: bool,
    /// Its hypotheses.
    pub answer: SentenceOut,
}

/// One request text's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TextResult {
    /// The whole text's n-best list (HTML rendered for `format=html`), best first.
    pub hypotheses: Vec<TextHypothesis>,
    /// Its sentences, in order.
    pub sentences: Vec<SentenceResult>,
}

/// Translates `texts` (checked against the limits by [`super::gate`]) in `format`. For HTML
/// the attention is kept whatever `options` say (inline elements are placed by it).
///
/// Errors: 400 for HTML that cannot be parsed; else as [`AppState::translate_texts`].
pub async fn translate(
    app: &AppState,
    model: &Arc<ServedModel>,
    texts: Vec<String>,
    format: Format,
    options: TranslateOptions,
) -> Result<Vec<TextResult>, ApiError> {
    match format {
        Format::Text => {
            let outs = app.translate_texts(model, texts, options).await?;
            outs.into_iter().map(|o| text_result(o, true)).collect()
        }
        Format::Html => translate_html(app, model, &texts, options).await,
    }
}

fn text_result(out: TextOut, in_text: bool) -> Result<TextResult, ApiError> {
    let hypotheses = out.hypotheses().map_err(internal)?;
    let sentences = out
        .document
        .sentences()
        .iter()
        .cloned()
        .zip(out.sentences)
        .map(|(sentence, answer)| SentenceResult {
            sentence,
            in_text,
            answer,
        })
        .collect();
    Ok(TextResult {
        hypotheses,
        sentences,
    })
}

async fn translate_html(
    app: &AppState,
    model: &Arc<ServedModel>,
    texts: &[String],
    options: TranslateOptions,
) -> Result<Vec<TextResult>, ApiError> {
    let docs = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            HtmlDocument::parse(t)
                .map_err(|e| ApiError::bad_request(format!("Invalid request: text {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let runs: Vec<String> = docs.iter().flat_map(|d| d.texts().to_vec()).collect();
    let options = TranslateOptions {
        keep_attention: true,
        ..options
    };
    let mut outs = app.translate_texts(model, runs, options).await?.into_iter();
    docs.iter()
        .map(|doc| {
            let runs: Vec<TextOut> = outs.by_ref().take(doc.texts().len()).collect();
            render_html(doc, runs)
        })
        .collect()
}

/// The rendered HTML n-best list of one document and its sentences.
fn render_html(doc: &HtmlDocument, runs: Vec<TextOut>) -> Result<TextResult, ApiError> {
    let n = runs
        .iter()
        .map(|r| {
            r.sentences
                .iter()
                .map(|s| s.hypotheses.len())
                .max()
                .unwrap_or(1)
        })
        .max()
        .unwrap_or(1);
    let mut hypotheses = Vec::with_capacity(n);
    for k in 0..n {
        let aligned = runs
            .iter()
            .map(|r| aligned_run(r, k))
            .collect::<Result<Vec<_>, _>>()?;
        let html = doc.render(&aligned).map_err(internal)?;
        let (score, log_prob) = runs
            .iter()
            .flat_map(|r| r.sentences.iter())
            .filter_map(|s| s.hypotheses.get(k).or(s.hypotheses.last()))
            .fold((0.0, 0.0), |(a, b), h| (a + h.score, b + h.log_prob));
        hypotheses.push(TextHypothesis {
            text: html,
            score,
            log_prob,
        });
    }
    let sentences = runs
        .into_iter()
        .map(|r| text_result(r, false).map(|t| t.sentences))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    Ok(TextResult {
        hypotheses,
        sentences,
    })
}

/// The k-th hypothesis of one HTML run as text with word links in the run's byte offsets.
fn aligned_run(run: &TextOut, k: usize) -> Result<AlignedTranslation, ApiError> {
    let lists: Vec<Vec<_>> = run.sentences.iter().map(|s| s.hypotheses.clone()).collect();
    let row = nbest_rows(&lists).into_iter().nth(k).unwrap_or_default();
    let texts: Vec<&str> = row.iter().map(|h| h.text.as_str()).collect();
    let (text, spans) = run.document.assemble_spans(&texts).map_err(internal)?;
    let mut links = Vec::new();
    for (i, (h, target)) in row.iter().zip(&spans).enumerate() {
        let (Some(a), Some(source)) = (&h.alignment, run.document.sentence_bytes(i)) else {
            continue;
        };
        let sentence = &run.document.sentences()[i].text;
        for (s, t) in a.word_links(sentence, &h.text) {
            links.push((
                source.start + s.start..source.start + s.end,
                target.start + t.start..target.start + t.end,
            ));
        }
    }
    Ok(AlignedTranslation { text, links })
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        format!("assembling the answer failed: {e}"),
    )
}
