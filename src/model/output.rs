//! Deep output layer (Bahdanau et al. 2015, appendix A.2.2, eq. for t_i):
//! t̃_i = U_o s_i + V_o E y_{i-1} + C_o c_i, t_i = maxout(t̃_i) (or tanh), logits = W_o t_i.
//! Applied to all target steps at once: one batched matmul per layer.

use tch::{nn, Tensor};

use super::projection::VocabularyProjection;

use crate::config::OutputLayerType;

/// Deep output t_i, plus the vocabulary projection that reads it.
#[derive(Debug)]
pub struct DeepOutput {
    hidden: nn::Linear,
    kind: OutputLayerType,
    /// W_o `[V, K]` (shared with the target embeddings when tied) and its bias `[V]`.
    projection: VocabularyProjection,
    dropout: f64,
}

impl DeepOutput {
    /// `input_dim` = D + 2H + E, `output_dim` = size of t̃ (halved by maxout), `vocab` V.
    /// `tied` is the target embedding matrix `[V, E]` to reuse as projection.
    pub fn new(
        vs: nn::Path,
        input_dim: i64,
        output_dim: i64,
        kind: OutputLayerType,
        vocab: i64,
        dropout: f64,
        tied: Option<Tensor>,
    ) -> Self {
        let k = match kind {
            OutputLayerType::Maxout => output_dim / 2,
            OutputLayerType::Tanh => output_dim,
        };
        let vocab_weight = match tied {
            Some(w) => {
                assert_eq!(
                    w.size(),
                    vec![vocab, k],
                    "tie_target_embeddings needs output size {k} == target embedding size"
                );
                w
            }
            None => {
                let bound = 1.0 / (k as f64).sqrt();
                vs.var(
                    "vocab_weight",
                    &[vocab, k],
                    nn::Init::Uniform {
                        lo: -bound,
                        up: bound,
                    },
                )
            }
        };
        Self {
            hidden: nn::linear(&vs / "hidden", input_dim, output_dim, Default::default()),
            kind,
            projection: VocabularyProjection::new(&vocab_weight, &vs.zeros("vocab_bias", &[vocab])),
            dropout,
        }
    }

    /// The vocabulary projection W_o, b.
    pub fn projection(&self) -> &VocabularyProjection {
        &self.projection
    }

    /// `features` [s_i; c_i; E y_{i-1}] `[..., D + 2H + E]` → t_i `[..., K]` (after maxout or
    /// tanh, and dropout); [`Self::projection`] turns it into logits.
    pub fn forward(&self, features: &Tensor, train: bool) -> Tensor {
        let t = features.apply(&self.hidden);
        let t = match self.kind {
            OutputLayerType::Maxout => {
                let mut shape = t.size();
                let last = shape.pop().unwrap();
                shape.push(last / 2);
                shape.push(2);
                t.view(shape.as_slice()).amax([-1], false)
            }
            OutputLayerType::Tanh => t.tanh(),
        };
        t.dropout(self.dropout, train)
    }
}
