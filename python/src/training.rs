//! `tolk.train`: the library's trainer ([`tolk::train::train_with`]) in this process, on a
//! thread of its own, with the GIL released. The calling thread hands each validation row to
//! the caller's callback and checks for Ctrl-C between rows; Ctrl-C asks the run to stop after
//! its current update, which saves `last/` (`resume=True` continues from there), and then
//! raises `KeyboardInterrupt`.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use pyo3::prelude::*;
use tolk::artifacts::metrics_log::MetricsRow;
use tolk::config::Config;
use tolk::train::{train_with, Start, TrainControl, TrainSummary};

use crate::errors::{from_anyhow, input};

/// How often the waiting thread looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// A validation row for Python: the columns of `metrics.csv`, in its order.
type Row = (usize, usize, f64, f64, f64, f64, f64, f64, f64, u64, f64);

fn row_tuple(r: &MetricsRow) -> Row {
    (
        r.step,
        r.epoch,
        r.train_loss,
        r.valid_loss,
        r.valid_ppl,
        r.valid_bleu,
        r.valid_chrf,
        r.learning_rate,
        r.elapsed_s,
        r.target_tokens,
        r.train_tokens_per_s,
    )
}

/// A finished run for Python: (steps, last loss, best validation BLEU, seconds, target tokens,
/// stopped on request).
type Summary = (usize, f64, Option<f64>, f64, u64, bool);

/// Trains the config at `config_path` with `overrides` (`section.key=value`); see
/// `tolk.train` (python/tolk/training.py).
#[pyfunction]
#[pyo3(signature = (config_path, overrides=Vec::new(), resume=false, overwrite=false,
                    on_validation=None))]
pub fn train(
    py: Python<'_>,
    config_path: PathBuf,
    overrides: Vec<String>,
    resume: bool,
    overwrite: bool,
    on_validation: Option<Py<PyAny>>,
) -> PyResult<Summary> {
    let start = match (resume, overwrite) {
        (true, true) => return Err(input("resume and overwrite cannot both be set")),
        (true, false) => Start::Resume,
        (false, true) => Start::Overwrite,
        (false, false) => Start::Fresh,
    };
    let config = Config::from_file_with_overrides(&config_path, &overrides).map_err(from_anyhow)?;
    let (tx, rx) = mpsc::channel();
    // Received on this thread only; the mutex makes it shareable with the GIL released.
    let rx = std::sync::Mutex::new(rx);
    let control = TrainControl::reporting_to(tx);
    let run = {
        let control = control.clone();
        std::thread::Builder::new()
            .name("tolk-train".into())
            .spawn(move || train_with(&config, start, &control))
            .map_err(|e| input(format!("cannot start the training thread: {e}")))?
    };
    let mut interrupted: Option<PyErr> = None;
    // `control` keeps a sender, so the channel never disconnects: the loop ends when the
    // thread does, after the rows it sent last.
    let mut finished = false;
    while !finished {
        finished = run.is_finished();
        let received = py.detach(|| {
            let rx = rx.lock().map_err(|_| RecvTimeoutError::Disconnected)?;
            if finished {
                rx.try_recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                rx.recv_timeout(SIGNAL_POLL)
            }
        });
        if let Ok(row) = received {
            finished = false; // more rows may follow
            if let (Some(cb), None) = (&on_validation, &interrupted) {
                if let Err(e) = cb.call1(py, (row_tuple(&row),)) {
                    control.request_stop();
                    interrupted = Some(e);
                }
            }
        }
        if interrupted.is_none() {
            if let Err(e) = py.check_signals() {
                control.request_stop();
                interrupted = Some(e);
            }
        }
    }
    let result = py
        .detach(|| run.join())
        .map_err(|_| input("the training thread panicked"))?;
    let summary: TrainSummary = result.map_err(from_anyhow)?;
    if let Some(e) = interrupted {
        return Err(e);
    }
    Ok((
        summary.steps,
        summary.last_loss,
        summary.best_valid_bleu,
        summary.elapsed_seconds,
        summary.target_tokens,
        summary.stopped_on_request,
    ))
}
