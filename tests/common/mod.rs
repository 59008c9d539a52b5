//! Shared test helpers: a synthetic word-for-word corpus, a tiny training config, and the lock
//! that serialises tests using libtorch's process-global random generator.
#![allow(dead_code)] // each test crate uses a different subset

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use tolk::config::{Config, ModelConfig};

const WORDS: &[&str] = &[
    "ein", "mann", "frau", "hund", "läuft", "auf", "der", "straße", "im", "park", "spielt", "ball",
];
const EN: &[&str] = &[
    "a", "man", "woman", "dog", "runs", "on", "the", "street", "in", "park", "plays", "ball",
];

/// Writes a synthetic word-for-word "translation" corpus.
pub fn write_corpus(dir: &Path, name: &str, n: usize, seed: u64) {
    let mut x = seed;
    let (mut de, mut en) = (String::new(), String::new());
    for _ in 0..n {
        let len = 3 + (x % 5) as usize;
        let mut s = Vec::new();
        let mut t = Vec::new();
        for _ in 0..len {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let w = ((x >> 33) % WORDS.len() as u64) as usize;
            s.push(WORDS[w]);
            t.push(EN[w]);
        }
        de.push_str(&(s.join(" ") + "\n"));
        en.push_str(&(t.join(" ") + "\n"));
    }
    fs::write(dir.join(format!("{name}.de")), de).unwrap();
    fs::write(dir.join(format!("{name}.en")), en).unwrap();
}

pub fn tiny_config(dir: &Path, model_dir: &str, max_steps: usize) -> Config {
    write_corpus(dir, "train", 300, 1);
    write_corpus(dir, "valid", 20, 2);
    let mut c = Config::default();
    c.data.train_src = dir.join("train.de");
    c.data.train_tgt = dir.join("train.en");
    c.data.valid_src = dir.join("valid.de");
    c.data.valid_tgt = dir.join("valid.en");
    c.subword.vocab_size = 60;
    c.subword.min_frequency = 1;
    c.model = ModelConfig {
        src_embed_dim: 16,
        tgt_embed_dim: 16,
        encoder_hidden: 16,
        decoder_hidden: 24,
        attention_dim: 16,
        output_dim: 16,
        dropout: 0.2,
        ..Default::default()
    };
    c.training.model_dir = dir.join(model_dir);
    c.training.batch_tokens = 200;
    c.training.max_steps = max_steps;
    c.training.validate_every = 7;
    c.training.threads = 1;
    c.training.log_every = 1000;
    // The extra validation at the end of part one must not change the LR schedule.
    c.training.lr_patience = 100;
    c
}

/// Held for the whole body of every test that seeds or draws from libtorch's global random
/// generator (`tch::manual_seed`, `randn`, dropout, `tolk::train::train`): the test harness runs
/// tests on parallel threads, and two tests reseeding one generator would race. A test that
/// panicked while holding it does not poison the others.
pub fn rng_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `tolk` binary with a passive OpenMP wait policy and warnings-only logs.
pub fn tolk() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("tolk").unwrap();
    cmd.env("OMP_WAIT_POLICY", "PASSIVE")
        .env("RUST_LOG", "warn");
    cmd
}

/// Writes the tiny config (`dir/tiny.toml`, corpora in `dir`) for `max_steps` updates and
/// trains it with `tolk train` plus `extra` arguments; returns the model directory
/// `dir/model`.
pub fn train_tiny_with_cli(dir: &Path, max_steps: usize, extra: &[&str]) -> std::path::PathBuf {
    let cfg = tiny_config(dir, "model", max_steps);
    let path = dir.join("tiny.toml");
    fs::write(&path, cfg.to_toml()).unwrap();
    tolk()
        .args(["train", path.to_str().unwrap()])
        .args(extra)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    dir.join("model")
}

/// The tiny config trained for 10 updates with `tolk train`, once per test binary, in a
/// temporary directory kept for the binary's life: a model that loads and answers, for tests
/// of what surrounds the search.
pub fn barely_trained_model() -> &'static Path {
    static MODEL: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    &MODEL
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let dir = train_tiny_with_cli(tmp.path(), 10, &[]);
            (tmp, dir)
        })
        .1
}

/// Reads the log of a starting `tolk serve` until it says where it listens (`addr=HOST:PORT`
/// in the `listening` event; ANSI colours ignored). Errors: the log ended first; the error
/// holds everything read, to show why the server did not start.
pub fn listen_addr(stderr: &mut impl std::io::BufRead) -> Result<String, String> {
    let ansi = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    let (mut line, mut seen) = (String::new(), String::new());
    while stderr.read_line(&mut line).map_err(|e| e.to_string())? > 0 {
        let plain = ansi.replace_all(&line, "").into_owned();
        if let Some(addr) = plain.split("addr=").nth(1) {
            return Ok(addr
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string());
        }
        seen.push_str(&plain);
        line.clear();
    }
    Err(seen)
}
