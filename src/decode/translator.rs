//! Translating lists of sentences: subword encoding, length-sorted batching, search, and
//! detokenisation, with the output in input order.

use tch::Device;

use super::alignment::AlignmentMatrix;
use super::beam::{beam_search, BeamConfig};
use super::greedy::greedy_search;
use super::hypothesis::Hypothesis;
use super::shortlist::LexicalShortlist;
use crate::batch::source_tensors;
use crate::data::batching::plan_inference;
use crate::model::Seq2Seq;
use crate::subword::SubwordModel;

/// How to translate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TranslateOptions {
    /// Beam size K; 1 runs greedy search.
    pub beam_size: usize,
    /// GNMT length-penalty α (beam search only).
    pub length_penalty: f64,
    /// Hypotheses per sentence (≤ beam size).
    pub nbest: usize,
    /// Output length limit: `max_len_ratio × source subwords + 5` tokens.
    pub max_len_ratio: f64,
    /// Batch budget in source tokens × sentences.
    pub batch_tokens: usize,
    /// Keep attention matrices in the hypotheses.
    pub keep_attention: bool,
}

/// One translated hypothesis: detokenised text plus the search result.
#[derive(Debug, Clone)]
pub struct Translation {
    /// Detokenised output text.
    pub text: String,
    /// Token ids, score and attention.
    pub hypothesis: Hypothesis,
}

/// Runs search over sentences with a model and its tokenizers.
#[derive(Debug)]
pub struct Translator<'a> {
    /// The encoder-decoder.
    pub model: &'a Seq2Seq,
    /// Source-side subword model.
    pub src_subwords: &'a SubwordModel,
    /// Target-side subword model.
    pub tgt_subwords: &'a SubwordModel,
    /// Device of the model.
    pub device: Device,
    /// Decode each batch over its lexical shortlist instead of the full target vocabulary.
    pub shortlist: Option<&'a LexicalShortlist>,
}

impl Translator<'_> {
    /// Translates `sources` (raw text, one sentence each); returns for each input its
    /// hypotheses, best first (1 for greedy, `nbest` for beam search), in input order.
    pub fn translate(&self, sources: &[String], opts: &TranslateOptions) -> Vec<Vec<Translation>> {
        let ids = self.src_subwords.encode_batch(sources);
        let lengths: Vec<usize> = ids.iter().map(|s| s.len() + 1).collect();
        let mut out: Vec<Vec<Translation>> = vec![Vec::new(); sources.len()];
        for batch in plan_inference(&lengths, opts.batch_tokens) {
            let srcs: Vec<&[i64]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let (src, src_len) = source_tensors(&srcs, self.device);
            let candidates = self.shortlist.map(|s| s.candidates(&srcs));
            let candidates = candidates.as_deref();
            let max_len: Vec<usize> = batch
                .iter()
                .map(|&i| (opts.max_len_ratio * ids[i].len() as f64) as usize + 5)
                .collect();
            let hyps: Vec<Vec<Hypothesis>> = if opts.beam_size <= 1 {
                greedy_search(
                    self.model,
                    &src,
                    &src_len,
                    &max_len,
                    opts.keep_attention,
                    candidates,
                )
                .into_iter()
                .map(|h| vec![h])
                .collect()
            } else {
                let cfg = BeamConfig {
                    beam_size: opts.beam_size,
                    length_penalty: opts.length_penalty,
                    nbest: opts.nbest.clamp(1, opts.beam_size),
                };
                beam_search(
                    self.model,
                    &src,
                    &src_len,
                    &max_len,
                    cfg,
                    opts.keep_attention,
                    candidates,
                )
            };
            for (&i, hs) in batch.iter().zip(hyps) {
                out[i] = hs
                    .into_iter()
                    .map(|h| Translation {
                        text: self.tgt_subwords.decode(&h.tokens),
                        hypothesis: h,
                    })
                    .collect();
            }
        }
        out
    }
}

impl Translator<'_> {
    /// The subword attention matrix of a translation of `source` (needs
    /// `keep_attention`): source pieces plus `</s>` as columns, output pieces (plus `</s>` when
    /// it was produced) as rows.
    pub fn alignment(&self, source: &str, translation: &Translation) -> Option<AlignmentMatrix> {
        let rows = translation.hypothesis.attention.as_ref()?;
        let mut src_tokens = self.src_subwords.pieces(source);
        src_tokens.push("</s>".into());
        let mut tgt_tokens: Vec<String> = translation
            .hypothesis
            .tokens
            .iter()
            .map(|&id| self.tgt_subwords.id_to_piece(id).unwrap_or_default())
            .collect();
        if rows.len() > tgt_tokens.len() {
            tgt_tokens.push("</s>".into());
        }
        let weights = rows
            .iter()
            .map(|r| r[..src_tokens.len().min(r.len())].to_vec())
            .collect();
        Some(AlignmentMatrix {
            src_tokens,
            tgt_tokens,
            weights,
        })
    }
}
