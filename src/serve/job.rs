//! One admitted request as the batcher sees it: its texts, their lengths, the options they are
//! translated with, and the slots its answers are collected in.

use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::decode::{AlignmentMatrix, PreparedSource, TranslateOptions, Truncation};
use crate::document::{nbest_rows, Document};
use crate::error::Error;

/// One hypothesis of one text, as the APIs report it.
#[derive(Debug, Clone, PartialEq)]
pub struct HypothesisOut {
    /// Detokenised translation.
    pub text: String,
    /// Ranking score: log-probability over the GNMT length penalty (nats).
    pub score: f64,
    /// Sum of token log-probabilities (nats), `</s>` included when produced.
    pub log_prob: f64,
    /// Target subwords, without `</s>`.
    pub tokens: Vec<String>,
    /// The subword attention matrix, when the request asked for alignments.
    pub alignment: Option<AlignmentMatrix>,
}

/// The answer for one text: its hypotheses, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceOut {
    /// 1 (greedy) to n-best hypotheses.
    pub hypotheses: Vec<HypothesisOut>,
    /// Set when the text was cut to `decoding.max_input_subwords`.
    pub truncation: Option<Truncation>,
}

/// One running text of a request: its layout and sentences, and each sentence's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TextOut {
    /// The text as segmented.
    pub document: Document,
    /// One answer per sentence of `document`, in order.
    pub sentences: Vec<SentenceOut>,
}

/// One hypothesis of a whole text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextHypothesis {
    /// The text with each sentence translated, its layout kept.
    pub text: String,
    /// Sum of the sentences' scores (nats).
    pub score: f64,
    /// Sum of the sentences' log-probabilities (nats).
    pub log_prob: f64,
}

impl TextOut {
    /// The text's n-best list ([`nbest_rows`]): row k joins each sentence's k-th hypothesis
    /// (its last when it has fewer) in the original layout. A text without sentences has one
    /// hypothesis: itself (its whitespace), scored 0.
    ///
    /// Errors: [`Error::Internal`] if the answers do not match the sentences.
    pub fn hypotheses(&self) -> Result<Vec<TextHypothesis>, Error> {
        let lists: Vec<&[HypothesisOut]> = self
            .sentences
            .iter()
            .map(|s| s.hypotheses.as_slice())
            .collect();
        let owned: Vec<Vec<&HypothesisOut>> = lists.iter().map(|l| l.iter().collect()).collect();
        let rows = nbest_rows(&owned);
        if rows.is_empty() {
            return Ok(vec![TextHypothesis {
                text: self.document.assemble::<&str>(&[])?,
                score: 0.0,
                log_prob: 0.0,
            }]);
        }
        rows.into_iter()
            .map(|row| {
                let texts: Vec<&str> = row.iter().map(|h| h.text.as_str()).collect();
                Ok(TextHypothesis {
                    text: self.document.assemble(&texts)?,
                    score: row.iter().map(|h| h.score).sum(),
                    log_prob: row.iter().map(|h| h.log_prob).sum(),
                })
            })
            .collect()
    }
}

/// What a request gets back: one answer per text in request order, or why it failed.
pub type JobResult = Result<Vec<SentenceOut>, String>;

/// A request's texts in the queue. Shared between the handler waiting for it and the batcher
/// filling its slots.
#[derive(Debug)]
pub struct Job {
    /// Unique per server.
    pub(crate) id: u64,
    /// The sentences, in request order, encoded and cut.
    pub(crate) sources: Vec<PreparedSource>,
    /// [`PreparedSource::cost`] per sentence: the batch cost measure.
    pub(crate) lengths: Vec<usize>,
    /// Options every text of this job is translated with; only jobs with equal options share a
    /// batch.
    pub(crate) options: TranslateOptions,
    /// When the job was admitted (the batch delay counts from here).
    pub(crate) admitted: Instant,
    slots: Mutex<Slots>,
}

#[derive(Debug)]
struct Slots {
    answers: Vec<Option<SentenceOut>>,
    missing: usize,
    reply: Option<oneshot::Sender<JobResult>>,
}

impl Job {
    /// A job and the receiver its answer arrives on (at once for a job without texts).
    pub(crate) fn new(
        id: u64,
        sources: Vec<PreparedSource>,
        options: TranslateOptions,
    ) -> (Self, oneshot::Receiver<JobResult>) {
        let (tx, rx) = oneshot::channel();
        let n = sources.len();
        let lengths = sources.iter().map(PreparedSource::cost).collect();
        let reply = if n == 0 {
            let _ = tx.send(Ok(Vec::new()));
            None
        } else {
            Some(tx)
        };
        let job = Self {
            id,
            sources,
            lengths,
            options,
            admitted: Instant::now(),
            slots: Mutex::new(Slots {
                answers: vec![None; n],
                missing: n,
                reply,
            }),
        };
        (job, rx)
    }

    /// Number of sentences.
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }

    /// True once the request stopped waiting (answered, failed, timed out or disconnected).
    pub(crate) fn is_abandoned(&self) -> bool {
        let slots = self.lock();
        slots.reply.as_ref().is_none_or(|tx| tx.is_closed())
    }

    /// Stores the answer for text `index`; the last one sends the whole answer.
    pub(crate) fn complete(&self, index: usize, answer: SentenceOut) {
        let mut slots = self.lock();
        if slots.answers[index].replace(answer).is_none() {
            slots.missing -= 1;
        }
        if slots.missing == 0 {
            if let Some(tx) = slots.reply.take() {
                let answers = slots.answers.iter_mut().map(|a| a.take().unwrap());
                let _ = tx.send(Ok(answers.collect()));
            }
        }
    }

    /// Fails the whole request with `message` (first failure wins).
    pub(crate) fn fail(&self, message: &str) {
        if let Some(tx) = self.lock().reply.take() {
            let _ = tx.send(Err(message.to_string()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}
