//! The full encoder-decoder and its loss.

use tch::{nn, Tensor};

use super::decoder::ConditionalDecoder;
use super::encoder::{Encoder, EncoderOutput};
use crate::config::ModelConfig;

/// Encoder + conditional decoder with additive attention (Bahdanau et al. 2015).
#[derive(Debug)]
pub struct Seq2Seq {
    /// Bidirectional encoder.
    pub encoder: Encoder,
    /// Attention decoder.
    pub decoder: ConditionalDecoder,
}

/// Encoder output plus the attention keys computed from it once per batch.
#[derive(Debug)]
pub struct Encoded {
    /// Annotations, mask, bridge input.
    pub enc: EncoderOutput,
    /// Attention keys `[B, S, A]`.
    pub keys: Tensor,
}

impl Encoded {
    /// Reorders/expands the batch: `index` `[B']`.
    pub fn index_select(&self, index: &Tensor) -> Self {
        Self {
            enc: self.enc.index_select(index),
            keys: self.keys.index_select(0, index),
        }
    }
}

impl Seq2Seq {
    /// Registers all parameters under `vs` (`encoder.*`, `decoder.*`).
    pub fn new(vs: &nn::Path, cfg: &ModelConfig, src_vocab: i64, tgt_vocab: i64) -> Self {
        Self {
            encoder: Encoder::new(vs / "encoder", cfg, src_vocab),
            decoder: ConditionalDecoder::new(vs / "decoder", cfg, tgt_vocab),
        }
    }

    /// Encodes `src` `[B, S]` with `lengths` `[B]` and precomputes attention keys.
    pub fn encode(&self, src: &Tensor, lengths: &Tensor, train: bool) -> Encoded {
        let enc = self.encoder.forward(src, lengths, train);
        let keys = self.decoder.attention_keys(&enc);
        Encoded { enc, keys }
    }

    /// Teacher-forced logits `[B, T, V]` and attention `[B, T, S]`.
    pub fn forward(
        &self,
        src: &Tensor,
        lengths: &Tensor,
        tgt_in: &Tensor,
        train: bool,
    ) -> (Tensor, Tensor) {
        let e = self.encode(src, lengths, train);
        self.decoder.forward(&e.enc, &e.keys, tgt_in, train)
    }
}
