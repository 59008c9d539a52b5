//! "General" (bilinear) score of Luong et al. 2015 (arXiv 1508.04025), eq. 8:
//! e_tj = h_t^T W_a h̄_j. W_a h̄_j is computed once per batch. Coverage adds w_c · cov_tj.

use tch::{nn, Tensor};

use super::dot::{add_coverage, batched_dot};
use super::Score;

/// Parameter W_a `[D, 2H]` (`bilinear`), optional scalar coverage weight.
#[derive(Debug)]
pub struct GeneralScore {
    bilinear: nn::Linear,
    coverage: Option<Tensor>,
}

impl GeneralScore {
    /// `query_dim` D, `annotation_dim` 2H.
    pub fn new(vs: nn::Path, query_dim: i64, annotation_dim: i64, coverage: bool) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        Self {
            bilinear: nn::linear(&vs / "bilinear", annotation_dim, query_dim, no_bias),
            coverage: coverage.then(|| vs.zeros("coverage", &[1])),
        }
    }
}

impl Score for GeneralScore {
    fn keys(&self, annotations: &Tensor) -> Tensor {
        annotations.apply(&self.bilinear) // [B,S,D]
    }

    fn score(&self, query: &Tensor, keys: &Tensor, coverage: Option<&Tensor>) -> Tensor {
        add_coverage(batched_dot(keys, query), self.coverage.as_ref(), coverage)
    }
}
