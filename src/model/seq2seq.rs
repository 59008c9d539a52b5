//! The full encoder-decoder.

use tch::{nn, Tensor};

use super::bahdanau::BahdanauDecoder;
use super::decoder::{Decoder, DecoderOutput};
use super::encoder::{Encoder, EncoderOutput};
use super::luong::LuongDecoder;
use super::projection::VocabularyProjection;
use crate::config::{DecoderType, ModelConfig};
use crate::precision::Precision;

/// Encoder + attention decoder (Bahdanau's decoder or Luong's).
#[derive(Debug)]
pub struct Seq2Seq {
    /// Bidirectional encoder.
    pub encoder: Encoder,
    /// Attention decoder.
    pub decoder: Box<dyn Decoder>,
    /// The vocabulary projection search uses when it differs from the trained one (bf16
    /// or int8 weights, see [`Seq2Seq::set_search_precision`]).
    search_projection: Option<VocabularyProjection>,
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

    /// A second handle to the same tensors (no copy).
    pub fn shallow_clone(&self) -> Self {
        Self {
            enc: self.enc.shallow_clone(),
            keys: self.keys.shallow_clone(),
        }
    }
}

impl Seq2Seq {
    /// Sets the precision of the vocabulary projection in search (greedy and beam); training
    /// always uses the fp32 weights. `Bf16` keeps a bf16 copy of the projection weights, `Int8` an
    /// int8 copy with per-token scales.
    pub fn set_search_precision(&mut self, precision: Precision) {
        self.search_projection = match precision {
            Precision::Fp32 => None,
            Precision::Bf16 => Some(self.decoder.projection().to_bf16()),
            Precision::Int8 => Some(self.decoder.projection().to_int8()),
        };
    }

    /// The vocabulary projection search uses.
    pub fn search_projection(&self) -> &VocabularyProjection {
        self.search_projection
            .as_ref()
            .unwrap_or_else(|| self.decoder.projection())
    }

    /// Registers all parameters under `vs` (`encoder.*`, `decoder.*`).
    ///
    /// Errors: inconsistent sizes in `cfg` (e.g. dot attention with D != 2H).
    pub fn new(
        vs: &nn::Path,
        cfg: &ModelConfig,
        src_vocab: i64,
        tgt_vocab: i64,
    ) -> anyhow::Result<Self> {
        let decoder: Box<dyn Decoder> = match cfg.decoder {
            DecoderType::Bahdanau => {
                Box::new(BahdanauDecoder::new(vs / "decoder", cfg, tgt_vocab)?)
            }
            DecoderType::Luong => Box::new(LuongDecoder::new(vs / "decoder", cfg, tgt_vocab)?),
        };
        Ok(Self {
            encoder: Encoder::new(vs / "encoder", cfg, src_vocab),
            decoder,
            search_projection: None,
        })
    }

    /// Encodes `src` `[B, S]` with `lengths` `[B]` and precomputes attention keys.
    pub fn encode(&self, src: &Tensor, lengths: &Tensor, train: bool) -> Encoded {
        let enc = self.encoder.forward(src, lengths, train);
        let keys = self.decoder.attention_keys(&enc);
        Encoded { enc, keys }
    }

    /// Teacher forcing: logits of the non-padding target positions `[N, V]` (see
    /// [`DecoderOutput`]), attention `[B, T, S]` and the auxiliary terms of hard attention and
    /// coverage.
    pub fn forward(
        &self,
        src: &Tensor,
        lengths: &Tensor,
        tgt_in: &Tensor,
        train: bool,
    ) -> DecoderOutput {
        let e = self.encode(src, lengths, train);
        self.decoder.forward(&e.enc, &e.keys, tgt_in, train)
    }
}
