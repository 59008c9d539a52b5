//! What every handler shares: the models, the limits and the metrics; and the one path from a
//! validated request to its answers (limits → queue → wait).

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;

use super::access::Access;
use super::error::ApiError;
use super::job::{SentenceOut, TextOut};
use super::libre::language_name;
use super::metrics::ServerMetrics;
use super::model_pool::{ModelPool, ServedModel};
use super::settings::Limits;
use crate::decode::TranslateOptions;
use crate::detect::{Detection, LanguageDetector, DEFAULT_LANGUAGES};
use crate::document::DocumentBatch;
use crate::error::Error;

/// Shared state of the router.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded models.
    pub pool: Arc<ModelPool>,
    /// Per-request limits.
    pub limits: Limits,
    /// Exported metrics.
    pub metrics: Arc<ServerMetrics>,
    /// Language detection for `source = auto` and `/detect`.
    pub detector: Arc<LanguageDetector>,
    /// API keys, rate limits, client addresses and CORS ([`AppState::with_access`]; open by
    /// default).
    pub access: Arc<Access>,
}

/// A request's search settings before validation; `None` keeps the model's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchRequest {
    /// Beam size (1 = greedy).
    pub beam_size: Option<usize>,
    /// Hypotheses per text.
    pub n_best: Option<usize>,
    /// GNMT length-penalty α.
    pub length_penalty: Option<f64>,
    /// Keep the attention matrices.
    pub keep_attention: bool,
}

impl AppState {
    /// The state of a server over `pool`, detecting among `detect_languages` (ISO 639-1 codes;
    /// empty: [`DEFAULT_LANGUAGES`]) and always the source languages of the loaded models
    /// that the detector knows (a warning names a source it does not: `auto` never picks it).
    ///
    /// Errors: [`Error::Input`] for a language the detector does not know.
    pub fn new(
        pool: Arc<ModelPool>,
        limits: Limits,
        metrics: Arc<ServerMetrics>,
        detect_languages: &[String],
    ) -> Result<Self, Error> {
        let mut languages: Vec<String> = if detect_languages.is_empty() {
            DEFAULT_LANGUAGES.iter().map(|s| s.to_string()).collect()
        } else {
            detect_languages.to_vec()
        };
        for m in pool.models() {
            if LanguageDetector::knows(&m.source) {
                languages.push(m.source.clone());
            } else {
                tracing::warn!(
                    model = m.name,
                    source = m.source,
                    "the language detector does not know this model's source language: \
                     source=auto never picks it"
                );
            }
        }
        let detector = Arc::new(LanguageDetector::new(&languages)?);
        Ok(Self {
            pool,
            limits,
            metrics,
            detector,
            access: Arc::new(Access::default()),
        })
    }

    /// This state with `access` instead of an open server.
    pub fn with_access(self, access: Access) -> Self {
        Self {
            access: Arc::new(access),
            ..self
        }
    }

    /// The model for a text sent with `source = auto`: the one from the text's detected
    /// language into `target`, with the detection.
    ///
    /// Errors (400): no language detected (no letters), or no model from the detected language
    /// into `target` (naming the language and its confidence).
    pub fn model_for_auto(
        &self,
        text: &str,
        target: &str,
    ) -> Result<(&Arc<ServedModel>, Detection), ApiError> {
        let best = self
            .detector
            .detect(text)
            .into_iter()
            .next()
            .ok_or_else(|| {
                ApiError::bad_request("Invalid request: cannot detect the language of the text")
            })?;
        let pairs: Vec<String> = self
            .pool
            .models()
            .iter()
            .map(|m| format!("{}-{}", m.source, m.target))
            .collect();
        match self.pool.by_pair(&best.language, target) {
            Some(model) => Ok((model, best)),
            None => Err(ApiError::bad_request(format!(
                "the text was detected as {} ({}, {:.1} %), and no loaded model translates {} \
                 into {target} (loaded: {})",
                language_name(&best.language),
                best.language,
                best.confidence,
                best.language,
                pairs.join(", ")
            ))),
        }
    }

    /// `model`'s defaults with `req` applied, checked against the server's limits by the
    /// library's one rule ([`TranslateOptions::validate`]).
    ///
    /// Errors (400): a beam size of 0 or over `max_beam_size`, n-best of 0, over `max_nbest` or
    /// over the beam size, a negative or non-finite length penalty.
    pub fn options(
        &self,
        model: &ServedModel,
        req: SearchRequest,
    ) -> Result<TranslateOptions, ApiError> {
        let mut opts = model.defaults;
        opts.beam_size = req.beam_size.unwrap_or(opts.beam_size);
        opts.nbest = req.n_best.unwrap_or(1);
        opts.length_penalty = req.length_penalty.unwrap_or(opts.length_penalty);
        opts.keep_attention = req.keep_attention;
        opts.validate(&self.limits.search())
            .map_err(|e| ApiError::bad_request(format!("Invalid request: {e}")))?;
        Ok(opts)
    }

    /// Translates running texts with `model`: segments every text into
    /// sentences (lines first, then sentences, the layout kept; [`DocumentBatch`]) in the
    /// model's source language, queues all sentences of all texts as one job and regroups the
    /// answers per text.
    ///
    /// Errors: as [`AppState::translate_sentences`] (the caller checks the text limits,
    /// [`AppState::check_texts`]).
    pub async fn translate_texts(
        &self,
        model: &Arc<ServedModel>,
        texts: Vec<String>,
        options: TranslateOptions,
    ) -> Result<Vec<TextOut>, ApiError> {
        let language = model.source.clone();
        let batch = blocking(move || DocumentBatch::new(&texts, &language)).await?;
        let sentences = self
            .translate_sentences(model, batch.model_inputs(), options)
            .await?;
        let groups = batch.regroup(sentences);
        Ok(batch
            .documents()
            .iter()
            .cloned()
            .zip(groups)
            .map(|(document, sentences)| TextOut {
                document,
                sentences,
            })
            .collect())
    }

    /// Translates single sentences with `model`: encodes them (on tokio's blocking pool, so a
    /// large request does not hold up an async worker), queues them (429 when the queue is
    /// full) and waits for the answers (504 after `request_timeout`). Dropping the returned
    /// future (the client went away) takes the request out of the queue.
    pub async fn translate_sentences(
        &self,
        model: &Arc<ServedModel>,
        sentences: Vec<String>,
        options: TranslateOptions,
    ) -> Result<Vec<SentenceOut>, ApiError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let sources = {
            let (model, limit) = (Arc::clone(model), options.max_input_subwords);
            blocking(move || model.prepare(&sentences, limit)).await?
        };
        let sources = sources.map_err(|e| ApiError::bad_request(e.to_string()))?;
        let n = sources.len();
        let mut ticket = model.submit(sources, options)?;
        let timeout = self.limits.request_timeout;
        let answer = match tokio::time::timeout(timeout, &mut ticket.answer).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "the translation did not finish within {} s",
                        timeout.as_secs_f64()
                    ),
                ))
            }
            Ok(Err(_)) => Err("the model's batcher stopped".to_string()),
            Ok(Ok(answer)) => answer,
        };
        tracing::info!(
            model = model.name,
            sentences = n,
            beam = options.beam_size,
            ms = started.elapsed().as_millis() as u64,
            ok = answer.is_ok(),
            "translated"
        );
        answer.map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m))
    }

    /// Checks a request's texts against the limits: how many, and how long each.
    ///
    /// Errors (400): too many texts, or a text over the character limit.
    pub fn check_texts(&self, texts: &[String]) -> Result<(), ApiError> {
        let limits = &self.limits;
        if texts.len() > limits.max_texts_per_request {
            return Err(ApiError::bad_request(format!(
                "Invalid request: request ({} texts) exceeds text limit ({})",
                texts.len(),
                limits.max_texts_per_request
            )));
        }
        for (i, t) in texts.iter().enumerate() {
            let chars = t.chars().count();
            if chars > limits.max_chars_per_text {
                return Err(ApiError::bad_request(format!(
                    "Invalid request: text {} has {chars} characters, over the character \
                     limit ({})",
                    i + 1,
                    limits.max_chars_per_text
                )));
            }
        }
        Ok(())
    }
}

/// Runs `f` on tokio's blocking pool. Errors (500): the task panicked.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("preparing the texts failed: {e}"),
        )
    })
}
