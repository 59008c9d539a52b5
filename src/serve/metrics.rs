//! The server's Prometheus metrics (the `prometheus-client` crate), served at `/metrics` in
//! the text exposition format.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of a finished HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route, e.g. `/translate`.
    pub endpoint: String,
    /// HTTP status code.
    pub status: u16,
}

/// Labels of a per-model value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// Model name (see `/v1/models`).
    pub model: String,
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histogram,
    sentences: Counter,
    output_tokens: Counter,
    batch_sentences: Histogram,
    batch_seconds: Histogram,
    tokens_per_second: Gauge<f64, AtomicU64>,
    queue_depth: Family<ModelLabels, Gauge>,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMetrics {
    /// Fresh metrics in their own registry (no process-global state, so several servers can
    /// live in one process, as in tests).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tolk");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let sentences = Counter::default();
        let output_tokens = Counter::default();
        let batch_sentences = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        let batch_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let tokens_per_second = Gauge::<f64, AtomicU64>::default();
        let queue_depth = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from request to response, all routes (seconds)",
            request_seconds.clone(),
        );
        registry.register("sentences", "Sentences translated", sentences.clone());
        registry.register(
            "output_tokens",
            "Target subwords produced by the best hypotheses (with </s>)",
            output_tokens.clone(),
        );
        registry.register(
            "batch_sentences",
            "Sentences per search batch",
            batch_sentences.clone(),
        );
        registry.register(
            "batch_duration_seconds",
            "Search time per batch (seconds)",
            batch_seconds.clone(),
        );
        registry.register(
            "batch_tokens_per_second",
            "Output tokens per second of the last batch",
            tokens_per_second.clone(),
        );
        registry.register(
            "queue_sentences",
            "Sentences admitted and waiting for a batch, per model",
            queue_depth.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            sentences,
            output_tokens,
            batch_sentences,
            batch_seconds,
            tokens_per_second,
            queue_depth,
        }
    }

    /// Counts a finished request.
    pub fn observe_request(&self, endpoint: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_string(),
                status,
            })
            .inc();
        self.request_seconds.observe(elapsed.as_secs_f64());
    }

    /// Counts a batch of `sentences` that produced `tokens` output tokens in `elapsed`.
    pub fn observe_batch(&self, sentences: usize, tokens: usize, elapsed: Duration) {
        self.sentences.inc_by(sentences as u64);
        self.output_tokens.inc_by(tokens as u64);
        self.batch_sentences.observe(sentences as f64);
        self.batch_seconds.observe(elapsed.as_secs_f64());
        self.tokens_per_second
            .set(tokens as f64 / elapsed.as_secs_f64().max(1e-9));
    }

    /// Sets the queue depth of `model`.
    pub fn set_queue_depth(&self, model: &str, depth: usize) {
        self.queue_depth
            .get_or_create(&ModelLabels {
                model: model.to_string(),
            })
            .set(depth as i64);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
