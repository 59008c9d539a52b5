//! `tolk`: train, translate and score attention-based NMT models.
//!
//! A thin layer over the library: one module per subcommand, each an argument struct and a
//! `run` function.

mod average;
mod plot;
mod prepare;
mod score;
mod serve;
mod shortlist;
mod train;
mod translate;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tolk",
    version,
    about = "Attention-based neural machine translation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prepare a config's training data into its model directory (subword models, the
    /// memory-mapped training corpus, the shortlist); `tolk train` does it when needed.
    Prepare(prepare::Args),
    /// Train a model from a TOML config (see configs/reference.toml for every key).
    Train(train::Args),
    /// Translate sentences (one per line) from a file or stdin to stdout.
    Translate(translate::Args),
    /// (Re)build a model's lexical shortlist for `translate --shortlist` from its training
    /// corpus (models trained by this version of tolk already have one).
    Shortlist(shortlist::Args),
    /// Corpus BLEU and chrF of a hypothesis file against a reference file (sacreBLEU
    /// defaults).
    Score(score::Args),
    /// Serve models over HTTP: LibreTranslate-compatible and native APIs with dynamic
    /// batching, a web page with the attention heatmap, Prometheus metrics.
    Serve(serve::Args),
    /// Average the weights of a run's last N (or named) checkpoints into a new model
    /// directory.
    Average(average::Args),
    /// Plot an attention heatmap (from `translate --alignments`) or learning curves (from a
    /// model's metrics.csv) to a PNG or SVG file.
    Plot(plot::Args),
}

fn main() -> anyhow::Result<()> {
    #[cfg(unix)]
    tolk::runtime::ensure_passive_omp_wait();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Prepare(args) => prepare::run(args),
        Command::Train(args) => train::run(args),
        Command::Translate(args) => translate::run(args),
        Command::Shortlist(args) => shortlist::run(args),
        Command::Score(args) => score::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Average(args) => average::run(args),
    };
    match result {
        // `tolk translate ... | head -1`: the reader has all it wanted; end as `head` expects,
        // quietly and with status 0, as other Unix filters do on SIGPIPE.
        Err(e) if is_broken_pipe(&e) => {
            tracing::debug!("output closed by its reader: {e:#}");
            Ok(())
        }
        other => other,
    }
}

/// Whether `err` comes from writing to a pipe (stdout, `--output` FIFO) that its reader
/// closed: Rust ignores SIGPIPE, so such writes fail with `BrokenPipe`.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
