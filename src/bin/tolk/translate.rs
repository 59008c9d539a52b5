//! `tolk translate`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use tolk::artifacts::model_dir::LAST;
use tolk::data::{BadLinePolicy, CorpusError, InputLines};
use tolk::decode::{AlignmentRecord, Ensemble, TranslateOverrides, Translation, Translator};
use tolk::model::Seq2Seq;
use tolk::precision::PrecisionChoice;
use tolk::runtime::{device_from, set_threads};

/// Translate sentences (one per line) from a file or stdin to stdout.
#[derive(clap::Args)]
pub struct Args {
    /// Model directory written by `tolk train`. Given more than once: an ensemble, one beam
    /// search over the mean of the models' log-probabilities (each keeps its own state); the
    /// models must share their subword vocabularies; options and shortlist come from the first.
    #[arg(long, required = true)]
    model: Vec<PathBuf>,
    /// Input file, plain or gzip (default: stdin). Every input line gives exactly one output
    /// line, in order; empty or whitespace-only lines give empty lines.
    #[arg(long)]
    input: Option<PathBuf>,
    /// A line that is not valid UTF-8: `fail` stops with an error naming the line (the lines
    /// before it are already written); `skip` logs a warning and outputs an empty line.
    #[arg(long, default_value_t = BadLinePolicy::Fail)]
    on_bad_line: BadLinePolicy,
    /// Longest source translated, in subwords: longer lines are cut to it, with a warning
    /// naming the line (0 = no limit); default from the model's config (250).
    #[arg(long)]
    max_input_subwords: Option<usize>,
    /// Lines read, translated (sorted by length into batches) and written at a time.
    #[arg(long, default_value_t = 1000)]
    chunk_lines: usize,
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
    /// Replace each <unk> of the output by the source word the attention weighted most when
    /// it was produced (Luong et al. 2015).
    #[arg(long)]
    replace_unk: bool,
    /// Translate each chunk in this many workers, each with its own copy of the model, a
    /// contiguous share of the chunk's lines and `threads / workers` libtorch threads (at
    /// least 1). Fewer, larger parallel regions: on a 2-core VM two 1-thread workers measured
    /// 1.7-1.9x faster than one 2-thread worker (bench/NOTES.md). Output order is the input's.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Translate only shard I of N (1-based): the I-th of N contiguous, nearly equal line
    /// ranges of --input, so N jobs (a Slurm array, GNU parallel) split a corpus and their
    /// outputs concatenated in order 1..N equal one run's. Needs --input (a file).
    #[arg(long, value_name = "I/N", requires = "input")]
    shard: Option<tolk::data::Shard>,
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
    /// Precision of the vocabulary projection: fp32, bf16 (fast on CPUs with AVX-512-BF16 or
    /// AMX), int8 (dynamic quantisation) or auto (bf16 where the CPU has it); default from the
    /// model's config (fp32).
    #[arg(long)]
    precision: Option<PrecisionChoice>,
    /// Search through the fused kernels (additive attention, GRU gates; `true`/`false`;
    /// false = libtorch's reference ops); default from the model's config (true).
    /// `--fused-attention` is its earlier name.
    #[arg(long, alias = "fused-attention")]
    fused_kernels: Option<bool>,
}

impl Args {
    fn overrides(&self) -> TranslateOverrides {
        TranslateOverrides {
            beam_size: self.beam,
            length_penalty: self.alpha,
            nbest: Some(self.nbest),
            max_len_ratio: self.max_len_ratio,
            batch_tokens: None,
            max_input_subwords: self.max_input_subwords,
            keep_attention: self.alignments.is_some() || self.pharaoh.is_some(),
            shortlist: Some(self.shortlist),
            precision: self.precision,
            fused_kernels: self.fused_kernels,
            replace_unk: self.replace_unk,
        }
    }
}

/// Translates `lines` split into contiguous shares, one per translator, each on its own thread
/// with `threads` libtorch threads (one translator: on this thread, as before).
fn translate_in_workers(
    translators: &mut [Translator<Ensemble<Seq2Seq>>],
    lines: &[String],
    threads: usize,
) -> Result<Vec<Vec<Translation>>, tolk::error::Error> {
    if translators.len() == 1 {
        return translators[0].translate(lines);
    }
    let share = lines.len().div_ceil(translators.len()).max(1);
    std::thread::scope(|scope| {
        let work: Vec<_> = translators
            .iter_mut()
            .zip(lines.chunks(share))
            .map(|(t, part)| {
                scope.spawn(move || {
                    tch::set_num_threads(threads as i32);
                    t.translate(part)
                })
            })
            .collect();
        let mut out = Vec::with_capacity(lines.len());
        for w in work {
            out.extend(w.join().expect("translation worker panicked")?);
        }
        Ok(out)
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    set_threads(args.threads);
    let checkpoint = args.checkpoint.as_deref().or(args.last.then_some(LAST));
    let device = device_from(&args.device)?;
    let workers = args.workers.max(1);
    let mut translators = (0..workers)
        .map(|_| Translator::load_ensemble(&args.model, checkpoint, device, &args.overrides()))
        .collect::<Result<Vec<_>, _>>()?;
    let threads_per_worker = (tch::get_num_threads().max(1) as usize / workers).max(1);
    let mut input = InputLines::open(args.input.as_deref(), args.on_bad_line)?;
    let range = shard_range(&args, &mut input)?;
    let mut out = Outputs::create(&args)?;
    let started = std::time::Instant::now();
    let (mut sentences, mut tokens) = (range.start, 0usize);
    let chunk = args.chunk_lines.max(1);
    loop {
        let (lines, error) = input.next_chunk(chunk.min(range.end - sentences));
        let translations = translate_in_workers(&mut translators, &lines, threads_per_worker)?;
        warn_truncated(&translations, sentences);
        tokens += out.write(&translators[0], sentences, &lines, &translations)?;
        sentences += lines.len();
        match error {
            Some(e @ CorpusError::InvalidUtf8 { .. }) => {
                bail!("{e} (--on-bad-line skip translates such a line as an empty line)")
            }
            Some(e) => return Err(e.into()),
            None => {}
        }
        if lines.len() < chunk || sentences >= range.end {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let sentences = sentences - range.start;
    let translator = &translators[0];
    tracing::info!(
        sentences,
        skipped_bad_lines = input.skipped(),
        seconds = format!("{secs:.2}"),
        tokens_per_s = format!("{:.0}", tokens as f64 / secs.max(1e-9)),
        beam = translator.options().beam_size,
        shortlist = translator.options().shortlist,
        precision = %translator.options().precision,
        fused_kernels = translator.options().fused_kernels,
        "translated"
    );
    Ok(())
}

/// The 0-based lines to translate: all (`0..usize::MAX`), or `--shard`'s range of the input
/// file, with `input` moved to its first line.
fn shard_range(args: &Args, input: &mut InputLines) -> anyhow::Result<std::ops::Range<usize>> {
    let (Some(shard), Some(path)) = (args.shard, args.input.as_deref()) else {
        return Ok(0..usize::MAX);
    };
    let total = tolk::data::shard::count_lines(path)?;
    let range = shard.line_range(total);
    input.skip_lines(range.start)?;
    tracing::info!(
        shard = format!("{}/{}", shard.index, shard.count),
        first_line = range.start + 1,
        lines = range.len(),
        "translating a shard of {}",
        path.display()
    );
    Ok(range)
}

/// Warns about each source cut to `max_input_subwords`, naming its 1-based line; `offset` is
/// the number of lines before this chunk.
fn warn_truncated(translations: &[Vec<Translation>], offset: usize) {
    for (i, hyps) in translations.iter().enumerate() {
        if let Some(t) = hyps.first().and_then(|h| h.truncation) {
            tracing::warn!(
                "line {}: {} subwords, cut to the first {} (decoding.max_input_subwords / \
                 --max-input-subwords)",
                offset + i + 1,
                t.original,
                t.kept
            );
        }
    }
}

/// Where translations go: stdout, plus the `--alignments` and `--pharaoh` files. Each chunk is
/// flushed as soon as it is written.
struct Outputs {
    stdout: BufWriter<std::io::StdoutLock<'static>>,
    nbest: bool,
    json: Option<BufWriter<File>>,
    pharaoh: Option<BufWriter<File>>,
    word_level: bool,
}

impl Outputs {
    fn create(args: &Args) -> anyhow::Result<Self> {
        let create = |p: &PathBuf| -> anyhow::Result<BufWriter<File>> {
            Ok(BufWriter::new(
                File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))
        };
        Ok(Self {
            stdout: BufWriter::new(std::io::stdout().lock()),
            nbest: args.nbest > 1,
            json: args.alignments.as_ref().map(create).transpose()?,
            pharaoh: args.pharaoh.as_ref().map(create).transpose()?,
            word_level: args.word_level,
        })
    }

    /// Writes one chunk whose first sentence has 0-based index `offset`: the best hypothesis
    /// per line, or with n-best every hypothesis as `index ||| text ||| score`; then the
    /// alignments of the best hypotheses. Returns the output tokens of the best hypotheses
    /// (EOS included).
    fn write(
        &mut self,
        translator: &Translator<Ensemble<Seq2Seq>>,
        offset: usize,
        sources: &[String],
        translations: &[Vec<Translation>],
    ) -> anyhow::Result<usize> {
        let mut tokens = 0usize;
        for (i, hyps) in translations.iter().enumerate() {
            tokens += hyps.first().map_or(0, |h| h.hypothesis.tokens.len() + 1);
            if self.nbest {
                for h in hyps {
                    let (text, score) = (&h.text, h.hypothesis.score);
                    writeln!(self.stdout, "{} ||| {text} ||| {score:.4}", offset + i)?;
                }
            } else {
                writeln!(
                    self.stdout,
                    "{}",
                    hyps.first().map_or("", |h| h.text.as_str())
                )?;
            }
        }
        self.stdout.flush()?;
        if translator.options().keep_attention {
            self.write_alignments(translator, offset, sources, translations)?;
        }
        Ok(tokens)
    }

    /// Writes `--alignments` (JSON lines) and `--pharaoh` lines for the best hypotheses.
    fn write_alignments(
        &mut self,
        translator: &Translator<Ensemble<Seq2Seq>>,
        offset: usize,
        sources: &[String],
        translations: &[Vec<Translation>],
    ) -> anyhow::Result<()> {
        for (i, (src, hyps)) in sources.iter().zip(translations).enumerate() {
            let Some(best) = hyps.first() else { continue };
            let Some(mut m) = translator.alignment(src, best)? else {
                continue;
            };
            if self.word_level {
                m = m.merge_to_words();
            }
            if let Some(f) = self.pharaoh.as_mut() {
                writeln!(f, "{}", m.pharaoh())?;
            }
            if let Some(f) = self.json.as_mut() {
                AlignmentRecord::new(offset + i, src, &best.text, m).write_line(f)?;
            }
        }
        for f in self.pharaoh.iter_mut().chain(self.json.iter_mut()) {
            f.flush()?;
        }
        Ok(())
    }
}
