//! Training-level tests: checkpoint round trip, exact resumption of a killed run, and config
//! errors.

use std::fs;
use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tolk::config::{Config, ModelConfig};
use tolk::model::Seq2Seq;
use tolk::train::checkpoint::{self, TrainingState};
use tolk::train::optimizer::Adam;
use tolk::train::schedule::PlateauSchedule;

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

#[test]
fn checkpoint_round_trip_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let _model = Seq2Seq::new(&vs.root(), &ModelConfig::default(), 50, 60);
    let mut opt = Adam::new(vs.variables(), 1e-3, (0.9, 0.999), 1e-8);
    // One real update so the moments are non-zero.
    let loss = vs
        .trainable_variables()
        .iter()
        .map(|t| t.square().sum(Kind::Float))
        .fold(Tensor::zeros([], (Kind::Float, Device::Cpu)), |a, b| a + b);
    loss.backward();
    opt.clip_and_step(1.0);
    let state = TrainingState {
        step: 1,
        epoch: 0,
        batch_in_epoch: 1,
        schedule: PlateauSchedule::new(1e-3),
        elapsed_seconds: 1.5,
        target_tokens: 10,
        valid_bleu: Some(12.5),
    };
    let dir = tmp.path().join("last");
    checkpoint::save(&dir, &vs, Some(&opt), &state).unwrap();
    // Saving again replaces the checkpoint atomically and leaves no temporary directories.
    checkpoint::save(&dir, &vs, Some(&opt), &state).unwrap();
    let mut names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec!["last"]);

    tch::manual_seed(99);
    let mut vs2 = VarStore::new(Device::Cpu);
    let _model2 = Seq2Seq::new(&vs2.root(), &ModelConfig::default(), 50, 60);
    let mut opt2 = Adam::new(vs2.variables(), 1e-3, (0.9, 0.999), 1e-8);
    checkpoint::load_weights(&dir, &mut vs2, Some(&mut opt2)).unwrap();
    let v1 = vs.variables();
    let v2 = vs2.variables();
    assert_eq!(v1.len(), v2.len());
    for (name, t) in &v1 {
        assert!(t.equal(&v2[name]), "{name} not restored exactly");
    }
    assert_eq!(checkpoint::load_state(&dir).unwrap(), state);
    // Optimizer moments restored: the next update is identical.
    let opt_file = |o: &Adam, p: &Path| {
        o.save(p).unwrap();
        fs::read(p).unwrap()
    };
    assert_eq!(
        opt_file(&opt, &tmp.path().join("a")),
        opt_file(&opt2, &tmp.path().join("b"))
    );
    // A checkpoint of another model is rejected with the file named.
    let vs3 = VarStore::new(Device::Cpu);
    let _m3 = Seq2Seq::new(&vs3.root(), &ModelConfig::default(), 50, 61);
    let mut opt3 = Adam::new(vs3.variables(), 1e-3, (0.9, 0.999), 1e-8);
    let err = opt3.load(&dir.join("optimizer.safetensors")).unwrap_err();
    assert!(
        format!("{err:#}").contains("optimizer.safetensors"),
        "{err:#}"
    );
}

#[test]
fn config_rejects_unknown_keys_with_position() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("c.toml");
    fs::write(&p, "[model]\ndecoder_hiden = 3\n").unwrap();
    let err = format!("{:#}", Config::from_file(&p).unwrap_err());
    assert!(
        err.contains("c.toml") && err.contains("decoder_hiden") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn shipped_configs_parse() {
    for name in ["multi30k_de_en.toml", "quickstart.toml", "reference.toml"] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("configs")
            .join(name);
        let c = Config::from_file(&p).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(
            c.data.train_src.exists(),
            "{name}: {}",
            c.data.train_src.display()
        );
    }
    let reference =
        Config::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/reference.toml"))
            .unwrap();
    let mut default = Config {
        data: reference.data.clone(),
        ..Default::default()
    };
    default.training.model_dir = reference.training.model_dir.clone();
    assert_eq!(
        reference, default,
        "configs/reference.toml must list the defaults"
    );
}
