//! Training loss.

use tch::{Reduction, Tensor};

/// Label-smoothed cross entropy (Szegedy et al. 2016, §7), summed over non-padding target
/// positions: loss = Σ_t (1-ε)·(−log p(y_t)) + ε·mean_v(−log p(v)).
///
/// `logits` `[N, V]`, `targets` `[N]` int64, positions equal to `pad` are ignored. Returns
/// `(smoothed loss sum, plain NLL sum)`, both scalars in nats; the NLL gives perplexity.
pub fn label_smoothed_loss(
    logits: &Tensor,
    targets: &Tensor,
    epsilon: f64,
    pad: i64,
) -> (Tensor, Tensor) {
    let log_probs = logits.log_softmax(-1, logits.kind());
    let keep = targets.ne(pad);
    let nll = log_probs
        .nll_loss_nd::<Tensor>(targets, None, Reduction::None, pad)
        .masked_select(&keep)
        .sum(log_probs.kind());
    if epsilon == 0.0 {
        return (nll.shallow_clone(), nll);
    }
    let smooth = (-log_probs.mean_dim(-1, false, log_probs.kind()))
        .masked_select(&keep)
        .sum(log_probs.kind());
    ((1.0 - epsilon) * &nll + epsilon * smooth, nll)
}
