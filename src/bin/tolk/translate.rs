//! `tolk translate`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use tolk::artifacts::model_dir::LAST;
use tolk::data::corpus::read_lines;
use tolk::decode::{AlignmentRecord, TranslateOverrides, Translation, Translator};
use tolk::runtime::{device_from, set_threads};

/// Translate sentences (one per line) from a file or stdin to stdout.
#[derive(clap::Args)]
pub struct Args {
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
    /// Use last/ instead of best/ weights (same as `--checkpoint last`).
    #[arg(long, conflicts_with = "checkpoint")]
    last: bool,
    /// Checkpoint to load by name (`best`, `last`, ...); default best/, or last/ when there
    /// is no best.
    #[arg(long)]
    checkpoint: Option<String>,
    /// libtorch threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// `cpu`, `cuda` (an error where there is none) or `auto`.
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
}

impl Args {
    fn overrides(&self) -> TranslateOverrides {
        TranslateOverrides {
            beam_size: self.beam,
            length_penalty: self.alpha,
            nbest: Some(self.nbest),
            max_len_ratio: self.max_len_ratio,
            batch_tokens: None,
            keep_attention: self.alignments.is_some() || self.pharaoh.is_some(),
            shortlist: Some(self.shortlist),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    set_threads(args.threads);
    let checkpoint = args.checkpoint.as_deref().or(args.last.then_some(LAST));
    let device = device_from(&args.device)?;
    let translator = Translator::load(&args.model, checkpoint, device, &args.overrides())?;
    let sources = match &args.input {
        Some(path) => read_lines(path)?,
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("reading stdin")?,
    };
    let started = std::time::Instant::now();
    let out = translator.translate(&sources)?;
    let tokens = write_translations(&out, args.nbest > 1)?;
    if translator.options().keep_attention {
        write_alignments(&translator, &sources, &out, &args)?;
    }
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        sentences = sources.len(),
        seconds = format!("{secs:.2}"),
        tokens_per_s = format!("{:.0}", tokens as f64 / secs.max(1e-9)),
        beam = translator.options().beam_size,
        shortlist = translator.options().shortlist,
        "translated"
    );
    Ok(())
}

/// Prints the best hypothesis per line, or with `nbest` every hypothesis as
/// `index ||| text ||| score`. Returns the output tokens of the best hypotheses (EOS included).
fn write_translations(out: &[Vec<Translation>], nbest: bool) -> anyhow::Result<usize> {
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut tokens = 0usize;
    for (i, hyps) in out.iter().enumerate() {
        tokens += hyps.first().map_or(0, |h| h.hypothesis.tokens.len() + 1);
        if nbest {
            for h in hyps {
                writeln!(stdout, "{i} ||| {} ||| {:.4}", h.text, h.hypothesis.score)?;
            }
        } else {
            writeln!(stdout, "{}", hyps.first().map_or("", |h| h.text.as_str()))?;
        }
    }
    stdout.flush()?;
    Ok(tokens)
}

/// Writes `--alignments` (JSON lines) and `--pharaoh` files for the best hypotheses.
fn write_alignments(
    translator: &Translator,
    sources: &[String],
    out: &[Vec<Translation>],
    args: &Args,
) -> anyhow::Result<()> {
    let create = |p: &PathBuf| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    let mut json = args.alignments.as_ref().map(create).transpose()?;
    let mut pharaoh = args.pharaoh.as_ref().map(create).transpose()?;
    for (i, (src, hyps)) in sources.iter().zip(out).enumerate() {
        let Some(best) = hyps.first() else { continue };
        let Some(mut m) = translator.alignment(src, best)? else {
            continue;
        };
        if args.word_level {
            m = m.merge_to_words();
        }
        if let Some(f) = pharaoh.as_mut() {
            writeln!(f, "{}", m.pharaoh())?;
        }
        if let Some(f) = json.as_mut() {
            AlignmentRecord::new(i, src, &best.text, m).write_line(f)?;
        }
    }
    Ok(())
}
