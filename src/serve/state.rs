//! What every handler shares: the models, the limits and the metrics; and the one path from a
//! validated request to its answers (limits → queue → wait).

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;

use super::error::ApiError;
use super::job::SentenceOut;
use super::metrics::ServerMetrics;
use super::model_pool::{ModelPool, ServedModel};
use super::settings::Limits;
use crate::decode::TranslateOptions;

/// Shared state of the router.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded models.
    pub pool: Arc<ModelPool>,
    /// Per-request limits.
    pub limits: Limits,
    /// Exported metrics.
    pub metrics: Arc<ServerMetrics>,
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
    /// `model`'s defaults with `req` applied, within the limits.
    ///
    /// Errors (400): a beam size of 0 or over `max_beam_size`, n-best of 0, over `max_nbest` or
    /// over the beam size, a negative or non-finite length penalty.
    pub fn options(
        &self,
        model: &ServedModel,
        req: SearchRequest,
    ) -> Result<TranslateOptions, ApiError> {
        let limits = &self.limits;
        let mut opts = model.defaults;
        opts.beam_size = req.beam_size.unwrap_or(opts.beam_size);
        opts.nbest = req.n_best.unwrap_or(1);
        opts.length_penalty = req.length_penalty.unwrap_or(opts.length_penalty);
        opts.keep_attention = req.keep_attention;
        let bad = |m: String| Err(ApiError::bad_request(format!("Invalid request: {m}")));
        if opts.beam_size == 0 || opts.beam_size > limits.max_beam_size {
            return bad(format!(
                "beam_size {} must be between 1 and {}",
                opts.beam_size, limits.max_beam_size
            ));
        }
        if opts.nbest == 0 || opts.nbest > limits.max_nbest {
            return bad(format!(
                "n_best {} must be between 1 and {}",
                opts.nbest, limits.max_nbest
            ));
        }
        if opts.nbest > opts.beam_size {
            return bad(format!(
                "n_best {} must not exceed beam_size {}",
                opts.nbest, opts.beam_size
            ));
        }
        if !(opts.length_penalty.is_finite() && opts.length_penalty >= 0.0) {
            return bad(format!(
                "length_penalty {} must be a finite number >= 0",
                opts.length_penalty
            ));
        }
        Ok(opts)
    }

    /// Translates `texts` with `model`: checks the text limits, measures them in subwords (on
    /// tokio's blocking pool, so a large request does not hold up an async worker), queues
    /// them (429 when the queue is full) and waits for the answers (504 after
    /// `request_timeout`). Dropping the returned future (the client went away) takes the
    /// request out of the queue.
    pub async fn translate(
        &self,
        model: &Arc<ServedModel>,
        texts: Vec<String>,
        options: TranslateOptions,
    ) -> Result<Vec<SentenceOut>, ApiError> {
        self.check_texts(&texts)?;
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let (texts, lengths) = {
            let (model, limit) = (Arc::clone(model), options.max_input_subwords);
            tokio::task::spawn_blocking(move || {
                let lengths = model.lengths(&texts, limit);
                (texts, lengths)
            })
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("measuring the texts failed: {e}"),
                )
            })?
        };
        let lengths = lengths.map_err(|e| ApiError::bad_request(e.to_string()))?;
        let n = texts.len();
        let mut ticket = model.submit(texts, lengths, options)?;
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
            texts = n,
            beam = options.beam_size,
            ms = started.elapsed().as_millis() as u64,
            ok = answer.is_ok(),
            "translated"
        );
        answer.map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m))
    }

    fn check_texts(&self, texts: &[String]) -> Result<(), ApiError> {
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
