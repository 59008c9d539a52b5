//! How the context is formed from the weights α.
//! - **Soft** (Bahdanau et al. 2015; Xu et al. 2015 §4.2): c = Σ_j α_j h_j.
//! - **Hard** (Xu et al. 2015, arXiv 1502.03044, §4.1): during training one position
//!   s ~ Multinoulli(α) is sampled and c = h_s; the attention parameters get the REINFORCE
//!   gradient (log p(y) − b) ∇ log α_s with a moving-average baseline b and an entropy bonus,
//!   assembled by the trainer from [`Selected::log_prob`] and [`Selected::entropy`]. At
//!   inference the arg-max position is used.
//! - **Gumbel** (straight-through Gumbel-softmax; Jang et al. 2017, arXiv 1611.01144): a hard
//!   one-hot sample in the forward pass, the gradient of the relaxed softmax((log α + g)/τ)
//!   in the backward pass. An extra beside the paper's estimators.

use tch::Tensor;

/// Selection rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// Expected context.
    Soft,
    /// Sampled position, REINFORCE.
    Hard,
    /// Straight-through Gumbel-softmax with temperature τ.
    Gumbel {
        /// τ > 0.
        temperature: f64,
    },
}

/// Result of a selection.
#[derive(Debug)]
pub struct Selected {
    /// Weights used for the context `[B, S]`: α (soft), a one-hot row (hard, Gumbel forward).
    pub weights: Tensor,
    /// log α_s of the sampled position `[B]` (hard attention during training).
    pub log_prob: Option<Tensor>,
    /// Entropy of α `[B]` in nats (hard attention during training).
    pub entropy: Option<Tensor>,
}

fn one_hot_like(alpha: &Tensor, index: &Tensor) -> Tensor {
    alpha.zeros_like().scatter_value(1, index, 1.0)
}

impl Selection {
    /// Applies the rule to `alpha` `[B, S]` (0 at disallowed positions).
    pub fn select(&self, alpha: &Tensor, train: bool) -> Selected {
        match (self, train) {
            (Selection::Soft, _) => Selected {
                weights: alpha.shallow_clone(),
                log_prob: None,
                entropy: None,
            },
            (Selection::Hard | Selection::Gumbel { .. }, false) => Selected {
                weights: one_hot_like(alpha, &alpha.argmax(1, true)),
                log_prob: None,
                entropy: None,
            },
            (Selection::Hard, true) => {
                let total = alpha.sum_dim_intlist(1, true, alpha.kind());
                let probs = alpha / &total;
                let index = tch::no_grad(|| probs.multinomial(1, true)); // [B,1]
                let log_probs = probs.clamp_min(1e-12).log();
                let entropy = -(&probs * &log_probs).sum_dim_intlist(1, false, alpha.kind());
                Selected {
                    weights: one_hot_like(alpha, &index).detach(),
                    log_prob: Some(log_probs.gather(1, &index, false).squeeze_dim(1)),
                    entropy: Some(entropy),
                }
            }
            (Selection::Gumbel { temperature }, true) => {
                let allowed = alpha.gt(0.0);
                let u = tch::no_grad(|| alpha.rand_like().clamp(1e-10, 1.0 - 1e-10));
                let gumbel = -(-u.log()).log();
                let logits = (alpha.clamp_min(1e-12).log() + gumbel) / *temperature;
                let soft = super::masked_softmax(&logits, &allowed);
                let hard = one_hot_like(alpha, &soft.argmax(1, true));
                Selected {
                    weights: hard - soft.detach() + &soft,
                    log_prob: None,
                    entropy: None,
                }
            }
        }
    }
}
