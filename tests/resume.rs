//! Exact resumption: N steps, save, resume N steps equals 2N steps straight. Alone in its own
//! test binary because libtorch's RNG is process-global: other tests seeding it concurrently
//! would change the dropout masks of one run and not the other.

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
