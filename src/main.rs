//! `tolk`: train, translate and score attention-based NMT models.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tolk::config::Config;
use tolk::data::corpus::read_lines;
use tolk::decode::{TranslateOverrides, Translator};
use tolk::metrics::{corpus_bleu, corpus_chrf};
use tolk::model_dir::ModelDir;
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
        /// Override a config key, e.g. `--set model.attention=dot --set training.max_minutes=15`.
        #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
        overrides: Vec<String>,
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
        /// Write each best hypothesis' attention matrix as JSON lines (`src_tokens`,
        /// `tgt_tokens`, `weights` [tgt][src], `pharaoh`).
        #[arg(long)]
        alignments: Option<PathBuf>,
        /// Write hard alignments (arg-max attention) in Pharaoh `i-j` format, one line per
        /// sentence.
        #[arg(long)]
        pharaoh: Option<PathBuf>,
        /// Merge subword positions to words in --alignments/--pharaoh output.
        #[arg(long)]
        word_level: bool,
        /// Decode over the model's lexical shortlist (shortlist.json) instead of the full
        /// target vocabulary; default from the model's config (`decoding.shortlist`).
        #[arg(long)]
        shortlist: bool,
    },
    /// (Re)build a model's lexical shortlist for `translate --shortlist` from its training
    /// corpus (models trained by this version of tolk already have one).
    Shortlist {
        /// Model directory written by `tolk train`.
        #[arg(long)]
        model: PathBuf,
        /// Source side of the training corpus (plain or .gz).
        #[arg(long)]
        src: PathBuf,
        /// Target side of the training corpus.
        #[arg(long)]
        tgt: PathBuf,
        /// Most frequent target tokens always included; default from the model's config.
        #[arg(long)]
        frequent: Option<usize>,
        /// Target candidates per source token; default from the model's config.
        #[arg(long)]
        translations: Option<usize>,
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
    /// Plot an attention heatmap (from `translate --alignments`) or learning curves (from a
    /// model's metrics.csv) to a PNG or SVG file.
    #[command(group(clap::ArgGroup::new("input").required(true).args(["alignments", "metrics"])))]
    Plot {
        /// JSON lines written by `tolk translate --alignments`.
        #[arg(long)]
        alignments: Option<PathBuf>,
        /// Which line of --alignments to plot (0-based) [default: 0].
        #[arg(long, conflicts_with = "metrics")]
        index: Option<usize>,
        /// metrics.csv of a model directory.
        #[arg(long)]
        metrics: Option<PathBuf>,
        /// Output image; the extension (.png or .svg) picks the format.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Writes `--alignments` (JSON lines) and `--pharaoh` files for the best hypotheses.
fn write_alignments(
    translator: &Translator,
    sources: &[String],
    out: &[Vec<tolk::decode::translator::Translation>],
    json_path: Option<PathBuf>,
    pharaoh_path: Option<PathBuf>,
    word_level: bool,
) -> anyhow::Result<()> {
    let create = |p: &PathBuf| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    let mut json = json_path.as_ref().map(create).transpose()?;
    let mut pharaoh = pharaoh_path.as_ref().map(create).transpose()?;
    for (i, (src, hyps)) in sources.iter().zip(out).enumerate() {
        let Some(best) = hyps.first() else { continue };
        let Some(mut m) = translator.alignment(src, best) else {
            continue;
        };
        if word_level {
            m = m.merge_to_words();
        }
        if let Some(f) = json.as_mut() {
            let line = serde_json::json!({
                "index": i,
                "source": src,
                "translation": best.text,
                "src_tokens": m.src_tokens,
                "tgt_tokens": m.tgt_tokens,
                "weights": m.weights,
                "pharaoh": m.pharaoh(),
            });
            writeln!(f, "{line}")?;
        }
        if let Some(f) = pharaoh.as_mut() {
            writeln!(f, "{}", m.pharaoh())?;
        }
    }
    Ok(())
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
    match Cli::parse().command {
        Command::Train {
            config,
            resume,
            overrides,
        } => {
            let cfg = Config::from_file_with_overrides(&config, &overrides)?;
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
            alignments,
            pharaoh,
            word_level,
            shortlist,
        } => {
            set_threads(threads);
            let overrides = TranslateOverrides {
                beam_size: beam,
                length_penalty: alpha,
                nbest: Some(nbest),
                max_len_ratio,
                batch_tokens: None,
                keep_attention: alignments.is_some() || pharaoh.is_some(),
                shortlist: Some(shortlist),
            };
            let translator = Translator::load(&model, last, device_from(&device), &overrides)?;
            let opts = *translator.options();
            let sources = match input {
                Some(path) => read_lines(&path)?,
                None => std::io::stdin()
                    .lock()
                    .lines()
                    .collect::<Result<_, _>>()
                    .context("reading stdin")?,
            };
            let started = std::time::Instant::now();
            let out = translator.translate(&sources)?;
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
            if opts.keep_attention {
                write_alignments(&translator, &sources, &out, alignments, pharaoh, word_level)?;
            }
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(
                sentences = sources.len(),
                seconds = format!("{secs:.2}"),
                tokens_per_s = format!("{:.0}", tokens as f64 / secs.max(1e-9)),
                beam = opts.beam_size,
                shortlist = opts.shortlist,
                "translated"
            );
        }
        Command::Shortlist {
            model,
            src,
            tgt,
            frequent,
            translations,
        } => {
            let md = ModelDir::new(&model);
            let mut config = Config::from_file(&md.config())
                .with_context(|| format!("{} is not a tolk model directory", model.display()))?;
            let dc = &mut config.decoding;
            dc.shortlist_frequent = frequent.unwrap_or(dc.shortlist_frequent);
            dc.shortlist_translations = translations.unwrap_or(dc.shortlist_translations);
            tolk::train::prepare::shortlist_from_corpus(&config, &md, &src, &tgt)?;
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
        Command::Plot {
            alignments,
            index,
            metrics,
            out,
        } => {
            if let Some(path) = alignments {
                let matrix = tolk::plot::heatmap::read_alignment(&path, index.unwrap_or(0))?;
                tolk::plot::heatmap::render(&matrix, &out)?;
            } else if let Some(path) = metrics {
                tolk::plot::curves::render(&path, &out)?;
            }
            tracing::info!(out = %out.display(), "plot written");
        }
    }
    Ok(())
}
