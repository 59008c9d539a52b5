//! Exact resumption: N steps, save, resume N steps equals 2N steps straight. Alone in its own
//! test binary because libtorch's RNG is process-global: other tests seeding it concurrently
//! would change the dropout masks of one run and not the other.

use std::fs;
use std::path::Path;

use tch::Tensor;
use tolk::config::{Config, ModelConfig};

const WORDS: &[&str] = &[
    "ein", "mann", "frau", "hund", "läuft", "auf", "der", "straße", "im", "park", "spielt", "ball",
];
const EN: &[&str] = &[
    "a", "man", "woman", "dog", "runs", "on", "the", "street", "in", "park", "plays", "ball",
];

/// Writes a synthetic word-for-word "translation" corpus.
fn write_corpus(dir: &Path, name: &str, n: usize, seed: u64) {
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

fn tiny_config(dir: &Path, model_dir: &str, max_steps: usize) -> Config {
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
        let d = (ta - tb).abs().max().double_value(&[]);
        assert!(d < 1e-6, "{na} differs by {d}");
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
