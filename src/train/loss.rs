//! Training loss.

use tch::{Kind, Reduction, Tensor};

/// Label-smoothed cross entropy (Szegedy et al. 2016, §7), summed over non-padding target
/// positions: loss = Σ_t (1-ε)·(−log p(y_t)) + ε·mean_v(−log p(v)).
///
/// `logits` `[N, V]` (fp32, or bf16 under autocast: the loss is fp32 either way), `targets`
/// `[N]` int64, positions equal to `pad` are ignored. Returns
/// `(smoothed loss sum, plain NLL sum)`, both scalars in nats; the NLL gives perplexity.
///
/// Inside [`crate::kernels::with_fused`] (training with `training.fused_kernels`) the loss and
/// its gradient come from one fused pass ([`crate::kernels::cross_entropy`]), attached to
/// `logits` through a surrogate: s = ⟨logits, g⟩ with g detached, returned as loss + s −
/// s.detach(), whose value is the loss and whose gradient is g. The NLL sum then carries no
/// gradient.
pub fn label_smoothed_loss(
    logits: &Tensor,
    targets: &Tensor,
    epsilon: f64,
    pad: i64,
) -> (Tensor, Tensor) {
    // The loss is computed in fp32 also when the logits come from bf16 matrix products.
    let logits = &logits.to_kind(Kind::Float);
    if crate::kernels::fused_enabled() {
        if let Some(ce) =
            crate::kernels::label_smoothed_cross_entropy(logits, targets, epsilon, pad)
        {
            let scalar = |x: f64| Tensor::scalar_tensor(x, (logits.kind(), logits.device()));
            let (loss, nll) = (scalar(ce.loss_sum), scalar(ce.nll_sum));
            if !logits.requires_grad() {
                return (loss, nll);
            }
            let surrogate = logits.flatten(0, -1).dot(&ce.grad.flatten(0, -1));
            return (loss + (&surrogate - surrogate.detach()), nll);
        }
    }
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
