//! What a caller can see of, and do to, a training run in progress in its own process: the
//! validation rows as they are logged, and a request to stop after the current update with
//! `last/` saved (the Python binding's progress iterator and Ctrl-C).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::artifacts::metrics_log::MetricsRow;

/// A handle shared between a training run and its caller. Clones share the stop request.
///
/// The default control reports nothing and is never stopped (the CLI's `tolk train`).
#[derive(Debug, Clone, Default)]
pub struct TrainControl {
    stop: Arc<AtomicBool>,
    rows: Option<Sender<MetricsRow>>,
}

impl TrainControl {
    /// A control that sends every validation row to `rows` after it is appended to
    /// `metrics.csv` (a closed receiver is ignored).
    pub fn reporting_to(rows: Sender<MetricsRow>) -> Self {
        Self {
            rows: Some(rows),
            ..Self::default()
        }
    }

    /// Asks the run to stop after its current update. It then saves `last/` (weights,
    /// optimizer moments, state: `--resume` continues from there) and returns its summary with
    /// [`crate::train::TrainSummary::stopped_on_request`] set. Heeded by a run of one process
    /// only; a rank of a data-parallel run ignores it.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether [`TrainControl::request_stop`] was called.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sends `row` to the caller, if it asked for rows.
    pub(crate) fn report(&self, row: &MetricsRow) {
        if let Some(tx) = &self.rows {
            let _ = tx.send(row.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_stop_request_and_rows_reach_the_receiver() {
        let (tx, rx) = std::sync::mpsc::channel();
        let control = TrainControl::reporting_to(tx);
        let other = control.clone();
        assert!(!control.stop_requested());
        other.request_stop();
        assert!(control.stop_requested());
        let row = MetricsRow {
            step: 7,
            epoch: 0,
            train_loss: 1.0,
            valid_loss: 2.0,
            valid_ppl: 2f64.exp(),
            valid_bleu: 3.0,
            valid_chrf: 4.0,
            learning_rate: 1e-3,
            elapsed_s: 5.0,
            target_tokens: 6,
            train_tokens_per_s: 7.0,
        };
        control.report(&row);
        assert_eq!(rx.try_recv().unwrap(), row);
        drop(rx);
        control.report(&row); // a closed receiver is not an error
    }
}
