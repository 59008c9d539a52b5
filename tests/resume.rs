//! Exact resumption: N steps, save, resume N steps equals 2N steps straight; likewise a run
//! stopped on request. In a test binary of their own, each holding `rng_lock`, because
//! libtorch's RNG is process-global: tests seeding it concurrently would change the dropout
//! masks of one run and not the other.

use std::fs;
use std::path::Path;

use tch::Tensor;
mod common;

use common::tiny_config;

fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let mut w = Tensor::read_safetensors(dir.join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

#[test]
fn resumed_run_equals_straight_run() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let n = 12;
    let straight = tolk::train::train(&tiny_config(tmp.path(), "straight", 2 * n), false).unwrap();
    let first = tolk::train::train(&tiny_config(tmp.path(), "resumed", n), false).unwrap();
    assert_eq!(first.steps, n);
    // A second plain start must refuse to overwrite the run.
    assert!(tolk::train::train(&tiny_config(tmp.path(), "resumed", 2 * n), false).is_err());
    let resumed = tolk::train::train(&tiny_config(tmp.path(), "resumed", 2 * n), true).unwrap();
    assert_eq!(straight.steps, 2 * n);
    assert_eq!(resumed.steps, 2 * n);
    assert!(
        (straight.last_loss - resumed.last_loss).abs() < 1e-6,
        "loss {} vs {}",
        straight.last_loss,
        resumed.last_loss
    );
    let a = weights(&tmp.path().join("straight/last"));
    let b = weights(&tmp.path().join("resumed/last"));
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        // Dropout masks of update n come from seed + n, so resumption is bit-exact.
        assert!(ta.equal(tb), "{na} differs");
    }
    // Metrics rows: one per validation, the same steps in both runs.
    let ma = fs::read_to_string(tmp.path().join("straight/metrics.csv")).unwrap();
    let mb = fs::read_to_string(tmp.path().join("resumed/metrics.csv")).unwrap();
    let steps = |m: &str| -> Vec<String> {
        m.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(steps(&ma), vec!["7", "14", "21", "24"]);
    assert_eq!(steps(&mb), vec!["7", "12", "14", "21", "24"]);
    assert!(tmp.path().join("straight/tokenizer.json").exists());
    assert!(tmp.path().join("straight/best/model.safetensors").exists());
}

/// A run stopped through [`tolk::train::TrainControl`] (the Python binding's Ctrl-C) saves
/// `last/` at the step it stopped and reports it; resumed, it ends where a straight run does,
/// bit for bit. Validation rows reach the control's receiver as they are logged.
#[test]
fn run_stopped_on_request_resumes_to_the_straight_run() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let n = 20;
    let straight = tolk::train::train(&tiny_config(tmp.path(), "straight", n), false).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let control = tolk::train::TrainControl::reporting_to(tx);
    let config = tiny_config(tmp.path(), "stopped", n);
    let watcher = {
        let control = control.clone();
        // Stop as soon as the first validation row (step 7) arrives.
        std::thread::spawn(move || {
            let row = rx.recv().unwrap();
            control.request_stop();
            row.step
        })
    };
    let stopped = tolk::train::train_with(&config, tolk::train::Start::Fresh, &control).unwrap();
    assert_eq!(watcher.join().unwrap(), 7);
    assert!(stopped.stopped_on_request);
    assert!(
        (7..n).contains(&stopped.steps),
        "stopped at {}",
        stopped.steps
    );
    let state: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("stopped/last/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["step"], stopped.steps);
    let resumed = tolk::train::train(&config, true).unwrap();
    assert_eq!((resumed.steps, resumed.stopped_on_request), (n, false));
    assert_eq!(straight.steps, n);
    let (a, b) = (
        weights(&tmp.path().join("straight/last")),
        weights(&tmp.path().join("stopped/last")),
    );
    for ((na, ta), (_, tb)) in a.iter().zip(&b) {
        assert!(ta.equal(tb), "{na} differs");
    }
}
