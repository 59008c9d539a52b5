//! Data preparation for training: read the parallel corpora, learn (or reload) the subword
//! model, segment, drop over-long pairs, and compute the lengths the batcher needs.

use std::path::Path;
use std::time::Instant;

use tracing::{info, warn};

use crate::artifacts::ModelDir;
use crate::config::Config;
use crate::data::corpus::{read_parallel, read_training_pairs, ParallelCorpus};
use crate::data::length_filter::{filter_by_length, LengthFilter};
use crate::decode::LexicalShortlist;
use crate::error::Error;
use crate::subword::{train_bpe, SubwordModel};

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
#[derive(Debug)]
pub struct PreparedData {
    /// Source subword model.
    pub src_subwords: SubwordModel,
    /// Target subword model (the same as the source one when joint).
    pub tgt_subwords: SubwordModel,
    /// Training pairs as subword ids (no BOS/EOS), over-long pairs removed.
    pub examples: Vec<(Vec<i64>, Vec<i64>)>,
    /// `(source, target)` lengths with EOS, for token batching.
    pub lengths: Vec<(usize, usize)>,
    /// The validation set.
    pub valid: ValidSet,
}

/// Reads and segments the data of `config`; the subword model is learned on the training
/// data and saved into `md`, or reloaded from there when it exists (resumed runs).
///
/// Errors: unreadable or malformed corpora (naming file and line), subword training or I/O
/// errors.
pub fn prepare(config: &Config, md: &ModelDir) -> anyhow::Result<PreparedData> {
    let dc = &config.data;
    let train_corpus = read_training_pairs(
        &dc.train_src,
        &dc.train_tgt,
        dc.empty_lines,
        dc.max_line_chars,
    )?;
    warn_unusable(config, &train_corpus);
    info!(
        pairs = train_corpus.len(),
        empty_skipped = train_corpus.stats.empty_skipped,
        file = %dc.train_src.display(),
        "training data read"
    );
    let valid_corpus = read_parallel(&dc.valid_src, &dc.valid_tgt, dc.empty_lines)?;
    let (src_sw, tgt_sw) =
        load_or_train_subwords(config, md, &train_corpus.src, &train_corpus.tgt)?;
    let train_corpus = if dc.concat_pairs > 1 {
        let joined = crate::data::concat::with_joined_pairs(&train_corpus, dc.concat_pairs);
        info!(
            pairs = joined.len(),
            max_k = dc.concat_pairs,
            "joined training pairs added"
        );
        joined
    } else {
        train_corpus
    };
    let (examples, filter) = segment_and_filter(config, &src_sw, &tgt_sw, &train_corpus)?;
    if filter.n_dropped() > 0 {
        warn!(
            dropped = filter.n_dropped(),
            first_lines = ?filter.first_dropped_lines(&train_corpus.line_numbers, 5),
            max_src_len = dc.max_src_len,
            max_tgt_len = dc.max_tgt_len,
            "over-long training pairs dropped (line numbers of {})",
            dc.train_src.display()
        );
    }
    let lengths: Vec<(usize, usize)> = examples
        .iter()
        .map(|(s, t)| (s.len() + 1, t.len() + 1))
        .collect();
    if !md.shortlist().exists() {
        save_shortlist(config, md, &examples, src_sw.vocab_size())?;
    }
    let valid = ValidSet {
        src: src_sw.encode_batch(&valid_corpus.src)?,
        tgt: tgt_sw.encode_batch(&valid_corpus.tgt)?,
        src_text: valid_corpus.src,
        ref_text: valid_corpus.tgt,
    };

    Ok(PreparedData {
        src_subwords: src_sw,
        tgt_subwords: tgt_sw,
        examples,
        lengths,
        valid,
    })
}

/// One warning for the training pairs skipped as unusable text, with their count and first
/// lines (file:line and why).
fn warn_unusable(config: &Config, corpus: &ParallelCorpus) {
    let stats = &corpus.stats;
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
    shortlist.save(&md.shortlist())?;
    md.record_files(&[&md.shortlist()])?;
    info!(
        seconds = started.elapsed().as_secs_f64(),
        path = %md.shortlist().display(),
        "lexical shortlist learned"
    );
    Ok(())
}

/// (Re)builds the lexical shortlist of a trained model from a parallel training corpus
/// (`src`, `tgt`), segmented with the model's subword model(s) and length-filtered as in
/// training.
///
/// Errors: unreadable or malformed corpora (naming file and line), missing tokenizers, I/O.
pub fn shortlist_from_corpus(
    config: &Config,
    md: &ModelDir,
    src: &Path,
    tgt: &Path,
) -> anyhow::Result<()> {
    let dc = &config.data;
    let corpus = read_training_pairs(src, tgt, dc.empty_lines, dc.max_line_chars)?;
    warn_unusable(config, &corpus);
    let (src_path, tgt_path) = md.tokenizers(config.subword.joint);
    let (src_sw, tgt_sw) = (
        SubwordModel::load(&src_path)?,
        SubwordModel::load(&tgt_path)?,
    );
    let (examples, _) = segment_and_filter(config, &src_sw, &tgt_sw, &corpus)?;
    save_shortlist(config, md, &examples, src_sw.vocab_size())
}

/// Segments a corpus into subword ids (no BOS/EOS) and drops the pairs over the configured
/// lengths: returns the kept pairs and the filter (which lines were dropped). Errors: a line
/// the subword model cannot segment. The training
/// data path; the benchmark exports its batches through it too.
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

fn load_or_train_subwords(
    config: &Config,
    md: &ModelDir,
    src: &[String],
    tgt: &[String],
) -> anyhow::Result<(SubwordModel, SubwordModel)> {
    let sw = &config.subword;
    let (src_path, tgt_path) = md.tokenizers(sw.joint);
    if src_path.exists() && tgt_path.exists() {
        info!(path = %src_path.display(), "using existing subword model(s)");
        md.check_files(&[&src_path, &tgt_path])?;
        return Ok((
            SubwordModel::load(&src_path)?,
            SubwordModel::load(&tgt_path)?,
        ));
    }
    let started = Instant::now();
    let models = if sw.joint {
        let m = train_bpe(src.iter().chain(tgt), sw.vocab_size, sw.min_frequency)?;
        m.save(&src_path)?;
        (m.clone(), m)
    } else {
        let s = train_bpe(src.iter(), sw.vocab_size, sw.min_frequency)?;
        let t = train_bpe(tgt.iter(), sw.vocab_size, sw.min_frequency)?;
        s.save(&src_path)?;
        t.save(&tgt_path)?;
        (s, t)
    };
    md.record_files(&[&src_path, &tgt_path])?;
    info!(
        seconds = started.elapsed().as_secs_f64(),
        vocab = models.0.vocab_size(),
        joint = sw.joint,
        "BPE trained"
    );
    Ok(models)
}
