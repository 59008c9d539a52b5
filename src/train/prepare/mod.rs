//! Data preparation for training: learn (or reload) the subword model(s), prepare the
//! training corpus once into a memory-mapped binary corpus in the model directory
//! (`MODEL_DIR/corpus/`, [`crate::data::prepared`]), learn the lexical shortlist from it, and
//! read the validation set.
//!
//! * [`subwords`]: BPE learned on a bounded, seeded sample of the training pairs.
//! * [`binarize`]: the training pairs streamed, segmented in parallel chunks, length-filtered
//!   and written as token ids.
//! * [`freshness`]: what a prepared corpus was made from, and whether it is stale.
//!
//! A prepared corpus that is missing or stale is prepared again (by `tolk prepare` or the
//! first `tolk train`); a damaged one is an error naming the file (`tolk prepare` replaces it).

pub mod binarize;
pub mod freshness;
pub mod subwords;

use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use tracing::{info, warn};

use crate::artifacts::ModelDir;
use crate::config::Config;
use crate::data::batching::PairLengths;
use crate::data::corpus::{
    read_parallel, read_training_pairs, CorpusError, PairReader, ParallelCorpus,
};
use crate::data::length_filter::{filter_by_length, LengthFilter};
use crate::data::prepared::{PreparedCorpus, PreparedError};
use crate::decode::{CooccurrenceCounts, LexicalShortlist};
use crate::error::Error;
use crate::subword::SubwordModel;
use freshness::CorpusSource;
use subwords::{load_or_learn_subwords, load_subwords, SubwordPair};

/// A training pair as subword ids (no BOS/EOS): `(source, target)`.
pub type Pair = (Vec<i64>, Vec<i64>);

/// Validation set as subword ids plus raw text.
#[derive(Debug)]
pub struct ValidSet {
    /// Raw source sentences.
    pub src_text: Vec<String>,
    /// Raw references.
    pub ref_text: Vec<String>,
    /// Source subword ids (no EOS).
    pub src: Vec<Vec<i64>>,
    /// Target subword ids (no BOS/EOS).
    pub tgt: Vec<Vec<i64>>,
}

/// Everything the training loop reads.
pub struct PreparedData {
    /// Source subword model.
    pub src_subwords: SubwordModel,
    /// Target subword model (the same as the source one when joint).
    pub tgt_subwords: SubwordModel,
    /// The training pairs as subword ids (no BOS/EOS), over-long pairs removed, memory-mapped.
    pub corpus: PreparedCorpus,
    /// `(source, target)` lengths with EOS of every pair of `corpus`, for token batching
    /// (8 bytes a pair).
    pub lengths: Vec<PairLengths>,
    /// The validation set.
    pub valid: ValidSet,
}

/// Who may write the model directory's data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Learns the subword models and prepares the corpus when missing or stale (one process,
    /// or rank 0 of a data-parallel run).
    Writer,
    /// Only reads what the writer made (the other ranks): a missing or stale corpus is an
    /// error.
    Reader,
}

/// [`prepare_as`] for the process that writes the model directory.
///
/// Errors: as [`prepare_as`].
pub fn prepare(config: &Config, md: &ModelDir) -> anyhow::Result<PreparedData> {
    prepare_as(config, md, Role::Writer)
}

/// The data of `config` for training in `md`: the subword model(s) (reloaded, or learned and
/// saved), the prepared training corpus (opened, or prepared when missing or stale), its
/// lengths, the lexical shortlist (learned when missing) and the validation set.
///
/// Errors: unreadable or malformed corpora (naming file and line), a damaged prepared corpus
/// (naming the file), subword training or I/O errors; as a [`Role::Reader`], a missing or stale
/// prepared corpus.
pub fn prepare_as(config: &Config, md: &ModelDir, role: Role) -> anyhow::Result<PreparedData> {
    let dc = &config.data;
    let subwords = match role {
        Role::Writer => load_or_learn_subwords(config, md)?,
        Role::Reader => load_subwords(config, md)?,
    };
    let (corpus, _) = open_or_prepare(config, md, &subwords, role, false)?;
    let started = Instant::now();
    let mut lengths: Vec<PairLengths> = corpus.read_lengths()?;
    for l in &mut lengths {
        // With EOS, as the batches have them.
        l.src = l.src.saturating_add(1);
        l.tgt = l.tgt.saturating_add(1);
    }
    info!(
        pairs = lengths.len(),
        seconds = started.elapsed().as_secs_f64(),
        "training pairs' lengths read"
    );
    if role == Role::Writer && !md.shortlist().exists() {
        save_shortlist_from(config, md, &corpus, subwords.0.vocab_size())?;
    }
    let valid_corpus = read_parallel(&dc.valid_src, &dc.valid_tgt, dc.empty_lines)?;
    let (src_sw, tgt_sw) = subwords;
    let valid = ValidSet {
        src: src_sw.encode_batch(&valid_corpus.src)?,
        tgt: tgt_sw.encode_batch(&valid_corpus.tgt)?,
        src_text: valid_corpus.src,
        ref_text: valid_corpus.tgt,
    };
    Ok(PreparedData {
        src_subwords: src_sw,
        tgt_subwords: tgt_sw,
        corpus,
        lengths,
        valid,
    })
}

/// The training pairs of `config`, read one by one with the training data's rules (empty-line
/// policy, text check with `data.max_line_chars`).
///
/// Errors: the files cannot be opened, naming them.
pub fn training_pairs(config: &Config) -> Result<PairReader, CorpusError> {
    let dc = &config.data;
    PairReader::open(
        &dc.train_src,
        &dc.train_tgt,
        dc.empty_lines,
        Some(dc.max_line_chars),
    )
}

/// What `tolk prepare` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareReport {
    /// Pairs in the prepared corpus.
    pub pairs: usize,
    /// Whether it was (re)written now; `false`: it was up to date.
    pub written: bool,
}

/// `tolk prepare`: the subword model(s), the prepared corpus and the shortlist of `config`'s
/// model directory (created when missing), each made only when missing or stale; with
/// `force`, or when the prepared corpus is damaged, the corpus is written again.
///
/// Errors: as [`prepare_as`].
pub fn prepare_model_dir(config: &Config, force: bool) -> anyhow::Result<PrepareReport> {
    let md = ModelDir::new(&config.training.model_dir);
    std::fs::create_dir_all(&md.root).map_err(|source| Error::Io {
        path: md.root.clone(),
        source,
    })?;
    let subwords = load_or_learn_subwords(config, &md)?;
    let (corpus, written) = if force {
        let source = describe(config, &md)?;
        let corpus = binarize::binarize(config, &subwords, &md.corpus(), source)?;
        (corpus, true)
    } else {
        open_or_prepare(config, &md, &subwords, Role::Writer, true)?
    };
    if !md.shortlist().exists() {
        save_shortlist_from(config, &md, &corpus, subwords.0.vocab_size())?;
    }
    Ok(PrepareReport {
        pairs: corpus.len(),
        written,
    })
}

/// What `config` would prepare in `md` now.
fn describe(config: &Config, md: &ModelDir) -> Result<CorpusSource, Error> {
    let (src, tgt) = md.tokenizers(config.subword.joint);
    CorpusSource::describe(config, (&src, &tgt))
}

/// Opens `md`'s prepared corpus when it is there and fresh, else (as the writer) prepares it.
/// `replace_damaged`: a damaged corpus is prepared again with a warning (`tolk prepare`)
/// instead of being an error. Returns the corpus and whether it was written now.
fn open_or_prepare(
    config: &Config,
    md: &ModelDir,
    subwords: &SubwordPair,
    role: Role,
    replace_damaged: bool,
) -> anyhow::Result<(PreparedCorpus, bool)> {
    let dir = md.corpus();
    let now = describe(config, md)?;
    let why = if dir.exists() {
        let started = Instant::now();
        match PreparedCorpus::open(&dir) {
            Ok(corpus) => {
                let earlier = corpus
                    .header()
                    .source
                    .clone()
                    .and_then(|v| serde_json::from_value::<CorpusSource>(v).ok());
                match earlier.map(|e| now.stale_since(&e)) {
                    Some(None) => {
                        info!(
                            pairs = corpus.len(),
                            seconds = started.elapsed().as_secs_f64(),
                            path = %dir.display(),
                            "prepared training corpus verified"
                        );
                        return Ok((corpus, false));
                    }
                    Some(Some(why)) => why,
                    None => "it does not say what it was made from".to_string(),
                }
            }
            Err(e) if replace_damaged && role == Role::Writer => {
                format!("it is damaged ({e})")
            }
            Err(e) => return Err(damaged(&dir, e)),
        }
    } else {
        "there is none yet".to_string()
    };
    if role == Role::Reader {
        anyhow::bail!(Error::Input(format!(
            "{}: the prepared training corpus cannot be used ({why}); rank 0 prepares it \
             before the other ranks read it",
            dir.display()
        )));
    }
    if dir.exists() {
        warn!(
            "{}: preparing the training corpus again: {why}",
            dir.display()
        );
    } else {
        info!(path = %dir.display(), "preparing the training corpus");
    }
    Ok((binarize::binarize(config, subwords, &dir, now)?, true))
}

/// A damaged prepared corpus as an error that names the file and the fix.
fn damaged(dir: &Path, e: PreparedError) -> anyhow::Error {
    anyhow::Error::new(e).context(format!(
        "the prepared training corpus {} is damaged: run `tolk prepare CONFIG` to write it \
         again (or delete the directory)",
        dir.display()
    ))
}

/// Pairs read for the shortlist between two [`PreparedCorpus::release_pages`].
const RELEASE_EVERY: usize = 1 << 16;

/// Learns the lexical shortlist from the prepared corpus, counting at most
/// `decoding.shortlist_pairs` evenly spaced pairs in parallel (rayon: one shard of the
/// co-occurrence table per thread, [`CooccurrenceCounts::shard`]), and saves it into `md`.
///
/// Errors: I/O errors.
pub fn save_shortlist_from(
    config: &Config,
    md: &ModelDir,
    corpus: &PreparedCorpus,
    src_vocab: usize,
) -> anyhow::Result<()> {
    let dec = &config.decoding;
    let started = Instant::now();
    let n = corpus.len();
    let take = match dec.shortlist_pairs {
        0 => n,
        k => k.min(n),
    };
    // One shard of the (source, target) table per thread, each reading every sampled pair:
    // memory holds each count once, whatever the number of threads.
    let shards = rayon::current_num_threads().max(1);
    let parts: Vec<CooccurrenceCounts> = (0..shards)
        .into_par_iter()
        .with_max_len(1)
        .map(|shard| {
            let mut counts = CooccurrenceCounts::shard(src_vocab, shard, shards);
            let (mut s, mut t) = (Vec::new(), Vec::new());
            for k in 0..take {
                if k % RELEASE_EVERY == RELEASE_EVERY - 1 {
                    // Spread over the corpus, the pairs touch every page of it: give them back.
                    corpus.release_pages();
                }
                // Evenly spaced: the k-th of `take` pairs spread over all `n`.
                let i = (k as u128 * n as u128 / take as u128) as usize;
                s.clear();
                corpus.append_src(i, &mut s);
                t.clear();
                corpus.append_tgt(i, &mut t);
                counts.add(&s, &t);
            }
            counts
        })
        .collect();
    let shortlist =
        CooccurrenceCounts::rank(parts, dec.shortlist_frequent, dec.shortlist_translations);
    write_shortlist(md, &shortlist)?;
    info!(
        pairs = take,
        of = n,
        seconds = started.elapsed().as_secs_f64(),
        path = %md.shortlist().display(),
        "lexical shortlist learned"
    );
    Ok(())
}

/// Saves `shortlist` into `md` and records its digest.
fn write_shortlist(md: &ModelDir, shortlist: &LexicalShortlist) -> anyhow::Result<()> {
    shortlist.save(&md.shortlist())?;
    md.record_files(&[&md.shortlist()])?;
    Ok(())
}

/// Learns the lexical shortlist (sizes from `config.decoding`) from training pairs of subword
/// ids and writes it to `md`'s `shortlist.json`, atomically.
///
/// Errors: I/O errors.
pub fn save_shortlist(
    config: &Config,
    md: &ModelDir,
    examples: &[(Vec<i64>, Vec<i64>)],
    src_vocab: usize,
) -> anyhow::Result<()> {
    let dec = &config.decoding;
    let started = Instant::now();
    let shortlist = LexicalShortlist::learn(
        examples,
        src_vocab,
        dec.shortlist_frequent,
        dec.shortlist_translations,
    );
    write_shortlist(md, &shortlist)?;
    info!(
        seconds = started.elapsed().as_secs_f64(),
        path = %md.shortlist().display(),
        "lexical shortlist learned"
    );
    Ok(())
}

/// (Re)builds the lexical shortlist of a trained model from a parallel training corpus
/// (`src`, `tgt`), segmented with the model's subword model(s) (verified against the model
/// directory's checksums) and length-filtered as in training.
///
/// Errors: unreadable or malformed corpora (naming file and line), missing or modified
/// tokenizers, I/O.
pub fn shortlist_from_corpus(
    config: &Config,
    md: &ModelDir,
    src: &Path,
    tgt: &Path,
) -> anyhow::Result<()> {
    let dc = &config.data;
    let corpus: ParallelCorpus = read_training_pairs(src, tgt, dc.empty_lines, dc.max_line_chars)?;
    binarize::warn_unusable(config, &corpus.stats);
    let (src_sw, tgt_sw) = load_subwords(config, md)?;
    let (examples, _) = segment_and_filter(config, &src_sw, &tgt_sw, &corpus)?;
    save_shortlist(config, md, &examples, src_sw.vocab_size())
}

/// Segments a corpus into subword ids (no BOS/EOS) and drops the pairs over the configured
/// lengths: returns the kept pairs and the filter (which lines were dropped). Errors: a line
/// the subword model cannot segment. The in-memory twin of [`binarize`] (same pairs, same
/// order), for `tolk shortlist --src --tgt` and the benchmark's batch export; tests compare
/// the two.
pub fn segment_and_filter(
    config: &Config,
    src_sw: &SubwordModel,
    tgt_sw: &SubwordModel,
    corpus: &ParallelCorpus,
) -> Result<(Vec<Pair>, LengthFilter), Error> {
    let dc = &config.data;
    let src_ids = src_sw.encode_batch(&corpus.src)?;
    let tgt_ids = tgt_sw.encode_batch(&corpus.tgt)?;
    let src_lens: Vec<usize> = src_ids.iter().map(Vec::len).collect();
    let tgt_lens: Vec<usize> = tgt_ids.iter().map(Vec::len).collect();
    let filter = filter_by_length(&src_lens, &tgt_lens, dc.max_src_len, dc.max_tgt_len);
    let examples = filter
        .kept
        .iter()
        .map(|&i| (src_ids[i].clone(), tgt_ids[i].clone()))
        .collect();
    Ok((examples, filter))
}
