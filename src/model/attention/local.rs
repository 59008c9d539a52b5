//! Scope of attention: global (all source positions) or local (Luong et al. 2015, arXiv
//! 1508.04025, §3.2): only a window [p_t − W, p_t + W] around an aligned position p_t (the paper calls the
//! half-width D; here it is W, since D is the decoder state size throughout tolk).
//! - local-m (monotonic): p_t = t.
//! - local-p (predictive): p_t = S · sigmoid(v_p^T tanh(W_p h_t)) (eq. 9, with S the source
//!   length minus one so that p_t is a position), and the weights are multiplied by a
//!   Gaussian exp(−(s − p_t)² / (2σ²)), σ = W/2 (eq. 10). As in the paper they are not
//!   renormalised, so they sum to at most 1.

use tch::{nn, Kind, Tensor};

/// Which source positions a query may attend to.
#[derive(Debug)]
pub enum Scope {
    /// All (non-padding) positions.
    Global,
    /// Window of half-width `window` around p_t = t (target step).
    LocalM {
        /// Half-width W of the window, in source positions.
        window: i64,
    },
    /// Window of half-width `window` around a predicted p_t, Gaussian-weighted.
    LocalP {
        /// Half-width W of the window, in source positions.
        window: i64,
        /// W_p `[D_q, D_q]`.
        w_p: nn::Linear,
        /// v_p `[D_q]`.
        v_p: nn::Linear,
    },
}

impl Scope {
    /// Local-p with its predictor parameters under `vs` (`w_p`, `v_p`); `query_dim` D_q.
    pub fn local_p(vs: nn::Path, query_dim: i64, window: i64) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Scope::LocalP {
            window,
            w_p: nn::linear(&vs / "w_p", query_dim, query_dim, no_bias),
            v_p: nn::linear(&vs / "v_p", query_dim, 1, no_bias),
        }
    }

    /// The aligned position p_t `[B]` (float) for local scopes, `None` for global.
    /// `lengths` `[B]` are the source lengths, `step` the 0-based target step t.
    pub fn position(&self, query: &Tensor, lengths: &Tensor, step: i64) -> Option<Tensor> {
        let last = (lengths - 1).to_kind(query.kind());
        match self {
            Scope::Global => None,
            Scope::LocalM { .. } => Some(last.clamp_max(step as f64)),
            Scope::LocalP { w_p, v_p, .. } => {
                let g = query.apply(w_p).tanh().apply(v_p).squeeze_dim(-1).sigmoid();
                Some(last * g)
            }
        }
    }

    /// Applies the scope to energies `scores` `[B, S]` with padding `mask` `[B, S]` (true =
    /// real token): returns the weights α `[B, S]` (0 on padding and outside the window).
    pub fn weights(&self, scores: &Tensor, mask: &Tensor, query: &Tensor, step: i64) -> Tensor {
        let lengths = mask.sum_dim_intlist(1, false, Kind::Int64);
        let Some(p) = self.position(query, &lengths, step) else {
            return super::masked_softmax(scores, mask);
        };
        let (b, s) = scores.size2().expect("[B,S]");
        let window = match self {
            Scope::LocalM { window } | Scope::LocalP { window, .. } => *window,
            Scope::Global => unreachable!(),
        };
        let pos = Tensor::arange(s, (scores.kind(), scores.device()))
            .unsqueeze(0)
            .expand([b, s], false);
        let dist = &pos - p.unsqueeze(1); // [B,S]
        let inside = dist.abs().le(window as f64 + 1e-6).logical_and(mask);
        let alpha = super::masked_softmax(scores, &inside);
        match self {
            Scope::LocalP { .. } => {
                let sigma = window as f64 / 2.0;
                alpha * (-dist.square() / (2.0 * sigma * sigma)).exp()
            }
            _ => alpha,
        }
    }
}
