//! The training objective of one batch: label-smoothed cross entropy, plus the coverage loss
//! (See et al. 2017, eq. 12-13) and, for hard attention, the REINFORCE term with a moving-average
//! baseline and an entropy bonus (Xu et al. 2015, arXiv 1502.03044, §4.1, eq. 11-12).

use tch::{Kind, Tensor};

use super::loss::label_smoothed_loss;
use crate::config::TrainingConfig;
use crate::model::DecoderOutput;
use crate::subword::PAD_ID;

/// Loss of a batch, per target token.
#[derive(Debug)]
pub struct Objective {
    /// The scalar to differentiate.
    pub loss: Tensor,
    /// Label-smoothed cross entropy per target token (nats), for logging.
    pub cross_entropy: f64,
}

/// Builds the objective of update number `step` (0-based; it decides whether the coverage loss
/// is on, see [`TrainingConfig::coverage_weight_at`]) from a teacher-forced decoder output and
/// the targets `tgt_out` `[B, T]` (PAD-padded). `baseline` is the REINFORCE reward baseline b,
/// updated in place as b ← decay·b + (1 − decay)·mean(R); the reward R of a sentence is its
/// mean per-token log-likelihood under the sampled attention path.
pub fn objective(
    out: &DecoderOutput,
    tgt_out: &Tensor,
    tc: &TrainingConfig,
    step: usize,
    baseline: &mut Option<f64>,
) -> Objective {
    // fp32 also under autocast: the sums below would lose precision (or overflow, in fp16).
    let mask = tgt_out.ne(PAD_ID).to_kind(Kind::Float); // [B,T]
    let tokens = (out.logits.size()[0] as f64).max(1.0); // logits rows = non-PAD targets
    let targets = out.packed(tgt_out); // [N]
    let (ce_sum, _) = label_smoothed_loss(&out.logits, &targets, tc.label_smoothing, PAD_ID);
    let cross_entropy = &ce_sum / tokens;
    let coverage_weight = tc.coverage_weight_at(step);
    let mut loss = match &out.coverage_penalty {
        Some(pen) if coverage_weight > 0.0 => {
            &cross_entropy + (pen * &mask).sum(Kind::Float) * (coverage_weight / tokens)
        }
        _ => cross_entropy.shallow_clone(),
    };
    if let (Some(logp), Some(entropy)) = (&out.selected_log_prob, &out.entropy) {
        let reward = tch::no_grad(|| {
            let lp = out.logits.log_softmax(-1, Kind::Float);
            let tok = lp.gather(1, &targets.unsqueeze(-1), false).squeeze_dim(-1); // [N]
            let lengths = mask.sum_dim_intlist(1, false, lp.kind()); // [B]
            let per_sentence = lengths
                .zeros_like()
                .index_add(0, &out.sentence_of_rows(), &tok);
            per_sentence / lengths.clamp_min(1.0)
        }); // [B]
        let mean_reward = reward.mean(Kind::Double).double_value(&[]);
        let b = baseline.unwrap_or(mean_reward);
        let advantage = (&reward - b).unsqueeze(1); // [B,1]
        let reinforce = -(advantage * logp * &mask).sum(Kind::Float) / tokens;
        let bonus = (entropy * &mask).sum(Kind::Float) * (tc.hard_attention_entropy / tokens);
        loss = loss + reinforce - bonus;
        let decay = tc.hard_attention_baseline_decay;
        *baseline = Some(decay * b + (1.0 - decay) * mean_reward);
    }
    Objective {
        cross_entropy: cross_entropy.double_value(&[]),
        loss,
    }
}
