//! The training state saved with every checkpoint (`state.json`): with the weights and the
//! optimizer moments it is everything a resumed run needs to continue exactly as an
//! uninterrupted one would.

use serde::{Deserialize, Serialize};

use super::loss_scale::LossScale;
use super::schedule::PlateauSchedule;

/// Everything besides tensors needed to continue a run exactly.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingState {
    /// Updates done.
    pub step: usize,
    /// Current epoch (0-based).
    pub epoch: usize,
    /// Batches of `epoch` already consumed; the epoch's order is re-derived from the seed.
    pub batch_in_epoch: usize,
    /// Learning-rate / early-stopping state.
    pub schedule: PlateauSchedule,
    /// Wall time spent training so far, seconds.
    pub elapsed_seconds: f64,
    /// Target tokens seen so far.
    pub target_tokens: u64,
    /// Validation BLEU of this checkpoint's weights (best/ only).
    pub valid_bleu: Option<f64>,
    /// What each update hands to the next (REINFORCE baseline, loss scale); its fields sit at
    /// the top level of `state.json`.
    #[serde(flatten)]
    pub carry: UpdateCarry,
    /// Training loss since the last validation (the next metrics row's `train_loss`).
    #[serde(default)]
    pub window: LossWindow,
    /// Step of the last validation, if any (so a resumed run does not validate it twice).
    #[serde(default)]
    pub validated_at: Option<usize>,
    /// Early stopping ended the run; `--resume` has nothing left to do. (A run that used up
    /// its budget can be resumed with a larger one.)
    #[serde(default)]
    pub stopped_early: bool,
}

/// What one update hands to the next besides the weights and the optimizer moments.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct UpdateCarry {
    /// Hard attention: the REINFORCE reward baseline.
    #[serde(default)]
    pub reinforce_baseline: Option<f64>,
    /// fp16 training: the dynamic loss scale (set at the first update).
    #[serde(default)]
    pub loss_scale: Option<LossScale>,
}

/// Sums for the training loss reported at the next validation.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct LossWindow {
    /// Σ cross entropy × target tokens over the updates since the last validation.
    pub loss_sum: f64,
    /// Target tokens of those updates.
    pub tokens: usize,
}

impl TrainingState {
    /// The state of a new run with learning rate `learning_rate`.
    pub fn fresh(learning_rate: f64) -> Self {
        Self {
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            schedule: PlateauSchedule::new(learning_rate),
            elapsed_seconds: 0.0,
            target_tokens: 0,
            valid_bleu: None,
            carry: UpdateCarry::default(),
            window: LossWindow::default(),
            validated_at: None,
            stopped_early: false,
        }
    }
}
