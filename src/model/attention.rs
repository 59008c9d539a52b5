//! Attention: scores e_ij = a(s_{i-1}, h_j), weights α_ij = softmax_j(e_ij) over unmasked
//! source positions, context c_i = Σ_j α_ij h_j.

use tch::{nn, Tensor};

/// A score function with its softmax and context, over precomputed keys.
///
/// Implementations compute whatever depends only on the annotations once per batch in
/// [`Attention::keys`], so each decoder step costs one query projection plus the score.
pub trait Attention: std::fmt::Debug + Send {
    /// Per-batch precomputation from the annotations `h` `[B, S, 2H]`; returns keys
    /// `[B, S, A]` passed to every call of [`Attention::attend`].
    fn keys(&self, annotations: &Tensor) -> Tensor;

    /// One decoder step.
    ///
    /// * `query`: decoder state `[B, D]` (s_{i-1} for Bahdanau).
    /// * `keys`: from [`Attention::keys`] `[B, S, A]`.
    /// * `annotations`: values h_j `[B, S, 2H]`.
    /// * `mask`: `[B, S]` bool, `true` at real (non-padding) source positions.
    ///
    /// Returns `(context [B, 2H], weights α [B, S])`; weights sum to 1 over unmasked
    /// positions and are exactly 0 on padding.
    fn attend(
        &self,
        query: &Tensor,
        keys: &Tensor,
        annotations: &Tensor,
        mask: &Tensor,
    ) -> (Tensor, Tensor);
}

/// Masked softmax over the last dimension: `scores` `[B, S]`, `mask` `[B, S]` bool (true =
/// keep). Padding gets weight exactly 0.
pub fn masked_softmax(scores: &Tensor, mask: &Tensor) -> Tensor {
    scores
        .masked_fill(&mask.logical_not(), f64::NEG_INFINITY)
        .softmax(-1, scores.kind())
}

/// Context vectors c = Σ_j α_j h_j: `weights` `[B, S]`, `annotations` `[B, S, 2H]` →
/// `[B, 2H]` (one batched matrix product).
pub fn context(weights: &Tensor, annotations: &Tensor) -> Tensor {
    weights.unsqueeze(1).bmm(annotations).squeeze_dim(1)
}

/// Additive (MLP) attention of Bahdanau et al. 2015 (arXiv 1409.0473), eq. 6 and appendix
/// A.1.2: e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j). Luong et al. 2015 call it "concat".
///
/// Parameters: `W_a` `[A, D]` (`query`), `U_a` `[A, 2H]` with bias (`key`), `v_a` `[A]`
/// (`energy`).
#[derive(Debug)]
pub struct AdditiveAttention {
    query: nn::Linear,
    key: nn::Linear,
    energy: nn::Linear,
}

impl AdditiveAttention {
    /// `query_dim` = D, `annotation_dim` = 2H, `attention_dim` = A.
    pub fn new(vs: nn::Path, query_dim: i64, annotation_dim: i64, attention_dim: i64) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Self {
            query: nn::linear(&vs / "query", query_dim, attention_dim, no_bias),
            key: nn::linear(
                &vs / "key",
                annotation_dim,
                attention_dim,
                Default::default(),
            ),
            energy: nn::linear(&vs / "energy", attention_dim, 1, no_bias),
        }
    }
}

impl Attention for AdditiveAttention {
    fn keys(&self, annotations: &Tensor) -> Tensor {
        annotations.apply(&self.key)
    }

    fn attend(
        &self,
        query: &Tensor,
        keys: &Tensor,
        annotations: &Tensor,
        mask: &Tensor,
    ) -> (Tensor, Tensor) {
        let projected = query.apply(&self.query).unsqueeze(1); // [B,1,A]
        let scores = (keys + projected)
            .tanh()
            .apply(&self.energy)
            .squeeze_dim(-1); // [B,S]
        let weights = masked_softmax(&scores, mask);
        let ctx = context(&weights, annotations);
        (ctx, weights)
    }
}
