//! The training state saved with every checkpoint (`state.json`).

use serde::{Deserialize, Serialize};

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
    /// Hard attention: the REINFORCE reward baseline.
    #[serde(default)]
    pub reinforce_baseline: Option<f64>,
}
