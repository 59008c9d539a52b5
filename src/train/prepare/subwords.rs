//! The subword model(s) of a run: reloaded from the model directory, or learned with BPE on a
//! bounded, seeded sample of the training pairs (`subword.sample_pairs`) so that learning
//! them takes memory bounded by the sample, not by the corpus.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tracing::info;

use crate::artifacts::ModelDir;
use crate::config::Config;
use crate::subword::{train_bpe, SubwordModel};

/// Domain tag of the sample's random generator (independent of the batching's stream).
const SAMPLE_TAG: &[u8; 16] = b"tolk/bpe-sample1";

/// The source and target subword models (the same model twice when joint).
pub type SubwordPair = (SubwordModel, SubwordModel);

/// Loads the subword model(s) of `md` after checking them against its checksums.
///
/// Errors: a missing, corrupt or invalid tokenizer file, naming it.
pub fn load_subwords(config: &Config, md: &ModelDir) -> anyhow::Result<SubwordPair> {
    let (src_path, tgt_path) = md.tokenizers(config.subword.joint);
    md.check_files(&[&src_path, &tgt_path])?;
    Ok((
        SubwordModel::load(&src_path)?,
        SubwordModel::load(&tgt_path)?,
    ))
}

/// The subword model(s) of `md` when they exist (a resumed run, a `tolk prepare` before),
/// else learned on [`sample_pairs`] of the training data and saved into `md`.
///
/// Errors: unreadable or malformed corpora (naming file and line), BPE training, I/O.
pub fn load_or_learn_subwords(config: &Config, md: &ModelDir) -> anyhow::Result<SubwordPair> {
    let sw = &config.subword;
    let (src_path, tgt_path) = md.tokenizers(sw.joint);
    if src_path.exists() && tgt_path.exists() {
        info!(path = %src_path.display(), "using existing subword model(s)");
        return load_subwords(config, md);
    }
    let started = Instant::now();
    let (src, tgt, total) = sample_pairs(config)?;
    info!(
        sampled = src.len(),
        of = total,
        seconds = started.elapsed().as_secs_f64(),
        "training pairs sampled for BPE"
    );
    let models = if sw.joint {
        let m = train_bpe(src.iter().chain(&tgt), sw.vocab_size, sw.min_frequency)?;
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

/// A uniform sample of at most `subword.sample_pairs` usable training pairs (all of them when
/// there are no more, or the limit is 0), in one streaming pass: reservoir sampling
/// (Vitter's algorithm R) with a ChaCha8 generator seeded from `training.seed`, so the sample
/// is the same on every run. A corpus within the limit keeps its file order. Returns the
/// sampled sources, targets and the number of usable pairs read.
///
/// Errors: as [`crate::data::corpus::PairReader::next_pair`].
pub fn sample_pairs(config: &Config) -> anyhow::Result<(Vec<String>, Vec<String>, usize)> {
    let limit = match config.subword.sample_pairs {
        0 => usize::MAX,
        n => n,
    };
    let mut reader = super::training_pairs(config)?;
    let mut rng = sample_rng(config.training.seed);
    let (mut src, mut tgt) = (Vec::new(), Vec::new());
    let mut seen = 0usize;
    while let Some(pair) = reader.next_pair()? {
        if seen < limit {
            src.push(pair.src);
            tgt.push(pair.tgt);
        } else {
            let j = rng.random_range(0..=seen);
            if j < limit {
                src[j] = pair.src;
                tgt[j] = pair.tgt;
            }
        }
        seen += 1;
    }
    Ok((src, tgt, seen))
}

/// The sample's generator for `seed`.
fn sample_rng(seed: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[16..].copy_from_slice(SAMPLE_TAG);
    ChaCha8Rng::from_seed(key)
}
