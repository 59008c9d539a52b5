//! Data-parallel training on c10d (Gloo) over loopback: two ranks of one thread each end with
//! the weights of one rank that accumulates both ranks' batches per update (the union of
//! their batches), and a killed rank makes the other fail with a clear error instead of
//! waiting forever. Each run is a `tolk train` process, so the process-global RNG of one
//! rank is its own.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{tiny_config, tolk};
use tch::Tensor;

fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let mut w = Tensor::read_safetensors(dir.join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

fn write_config(dir: &Path, max_steps: usize) -> std::path::PathBuf {
    let mut cfg = tiny_config(dir, "unused", max_steps);
    cfg.training.validate_every = 5;
    let path = dir.join("tiny.toml");
    std::fs::write(&path, cfg.to_toml()).unwrap();
    path
}

#[test]
fn two_ranks_equal_one_rank_with_the_union_of_their_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 12);
    let train = |model: &str, extra: &[&str]| {
        tolk()
            .args(["train", cfg.to_str().unwrap(), "--set"])
            .arg(format!(
                "training.model_dir={}",
                tmp.path().join(model).display()
            ))
            .args(extra)
            .timeout(Duration::from_secs(300))
            .assert()
            .success();
    };
    train("ddp", &["--nproc", "2", "--set", "training.threads=1"]);
    train("union", &["--set", "training.accumulate_batches=2"]);
    train("single", &[]);
    let ddp = weights(&tmp.path().join("ddp/last"));
    let union = weights(&tmp.path().join("union/last"));
    let single = weights(&tmp.path().join("single/last"));
    assert_eq!(ddp.len(), union.len());
    let (mut max_diff, mut max_single_diff) = (0.0f64, 0.0f64);
    for (((na, a), (nb, b)), (_, c)) in ddp.iter().zip(&union).zip(&single) {
        assert_eq!(na, nb);
        max_diff = max_diff.max((a - b).abs().max().double_value(&[]));
        max_single_diff = max_single_diff.max((a - c).abs().max().double_value(&[]));
    }
    eprintln!(
        "max abs weight difference: ddp vs union {max_diff:e}, vs single {max_single_diff:e}"
    );
    // Same batches, dropout masks and summation order: equal up to float rounding.
    assert!(
        max_diff < 1e-5,
        "2 ranks vs 1 rank with their union: max |Δw| = {max_diff}"
    );
    // ... and really different from 12 updates of one batch each (the test can fail).
    assert!(
        max_single_diff > 1e-3,
        "max |Δw| against single batches = {max_single_diff}"
    );
    // Only rank 0 wrote the model directory: one validation row per validation.
    let metrics = std::fs::read_to_string(tmp.path().join("ddp/metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 3, "{metrics}");
}

#[test]
fn a_killed_rank_makes_the_other_fail_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 1_000_000);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rank = |r: usize| {
        Command::new(env!("CARGO_BIN_EXE_tolk"))
            .args(["train", cfg.to_str().unwrap()])
            .args([
                "--set",
                "training.threads=1",
                "--set",
                "training.max_minutes=2",
            ])
            .args(["--set", "training.distributed_timeout_s=20"])
            .args(["--set", "training.early_stopping_patience=0"])
            .args(["--set", "training.max_epochs=1000000", "--set"])
            .arg(format!(
                "training.model_dir={}",
                tmp.path().join("m").display()
            ))
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .env("RUST_LOG", "warn")
            .env("WORLD_SIZE", "2")
            .env("RANK", r.to_string())
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut r0 = rank(0);
    let mut r1 = rank(1);
    std::thread::sleep(Duration::from_secs(4));
    if let Some(status) = r0.try_wait().unwrap() {
        let mut stderr = String::new();
        std::io::Read::read_to_string(r0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        panic!("rank 0 ended ({status}) before rank 1 was killed: {stderr}");
    }
    r1.kill().unwrap();
    let _ = r1.wait();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = r0.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = r0.kill();
            panic!("rank 0 still running 60 s after rank 1 was killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(r0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    eprintln!(
        "rank 0 after the kill: {status}, {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        stderr.trim()
    );
    assert!(!status.success());
    assert!(
        stderr.contains("rank 0 of 2") && stderr.contains("failed"),
        "stderr: {stderr}"
    );
}

/// NCCL carries CUDA tensors only: asking for it on the CPU stops every rank at once with
/// an error naming the setting, before any rendezvous (no rank waits for a peer).
#[test]
fn nccl_on_the_cpu_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 2);
    let out = tolk()
        .args(["train", cfg.to_str().unwrap(), "--nproc", "2"])
        .args(["--set", "training.threads=1"])
        .args(["--set", "training.distributed_backend=nccl", "--set"])
        .arg(format!(
            "training.model_dir={}",
            tmp.path().join("m").display()
        ))
        .timeout(Duration::from_secs(60))
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("training.distributed_backend = \"nccl\" needs training.device = \"cuda\""),
        "{stderr}"
    );
}
