//! The decoder of Bahdanau et al. 2015 (§3.1, appendix A.2.2), configured as `decoder =
//! "bahdanau"` (not Nematus' conditional GRU, cGRU): attention is
//! computed from the previous state s_{i-1}, and the context c_i is fed into the RNN together
//! with the previous target embedding: s_i = RNN([E y_{i-1}; c_i], s_{i-1}); the deep output
//! reads [s_i; c_i; E y_{i-1}].

use tch::{nn, Tensor};

use super::attention::AttentionOutput;
use super::decoder::{Decoder, DecoderParts, DecoderState};
use super::encoder::EncoderOutput;
use super::output::DeepOutput;
use super::projection::VocabularyProjection;
use crate::config::ModelConfig;

/// Bahdanau's decoder: parts shared with every decoder plus the deep output layer.
#[derive(Debug)]
pub struct BahdanauDecoder {
    parts: DecoderParts,
    output: DeepOutput,
}

impl BahdanauDecoder {
    /// Builds the decoder; `vocab` is the target vocabulary size.
    pub fn new(vs: nn::Path, cfg: &ModelConfig, vocab: i64) -> anyhow::Result<Self> {
        let e = cfg.tgt_embed_dim as i64;
        let d = cfg.decoder_hidden as i64;
        let ann = 2 * cfg.encoder_hidden as i64;
        let parts = DecoderParts::new(&vs, cfg, vocab, ann, 0)?;
        let tied = cfg
            .tie_target_embeddings
            .then(|| parts.embed.ws.shallow_clone());
        Ok(Self {
            output: DeepOutput::new(
                &vs / "output",
                d + ann + e,
                cfg.output_dim as i64,
                cfg.output_layer,
                vocab,
                cfg.dropout,
                tied,
            ),
            parts,
        })
    }
}

impl Decoder for BahdanauDecoder {
    fn parts(&self) -> &DecoderParts {
        &self.parts
    }

    fn advance(
        &self,
        enc: &EncoderOutput,
        keys: &Tensor,
        x_proj: &Tensor,
        state: &DecoderState,
        train: bool,
    ) -> (Tensor, DecoderState, AttentionOutput) {
        let att = self.parts.attend(state.rnn.h(), enc, keys, state, train);
        let rnn = self.parts.cell.step(x_proj, &att.context, &state.rnn);
        let features = Tensor::cat(&[rnn.h(), &att.context], -1);
        let next = state.advanced(rnn, None, &att);
        (features, next, att)
    }

    fn output_features(&self, features: &Tensor, prev_embedding: &Tensor, train: bool) -> Tensor {
        self.output
            .forward(&Tensor::cat(&[features, prev_embedding], -1), train)
    }

    fn projection(&self) -> &VocabularyProjection {
        self.output.projection()
    }
}
