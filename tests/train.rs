//! Training-level tests: checkpoint round trip and config errors (resumption: tests/resume.rs).

mod common;

use std::fs;
use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tolk::artifacts::checkpoint;
use tolk::config::{Config, ModelConfig};
use tolk::model::Seq2Seq;
use tolk::train::optimizer::Adam;
use tolk::train::schedule::PlateauSchedule;
use tolk::train::state::{LossWindow, TrainingState, UpdateCarry};
use tolk::train::LossScale;

#[test]
fn checkpoint_round_trip_is_exact() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let _model = Seq2Seq::new(&vs.root(), &ModelConfig::default(), 50, 60).unwrap();
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
        carry: UpdateCarry {
            reinforce_baseline: Some(-1.25),
            loss_scale: Some(LossScale {
                scale: 16384.0,
                good_updates: 7,
                skipped_updates: 3,
            }),
        },
        window: LossWindow {
            loss_sum: 31.5,
            tokens: 10,
        },
        validated_at: Some(1),
        stopped_early: false,
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
    let _model2 = Seq2Seq::new(&vs2.root(), &ModelConfig::default(), 50, 60).unwrap();
    let mut opt2 = Adam::new(vs2.variables(), 1e-3, (0.9, 0.999), 1e-8);
    checkpoint::load_weights(&dir, &mut vs2, Some(&mut opt2)).unwrap();
    let v1 = vs.variables();
    let v2 = vs2.variables();
    assert_eq!(v1.len(), v2.len());
    for (name, t) in &v1 {
        assert!(t.equal(&v2[name]), "{name} not restored exactly");
    }
    assert_eq!(
        checkpoint::load_state::<TrainingState>(&dir).unwrap(),
        state
    );
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
    let _m3 = Seq2Seq::new(&vs3.root(), &ModelConfig::default(), 50, 61).unwrap();
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
    // Every config in configs/ (so a new recipe cannot ship with a typo or a missing data file).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for p in &names {
        let c = Config::from_file(p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
        let d = &c.data;
        for f in [&d.train_src, &d.train_tgt, &d.valid_src, &d.valid_tgt] {
            assert!(f.exists(), "{}: {}", p.display(), f.display());
        }
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

#[test]
fn overrides_replace_keys_and_reject_unknown_ones() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quickstart.toml");
    let sets = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let c = Config::from_file_with_overrides(
        &p,
        &sets(&[
            "model.attention=dot",
            "training.max_minutes=2.5",
            "model.coverage=true",
            "training.model_dir=/tmp/x",
        ]),
    )
    .unwrap();
    assert_eq!(c.model.attention, tolk::config::AttentionType::Dot);
    assert_eq!(c.training.max_minutes, 2.5);
    assert!(c.model.coverage);
    assert_eq!(c.training.model_dir, Path::new("/tmp/x"));
    // Keys not overridden keep the file's values, with paths resolved against the file.
    assert_eq!(c.model.decoder_hidden, 256);
    assert!(c.data.train_src.exists());
    let err = format!(
        "{:#}",
        Config::from_file_with_overrides(&p, &sets(&["model.atention=dot"])).unwrap_err()
    );
    assert!(err.contains("atention"), "{err}");
    assert!(Config::from_file_with_overrides(&p, &sets(&["model.attention"])).is_err());
}

/// A run killed between the two renames of `checkpoint::save` (the old checkpoint moved to
/// `last.old/`, the new one still in `last.tmp/`, possibly incomplete) leaves `last.old/` as
/// the checkpoint to read; the next save replaces it cleanly.
#[test]
fn a_crash_between_the_renames_falls_back_to_the_old_checkpoint() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    tch::manual_seed(4);
    let vs = VarStore::new(Device::Cpu);
    let _model = Seq2Seq::new(&vs.root(), &ModelConfig::default(), 30, 30).unwrap();
    let state = |step| TrainingState {
        step,
        epoch: 0,
        batch_in_epoch: step,
        schedule: PlateauSchedule::new(1e-3),
        elapsed_seconds: 0.0,
        target_tokens: 0,
        ..TrainingState::fresh(1e-3)
    };
    let last = tmp.path().join("last");
    checkpoint::save(&last, &vs, None, &state(7)).unwrap();
    // The crash: old checkpoint renamed away, the new one only half written.
    fs::rename(&last, tmp.path().join("last.old")).unwrap();
    fs::create_dir(tmp.path().join("last.tmp")).unwrap();
    fs::write(tmp.path().join("last.tmp/model.safetensors"), b"partial").unwrap();

    let found = checkpoint::resolve(&last)
        .unwrap()
        .expect("the old checkpoint is found");
    assert_eq!(found, tmp.path().join("last.old"));
    assert_eq!(
        checkpoint::load_state::<TrainingState>(&found).unwrap(),
        state(7)
    );
    let mut vs2 = VarStore::new(Device::Cpu);
    let _model2 = Seq2Seq::new(&vs2.root(), &ModelConfig::default(), 30, 30).unwrap();
    checkpoint::load_weights(&found, &mut vs2, None).unwrap();
    for (name, t) in &vs.variables() {
        assert!(t.equal(&vs2.variables()[name]), "{name}");
    }

    checkpoint::save(&last, &vs, None, &state(8)).unwrap();
    assert_eq!(checkpoint::resolve(&last).unwrap(), Some(last.clone()));
    assert_eq!(
        checkpoint::load_state::<TrainingState>(&last).unwrap(),
        state(8)
    );
    let mut names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec!["last"], "no .old or .tmp left");
}

/// A byte flipped in the middle of `model.safetensors` (which still parses) is caught by the
/// checkpoint's checksums; weights of a model with another vocabulary name the first tensor
/// that does not fit.
#[test]
fn corrupt_and_mismatched_checkpoints_are_errors_naming_the_problem() {
    let _rng = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    tch::manual_seed(5);
    let vs = VarStore::new(Device::Cpu);
    let _model = Seq2Seq::new(&vs.root(), &ModelConfig::default(), 30, 30).unwrap();
    let dir = tmp.path().join("best");
    checkpoint::save(&dir, &vs, None, &TrainingState::fresh(1e-3)).unwrap();
    assert!(dir.join("checksums.json").is_file());

    // Another vocabulary: the first mismatching tensor in name order is named.
    let mut other = VarStore::new(Device::Cpu);
    let _m = Seq2Seq::new(&other.root(), &ModelConfig::default(), 30, 31).unwrap();
    let err = format!(
        "{:#}",
        checkpoint::load_weights(&dir, &mut other, None).unwrap_err()
    );
    assert!(err.contains("model.safetensors: tensor decoder."), "{err}");
    assert!(err.contains("the model expects"), "{err}");

    // One byte flipped in the middle of the weights.
    let weights = dir.join("model.safetensors");
    let mut bytes = fs::read(&weights).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&weights, &bytes).unwrap();
    let mut same = VarStore::new(Device::Cpu);
    let _m = Seq2Seq::new(&same.root(), &ModelConfig::default(), 30, 30).unwrap();
    let err = format!(
        "{:#}",
        checkpoint::load_weights(&dir, &mut same, None).unwrap_err()
    );
    assert!(err.starts_with("checksum mismatch: "), "{err}");
    assert!(
        err.contains("model.safetensors was modified or is corrupt"),
        "{err}"
    );
}

/// `data.concat_pairs = 3` adds each run of 2 and of 3 consecutive training pairs joined into
/// one (non-overlapping), with the subword model learned from the unjoined text only.
#[test]
fn concat_pairs_adds_joined_training_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let prepare = |k: usize, name: &str| {
        let mut cfg = common::tiny_config(dir.path(), name, 1);
        cfg.data.concat_pairs = k;
        let md = tolk::artifacts::ModelDir::new(&cfg.training.model_dir);
        std::fs::create_dir_all(&cfg.training.model_dir).unwrap();
        tolk::train::prepare::prepare(&cfg, &md).unwrap()
    };
    let plain = prepare(1, "plain");
    let joined = prepare(3, "joined");
    let n = plain.corpus.len();
    assert!(n > 10);
    assert_eq!(joined.corpus.len(), n + n / 2 + n / 3);
    // Pair n is pairs 0 and 1 joined: its ids are theirs, concatenated, and it names the line
    // of the first.
    let (s0, s1) = (plain.corpus.src(0), plain.corpus.src(1));
    assert_eq!(
        joined.corpus.src(n),
        [s0.as_slice(), s1.as_slice()].concat()
    );
    assert_eq!(joined.corpus.line(n), plain.corpus.line(0));
    assert_eq!(
        plain.src_subwords.to_json().unwrap(),
        joined.src_subwords.to_json().unwrap(),
        "subwords learned from the joined text"
    );
}

/// Lines with control characters (here NUL) or over `data.max_line_chars` drop their pair,
/// both sides, before subword training; the other pairs are kept.
#[test]
fn pairs_with_control_characters_or_overlong_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::tiny_config(dir.path(), "model", 1);
    // Only the character rule may drop the long line, not the subword length filter.
    cfg.data.max_src_len = 1_000_000;
    cfg.data.max_tgt_len = 1_000_000;
    let edit = |name: &str, line: usize, text: &str| {
        let path = dir.path().join(name);
        let mut lines: Vec<String> = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines[line - 1] = text.to_string();
        fs::write(&path, lines.join("\n") + "\n").unwrap();
    };
    edit("train.de", 3, "ein\0mann");
    edit("train.en", 7, &"a man ".repeat(20_000));
    let md = tolk::artifacts::ModelDir::new(&cfg.training.model_dir);
    fs::create_dir_all(&md.root).unwrap();
    let data = tolk::train::prepare::prepare(&cfg, &md).unwrap();
    assert_eq!(data.corpus.len(), 300 - 2);
    let sw = &data.src_subwords;
    let pieces: Vec<String> = (0..sw.vocab_size() as i64)
        .filter_map(|id| sw.id_to_piece(id))
        .collect();
    assert!(!pieces.iter().any(|p| p.contains('\0')), "{pieces:?}");
}
