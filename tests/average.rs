//! `tolk average`: the element-wise mean of a run's checkpoints as a model directory that
//! `tolk translate` reads, an average of one checkpoint translating like that checkpoint, and
//! clear errors.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::tolk;
use predicates::prelude::*;
use tch::Tensor;

fn weights(dir: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(dir.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

fn translate(model: &Path, extra: &[&str]) -> Vec<u8> {
    tolk()
        .args([
            "translate",
            "--model",
            model.to_str().unwrap(),
            "--beam",
            "2",
        ])
        .args(extra)
        .write_stdin("ein mann\nzwei hunde laufen\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn averages_the_last_checkpoints_into_a_model_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let model = common::train_tiny_with_cli(
        tmp.path(),
        30,
        &[
            "--set",
            "training.keep_checkpoints=3",
            "--set",
            "training.checkpoint_every=10",
            "--set",
            "training.validate_every=10",
        ],
    );
    let steps = tolk::artifacts::ModelDir::new(&model)
        .step_checkpoints()
        .unwrap();
    let names: Vec<usize> = steps.iter().map(|(s, _)| *s).collect();
    assert_eq!(names, [10, 20, 30]);

    let avg = tmp.path().join("avg");
    let m = model.to_str().unwrap();
    tolk()
        .args([
            "average",
            "--model",
            m,
            "--last",
            "2",
            "--out",
            avg.to_str().unwrap(),
        ])
        .assert()
        .success();
    let (a, b) = (weights(&steps[1].1), weights(&steps[2].1));
    let mean = weights(&avg.join("best"));
    assert_eq!(mean.len(), a.len());
    let mut moved = false;
    for (name, got) in &mean {
        let want = (&a[name] + &b[name]) / 2.0;
        let err = (got - &want).abs().max().double_value(&[]);
        assert!(err < 1e-6, "{name}: off by {err}");
        moved |= !a[name].equal(&b[name]);
    }
    assert!(
        moved,
        "the two checkpoints are identical: the test proves nothing"
    );
    assert!(avg.join("config.toml").exists());
    assert!(!translate(&avg, &[]).is_empty());

    // One checkpoint averaged is that checkpoint.
    let one = tmp.path().join("one");
    tolk()
        .args([
            "average",
            "--model",
            m,
            "step-30",
            "--out",
            one.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert_eq!(
        translate(&one, &[]),
        translate(&model, &["--checkpoint", "step-30"])
    );

    // Errors: more checkpoints than kept, a missing name, an output that is not empty.
    let bad = tmp.path().join("bad");
    tolk()
        .args([
            "average",
            "--model",
            m,
            "--last",
            "5",
            "--out",
            bad.to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "5 step checkpoints asked for, 3 present",
        ));
    tolk()
        .args([
            "average",
            "--model",
            m,
            "step-7",
            "--out",
            bad.to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no checkpoint named \"step-7\""));
    tolk()
        .args([
            "average",
            "--model",
            m,
            "--last",
            "2",
            "--out",
            avg.to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("exists and is not empty"));
}
