//! `tolk serve`.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tolk::decode::TranslateOverrides;
use tolk::precision::PrecisionChoice;
use tolk::runtime::{device_from, set_threads};
use tolk::serve::{
    router, serve, shutdown_signal, Access, AccessPolicy, ApiKeys, AppState, BatchPolicy,
    ConnectionPolicy, CorsOrigins, Limits, ModelPool, ModelSpec, ServerMetrics,
};

/// Serve models over HTTP: LibreTranslate API, native API, web page, metrics.
#[derive(clap::Args)]
pub struct Args {
    /// Model directory written by `tolk train` (repeat for several models; each answers for
    /// its language pair).
    #[arg(long, required = true)]
    model: Vec<PathBuf>,
    /// Address to listen on. The default is loopback only; any other address is your choice.
    #[arg(long, default_value = "127.0.0.1:5000")]
    addr: SocketAddr,
    /// Checkpoint to load by name; default best/, else last/.
    #[arg(long)]
    checkpoint: Option<String>,
    /// `cpu`, `cuda` (an error where there is none) or `auto`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Default beam size; default from each model's config.
    #[arg(long)]
    beam: Option<usize>,
    /// Default GNMT length-penalty alpha; default from each model's config.
    #[arg(long)]
    alpha: Option<f64>,
    /// Precision of the vocabulary projection: fp32, bf16, int8 or auto; default from each model's
    /// config.
    #[arg(long)]
    precision: Option<PrecisionChoice>,
    /// Search through the fused kernels (additive attention, GRU gates; `true`/`false`);
    /// default from each model's config. `--fused-attention` is its earlier name.
    #[arg(long, alias = "fused-attention")]
    fused_kernels: Option<bool>,
    /// A batch holds at most this many padded source subwords.
    #[arg(long, default_value_t = BatchPolicy::default().max_batch_tokens)]
    max_batch_tokens: usize,
    /// A batch holds at most this many sentences (1 = no batching across requests).
    #[arg(long, default_value_t = BatchPolicy::default().max_batch_sentences)]
    max_batch_sentences: usize,
    /// Milliseconds a partial batch waits for more sentences (0 = run at once).
    #[arg(long, default_value_t = BatchPolicy::default().batch_delay.as_millis() as u64)]
    batch_delay_ms: u64,
    /// Sentences waiting per model before requests get 429.
    #[arg(long, default_value_t = BatchPolicy::default().max_queued_sentences)]
    max_queued_sentences: usize,
    /// Sentences a request adds to a batch per turn (fairness between requests).
    #[arg(long, default_value_t = BatchPolicy::default().chunk_sentences)]
    chunk_sentences: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Longest text in characters.
    #[arg(long, default_value_t = Limits::default().max_chars_per_text)]
    max_chars: usize,
    /// Most texts per request.
    #[arg(long, default_value_t = Limits::default().max_texts_per_request)]
    max_texts: usize,
    /// Largest beam size a request may ask for.
    #[arg(long, default_value_t = Limits::default().max_beam_size)]
    max_beam: usize,
    /// Most hypotheses per text a request may ask for.
    #[arg(long, default_value_t = Limits::default().max_nbest)]
    max_nbest: usize,
    /// Seconds from admission to answer before 504.
    #[arg(long, default_value_t = Limits::default().request_timeout.as_secs_f64())]
    timeout_s: f64,
    /// Languages `source=auto` and /detect choose among (ISO 639-1 codes, comma-separated);
    /// the loaded models' source languages are always added. Default: cs, da, de, en, es, fi,
    /// fr, it, nl, pl, pt, sk, sv.
    #[arg(long, value_delimiter = ',')]
    detect_languages: Vec<String>,
    /// Most open connections; one more is answered 503 and closed. Must fit `ulimit -n` with
    /// 64 to spare (the soft limit is raised to the hard one at start).
    #[arg(long, default_value_t = ConnectionPolicy::default().max_connections)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers (also how long a kept-alive
    /// connection may wait for its next request).
    #[arg(long, default_value_t = ConnectionPolicy::default().header_timeout.as_secs_f64())]
    header_timeout_s: f64,
    /// Seconds without a byte moving, while no request is being handled, before a connection
    /// is closed (a client that stopped reading its answer, say).
    #[arg(long, default_value_t = ConnectionPolicy::default().idle_timeout.as_secs_f64())]
    idle_timeout_s: f64,
    /// Seconds requests in flight get after SIGTERM or Ctrl-C; then the connections still open
    /// are closed and the server exits 0.
    #[arg(long, default_value_t = ConnectionPolicy::default().shutdown_grace.as_secs_f64())]
    shutdown_grace_s: f64,
    /// API keys file (TOML `[[key]]` tables: `key`, optional `name`, `requests_per_minute`,
    /// `chars_per_request`; see docs/serve.md). Given: every translation and detection
    /// request needs a key (`api_key` field or `Authorization: Bearer`).
    #[arg(long)]
    api_keys: Option<PathBuf>,
    /// Requests per minute from one client address to /translate, /detect and /v1/translate
    /// for requests without a valid key (LibreTranslate's --req-limit); default no limit.
    #[arg(long)]
    req_limit: Option<u32>,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a reverse
    /// proxy that sets it).
    #[arg(long)]
    trust_proxy: bool,
    /// /metrics needs a key too (`Authorization: Bearer KEY`); needs --api-keys.
    #[arg(long)]
    protect_metrics: bool,
    /// Origins whose web pages may call this server (comma-separated, e.g.
    /// https://example.org), or `*` for any. Default: none besides the server's own page.
    #[arg(long, value_delimiter = ',')]
    cors_origins: Vec<String>,
}

/// Seconds from a flag as a duration. Errors: not a number > 0 and < 1e9 (a larger one would
/// overflow `Duration`).
fn seconds(flag: &str, s: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        s.is_finite() && s > 0.0 && s < 1e9,
        "{flag} must be a positive number of seconds, not {s:?}"
    );
    Ok(Duration::from_secs_f64(s))
}

impl Args {
    fn connections(&self) -> anyhow::Result<ConnectionPolicy> {
        let policy = ConnectionPolicy {
            max_connections: self.max_connections,
            header_timeout: seconds("--header-timeout-s", self.header_timeout_s)?,
            idle_timeout: seconds("--idle-timeout-s", self.idle_timeout_s)?,
            shutdown_grace: seconds("--shutdown-grace-s", self.shutdown_grace_s)?,
        };
        let descriptors = rlimit::increase_nofile_limit(u64::MAX)
            .context("cannot read the file-descriptor limit")?;
        policy.check_descriptors(descriptors)?;
        Ok(policy)
    }

    fn access(&self) -> anyhow::Result<Access> {
        let keys = self.api_keys.as_deref().map(ApiKeys::load).transpose()?;
        anyhow::ensure!(
            !self.protect_metrics || keys.is_some(),
            "--protect-metrics needs --api-keys (the keys that may read /metrics)"
        );
        anyhow::ensure!(self.req_limit != Some(0), "--req-limit must be at least 1");
        if let Some(keys) = &keys {
            tracing::info!(keys = keys.len(), "API keys required");
        }
        Ok(Access::new(AccessPolicy {
            keys,
            requests_per_minute_per_ip: self.req_limit.and_then(NonZeroU32::new),
            trust_proxy: self.trust_proxy,
            protect_metrics: self.protect_metrics,
            cors: CorsOrigins::parse(&self.cors_origins)?,
        }))
    }

    fn limits(&self) -> anyhow::Result<Limits> {
        Ok(Limits {
            max_body_bytes: self.max_body_bytes,
            max_chars_per_text: self.max_chars,
            max_texts_per_request: self.max_texts,
            max_beam_size: self.max_beam,
            max_nbest: self.max_nbest,
            request_timeout: seconds("--timeout-s", self.timeout_s)?,
        })
    }

    fn policy(&self) -> anyhow::Result<BatchPolicy> {
        anyhow::ensure!(
            self.max_batch_sentences > 0 && self.max_batch_tokens > 0,
            "--max-batch-sentences and --max-batch-tokens must be at least 1"
        );
        anyhow::ensure!(
            self.max_texts <= self.max_queued_sentences,
            "--max-texts ({}) must not exceed --max-queued-sentences ({}), or a full-size \
             request could never be queued",
            self.max_texts,
            self.max_queued_sentences
        );
        Ok(BatchPolicy {
            max_batch_tokens: self.max_batch_tokens,
            max_batch_sentences: self.max_batch_sentences,
            batch_delay: Duration::from_millis(self.batch_delay_ms),
            max_queued_sentences: self.max_queued_sentences,
            chunk_sentences: self.chunk_sentences.max(1),
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    tolk::runtime::check_parallelism(args.threads, 1)?;
    set_threads(args.threads);
    let (limits, policy) = (args.limits()?, args.policy()?);
    let (connections, access) = (args.connections()?, args.access()?);
    let device = device_from(&args.device)?;
    let overrides = TranslateOverrides {
        beam_size: args.beam,
        length_penalty: args.alpha,
        precision: args.precision,
        fused_kernels: args.fused_kernels,
        ..Default::default()
    };
    let specs: Vec<ModelSpec> = args
        .model
        .iter()
        .map(|dir| ModelSpec {
            dir: dir.clone(),
            checkpoint: args.checkpoint.clone(),
            device,
            overrides,
        })
        .collect();
    let metrics = Arc::new(ServerMetrics::new());
    let pool = Arc::new(ModelPool::start(&specs, policy, metrics.clone())?);
    for m in pool.models() {
        tracing::info!(model = m.name, source = m.source, target = m.target, dir = %m.dir.display(), "model loaded");
    }
    let state =
        AppState::new(pool.clone(), limits, metrics, &args.detect_languages)?.with_access(access);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        serve(listener, router(state), connections, shutdown_signal()).await?;
        anyhow::Ok(())
    });
    // Tasks still running after the grace (a blocking encode, say) do not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served?;
    pool.shutdown();
    tracing::info!("all requests answered; stopped");
    Ok(())
}
