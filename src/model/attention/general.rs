//! "General" (bilinear) score of Luong et al. 2015 (arXiv 1508.04025), eq. 8:
//! e_tj = h_t^T W_a h̄_j, and its scaled variant e_tj = h_t^T W_a h̄_j / √d with d the query
//! size, as in scaled dot (Vaswani et al. 2017, eq. 1): unscaled 512-d products saturate the
//! softmax early in training (docs/attention.md). W_a h̄_j (and the scale) is applied once per
//! batch. Coverage adds w_c · cov_tj.

use tch::{nn, Tensor};

use super::dot::{add_coverage, apply_scale, batched_dot, score_scale};
use super::Score;

/// Parameter W_a `[D, 2H]` (`bilinear`), optional scalar coverage weight.
#[derive(Debug)]
pub struct GeneralScore {
    bilinear: nn::Linear,
    scale: Option<f64>,
    coverage: Option<Tensor>,
}

impl GeneralScore {
    /// `query_dim` D, `annotation_dim` 2H; `scaled` divides the score by √D.
    pub fn new(
        vs: nn::Path,
        query_dim: i64,
        annotation_dim: i64,
        scaled: bool,
        coverage: bool,
    ) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Self {
            bilinear: nn::linear(&vs / "bilinear", annotation_dim, query_dim, no_bias),
            scale: score_scale(query_dim, scaled),
            coverage: coverage.then(|| vs.zeros("coverage", &[1])),
        }
    }
}

impl Score for GeneralScore {
    fn keys(&self, annotations: &Tensor) -> Tensor {
        apply_scale(annotations.apply(&self.bilinear), self.scale) // [B,S,D]
    }

    fn score(&self, query: &Tensor, keys: &Tensor, coverage: Option<&Tensor>) -> Tensor {
        add_coverage(batched_dot(keys, query), self.coverage.as_ref(), coverage)
    }
}
