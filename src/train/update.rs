//! One training update: forward with teacher forcing, the objective, backward, gradient
//! clipping and the Adam step. The trainer, the benchmark and the tests all call this, so the
//! update they measure is the one that trains.
//!
//! An update may span several batches: gradient accumulation (`training.accumulate_batches`,
//! OpenNMT-py's `accum_count`, Marian's `--optimizer-delay`) and data-parallel ranks
//! ([`crate::distributed`]). Its gradient is then that of the loss per target token over all
//! those batches together, the gradient of one batch holding their union: each batch's
//! per-token objective is weighted by its target tokens, the weighted gradients are summed
//! (over batches, then over ranks), and the sum is divided by the total tokens.

use super::loss_scale::LossScale;
use super::objective::objective;
use super::optimizer::Adam;
use super::state::UpdateCarry;
use crate::batch::Batch;
use crate::config::TrainingConfig;
use crate::distributed::{GradientBuckets, ProcessGroup};
use crate::error::Error;
use crate::model::Seq2Seq;

/// What one update reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateReport {
    /// Label-smoothed cross entropy per target token (nats) of this rank's batches, without
    /// the auxiliary terms.
    pub cross_entropy: f64,
    /// The full objective that was differentiated, per target token of this rank's batches.
    pub loss: f64,
    /// Target tokens of this rank's batches (the weight of `cross_entropy` and `loss`).
    pub local_target_tokens: usize,
    /// Target tokens of the update over all ranks.
    pub target_tokens: usize,
    /// Whether any rank reported `out_of_time` for this update (so all stop together).
    pub out_of_time: bool,
    /// fp16: a gradient overflowed, so the weights were left as they were and the loss scale
    /// halved (every rank sees the same all-reduced gradients, so all skip together).
    pub skipped: bool,
}

/// Where an update stands: its number, learning rate and the first micro-batch index of this
/// rank.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdatePlan {
    /// Update number (0-based).
    pub step: usize,
    /// Learning rate of this update.
    pub lr: f64,
    /// Index of this rank's first batch among the update's batches (`rank ×
    /// accumulate_batches`): with the step it seeds each batch's dropout, so a batch draws the
    /// same masks whichever rank trains it.
    pub first_micro_batch: usize,
    /// Whether this rank's wall-clock budget is used up; all-reduced, see
    /// [`UpdateReport::out_of_time`].
    pub out_of_time: bool,
}

/// The other ranks of a data-parallel run, and how the gradients travel to them.
#[derive(Debug, Clone, Copy)]
pub struct Replicas<'a> {
    /// The joined process group.
    pub group: &'a ProcessGroup,
    /// The bucket layout of the optimiser's parameters.
    pub buckets: &'a GradientBuckets,
}

/// Performs update number `step` (0-based) on `batch` with learning rate `lr`: a single batch
/// on a single process.
///
/// The dropout RNG is reseeded from `tc.seed` and `step` first, so an update is reproducible
/// whatever came before it (what makes a resumed run equal an uninterrupted one). `carry`
/// holds what updates hand on (the REINFORCE baseline of hard attention, the fp16 loss
/// scale), updated in place.
///
/// Errors: [`Error::Diverged`] when the loss is not finite (training diverged at this update).
pub fn train_step(
    model: &Seq2Seq,
    optimizer: &mut Adam,
    batch: &Batch,
    tc: &TrainingConfig,
    step: usize,
    lr: f64,
    carry: &mut UpdateCarry,
) -> Result<UpdateReport, Error> {
    let plan = UpdatePlan {
        step,
        lr,
        first_micro_batch: 0,
        out_of_time: false,
    };
    train_update(
        model,
        optimizer,
        std::slice::from_ref(batch),
        tc,
        &plan,
        carry,
        None,
    )
}

/// Performs one update over this rank's `batches` (one or more) and, with `replicas`, the
/// other ranks' batches. Each batch's dropout RNG is reseeded from `tc.seed`, the step and its
/// micro-batch index. With one batch and no replicas this is exactly the plain update: the
/// objective is differentiated as it is, without the token weighting.
///
/// With `training.precision = "fp16"` the loss is multiplied by the dynamic loss scale S of
/// `carry` before the backward pass and the gradients by 1/S after the all-reduce; an update
/// whose gradients overflowed leaves the weights and Adam alone ([`UpdateReport::skipped`]),
/// see [`LossScale`].
///
/// Errors: [`Error::Diverged`] when the loss is not finite; [`Error::Distributed`] when the
/// all-reduce fails.
pub fn train_update(
    model: &Seq2Seq,
    optimizer: &mut Adam,
    batches: &[Batch],
    tc: &TrainingConfig,
    plan: &UpdatePlan,
    carry: &mut UpdateCarry,
    replicas: Option<&Replicas>,
) -> Result<UpdateReport, Error> {
    let weighted = batches.len() > 1 || replicas.is_some();
    let mut scaler = tc.precision.scales_loss().then(|| {
        *carry
            .loss_scale
            .get_or_insert(LossScale::new(tc.loss_scale_init))
    });
    let loss_scale = scaler.map_or(1.0, |ls| ls.scale);
    let autocast = batches
        .first()
        .and_then(|b| tc.precision.autocast(b.src.device()));
    optimizer.zero_grad();
    let (mut ce_sum, mut loss_sum, mut tokens) = (0.0, 0.0, 0usize);
    for (k, batch) in batches.iter().enumerate() {
        seed_dropout(tc.seed, plan.step, plan.first_micro_batch + k);
        let mut forward = || {
            crate::kernels::with_fused(tc.fused_kernels, || {
                let out = model.forward(&batch.src, &batch.src_lengths, &batch.tgt_in, true);
                objective(
                    &out,
                    &batch.tgt_out,
                    tc,
                    plan.step,
                    &mut carry.reinforce_baseline,
                )
            })
        };
        // Autocast covers the forward pass only, as in PyTorch's recipe: the backward follows
        // the recorded casts, and the weight-copy cache is cleared before the weights change.
        let obj = match autocast {
            Some(a) => crate::kernels::shim::with_autocast(a, forward),
            None => forward(),
        };
        let t = batch.target_tokens as f64;
        let weight = if weighted { t } else { 1.0 } * loss_scale;
        if weight == 1.0 {
            obj.loss.backward();
        } else {
            (&obj.loss * weight).backward();
        }
        ce_sum += obj.cross_entropy * t;
        loss_sum += obj.loss.double_value(&[]) * t;
        tokens += batch.target_tokens;
    }
    let (total_tokens, out_of_time) = match replicas {
        Some(r) => reduce_over_ranks(optimizer, r, tokens, plan.out_of_time)?,
        None => (tokens, plan.out_of_time),
    };
    let factor = if weighted {
        1.0 / total_tokens.max(1) as f64
    } else {
        1.0
    };
    let skipped = match &mut scaler {
        Some(ls) => {
            let overflowed = ls.unscale(optimizer.params(), factor);
            ls.update(overflowed, tc.loss_scale_window);
            carry.loss_scale = Some(*ls);
            overflowed
        }
        None => {
            if weighted {
                scale_gradients(optimizer, factor);
            }
            false
        }
    };
    if skipped {
        optimizer.zero_grad();
    } else {
        optimizer.lr = plan.lr;
        optimizer.clip_and_step(tc.clip_grad_norm);
    }
    let local = tokens.max(1) as f64;
    let report = UpdateReport {
        cross_entropy: ce_sum / local,
        loss: loss_sum / local,
        local_target_tokens: tokens,
        target_tokens: total_tokens,
        out_of_time,
        skipped,
    };
    if !report.cross_entropy.is_finite() || !report.loss.is_finite() {
        return Err(Error::Diverged(format!(
            "training diverged at step {}: loss {}",
            plan.step + 1,
            report.cross_entropy
        )));
    }
    Ok(report)
}

/// Reseeds the global RNG (dropout) for micro-batch `micro` of update `step`; micro-batch 0
/// gets the seed a single-batch update always had.
fn seed_dropout(seed: u64, step: usize, micro: usize) {
    let base = seed as i64 ^ (step as i64 + 1).wrapping_mul(0x9E37_79B9);
    tch::manual_seed(base ^ (micro as i64).wrapping_mul(0x2545_F491_4F6C_DD1D));
}

/// Sums the token-weighted gradients, the token counts and the out-of-time votes over ranks.
fn reduce_over_ranks(
    optimizer: &Adam,
    replicas: &Replicas,
    tokens: usize,
    out_of_time: bool,
) -> Result<(usize, bool), Error> {
    replicas
        .buckets
        .all_reduce_gradients(optimizer.params(), replicas.group)?;
    let counts = tch::Tensor::from_slice(&[tokens as f64, f64::from(u8::from(out_of_time))]);
    replicas
        .group
        .all_reduce_sum(std::slice::from_ref(&counts))?;
    let total = counts.double_value(&[0]).round() as usize;
    Ok((total, counts.double_value(&[1]) > 0.0))
}

/// Multiplies every defined gradient by `factor`, in place.
fn scale_gradients(optimizer: &Adam, factor: f64) {
    tch::no_grad(|| {
        for p in optimizer.params() {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.g_mul_scalar_(factor);
            }
        }
    });
}
