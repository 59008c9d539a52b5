//! Inputs that fuzzing (fuzz/, docs/robustness.md) found to crash a reader, kept as regression
//! tests: each must now be an error with a message, not a panic.

use std::path::Path;

use tolk::subword::SubwordModel;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name)
}

/// tokenizers 0.22 panics (`expect("Helper")`) on a JSON syntax error inside the decoder
/// field; found by the `tokenizer` fuzz target on 2026-12-02.
#[test]
fn a_tokenizer_json_with_a_syntax_error_in_its_decoder_is_an_error() {
    let path = fixture("tokenizer_decoder_syntax_error.json");
    let err = SubwordModel::load(&path).unwrap_err().to_string();
    assert!(err.contains("not a valid tokenizer.json"), "{err}");
    assert!(err.contains("tokenizer_decoder_syntax_error.json"), "{err}");
}

/// A UTF-8 byte order mark at the start of the input is an encoding artefact: dropped from
/// line 1 only (a BOM later in the text is kept as text); CRLF is read as LF.
#[test]
fn a_bom_on_line_one_is_dropped_and_crlf_is_read_as_lf() {
    use tolk::data::corpus::LineReader;
    use tolk::data::{BadLinePolicy, InputLines};
    let bytes: &'static [u8] = b"\xEF\xBB\xBFein mann\r\n\xEF\xBB\xBFzwei\r\n";
    let mut input = InputLines::new(
        LineReader::from_reader("in", Box::new(bytes)),
        BadLinePolicy::Fail,
    );
    let (lines, err) = input.next_chunk(10);
    assert!(err.is_none());
    assert_eq!(lines, vec!["ein mann", "\u{feff}zwei"]);
}

/// A model directory that cannot be created is an error naming it, before any work is done.
#[test]
fn an_uncreatable_model_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let mut config = tolk::config::Config::default();
    config.training.model_dir = file.join("model");
    let err = format!("{:#}", tolk::train::train(&config, false).unwrap_err());
    assert!(err.contains("creating model directory"), "{err}");
    assert!(err.contains("a-file/model"), "{err}");
}

/// Writes `text` to `dir/c.toml` and reads it as a config.
fn read_config(dir: &Path, text: &str) -> anyhow::Result<tolk::config::Config> {
    let p = dir.join("c.toml");
    std::fs::write(&p, text).unwrap();
    tolk::config::Config::from_file(&p)
}

/// A value of the wrong type names the key's line; a missing data file names the file.
#[test]
fn a_mistyped_value_and_a_missing_file_are_errors_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let err = read_config(tmp.path(), "[training]\nmax_steps = \"ten\"\n").unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("c.toml") && err.contains("line 2"), "{err}");
    assert!(err.contains("invalid type: string \"ten\""), "{err}");

    let missing = tmp.path().join("missing.de");
    let err = tolk::data::read_lines(&missing).unwrap_err().to_string();
    assert!(err.contains("missing.de: cannot read file"), "{err}");
}

/// A misspelt backend is a config error even in a single-process run, where the backend is
/// never used (it used to pass silently there).
#[test]
fn a_misspelt_distributed_backend_is_an_error_naming_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let err = read_config(tmp.path(), "[training]\ndistributed_backend = \"ncl\"\n").unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("c.toml") && err.contains("line 2"), "{err}");
    assert!(err.contains("unknown variant `ncl`"), "{err}");
    let config = read_config(tmp.path(), "[training]\ndistributed_backend = \"nccl\"\n").unwrap();
    assert_eq!(
        config.training.distributed_backend,
        tolk::config::BackendSetting::Nccl
    );
}

/// The `score` fuzz target's one finding: BLEU 100.00000000000004 for a hypothesis equal to
/// its reference up to a trailing vertical tab. sacreBLEU 2.6.0 computes exactly the same
/// number (exp of the mean log precision rounds one ulp over 100), so tolk keeps it; the fuzz
/// target's range check allows that rounding.
#[test]
fn bleu_may_round_one_ulp_over_100_exactly_as_sacrebleu() {
    let bytes = std::fs::read(fixture("score_bleu_one_ulp_over_100.bin")).unwrap();
    let nul = bytes.iter().position(|&b| b == 0).unwrap();
    let hyp = String::from_utf8(bytes[..nul].to_vec()).unwrap();
    let reference = String::from_utf8(bytes[nul + 1..].to_vec()).unwrap();
    let hyps = vec![hyp.trim_end_matches('\n').to_string()];
    let refs = vec![reference.trim_end_matches('\n').to_string()];
    assert_eq!(hyps, ["\u{1}\u{8}. th.\u{b}"]);
    let bleu = tolk::metrics::corpus_bleu(&hyps, &[&refs]).score;
    assert_eq!(bleu, 100.00000000000004);
    assert_eq!(tolk::metrics::corpus_chrf(&hyps, &[&refs]).score, 100.0);
}
