//! Dot-product score of Luong et al. 2015 (arXiv 1508.04025), eq. 8: e_tj = h_t^T h̄_j, and
//! its scaled variant e_tj = h_t^T h̄_j / √d (Vaswani et al. 2017, eq. 1). Needs the decoder
//! state size D to equal the annotation size 2H. Coverage adds w_c · cov_tj.

use tch::{nn, Tensor};

use super::Score;

/// Parameter-free apart from the optional coverage weight w_c (a scalar).
#[derive(Debug)]
pub struct DotScore {
    scale: Option<f64>,
    coverage: Option<Tensor>,
}

impl DotScore {
    /// `dim` is d (= D = 2H); `scaled` divides by √d.
    pub fn new(vs: nn::Path, dim: i64, scaled: bool, coverage: bool) -> Self {
        Self {
            scale: score_scale(dim, scaled),
            coverage: coverage.then(|| vs.zeros("coverage", &[1])),
        }
    }
}

/// The factor 1/√d of a scaled score over d-dimensional queries (Vaswani et al. 2017, eq. 1),
/// `None` when unscaled.
pub(crate) fn score_scale(dim: i64, scaled: bool) -> Option<f64> {
    scaled.then(|| 1.0 / (dim as f64).sqrt())
}

/// `t` times `scale`, or `t` itself when there is none.
pub(crate) fn apply_scale(t: Tensor, scale: Option<f64>) -> Tensor {
    match scale {
        Some(s) => t * s,
        None => t,
    }
}

/// e = keys · query: `keys` `[B, S, d]`, `query` `[B, d]` → `[B, S]`.
pub(crate) fn batched_dot(keys: &Tensor, query: &Tensor) -> Tensor {
    keys.bmm(&query.unsqueeze(-1)).squeeze_dim(-1)
}

/// Adds w_c · cov to energies when both are present.
pub(crate) fn add_coverage(e: Tensor, w: Option<&Tensor>, coverage: Option<&Tensor>) -> Tensor {
    match (w, coverage) {
        (Some(w), Some(cov)) => e + cov * w,
        _ => e,
    }
}

impl Score for DotScore {
    fn keys(&self, annotations: &Tensor) -> Tensor {
        annotations.shallow_clone()
    }

    fn score(&self, query: &Tensor, keys: &Tensor, coverage: Option<&Tensor>) -> Tensor {
        let e = apply_scale(batched_dot(keys, query), self.scale);
        add_coverage(e, self.coverage.as_ref(), coverage)
    }
}
