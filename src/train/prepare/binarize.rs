//! Writing the prepared corpus: the training pairs streamed from their files, segmented in
//! parallel chunks, length-filtered and appended to a [`PreparedWriter`], so that memory holds
//! one chunk of text at a time whatever the corpus size. The pairs, their order and the
//! filters are those of the in-memory path ([`super::segment_and_filter`]): the same corpus
//! gives the same training examples either way.

use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use tracing::{info, warn};

use super::freshness::{CorpusSource, PrepareCounts};
use super::subwords::SubwordPair;
use crate::config::Config;
use crate::data::corpus::{ReadStats, TextPair};
use crate::data::length_filter::within_limits;
use crate::data::prepared::{PreparedCorpus, PreparedWriter};

/// Pairs segmented together: large enough to keep both cores busy in the tokenizer's
/// parallel batch encoding, small enough that a chunk's text is a few MB.
const CHUNK_PAIRS: usize = 32_768;

/// Number of dropped line numbers reported in the log.
const REPORTED_LINES: usize = 5;

/// Prepares the corpus of `config` into `dir` (atomically; see [`PreparedWriter`]) with the
/// subword models `subwords`, records `source` (with the counts) in its header, and opens it.
///
/// Errors: unreadable or malformed corpora (naming file and line), a corpus with no usable
/// pair, more than `u32::MAX` pairs, I/O errors naming the file.
pub fn binarize(
    config: &Config,
    subwords: &SubwordPair,
    dir: &Path,
    mut source: CorpusSource,
) -> anyhow::Result<PreparedCorpus> {
    let started = Instant::now();
    let (src_sw, tgt_sw) = subwords;
    let mut out = Segmenter {
        config,
        subwords,
        writer: PreparedWriter::create(
            dir,
            vocab(src_sw.vocab_size()),
            vocab(tgt_sw.vocab_size()),
        )?,
        counts: PrepareCounts::default(),
        first_too_long: Vec::new(),
    };
    let stats = stream_chunks(config, 1, |chunk| out.push_chunk(chunk))?;
    out.counts.lines_read = stats.lines_read;
    out.counts.empty_skipped = stats.empty_skipped;
    out.counts.unusable_skipped = stats.unusable_skipped;
    warn_unusable(config, &stats);
    for k in 2..=config.data.concat_pairs {
        let before = out.writer.len();
        stream_chunks(config, k, |chunk| out.push_chunk(chunk))?;
        out.counts.joined += (out.writer.len() - before) as usize;
    }
    out.warn_too_long();
    let Segmenter {
        mut writer,
        mut counts,
        ..
    } = out;
    counts.kept = writer.len() as usize;
    if counts.kept == 0 {
        anyhow::bail!(crate::error::Error::Input(format!(
            "{}: no usable training pair (after the empty-line, text and length filters)",
            config.data.train_src.display()
        )));
    }
    anyhow::ensure!(
        counts.kept <= u32::MAX as usize,
        "{}: {} training pairs; at most {} fit one prepared corpus",
        config.data.train_src.display(),
        counts.kept,
        u32::MAX
    );
    source.counts = counts.clone();
    writer.set_source(serde_json::to_value(&source)?);
    let header = writer.finish()?;
    info!(
        pairs = counts.kept,
        too_long = counts.too_long,
        src_tokens = header.src_tokens,
        tgt_tokens = header.tgt_tokens,
        seconds = started.elapsed().as_secs_f64(),
        path = %dir.display(),
        "training corpus prepared"
    );
    Ok(PreparedCorpus::open_unverified(dir)?)
}

/// A vocabulary size as the writer takes it.
fn vocab(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// Reads the training pairs in chunks of [`CHUNK_PAIRS`] and hands each chunk to `each`, which
/// runs on a thread of its own so that reading overlaps segmenting. With `join` = k > 1, each
/// non-overlapping run of k consecutive pairs is one pair, the texts joined with a space and
/// the line that of its first pair ([`crate::data::concat::with_joined_pairs`]'s rule; a
/// shorter tail is left out). Returns the reader's counts.
///
/// Errors: the reader's (naming file and line), or the first error of `each`.
fn stream_chunks(
    config: &Config,
    join: usize,
    mut each: impl FnMut(Vec<TextPair>) -> anyhow::Result<()> + Send,
) -> anyhow::Result<ReadStats> {
    let mut reader = super::training_pairs(config)?;
    let (send, receive) = sync_channel::<Vec<TextPair>>(2);
    std::thread::scope(|scope| {
        let consuming = scope.spawn(move || receive.iter().try_for_each(&mut each));
        let read = (|| -> anyhow::Result<()> {
            let mut chunk = Vec::with_capacity(CHUNK_PAIRS);
            let mut run: Vec<TextPair> = Vec::with_capacity(join);
            while let Some(pair) = reader.next_pair()? {
                run.push(pair);
                if run.len() < join {
                    continue;
                }
                chunk.push(joined(&mut run));
                // A closed channel means the consumer stopped on an error, which it reports.
                if chunk.len() == CHUNK_PAIRS && send.send(std::mem::take(&mut chunk)).is_err() {
                    return Ok(());
                }
            }
            if !chunk.is_empty() {
                let _ = send.send(chunk);
            }
            Ok(())
        })();
        drop(send);
        let consumed = consuming.join().expect("segmenting does not panic");
        read?;
        consumed
    })?;
    Ok(reader.into_stats())
}

/// The pairs of `run` as one (texts joined with a space, the first pair's line); empties `run`.
fn joined(run: &mut Vec<TextPair>) -> TextPair {
    if run.len() == 1 {
        return run.pop().expect("one pair");
    }
    let pair = TextPair {
        src: run
            .iter()
            .map(|p| p.src.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        tgt: run
            .iter()
            .map(|p| p.tgt.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        line: run[0].line,
    };
    run.clear();
    pair
}

/// Segments chunks and appends the pairs within the length limits to the writer.
struct Segmenter<'a> {
    config: &'a Config,
    subwords: &'a SubwordPair,
    writer: PreparedWriter,
    counts: PrepareCounts,
    first_too_long: Vec<usize>,
}

impl Segmenter<'_> {
    /// Segments one chunk (both sides in parallel batches) and appends its kept pairs.
    fn push_chunk(&mut self, chunk: Vec<TextPair>) -> anyhow::Result<()> {
        let dc = &self.config.data;
        let (src_sw, tgt_sw) = self.subwords;
        let src: Vec<&str> = chunk.iter().map(|p| p.src.as_str()).collect();
        let tgt: Vec<&str> = chunk.iter().map(|p| p.tgt.as_str()).collect();
        let src_ids = src_sw.encode_batch(&src)?;
        let tgt_ids = tgt_sw.encode_batch(&tgt)?;
        let (mut s32, mut t32) = (Vec::new(), Vec::new());
        for ((pair, s), t) in chunk.iter().zip(&src_ids).zip(&tgt_ids) {
            if !within_limits(s.len(), t.len(), dc.max_src_len, dc.max_tgt_len) {
                self.counts.too_long += 1;
                if self.first_too_long.len() < REPORTED_LINES {
                    self.first_too_long.push(pair.line);
                }
                continue;
            }
            s32.clear();
            s32.extend(s.iter().map(|&id| id as u32));
            t32.clear();
            t32.extend(t.iter().map(|&id| id as u32));
            self.writer.push(&s32, &t32, pair.line as u64)?;
        }
        Ok(())
    }

    /// One warning for the pairs over the length limits, with their first lines.
    fn warn_too_long(&self) {
        if self.counts.too_long == 0 {
            return;
        }
        let dc = &self.config.data;
        warn!(
            dropped = self.counts.too_long,
            first_lines = ?self.first_too_long,
            max_src_len = dc.max_src_len,
            max_tgt_len = dc.max_tgt_len,
            "over-long training pairs dropped (line numbers of {})",
            dc.train_src.display()
        );
    }
}

/// One warning for the training pairs skipped as unusable text, with their count and first
/// lines (file:line and why).
pub(super) fn warn_unusable(config: &Config, stats: &ReadStats) {
    if stats.unusable_skipped == 0 {
        return;
    }
    let first: Vec<String> = stats.first_unusable.iter().map(|l| l.to_string()).collect();
    warn!(
        "{} training pairs skipped (both sides): a line with control characters or over \
         data.max_line_chars = {} characters; first: {}",
        stats.unusable_skipped,
        config.data.max_line_chars,
        first.join(", ")
    );
}
