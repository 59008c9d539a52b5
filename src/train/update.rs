//! One training update: forward with teacher forcing, the objective, backward, gradient
//! clipping and the Adam step. The trainer, the benchmark and the tests all call this, so the
//! update they measure is the one that trains.

use super::objective::objective;
use super::optimizer::Adam;
use crate::batch::Batch;
use crate::config::TrainingConfig;
use crate::error::Error;
use crate::model::Seq2Seq;

/// What one update reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateReport {
    /// Label-smoothed cross entropy per target token (nats), without the auxiliary terms.
    pub cross_entropy: f64,
    /// The full objective that was differentiated, per target token.
    pub loss: f64,
}

/// Performs update number `step` (0-based) on `batch` with learning rate `lr`.
///
/// The dropout RNG is reseeded from `tc.seed` and `step` first, so an update is reproducible
/// whatever came before it (what makes a resumed run equal an uninterrupted one). `baseline`
/// is the REINFORCE baseline of hard attention, updated in place.
///
/// Errors: [`Error::Diverged`] when the loss is not finite (training diverged at this update).
pub fn train_step(
    model: &Seq2Seq,
    optimizer: &mut Adam,
    batch: &Batch,
    tc: &TrainingConfig,
    step: usize,
    lr: f64,
    baseline: &mut Option<f64>,
) -> Result<UpdateReport, Error> {
    tch::manual_seed(tc.seed as i64 ^ (step as i64 + 1).wrapping_mul(0x9E37_79B9));
    let mut forward = || {
        crate::kernels::with_fused(tc.fused_kernels, || {
            let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, true);
            objective(&out, &batch.tgt_out, tc, step, baseline)
        })
    };
    // bf16 autocast covers the forward pass only, as in PyTorch's recipe: the backward follows
    // the recorded casts, and the weight-copy cache is cleared before the weights change.
    let obj = if tc.precision.uses_bf16() {
        crate::kernels::shim::with_cpu_autocast_bf16(forward)
    } else {
        forward()
    };
    optimizer.zero_grad();
    obj.loss.backward();
    optimizer.lr = lr;
    optimizer.clip_and_step(tc.clip_grad_norm);
    let report = UpdateReport {
        cross_entropy: obj.cross_entropy,
        loss: obj.loss.double_value(&[]),
    };
    if !report.cross_entropy.is_finite() || !report.loss.is_finite() {
        return Err(Error::Diverged(format!(
            "training diverged at step {}: loss {}",
            step + 1,
            report.cross_entropy
        )));
    }
    Ok(report)
}
