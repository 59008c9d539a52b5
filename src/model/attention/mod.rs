//! Attention (alignment) mechanisms: for a decoder query and the encoder annotations h_j,
//! scores e_ij, weights α_ij = softmax_j(e_ij) over the allowed source positions, and the
//! context c_i = Σ_j α_ij h_j.
//!
//! A mechanism is assembled from three independent choices, each a named type beside its
//! paper:
//! - the **score function** ([`Score`]): [`AdditiveScore`] (Bahdanau et al. 2015, eq. 6; Luong's
//!   "concat"), [`DotScore`] (Luong et al. 2015, eq. 8, optionally scaled by 1/√d),
//!   [`GeneralScore`] (Luong eq. 8, bilinear) and [`LocationScore`] (Luong eq. 9), each with an
//!   optional coverage term (Tu et al. 2016);
//! - the **scope** ([`Scope`]): global, or local-m / local-p windows (Luong §3.2);
//! - the **selection** ([`Selection`]): soft (expected context), hard (a sampled position,
//!   REINFORCE; Xu et al. 2015 §4.1) or straight-through Gumbel-softmax.
//!
//! `attention = "none"` ([`fixed`]) is the baseline without a score: the fixed-length context
//! of the plain encoder-decoder (Cho et al. 2014).

pub mod additive;
pub mod dot;
pub mod fixed;
pub mod general;
pub mod local;
pub mod location;
pub mod mechanism;
pub mod selection;

pub use additive::AdditiveScore;
pub use dot::DotScore;
pub use general::GeneralScore;
pub use local::Scope;
pub use location::LocationScore;
pub use mechanism::{Attention, AttentionOutput};
pub use selection::Selection;

use tch::Tensor;

/// A score function e_ij = score(query_i, h_j).
pub trait Score: std::fmt::Debug + Send {
    /// Per-batch precomputation from the annotations `[B, S, 2H]` (e.g. U h_j); the result is
    /// passed back to every [`Score::score`] call of the batch.
    fn keys(&self, annotations: &Tensor) -> Tensor;

    /// Energies e `[B, S]` for `query` `[B, D]`. `coverage` `[B, S]` is Σ of earlier
    /// attention weights when coverage is enabled.
    fn score(&self, query: &Tensor, keys: &Tensor, coverage: Option<&Tensor>) -> Tensor;

    /// Whether [`Score::score`] also takes `keys` with fewer rows M than the query's R (M
    /// dividing R; query row r reads keys row r / (R / M)), so that beam search can keep one
    /// copy of a sentence's keys for all its hypotheses. Default false.
    fn shares_keys(&self) -> bool {
        false
    }
}

/// Masked softmax over the last dimension: `scores` `[B, S]`, `mask` `[B, S]` bool (true =
/// allowed). Disallowed positions get weight exactly 0. Rows with no allowed position
/// would be NaN; callers always allow at least one position.
pub fn masked_softmax(scores: &Tensor, mask: &Tensor) -> Tensor {
    scores
        .masked_fill(&mask.logical_not(), f64::NEG_INFINITY)
        .softmax(-1, scores.kind())
}

/// Context vectors c = Σ_j α_j h_j: `weights` `[R, S]`, `annotations` `[M, S, 2H]` →
/// `[R, 2H]` (one batched matrix product), where M divides R and row r uses annotations row
/// r / (R / M) (M = R outside beam search's shared memory).
pub fn context(weights: &Tensor, annotations: &Tensor) -> Tensor {
    let (r, m) = (weights.size()[0], annotations.size()[0]);
    if m == r {
        return weights.unsqueeze(1).bmm(annotations).squeeze_dim(1);
    }
    let s = weights.size()[1];
    weights
        .reshape([m, r / m, s])
        .bmm(annotations)
        .reshape([r, -1])
}
