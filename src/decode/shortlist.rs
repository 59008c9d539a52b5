//! Lexical shortlists for decoding (the idea of Marian's `--shortlist`, after Schwenk et al.
//! 2007 and Jean et al. 2015, arXiv 1412.2007): a batch is decoded over a subset of the target
//! vocabulary: the most frequent target tokens plus, for each source token of the batch, the
//! target tokens that co-occur with it most specifically in the training data. The vocabulary
//! projection, its softmax and the top-k then run over C ≪ V columns.
//!
//! Co-occurrence is counted once per sentence pair and distinct (source, target) token pair,
//! and ranked by the Dice coefficient 2·c(s, t) / (c(s) + c(t)) (c = number of sentence pairs
//! containing the token), which favours translations over merely frequent tokens.

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::subword::{BOS_ID, EOS_ID, PAD_ID, UNK_ID};

/// Why a shortlist cannot be read for a model.
#[derive(Debug, thiserror::Error)]
pub enum ShortlistError {
    /// The file cannot be read.
    #[error("{}: no lexical shortlist (build one with `tolk shortlist --model DIR`)", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a shortlist's JSON.
    #[error("{}: not a tolk lexical shortlist", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A candidate that is not an id of the model's target vocabulary (search would index
    /// the vocabulary projection out of range).
    #[error(
        "{}: {entry} lists target id {id}, but the target vocabulary has {vocab} subwords \
         (ids 0 to {}); rebuild it with `tolk shortlist --model DIR`",
        .path.display(), .vocab.saturating_sub(1)
    )]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// Where: `source entry N` (the candidates of source id N) or `the frequent list`.
        entry: String,
        /// The bad id.
        id: i64,
        /// The model's target vocabulary size.
        vocab: usize,
    },
}

/// Target-vocabulary candidates per source token, learned from a parallel corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LexicalShortlist {
    /// The `frequent` most frequent target tokens (by number of sentences containing them),
    /// always candidates.
    pub frequent: Vec<i64>,
    /// `per_source[s]`: up to `translations` target tokens for source token s, best first.
    pub per_source: Vec<Vec<i64>>,
}

impl LexicalShortlist {
    /// Learns the shortlist from training pairs of subword ids (no BOS/EOS): `frequent` most
    /// frequent target tokens, `translations` candidates per source token. `src_vocab` is the
    /// source vocabulary size (ids ≥ it are ignored). See [`CooccurrenceCounts`] to count
    /// pairs from elsewhere (in parallel shards, from a prepared corpus).
    pub fn learn(
        pairs: &[(Vec<i64>, Vec<i64>)],
        src_vocab: usize,
        frequent: usize,
        translations: usize,
    ) -> Self {
        let mut counts = CooccurrenceCounts::new(src_vocab);
        for (src, tgt) in pairs {
            counts.add(src, tgt);
        }
        CooccurrenceCounts::rank(vec![counts], frequent, translations)
    }

    /// The sorted candidate target ids for a batch of source sentences: the special tokens
    /// (PAD, UNK, BOS, EOS), the frequent tokens and each source token's translations.
    pub fn candidates(&self, sources: &[&[i64]]) -> Vec<i64> {
        let mut ids: Vec<i64> = vec![PAD_ID, UNK_ID, BOS_ID, EOS_ID];
        ids.extend(&self.frequent);
        for &s in sources.iter().flat_map(|s| s.iter()) {
            if let Some(t) = self.per_source.get(s as usize) {
                ids.extend(t);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Writes the shortlist as JSON, atomically (temp file, fsync, rename).
    ///
    /// Errors: I/O errors, naming the path.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec(self)?;
        crate::artifacts::write_file_atomic(path, &json)?;
        Ok(())
    }

    /// Reads a shortlist written by [`Self::save`] for a model whose target vocabulary has
    /// `tgt_vocab` subwords, checking every candidate against it.
    ///
    /// Errors: a missing or malformed file, a candidate outside `0..tgt_vocab`, naming the
    /// path (and the entry and id).
    pub fn load(path: &Path, tgt_vocab: usize) -> Result<Self, ShortlistError> {
        let bytes = std::fs::read(path).map_err(|source| ShortlistError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let shortlist: Self =
            serde_json::from_slice(&bytes).map_err(|source| ShortlistError::Malformed {
                path: path.to_path_buf(),
                source,
            })?;
        shortlist.check_ids(path, tgt_vocab)?;
        Ok(shortlist)
    }

    /// Checks that every candidate is in `0..tgt_vocab`; `path` names the file in the error.
    fn check_ids(&self, path: &Path, tgt_vocab: usize) -> Result<(), ShortlistError> {
        let entries = std::iter::once(("the frequent list".to_string(), &self.frequent)).chain(
            self.per_source
                .iter()
                .enumerate()
                .map(|(s, ids)| (format!("source entry {s}"), ids)),
        );
        for (entry, ids) in entries {
            if let Some(&id) = ids
                .iter()
                .find(|&&id| id < 0 || id as u64 >= tgt_vocab as u64)
            {
                return Err(ShortlistError::OutOfRange {
                    path: path.to_path_buf(),
                    entry,
                    id,
                    vocab: tgt_vocab,
                });
            }
        }
        Ok(())
    }
}

/// The sentence-level counts a [`LexicalShortlist`] is ranked by: c(s), c(t) and c(s, t), each
/// the number of sentence pairs containing the token(s).
///
/// To count a large corpus in parallel without holding the (s, t) table once per thread, the
/// table can be split into shards by source id ([`shard`](Self::shard)): shard k of n counts
/// c(s) and c(s, t) only for the source ids s ≡ k (mod n), and c(t) only in shard 0, so that
/// every thread reads every pair but the shards together hold each count once;
/// [`rank`](Self::rank) combines them into the shortlist of the whole corpus.
#[derive(Debug, Clone, Default)]
pub struct CooccurrenceCounts {
    src: Vec<u32>,
    tgt: FxHashMap<i64, u32>,
    /// c(s, t) by `s << 32 | t` (ids are below 2^32).
    joint: FxHashMap<u64, u32>,
    shard: usize,
    shards: usize,
    scratch: (Vec<i64>, Vec<i64>),
}

impl CooccurrenceCounts {
    /// No pairs counted yet, for a source vocabulary of `src_vocab` ids: the whole table.
    pub fn new(src_vocab: usize) -> Self {
        Self::shard(src_vocab, 0, 1)
    }

    /// Shard `shard` of `shards` of the table (see the type's docs).
    ///
    /// # Panics
    ///
    /// When `shard >= shards`.
    pub fn shard(src_vocab: usize, shard: usize, shards: usize) -> Self {
        assert!(shard < shards, "shard {shard} of {shards}");
        Self {
            src: vec![0; src_vocab],
            shard,
            shards,
            ..Self::default()
        }
    }

    /// Counts one sentence pair of subword ids (source ids ≥ the vocabulary are ignored).
    pub fn add(&mut self, src: &[i64], tgt: &[i64]) {
        let (s_ids, t_ids) = &mut self.scratch;
        distinct_into(src, s_ids);
        distinct_into(tgt, t_ids);
        if self.shard == 0 {
            for &t in t_ids.iter() {
                *self.tgt.entry(t).or_default() += 1;
            }
        }
        let (vocab, shards, shard) = (self.src.len(), self.shards, self.shard);
        let mine = |s: i64| (s as usize) < vocab && s as usize % shards == shard;
        for &s in s_ids.iter().filter(|&&s| mine(s)) {
            self.src[s as usize] += 1;
            for &t in t_ids.iter() {
                *self.joint.entry(((s as u64) << 32) | t as u64).or_default() += 1;
            }
        }
    }

    /// Ranks the shards of one table (all `shards` of the same n, or one whole table) into a
    /// shortlist: the `frequent` most frequent target tokens and, per source token, the
    /// `translations` target tokens of highest Dice coefficient 2·c(s, t) / (c(s) + c(t))
    /// (ties by token id, so the result is deterministic). Memory beyond the counts: at most
    /// 2 × `translations` candidates per source token.
    pub fn rank(parts: Vec<Self>, frequent: usize, translations: usize) -> LexicalShortlist {
        let src_vocab = parts.first().map_or(0, |p| p.src.len());
        let mut src_count = vec![0u32; src_vocab];
        let mut tgt_count: FxHashMap<i64, u32> = FxHashMap::default();
        for part in &parts {
            for (a, b) in src_count.iter_mut().zip(&part.src) {
                *a += b;
            }
            for (&t, &c) in &part.tgt {
                *tgt_count.entry(t).or_default() += c;
            }
        }
        let best_first = |a: &(f64, i64), b: &(f64, i64)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let mut by_source: Vec<Vec<(f64, i64)>> = vec![Vec::new(); src_vocab];
        for part in parts {
            for (key, c) in part.joint {
                let (s, t) = ((key >> 32) as usize, (key & 0xffff_ffff) as i64);
                let dice = 2.0 * c as f64 / (src_count[s] + tgt_count[&t]) as f64;
                let cands = &mut by_source[s];
                cands.push((dice, t));
                if cands.len() >= 2 * translations.max(1) {
                    cands.sort_by(best_first);
                    cands.truncate(translations);
                }
            }
        }
        let per_source = by_source
            .into_iter()
            .map(|mut cands| {
                cands.sort_by(best_first);
                cands.truncate(translations);
                cands.into_iter().map(|(_, t)| t).collect()
            })
            .collect();
        let mut by_freq: Vec<(u32, i64)> = tgt_count.into_iter().map(|(t, c)| (c, t)).collect();
        by_freq.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        LexicalShortlist {
            frequent: by_freq.into_iter().take(frequent).map(|(_, t)| t).collect(),
            per_source,
        }
    }
}

/// The distinct ids of `ids`, sorted, into `out`.
fn distinct_into(ids: &[i64], out: &mut Vec<i64>) {
    out.clear();
    out.extend_from_slice(ids);
    out.sort_unstable();
    out.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Source 10 always comes with target 20, source 11 with 21; target 30 is in every pair.
    fn corpus() -> Vec<(Vec<i64>, Vec<i64>)> {
        let mut pairs = Vec::new();
        for i in 0..20 {
            let (s, t) = if i % 2 == 0 { (10, 20) } else { (11, 21) };
            pairs.push((vec![s, 12], vec![30, t, 30]));
        }
        pairs.push((vec![12], vec![30, 40]));
        pairs
    }

    #[test]
    fn learns_specific_translations_before_frequent_tokens() {
        let s = LexicalShortlist::learn(&corpus(), 16, 1, 2);
        assert_eq!(s.frequent, vec![30]);
        // Dice(10, 20) = 1 beats Dice(10, 30) = 20/31.
        assert_eq!(s.per_source[10], vec![20, 30]);
        assert_eq!(s.per_source[11], vec![21, 30]);
        assert!(s.per_source[13].is_empty());
    }

    #[test]
    fn shards_of_the_table_rank_to_the_whole_tables_shortlist() {
        // Pseudo-random pairs over a vocabulary of 40, so that ranks tie and shards differ.
        let mut x = 7u64;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) % m) as i64
        };
        let pairs: Vec<(Vec<i64>, Vec<i64>)> = (0..500)
            .map(|_| {
                let (ls, lt) = (next(8) as usize + 1, next(8) as usize + 1);
                (
                    (0..ls).map(|_| next(40)).collect(),
                    (0..lt).map(|_| next(40)).collect(),
                )
            })
            .collect();
        let whole = LexicalShortlist::learn(&pairs, 40, 5, 3);
        for shards in [2, 3] {
            let parts = (0..shards)
                .map(|k| {
                    let mut c = CooccurrenceCounts::shard(40, k, shards);
                    pairs.iter().for_each(|(s, t)| c.add(s, t));
                    c
                })
                .collect();
            assert_eq!(
                CooccurrenceCounts::rank(parts, 5, 3),
                whole,
                "{shards} shards"
            );
        }
        assert!(whole.per_source.iter().all(|c| c.len() == 3));
    }

    #[test]
    fn candidates_are_sorted_distinct_and_keep_special_tokens() {
        let s = LexicalShortlist::learn(&corpus(), 16, 1, 1);
        assert_eq!(s.candidates(&[&[10], &[10, 99]]), vec![0, 1, 2, 3, 20, 30]);
        assert_eq!(s.candidates(&[]), vec![0, 1, 2, 3, 30]);
    }

    #[test]
    fn a_target_id_outside_the_vocabulary_is_an_error_naming_entry_and_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shortlist.json");
        let mut s = LexicalShortlist::learn(&corpus(), 16, 1, 2);
        s.per_source[11].push(41);
        s.save(&path).unwrap();
        assert!(LexicalShortlist::load(&path, 42).is_ok());
        let err = LexicalShortlist::load(&path, 41).unwrap_err().to_string();
        assert!(
            err.contains("shortlist.json: source entry 11 lists target id 41")
                && err.contains("the target vocabulary has 41 subwords"),
            "{err}"
        );
        s.per_source[11].pop();
        s.frequent.push(-1);
        s.save(&path).unwrap();
        let err = LexicalShortlist::load(&path, 41).unwrap_err().to_string();
        assert!(
            err.contains("the frequent list lists target id -1"),
            "{err}"
        );
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("tolk-shortlist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shortlist.json");
        let s = LexicalShortlist::learn(&corpus(), 16, 2, 3);
        s.save(&path).unwrap();
        assert_eq!(LexicalShortlist::load(&path, 41).unwrap(), s);
        std::fs::write(&path, b"{").unwrap();
        let err = format!("{:#}", LexicalShortlist::load(&path, 41).unwrap_err());
        assert!(err.contains("not a tolk lexical shortlist"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
