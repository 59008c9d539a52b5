//! Bodies of the fuzz targets (`fuzz_targets/*.rs` call them): each feeds arbitrary bytes to
//! one of tolk's readers the way the CLI does, and panics only where tolk breaks a promise.
//! A reader may return `Err` for bad input, never panic; where a result comes back, the
//! properties tolk documents are checked (one output line per input line, scores in 0..=100).
//!
//! Run with `scripts/fuzz.sh` (cargo fuzz, nightly; results in docs/robustness.md).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tch::nn::VarStore;
use tch::Device;
use tolk::artifacts::checkpoint;
use tolk::config::{Config, ModelConfig};
use tolk::data::corpus::{read_parallel, EmptyLinePolicy, LineReader};
use tolk::data::{BadLinePolicy, InputLines};
use tolk::decode::{TranslateOptions, Translator};
use tolk::metrics::{corpus_bleu, corpus_chrf};
use tolk::model::Seq2Seq;
use tolk::subword::SubwordModel;
use tolk::train::optimizer::Adam;
use tolk::train::state::TrainingState;

/// A scratch directory for files the readers open (on tmpfs where there is one).
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        }
    })
    .path()
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `data` split at its first NUL byte (the second part empty if there is none).
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Every line of `bytes` as a reader gives it, or the first error.
fn read_all(bytes: &[u8]) -> Result<Vec<String>, tolk::data::CorpusError> {
    let mut r = LineReader::from_reader("fuzz", Box::new(Cursor::new(bytes.to_vec())));
    let mut lines = Vec::new();
    while let Some(line) = r.next_line()? {
        lines.push(line);
    }
    Ok(lines)
}

/// The parallel-corpus reader: source and target files (split at the first NUL), gzip when
/// the first byte is odd (so compressed streams are fuzzed too), either empty-line policy.
pub fn corpus(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (src, tgt) = split(rest);
    let ext = if flags & 1 == 1 { "gz" } else { "txt" };
    let src_path = write(&format!("src.{ext}"), src);
    let tgt_path = write(&format!("tgt.{ext}"), tgt);
    let policy = if flags & 2 == 2 {
        EmptyLinePolicy::Fail
    } else {
        EmptyLinePolicy::Skip
    };
    if let Ok(c) = read_parallel(&src_path, &tgt_path, policy) {
        assert_eq!(c.src.len(), c.tgt.len());
        assert_eq!(c.src.len(), c.line_numbers.len());
    }
}

/// The config parser: a TOML file (up to the first NUL) and `--set` overrides (the rest, one
/// per NUL-separated part).
pub fn config(data: &[u8]) {
    let (file, rest) = split(data);
    let path = write("config.toml", file);
    let overrides: Vec<String> = rest
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    if let Ok(c) = Config::from_file_with_overrides(&path, &overrides) {
        // What parses must survive its own round trip (the model directory's config.toml).
        let again = write("again.toml", c.to_toml().as_bytes());
        Config::from_file(&again).expect("a parsed config reads back");
    }
}

/// Loading a tokenizer file (`tokenizer.json`), then using what loaded.
pub fn tokenizer(data: &[u8]) {
    let path = write("tokenizer.json", data);
    if let Ok(m) = SubwordModel::load(&path) {
        for text in ["ein Mann läuft.", "", "  \u{a0}x\u{0}"] {
            if let Ok(ids) = m.encode(text) {
                let _ = m.decode(&ids);
                let _ = m.pieces(text);
            }
        }
        let _ = m.decode(&[-1, 0, i64::MAX]);
    }
}

/// A tiny model and its valid checkpoint files, written once.
struct TinyCheckpoint {
    dir: PathBuf,
    files: [(&'static str, Vec<u8>); 4],
}

fn tiny_model_config() -> ModelConfig {
    ModelConfig {
        src_embed_dim: 4,
        tgt_embed_dim: 4,
        encoder_hidden: 4,
        decoder_hidden: 4,
        attention_dim: 4,
        output_dim: 4,
        ..Default::default()
    }
}

fn tiny_checkpoint() -> &'static TinyCheckpoint {
    static CKPT: OnceLock<TinyCheckpoint> = OnceLock::new();
    CKPT.get_or_init(|| {
        tch::manual_seed(1);
        let vs = VarStore::new(Device::Cpu);
        let _m = Seq2Seq::new(&vs.root(), &tiny_model_config(), 12, 12).unwrap();
        let opt = Adam::new(vs.variables(), 1e-3, (0.9, 0.999), 1e-8);
        let src = scratch().join("seed-ckpt");
        checkpoint::save(&src, &vs, Some(&opt), &TrainingState::fresh(1e-3)).unwrap();
        let read = |n| std::fs::read(src.join(n)).unwrap();
        TinyCheckpoint {
            dir: scratch().join("ckpt"),
            files: [
                ("model.safetensors", read("model.safetensors")),
                ("optimizer.safetensors", read("optimizer.safetensors")),
                ("state.json", read("state.json")),
                ("checksums.json", read("checksums.json")),
            ],
        }
    })
}

/// Loading a checkpoint as `--resume` does (checksums, weights by name, optimizer moments,
/// state): the first byte picks which of its four files the rest replaces; the other files
/// are valid. When the replaced file is the manifest, the checksums are checked for real;
/// otherwise the manifest is left out so the bytes reach the safetensors/JSON readers.
pub fn checkpoint(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let ckpt = tiny_checkpoint();
    let replaced = which as usize % ckpt.files.len();
    std::fs::create_dir_all(&ckpt.dir).unwrap();
    for (i, (name, valid)) in ckpt.files.iter().enumerate() {
        let path = ckpt.dir.join(name);
        if i == replaced {
            std::fs::write(&path, bytes).unwrap();
        } else if *name == "checksums.json" {
            let _ = std::fs::remove_file(&path);
        } else {
            std::fs::write(&path, valid).unwrap();
        }
    }
    let mut vs = VarStore::new(Device::Cpu);
    let _m = Seq2Seq::new(&vs.root(), &tiny_model_config(), 12, 12).unwrap();
    let mut opt = Adam::new(vs.variables(), 1e-3, (0.9, 0.999), 1e-8);
    let _ = checkpoint::load_weights(&ckpt.dir, &mut vs, Some(&mut opt));
    let _ = checkpoint::load_state::<TrainingState>(&ckpt.dir);
}

/// `tolk score`'s input: hypothesis and reference files (split at the first NUL); when both
/// read and have as many lines, BLEU and chrF must lie in 0..=100 (up to rounding).
pub fn score(data: &[u8]) {
    let (hyp, reference) = split(data);
    let (Ok(hyps), Ok(refs)) = (read_all(hyp), read_all(reference)) else {
        return;
    };
    if hyps.len() != refs.len() {
        return;
    }
    let bleu = corpus_bleu(&hyps, &[&refs]).score;
    let chrf = corpus_chrf(&hyps, &[&refs]).score;
    // exp(mean log precision) may round a few ulps over 100, as in sacreBLEU (found by this
    // target; tests/robustness.rs).
    let in_range = |v: f64| (0.0..=100.0 + 1e-9).contains(&v);
    assert!(in_range(bleu), "BLEU {bleu}");
    assert!(in_range(chrf), "chrF {chrf}");
}

/// A translator over a tiny random model with a tiny BPE model, built once per thread
/// (libFuzzer runs one).
fn tiny_translator() -> Translator {
    let text = ["ein mann läuft", "der hund spielt im park", "zwei frauen"];
    let sw = SubwordModel::train_bpe(text, 40, 1).unwrap();
    let vocab = sw.vocab_size() as i64;
    tch::manual_seed(2);
    let vs = VarStore::new(Device::Cpu);
    let model = Seq2Seq::new(&vs.root(), &tiny_model_config(), vocab, vocab).unwrap();
    let mut opts = TranslateOptions::greedy(0.5, 64);
    opts.max_input_subwords = 8;
    Translator::new(model, sw.clone(), sw, Device::Cpu, None, opts)
}

thread_local! {
    static TRANSLATOR: Translator = tiny_translator();
}

/// `tolk translate`'s input path: lines from bytes under either bad-line policy, in chunks,
/// through subword encoding, truncation and greedy search of a tiny model. Every line read
/// gives exactly one translation; blank lines give empty ones.
pub fn translate_input(data: &[u8]) {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let policy = if flags & 1 == 1 {
        BadLinePolicy::Skip
    } else {
        BadLinePolicy::Fail
    };
    let chunk = 1 + (flags >> 1) as usize % 4;
    let reader = LineReader::from_reader("fuzz", Box::new(Cursor::new(bytes.to_vec())));
    let mut input = InputLines::new(reader, policy);
    TRANSLATOR.with(|translator| loop {
        let (lines, error) = input.next_chunk(chunk);
        let Ok(out) = translator.translate(&lines) else {
            return;
        };
        assert_eq!(out.len(), lines.len());
        for (line, hyps) in lines.iter().zip(&out) {
            assert!(!hyps.is_empty());
            if line.trim().is_empty() {
                assert_eq!(hyps[0].text, "");
            }
        }
        if error.is_some() || lines.len() < chunk {
            return;
        }
    })
}

/// Writes valid inputs for each target into `dir/<target>/` (libFuzzer mutates from them).
///
/// Errors: a file cannot be written.
pub fn write_seeds(dir: &Path) -> std::io::Result<()> {
    let put = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let d = dir.join(target);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(name), bytes)
    };
    let de = "Ein Mann läuft.\r\nZwei Hunde spielen im Park.\n\n\u{feff}Eine Frau.\n";
    let en = "A man runs.\nTwo dogs play in the park.\n\nA woman.\n";
    put(
        "corpus",
        "plain",
        &[[2u8].as_slice(), de.as_bytes(), &[0], en.as_bytes()].concat(),
    )?;
    put(
        "corpus",
        "gzip",
        &[[1u8].as_slice(), &gzip(de), &[0], &gzip(en)].concat(),
    )?;
    put(
        "config",
        "quickstart",
        include_bytes!("../../configs/quickstart.toml"),
    )?;
    put(
        "config",
        "reference_with_sets",
        &[
            include_bytes!("../../configs/reference.toml").as_slice(),
            b"\0model.attention=dot\0training.max_steps=5",
        ]
        .concat(),
    )?;
    let text = ["ein mann läuft", "der hund spielt im park", "zwei frauen"];
    let sw = SubwordModel::train_bpe(text, 40, 1).expect("BPE trains");
    put("tokenizer", "bpe40", sw.to_json().expect("json").as_bytes())?;
    for (i, (name, bytes)) in tiny_checkpoint().files.iter().enumerate() {
        put("checkpoint", name, &[[i as u8].as_slice(), bytes].concat())?;
    }
    put(
        "score",
        "pair",
        &[en.as_bytes(), &[0], en.replace("runs", "walks").as_bytes()].concat(),
    )?;
    put(
        "translate_input",
        "lines",
        &[[0u8].as_slice(), de.as_bytes()].concat(),
    )?;
    let long = "läuft ".repeat(30);
    let bad = [
        [3u8].as_slice(),
        b"ein mann\n\xffzwei\n  \n",
        long.as_bytes(),
    ];
    put("translate_input", "bad", &bad.concat())?;
    Ok(())
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}
