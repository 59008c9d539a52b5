//! A crash test that really kills: `tolk train` on a tiny config runs as a child process, is
//! sent SIGKILL at pseudo-random moments (and, for some kills, as soon as a checkpoint write
//! is seen in progress), and is resumed each time. The final weights, optimizer moments and
//! loss curve must be bit-identical to those of an uninterrupted run with the same seed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tolk::artifacts::metrics_log::{self, MetricsRow};

/// Writes the tiny config for a run into `dir/model_dir`: 90 updates (several epochs),
/// validation every 20, `last/` every 3 updates, the 3 newest `step-N/` kept.
fn config(dir: &Path, model_dir: &str) -> PathBuf {
    let mut c = common::tiny_config(dir, model_dir, 90);
    c.training.validate_every = 20;
    c.training.checkpoint_every = 3;
    c.training.keep_checkpoints = 3;
    c.training.log_every = 10;
    let path = dir.join(format!("{model_dir}.toml"));
    std::fs::write(&path, c.to_toml()).unwrap();
    path
}

fn train(config: &Path, resume: bool) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("tolk"));
    cmd.arg("train").arg(config);
    if resume {
        cmd.arg("--resume");
    }
    cmd.env("OMP_WAIT_POLICY", "PASSIVE")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tolk train starts")
}

/// Waits for the child with a deadline; panics if it fails or hangs.
fn finish(mut child: Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what}: tolk train failed: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "{what}: tolk train hangs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How a child run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    /// It finished before the kill.
    Finished,
    /// SIGKILL at the chosen moment.
    Killed,
    /// SIGKILL while it was writing `last/` (a `last.tmp/` it created existed).
    KilledInCheckpointWrite,
}

/// When to kill a child run.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// This long after its start (start-up: BPE, libtorch, data).
    AfterStart(Duration),
    /// This long after it has written a checkpoint newer than `step` (an update, a validation
    /// or the next checkpoint write is in progress).
    AfterCheckpoint { step: u64, delay: Duration },
    /// As soon as it is seen writing `last/`.
    InCheckpointWrite,
}

/// The step of the newest complete `last/` checkpoint of `model`.
fn saved_step(model: &Path) -> Option<u64> {
    let dir = tolk::artifacts::checkpoint::resolve(&model.join("last")).ok()??;
    let state = tolk::artifacts::checkpoint::load_state::<serde_json::Value>(&dir).ok()?;
    state["step"].as_u64()
}

/// Kills the child with SIGKILL at `moment`; gives up waiting after 120 s.
fn kill_at(mut child: Child, moment: Moment, model: &Path) -> End {
    let start = Instant::now();
    let started = std::time::SystemTime::now();
    // A `last.tmp/` left by an earlier kill does not count: only one this child creates.
    let tmp = model.join("last.tmp");
    let writing = || {
        std::fs::metadata(&tmp)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started)
    };
    let mut progressed_at: Option<Instant> = None;
    let end = loop {
        if child.try_wait().unwrap().is_some() {
            return End::Finished;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the child hangs"
        );
        match moment {
            Moment::AfterStart(d) if start.elapsed() >= d => break End::Killed,
            Moment::InCheckpointWrite if writing() => break End::KilledInCheckpointWrite,
            Moment::AfterCheckpoint { step, delay } => {
                if progressed_at.is_none() && saved_step(model).is_some_and(|s| s > step) {
                    progressed_at = Some(Instant::now());
                }
                if progressed_at.is_some_and(|t| t.elapsed() >= delay) {
                    break End::Killed;
                }
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    end
}

/// The loss curve: every metrics column that does not measure wall time.
fn curve(rows: &[MetricsRow]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {:e} {:e} {:e} {:e} {:e} {:e} {}",
                r.step,
                r.epoch,
                r.train_loss,
                r.valid_loss,
                r.valid_ppl,
                r.valid_bleu,
                r.valid_chrf,
                r.learning_rate,
                r.target_tokens
            )
        })
        .collect()
}

fn bytes(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

#[test]
fn sigkill_at_any_moment_then_resume_gives_bit_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = config(tmp.path(), "straight");
    let t0 = Instant::now();
    finish(train(&straight, false), "uninterrupted run");
    // Kill times spread over the whole run: start-up (BPE, libtorch), updates, validations and
    // checkpoint writes.
    let run_ms = t0.elapsed().as_millis() as u64;
    eprintln!("uninterrupted run: {run_ms} ms");

    let killed = config(tmp.path(), "killed");
    let model = tmp.path().join("killed");
    // Pseudo-random kill moments (fixed LCG), each kill a fresh process resumed from disk,
    // until a resumed run finishes on its own.
    let mut x: u64 = 0x5eed;
    let (mut kills, mut in_writes) = (0, 0);
    for round in 0..40 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let jitter = Duration::from_micros((x >> 33) % 60_000);
        let moment = match round % 3 {
            _ if round == 0 => Moment::AfterStart(Duration::from_millis(run_ms / 10) + jitter),
            1 => Moment::InCheckpointWrite,
            _ => Moment::AfterCheckpoint {
                step: saved_step(&model).unwrap_or(0),
                delay: jitter,
            },
        };
        let end = kill_at(train(&killed, round > 0), moment, &model);
        eprintln!(
            "round {round}: {moment:?} -> {end:?}; last/ at step {:?}",
            saved_step(&model)
        );
        match end {
            End::Finished => break,
            End::Killed => kills += 1,
            End::KilledInCheckpointWrite => (kills, in_writes) = (kills + 1, in_writes + 1),
        }
    }
    finish(train(&killed, true), "final resume");
    assert!(
        kills >= 6,
        "only {kills} runs were killed before they finished"
    );
    assert!(
        in_writes >= 3,
        "only {in_writes} kills inside a checkpoint write"
    );

    let (a, b) = (tmp.path().join("straight"), model);
    for file in [
        "last/model.safetensors",
        "last/optimizer.safetensors",
        "best/model.safetensors",
    ] {
        assert!(bytes(&a, file) == bytes(&b, file), "{file} differs");
    }
    let ma = metrics_log::read(&a.join("metrics.csv")).unwrap();
    let mb = metrics_log::read(&b.join("metrics.csv")).unwrap();
    assert_eq!(curve(&ma), curve(&mb), "loss curve differs");
    assert_eq!(ma.last().unwrap().step, 90);
    // keep_checkpoints = 3: the newest three step-N/ checkpoints, in both runs.
    let steps = |d: &Path| -> Vec<usize> {
        tolk::artifacts::ModelDir::new(d)
            .step_checkpoints()
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    };
    assert_eq!(steps(&a), vec![84, 87, 90]);
    assert_eq!(steps(&b), vec![84, 87, 90]);
}
