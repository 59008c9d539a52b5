//! Location-based score of Luong et al. 2015 (arXiv 1508.04025), eq. 9: a_t = softmax(W_a h_t),
//! the weights computed from the target state alone, one output per source position.
//! Positions beyond `max_len` are masked. Coverage adds w_c · cov_tj.

use tch::{nn, Tensor};

use super::dot::add_coverage;
use super::Score;

/// Parameter W_a `[max_len, D]` with bias (`position`), optional scalar coverage weight.
#[derive(Debug)]
pub struct LocationScore {
    position: nn::Linear,
    max_len: i64,
    coverage: Option<Tensor>,
}

impl LocationScore {
    /// `query_dim` D; `max_len` the most source positions the model can address.
    pub fn new(vs: nn::Path, query_dim: i64, max_len: i64, coverage: bool) -> Self {
        Self {
            position: nn::linear(&vs / "position", query_dim, max_len, Default::default()),
            max_len,
            coverage: coverage.then(|| vs.zeros("coverage", &[1])),
        }
    }
}

impl Score for LocationScore {
    /// Returns an empty tensor of shape `[B, S, 0]`: the scores only need S.
    fn keys(&self, annotations: &Tensor) -> Tensor {
        annotations.narrow(2, 0, 0)
    }

    fn score(&self, query: &Tensor, keys: &Tensor, coverage: Option<&Tensor>) -> Tensor {
        let s = keys.size()[1];
        let all = query.apply(&self.position); // [B, max_len]
        let e = if s <= self.max_len {
            all.narrow(1, 0, s)
        } else {
            let b = all.size()[0];
            let pad = Tensor::full(
                [b, s - self.max_len],
                f64::NEG_INFINITY,
                (all.kind(), all.device()),
            );
            Tensor::cat(&[all, pad], 1)
        };
        add_coverage(e, self.coverage.as_ref(), coverage)
    }
}
