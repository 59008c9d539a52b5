//! The server's limits and batching policy, with their defaults.

use std::time::Duration;

/// Per-request limits: what one client may ask for, checked before anything is queued.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest request body, in bytes (413 above it). Default 1 MiB.
    pub max_body_bytes: usize,
    /// Longest text, in characters (Unicode scalar values; 400 above it). Default 5000.
    pub max_chars_per_text: usize,
    /// Most texts in one request (`q` or `src` list; 400 above it). Default 1024.
    pub max_texts_per_request: usize,
    /// Largest beam size a request may ask for. Default 16.
    pub max_beam_size: usize,
    /// Most hypotheses per text (`n_best`, or LibreTranslate's `alternatives` + 1). Default 8.
    pub max_nbest: usize,
    /// Time from admission to answer before the server gives up with 504. Default 60 s.
    pub request_timeout: Duration,
}

impl Limits {
    /// The search bounds of these limits, for [`crate::decode::TranslateOptions::validate`].
    pub fn search(&self) -> crate::decode::SearchLimits {
        crate::decode::SearchLimits {
            max_beam_size: self.max_beam_size,
            max_nbest: self.max_nbest,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_chars_per_text: 5000,
            max_texts_per_request: 1024,
            max_beam_size: 16,
            max_nbest: 8,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// How one model's batcher forms batches from the queued sentences of all requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchPolicy {
    /// A batch holds at most this many padded source subwords (sentences × longest source,
    /// `</s>` included), the measure `tolk translate` batches by. Default 4000.
    pub max_batch_tokens: usize,
    /// A batch holds at most this many sentences. Default 64.
    pub max_batch_sentences: usize,
    /// A batch is run once it is full, or when its oldest sentence has waited this long.
    /// 0 runs whatever is queued at once. Default 5 ms.
    pub batch_delay: Duration,
    /// Sentences admitted but not yet in a batch, over all requests; a request that would go
    /// over it is refused with 429 and `Retry-After`. Default 4096.
    pub max_queued_sentences: usize,
    /// Fairness: a request contributes at most this many sentences to a batch before the
    /// other waiting requests get their turn. Default 8.
    pub chunk_sentences: usize,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self {
            max_batch_tokens: 4000,
            max_batch_sentences: 64,
            batch_delay: Duration::from_millis(5),
            max_queued_sentences: 4096,
            chunk_sentences: 8,
        }
    }
}

impl BatchPolicy {
    /// No batching across requests: one sentence per batch, run at once.
    pub fn unbatched() -> Self {
        Self {
            max_batch_sentences: 1,
            batch_delay: Duration::ZERO,
            ..Self::default()
        }
    }
}

/// How connections are accepted, timed out and closed ([`super::server::serve`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionPolicy {
    /// Most open connections; one more is answered `503` with `Retry-After: 1` and closed.
    /// Default 512, well below the usual 1024 file descriptors of `ulimit -n`
    /// (see [`ConnectionPolicy::check_descriptors`]).
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from when the server waits for
    /// them: from the accept, or from the previous answer on a kept-alive connection (so it is
    /// also how long a kept-alive connection may sit without a new request). Default 10 s.
    pub header_timeout: Duration,
    /// A connection on which no byte has moved for this long while no request is being
    /// handled (a client that stopped reading its answer, say) is closed. Default 30 s.
    pub idle_timeout: Duration,
    /// After SIGTERM or Ctrl-C, requests in flight have this long to finish; connections still
    /// open after it are closed and the server exits 0. Default 10 s.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// File descriptors the server keeps besides its connections: models, logs, the listener,
/// libtorch's threads, and connections being refused.
pub const RESERVED_DESCRIPTORS: u64 = 64;

impl ConnectionPolicy {
    /// Checks that `max_connections` connections fit in `descriptor_limit` (the soft
    /// `RLIMIT_NOFILE`, `ulimit -n`) with [`RESERVED_DESCRIPTORS`] to spare, so the cap refuses
    /// cleanly before the process runs out of descriptors.
    ///
    /// Errors: [`crate::error::Error::Input`] naming both numbers and the flags to change.
    pub fn check_descriptors(&self, descriptor_limit: u64) -> Result<(), crate::error::Error> {
        if self.max_connections == 0 {
            return Err(crate::error::Error::Input(
                "--max-connections must be at least 1".into(),
            ));
        }
        let needed = self.max_connections as u64 + RESERVED_DESCRIPTORS;
        if needed > descriptor_limit {
            return Err(crate::error::Error::Input(format!(
                "--max-connections {} needs {needed} file descriptors but this process may \
                 open {descriptor_limit} (`ulimit -n`): lower --max-connections to at most {} \
                 or raise the limit",
                self.max_connections,
                descriptor_limit.saturating_sub(RESERVED_DESCRIPTORS)
            )));
        }
        Ok(())
    }
}

/// Everything `tolk serve` can be told besides its models and address.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ServeSettings {
    /// Per-request limits.
    pub limits: Limits,
    /// Batching policy of every model.
    pub batching: BatchPolicy,
    /// Connection cap and timeouts.
    pub connections: ConnectionPolicy,
}
