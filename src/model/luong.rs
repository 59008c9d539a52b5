//! The decoder of Luong et al. 2015 (arXiv 1508.04025, §3, eq. 5-6 and §3.3): the RNN runs
//! first, h_t = RNN([E y_{t-1}; h~_{t-1}], h_{t-1}) (h~_{t-1} only with input feeding),
//! attention is computed from h_t, and the attentional state h~_t = tanh(W_c [c_t; h_t]) gives
//! p(y_t) = softmax(W_s h~_t).

use tch::{nn, Tensor};

use super::attention::AttentionOutput;
use super::decoder::{Decoder, DecoderParts, DecoderState};
use super::encoder::EncoderOutput;
use super::projection::VocabularyProjection;
use crate::config::ModelConfig;

/// Luong's global/local attention decoder.
///
/// Parameters beyond the shared parts: `combine` W_c `[D, 2H + D]`, `output.vocab_weight`
/// W_s `[V, D]` (or the tied target embeddings, which then need `tgt_embed_dim == D`),
/// `output.vocab_bias` `[V]`.
#[derive(Debug)]
pub struct LuongDecoder {
    parts: DecoderParts,
    combine: nn::Linear,
    /// W_s and its bias.
    output: VocabularyProjection,
    input_feeding: bool,
}

impl LuongDecoder {
    /// Builds the decoder; `vocab` is the target vocabulary size.
    ///
    /// Errors: tied embeddings with `tgt_embed_dim != decoder_hidden`; attention errors.
    pub fn new(vs: nn::Path, cfg: &ModelConfig, vocab: i64) -> anyhow::Result<Self> {
        let e = cfg.tgt_embed_dim as i64;
        let d = cfg.decoder_hidden as i64;
        let ann = 2 * cfg.encoder_hidden as i64;
        let feed = if cfg.input_feeding { d } else { 0 };
        let parts = DecoderParts::new(&vs, cfg, vocab, feed, feed)?;
        let vocab_weight = if cfg.tie_target_embeddings {
            anyhow::ensure!(
                e == d,
                "tie_target_embeddings with the Luong decoder needs tgt_embed_dim ({e}) == decoder_hidden ({d})"
            );
            parts.embed.ws.shallow_clone()
        } else {
            let bound = 1.0 / (d as f64).sqrt();
            (&vs / "output").var(
                "vocab_weight",
                &[vocab, d],
                nn::Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            )
        };
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Ok(Self {
            combine: nn::linear(&vs / "combine", ann + d, d, no_bias),
            output: VocabularyProjection::new(
                &vocab_weight,
                &(&vs / "output").zeros("vocab_bias", &[vocab]),
            ),
            input_feeding: cfg.input_feeding,
            parts,
        })
    }
}

impl Decoder for LuongDecoder {
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
        let rnn = match &state.attentional {
            Some(feed) => self.parts.cell.step(x_proj, feed, &state.rnn),
            None => {
                let b = x_proj.size()[0];
                let none = x_proj.new_zeros([b, 0], (x_proj.kind(), x_proj.device()));
                self.parts.cell.step(x_proj, &none, &state.rnn)
            }
        };
        let att = self.parts.attend(rnn.h(), enc, keys, state, train);
        let attentional = Tensor::cat(&[&att.context, rnn.h()], -1)
            .apply(&self.combine)
            .tanh();
        let feed = self.input_feeding.then(|| attentional.shallow_clone());
        let next = state.advanced(rnn, feed, &att);
        (attentional, next, att)
    }

    fn output_features(&self, features: &Tensor, _prev_embedding: &Tensor, train: bool) -> Tensor {
        features.dropout(self.parts.dropout, train)
    }

    fn projection(&self) -> &VocabularyProjection {
        &self.output
    }
}
