//! One model's batcher: a thread that owns the [`Translator`], takes batches from the model's
//! [`WorkQueue`] and runs them through the same batched search `tolk translate` uses.
//!
//! libtorch work stays on this thread, off the async runtime, so `/health`, `/languages` and
//! `/metrics` answer while a batch runs (LibreTranslate #1008).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use super::job::{HypothesisOut, SentenceOut};
use super::metrics::ServerMetrics;
use super::queue::{BatchItem, WorkQueue};
use crate::decode::{PreparedSource, Translation, Translator};
use crate::error::Error;

/// Runs batches until the queue is closed and drained.
pub(crate) fn run(translator: Translator, queue: Arc<WorkQueue>, metrics: Arc<ServerMetrics>) {
    while let Some(batch) = queue.next_batch() {
        let batch: Vec<BatchItem> = batch
            .into_iter()
            .filter(|(job, _)| !job.is_abandoned())
            .collect();
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| translate(&translator, &batch))) {
            Ok(Ok(answers)) => {
                let tokens: usize = answers
                    .iter()
                    .filter_map(|a| a.hypotheses.first())
                    .map(|h| h.tokens.len() + 1)
                    .sum();
                metrics.observe_batch(batch.len(), tokens, started.elapsed());
                for ((job, index), answer) in batch.iter().zip(answers) {
                    job.complete(*index, answer);
                }
            }
            Ok(Err(e)) => fail_all(&batch, &format!("translation failed: {e}")),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown panic");
                tracing::error!(what, sentences = batch.len(), "batch panicked");
                fail_all(
                    &batch,
                    "internal error while translating (see the server log)",
                );
            }
        }
    }
}

fn fail_all(batch: &[BatchItem], message: &str) {
    for (job, _) in batch {
        job.fail(message);
    }
}

/// Translates one batch (all items share the first job's options) into per-sentence answers.
fn translate(translator: &Translator, batch: &[BatchItem]) -> Result<Vec<SentenceOut>, Error> {
    let mut options = batch[0].0.options;
    // The queue already cut the batch to max_batch_tokens: search it as one batch.
    options.batch_tokens = usize::MAX;
    let sources: Vec<PreparedSource> = batch
        .iter()
        .map(|(job, i)| job.sources[*i].clone())
        .collect();
    let translations = translator.translate_prepared(&sources, &options)?;
    sources
        .iter()
        .zip(translations)
        .map(|(source, hyps)| answer(translator, &source.text, hyps))
        .collect()
}

fn answer(
    translator: &Translator,
    text: &str,
    hyps: Vec<Translation>,
) -> Result<SentenceOut, Error> {
    let truncation = hyps.first().and_then(|t| t.truncation);
    let hypotheses = hyps
        .iter()
        .map(|t| {
            Ok(HypothesisOut {
                text: t.text.clone(),
                score: t.hypothesis.score,
                log_prob: t.hypothesis.log_prob,
                tokens: translator.target_pieces(&t.hypothesis.tokens),
                alignment: translator.alignment(text, t)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(SentenceOut {
        hypotheses,
        truncation,
    })
}
