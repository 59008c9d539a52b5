//! `tolk`: train, translate and score attention-based NMT models.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tolk::config::Config;
use tolk::data::corpus::read_lines;
use tolk::decode::{TranslateOptions, Translator};
use tolk::metrics::{corpus_bleu, corpus_chrf};
use tolk::model_dir::LoadedModel;
use tolk::train::trainer::{device_from, set_threads};

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
    /// Train a model from a TOML config (see configs/reference.toml for every key).
    Train {
        /// The experiment config.
        config: PathBuf,
        /// Continue the run saved in the config's model_dir/last.
        #[arg(long)]
        resume: bool,
    },
    /// Translate sentences (one per line) from a file or stdin to stdout.
    Translate {
        /// Model directory written by `tolk train`.
        #[arg(long)]
        model: PathBuf,
        /// Input file (default: stdin).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Beam size (1 = greedy); default from the model's config.
        #[arg(long)]
        beam: Option<usize>,
        /// Print the N best hypotheses as `index ||| text ||| score`.
        #[arg(long, default_value_t = 1)]
        nbest: usize,
        /// GNMT length-penalty alpha; default from the model's config.
        #[arg(long)]
        alpha: Option<f64>,
        /// Maximum output length as a multiple of the source length (+5 tokens).
        #[arg(long)]
        max_len_ratio: Option<f64>,
        /// Use last/ instead of best/ weights.
        #[arg(long)]
        last: bool,
        /// libtorch threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// `cpu` or `cuda`.
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Corpus BLEU and chrF of a hypothesis file against a reference file (sacreBLEU
    /// defaults).
    Score {
        /// System output, one sentence per line.
        #[arg(long)]
        hyp: PathBuf,
        /// Reference translations, line-aligned with --hyp.
        #[arg(long = "ref")]
        reference: PathBuf,
        /// Print JSON with numeric fields `bleu` and `chrf`.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Train { config, resume } => {
            let cfg = Config::from_file(&config)?;
            let summary = tolk::train::train(&cfg, resume)?;
            tracing::info!(
                steps = summary.steps,
                best_valid_bleu = ?summary.best_valid_bleu,
                minutes = format!("{:.1}", summary.elapsed_seconds / 60.0),
                target_tokens = summary.target_tokens,
                model_dir = %cfg.training.model_dir.display(),
                "training finished"
            );
        }
        Command::Translate {
            model,
            input,
            beam,
            nbest,
            alpha,
            max_len_ratio,
            last,
            threads,
            device,
        } => {
            set_threads(threads);
            let loaded = LoadedModel::load(&model, last, device_from(&device))?;
            let dc = &loaded.config.decoding;
            let beam_size = beam.unwrap_or(dc.beam_size).max(1);
            let opts = TranslateOptions {
                beam_size,
                length_penalty: alpha.unwrap_or(dc.length_penalty),
                nbest: nbest.clamp(1, beam_size),
                max_len_ratio: max_len_ratio.unwrap_or(dc.max_len_ratio),
                batch_tokens: dc.batch_tokens,
                keep_attention: false,
            };
            let sources = match input {
                Some(path) => read_lines(&path)?,
                None => std::io::stdin()
                    .lock()
                    .lines()
                    .collect::<Result<_, _>>()
                    .context("reading stdin")?,
            };
            let translator = Translator {
                model: &loaded.model,
                src_subwords: &loaded.src_subwords,
                tgt_subwords: &loaded.tgt_subwords,
                device: loaded.vs.device(),
            };
            let started = std::time::Instant::now();
            let out = translator.translate(&sources, &opts);
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let mut tokens = 0usize;
            for (i, hyps) in out.iter().enumerate() {
                tokens += hyps.first().map_or(0, |h| h.hypothesis.tokens.len() + 1);
                if nbest > 1 {
                    for h in hyps {
                        writeln!(stdout, "{i} ||| {} ||| {:.4}", h.text, h.hypothesis.score)?;
                    }
                } else {
                    writeln!(stdout, "{}", hyps.first().map_or("", |h| h.text.as_str()))?;
                }
            }
            stdout.flush()?;
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(
                sentences = sources.len(),
                seconds = format!("{secs:.2}"),
                tokens_per_s = format!("{:.0}", tokens as f64 / secs.max(1e-9)),
                beam = beam_size,
                "translated"
            );
        }
        Command::Score {
            hyp,
            reference,
            json,
        } => {
            let hyps = read_lines(&hyp)?;
            let refs = read_lines(&reference)?;
            anyhow::ensure!(
                hyps.len() == refs.len(),
                "{} has {} lines but {} has {}",
                hyp.display(),
                hyps.len(),
                reference.display(),
                refs.len()
            );
            let bleu = corpus_bleu(&hyps, &[&refs]);
            let chrf = corpus_chrf(&hyps, &[&refs]);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "bleu": bleu.score,
                        "chrf": chrf.score,
                        "bleu_signature": bleu.signature(),
                        "chrf_signature": chrf.signature(),
                        "bleu_verbose": bleu.format(),
                    })
                );
            } else {
                println!("{}", bleu.format_with_signature());
                println!("{}", chrf.format_with_signature());
            }
        }
    }
    Ok(())
}
