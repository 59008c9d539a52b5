//! Validation-driven schedule: reduce the learning rate on a plateau of the validation score
//! and stop early when it stops improving (as in Joey NMT's `plateau` scheduler).

use serde::{Deserialize, Serialize};

/// What the schedule decided after a validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new best score: save the best checkpoint.
    NewBest,
    /// No improvement; keep going.
    Continue,
    /// Patience for early stopping is used up, or the rate fell below its floor.
    Stop,
}

/// Plateau scheduler state; saved in checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlateauSchedule {
    /// Best validation score so far (higher is better, e.g. BLEU).
    pub best: Option<f64>,
    /// Validations since the last best (for the LR decay).
    pub bad_for_lr: usize,
    /// Validations since the last best (for early stopping).
    pub bad_for_stop: usize,
    /// Current learning rate.
    pub lr: f64,
}

impl PlateauSchedule {
    /// Starts at learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self {
            best: None,
            bad_for_lr: 0,
            bad_for_stop: 0,
            lr,
        }
    }

    /// Records a validation `score` (higher is better). The validation that makes more than
    /// `patience` in a row without a new best (the `patience + 1`-th, as PyTorch's
    /// `ReduceLROnPlateau`) multiplies the rate by `factor` and restarts that count; the
    /// `stop_patience`-th in a row (0 = never), or a rate below `min_lr`, stops.
    pub fn observe(
        &mut self,
        score: f64,
        patience: usize,
        factor: f64,
        min_lr: f64,
        stop_patience: usize,
    ) -> Decision {
        if self.best.is_none_or(|b| score > b) {
            self.best = Some(score);
            self.bad_for_lr = 0;
            self.bad_for_stop = 0;
            return Decision::NewBest;
        }
        self.bad_for_lr += 1;
        self.bad_for_stop += 1;
        if self.bad_for_lr > patience {
            self.lr *= factor;
            self.bad_for_lr = 0;
            tracing::info!(lr = self.lr, "validation plateau: learning rate reduced");
        }
        if (stop_patience > 0 && self.bad_for_stop >= stop_patience) || self.lr < min_lr {
            Decision::Stop
        } else {
            Decision::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_after_patience_and_stops() {
        let mut s = PlateauSchedule::new(1.0);
        assert_eq!(s.observe(10.0, 1, 0.5, 0.0, 3), Decision::NewBest);
        assert_eq!(s.observe(9.0, 1, 0.5, 0.0, 3), Decision::Continue);
        assert_eq!(s.lr, 1.0);
        assert_eq!(s.observe(9.0, 1, 0.5, 0.0, 3), Decision::Continue);
        assert_eq!(s.lr, 0.5);
        assert_eq!(s.observe(9.0, 1, 0.5, 0.0, 3), Decision::Stop);
        assert_eq!(s.observe(11.0, 1, 0.5, 0.0, 3), Decision::NewBest);
        assert_eq!(s.bad_for_stop, 0);
    }

    /// The reference config's numbers: patience 2, early stopping 8.
    #[test]
    fn the_rate_drops_at_the_third_bad_validation_and_training_stops_at_the_eighth() {
        let mut s = PlateauSchedule::new(1.0);
        assert_eq!(s.observe(10.0, 2, 0.5, 0.0, 8), Decision::NewBest);
        let mut lrs = Vec::new();
        let mut decisions = Vec::new();
        for _ in 0..8 {
            decisions.push(s.observe(5.0, 2, 0.5, 0.0, 8));
            lrs.push(s.lr);
        }
        assert_eq!(lrs, vec![1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
        assert_eq!(decisions[..7], [Decision::Continue; 7]);
        assert_eq!(decisions[7], Decision::Stop);
    }

    #[test]
    fn stops_below_min_lr() {
        let mut s = PlateauSchedule::new(1.0);
        s.observe(1.0, 0, 0.1, 0.5, 0);
        assert_eq!(s.observe(0.0, 0, 0.1, 0.5, 0), Decision::Stop);
    }
}
