//! `tolk translate`.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use tolk::artifacts::model_dir::LAST;
use tolk::artifacts::ModelDir;
use tolk::config::Config;
use tolk::data::{BadLinePolicy, CorpusError, InputLines};
use tolk::decode::{
    translate_in_workers, AlignmentRecord, Ensemble, TranslateOverrides, Translation, Translator,
};
use tolk::document::DocumentBatch;
use tolk::model::Seq2Seq;
use tolk::precision::PrecisionChoice;
use tolk::runtime::{device_from, set_threads};

/// Translate sentences (one per line) from a file or stdin to stdout (or --output). On a
/// terminal, each line is answered as soon as it is typed.
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
    /// Largest beam size (and n-best) accepted, so that no setting can exhaust memory; raise
    /// it for research on search itself.
    #[arg(long, default_value_t = tolk::decode::SearchLimits::cli().max_beam_size)]
    max_beam: usize,
    /// Print the N best hypotheses as `index ||| text ||| score` (at most the beam size). The
    /// score, for greedy and beam search alike, is the log-probability (nats, `</s>`
    /// included) over the GNMT length penalty ((5 + |Y|) / 6)^alpha, |Y| the output tokens
    /// with `</s>`; with --split-sentences, the sum over the line's sentences.
    #[arg(long, default_value_t = 1)]
    nbest: usize,
    /// Treat each input line as running text: split it into sentences (per-language
    /// abbreviations, by the model's source language), translate them in one batch and join
    /// the translations with the line's spacing. Still one output line per input line;
    /// --alignments and --pharaoh then get one record per sentence.
    #[arg(long)]
    split_sentences: bool,
    /// Write the translations to this file instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
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
            max_beam_size: Some(self.max_beam),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    tolk::runtime::check_parallelism(args.threads, args.workers)?;
    set_threads(args.threads);
    let checkpoint = args.checkpoint.as_deref().or(args.last.then_some(LAST));
    let device = device_from(&args.device)?;
    let workers = args.workers.max(1);
    let mut translators = (0..workers)
        .map(|_| Translator::load_ensemble(&args.model, checkpoint, device, &args.overrides()))
        .collect::<Result<Vec<_>, _>>()?;
    let threads_per_worker = (tch::get_num_threads().max(1) as usize / workers).max(1);
    let language = source_language(&args.model[0])?;
    let mut input = InputLines::open(args.input.as_deref(), args.on_bad_line)?;
    let range = shard_range(&args, &mut input)?;
    let mut out = Outputs::create(&args)?;
    let started = std::time::Instant::now();
    let (mut lines_done, mut tokens) = (range.start, 0usize);
    // Typed at a terminal: answer each line at once instead of waiting for a chunk.
    let interactive = args.input.is_none() && std::io::stdin().is_terminal();
    let chunk = if interactive {
        1
    } else {
        args.chunk_lines.max(1)
    };
    loop {
        let (lines, error) = input.next_chunk(chunk.min(range.end - lines_done));
        let segmented = args
            .split_sentences
            .then(|| DocumentBatch::new(&lines, &language));
        let sources = segmented
            .as_ref()
            .map_or_else(|| lines.clone(), |b| b.model_inputs());
        let translations = if translators.len() == 1 {
            translators[0].translate(&sources)?
        } else {
            let opts = *translators[0].options();
            translate_in_workers(&mut translators, &sources, &opts, threads_per_worker)?
        };
        warn_truncated(&translations, lines_done, segmented.as_ref());
        let chunk_out = Chunk {
            offset: lines_done,
            sources: &sources,
            translations: &translations,
            segmented: segmented.as_ref(),
        };
        tokens += out.write(&translators[0], &chunk_out)?;
        lines_done += lines.len();
        match error {
            Some(e @ CorpusError::InvalidUtf8 { .. }) => {
                bail!("{e} (--on-bad-line skip translates such a line as an empty line)")
            }
            Some(e) => return Err(e.into()),
            None => {}
        }
        if lines.len() < chunk || lines_done >= range.end {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let sentences = lines_done - range.start;
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

/// The source language of the model in `dir` (from its config), which picks the sentence
/// splitter's rules.
fn source_language(dir: &std::path::Path) -> anyhow::Result<String> {
    let config = Config::from_file(&ModelDir::new(dir).config())?;
    Ok(config.data.language_pair().0)
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
/// the number of lines before this chunk; with `segmented`, the translations are per sentence.
fn warn_truncated(
    translations: &[Vec<Translation>],
    offset: usize,
    segmented: Option<&DocumentBatch>,
) {
    let line_of: Vec<usize> = match segmented {
        Some(b) => b
            .documents()
            .iter()
            .enumerate()
            .flat_map(|(i, d)| std::iter::repeat_n(i, d.sentences().len()))
            .collect(),
        None => (0..translations.len()).collect(),
    };
    for (i, hyps) in translations.iter().enumerate() {
        let Some(t) = hyps.first().and_then(|h| h.truncation) else {
            continue;
        };
        let line = offset + line_of[i] + 1;
        match t.chars {
            Some(c) => tracing::warn!(
                "line {line}: {} characters, cut to the first {} subwords of its first {} \
                 characters ({} per subword; decoding.max_input_subwords / \
                 --max-input-subwords)",
                c.original,
                t.kept,
                c.kept,
                tolk::decode::CHARS_PER_SUBWORD
            ),
            None => tracing::warn!(
                "line {line}: {} subwords, cut to the first {} (decoding.max_input_subwords / \
                 --max-input-subwords)",
                t.original,
                t.kept
            ),
        }
    }
}

/// One chunk of input and its translations.
struct Chunk<'a> {
    /// 0-based index of its first line.
    offset: usize,
    /// What was translated: the lines, or their sentences with --split-sentences.
    sources: &'a [String],
    /// Hypotheses per source.
    translations: &'a [Vec<Translation>],
    /// The lines' sentences with --split-sentences.
    segmented: Option<&'a DocumentBatch>,
}

impl Chunk<'_> {
    /// Per line, its hypotheses as (text, score), best first: one line's own, or with
    /// --split-sentences its sentences' joined row by row (scores summed).
    fn line_hypotheses(&self) -> anyhow::Result<Vec<Vec<(String, f64)>>> {
        let rows: Vec<Vec<(String, f64)>> = self
            .translations
            .iter()
            .map(|hyps| {
                hyps.iter()
                    .map(|h| (h.text.clone(), h.hypothesis.score))
                    .collect()
            })
            .collect();
        match self.segmented {
            Some(batch) => Ok(batch.joined_rows(rows)?),
            None => Ok(rows),
        }
    }
}

/// Where translations go: stdout or --output, plus the `--alignments` and `--pharaoh` files.
/// Each chunk is flushed as soon as it is written.
struct Outputs {
    out: Box<dyn Write>,
    nbest: bool,
    json: Option<BufWriter<File>>,
    pharaoh: Option<BufWriter<File>>,
    word_level: bool,
    /// Records written to the alignment files so far (their `index` with
    /// --split-sentences, where they are per sentence).
    records: usize,
}

impl Outputs {
    fn create(args: &Args) -> anyhow::Result<Self> {
        let create = |p: &PathBuf| -> anyhow::Result<BufWriter<File>> {
            Ok(BufWriter::new(
                File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))
        };
        let out: Box<dyn Write> = match &args.output {
            Some(p) => Box::new(create(p)?),
            None => Box::new(BufWriter::new(std::io::stdout().lock())),
        };
        Ok(Self {
            out,
            nbest: args.nbest > 1,
            json: args.alignments.as_ref().map(create).transpose()?,
            pharaoh: args.pharaoh.as_ref().map(create).transpose()?,
            word_level: args.word_level,
            records: 0,
        })
    }

    /// Writes one chunk: the best hypothesis per line, or with n-best every hypothesis as
    /// `index ||| text ||| score`; then the alignments of the best hypotheses. Returns the
    /// output tokens of the best hypotheses (EOS included).
    fn write(
        &mut self,
        translator: &Translator<Ensemble<Seq2Seq>>,
        chunk: &Chunk,
    ) -> anyhow::Result<usize> {
        for (i, hyps) in chunk.line_hypotheses()?.iter().enumerate() {
            if self.nbest {
                for (text, score) in hyps {
                    writeln!(self.out, "{} ||| {text} ||| {score:.4}", chunk.offset + i)?;
                }
            } else {
                writeln!(self.out, "{}", hyps.first().map_or("", |h| h.0.as_str()))?;
            }
        }
        self.out.flush()?;
        if translator.options().keep_attention {
            self.write_alignments(translator, chunk)?;
        }
        let tokens = chunk
            .translations
            .iter()
            .map(|hyps| hyps.first().map_or(0, |h| h.hypothesis.tokens.len() + 1))
            .sum();
        Ok(tokens)
    }

    /// Writes `--alignments` (JSON lines) and `--pharaoh` lines for the best hypotheses of
    /// the chunk's sources (lines, or sentences with --split-sentences).
    fn write_alignments(
        &mut self,
        translator: &Translator<Ensemble<Seq2Seq>>,
        chunk: &Chunk,
    ) -> anyhow::Result<()> {
        for (i, (src, hyps)) in chunk.sources.iter().zip(chunk.translations).enumerate() {
            let index = match chunk.segmented {
                Some(_) => self.records,
                None => chunk.offset + i,
            };
            self.records += 1;
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
                AlignmentRecord::new(index, src, &best.text, m).write_line(f)?;
            }
        }
        for f in self.pharaoh.iter_mut().chain(self.json.iter_mut()) {
            f.flush()?;
        }
        Ok(())
    }
}
