//! The `tolk` binary end to end: train a tiny config, translate from stdin and from a file, the
//! n-best format, alignments, `score` (and its line-count check), `shortlist`, `plot`.
//! One model is trained once and shared by the tests of this file.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use common::tolk;
use predicates::prelude::*;

struct Trained {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    model: PathBuf,
}

/// Trains the tiny config of `common` for 30 updates with `tolk train`, once.
fn trained() -> &'static Trained {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    MODEL.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        common::train_tiny_with_cli(&dir, 30, &["--set", "training.validate_every=15"]);
        Trained {
            model: dir.join("model"),
            dir,
            _tmp: tmp,
        }
    })
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn train_writes_a_model_directory() {
    let t = trained();
    for f in [
        "config.toml",
        "tokenizer.json",
        "metrics.csv",
        "shortlist.json",
    ] {
        assert!(t.model.join(f).is_file(), "{f} missing");
    }
    assert!(t.model.join("best/model.safetensors").is_file());
    assert!(t.model.join("last/optimizer.safetensors").is_file());
    // A second `train` into the same directory refuses instead of overwriting it.
    tolk()
        .args(["train", t.dir.join("tiny.toml").to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--resume"));
}

#[test]
fn translate_from_stdin_and_from_a_file_agree() {
    let t = trained();
    let input = "ein mann läuft\nder hund spielt im park\n\nein ball\n";
    let from_stdin = tolk()
        .args([
            "translate",
            "--model",
            t.model.to_str().unwrap(),
            "--beam",
            "3",
        ])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let file = write(&t.dir, "in.de", input);
    let from_file = tolk()
        .args([
            "translate",
            "--model",
            t.model.to_str().unwrap(),
            "--beam",
            "3",
        ])
        .args(["--input", file.to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(from_stdin, from_file);
    assert_eq!(
        lines(&from_stdin).len(),
        4,
        "one output line per input line"
    );
}

#[test]
fn nbest_prints_index_text_and_score() {
    let t = trained();
    let out = tolk()
        .args(["translate", "--model", t.model.to_str().unwrap()])
        .args(["--beam", "4", "--nbest", "3"])
        .write_stdin("ein mann\nder hund läuft\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = lines(&out);
    assert_eq!(rows.len(), 6, "{rows:?}");
    for (n, row) in rows.iter().enumerate() {
        let fields: Vec<&str> = row.split(" ||| ").collect();
        assert_eq!(fields.len(), 3, "{row}");
        assert_eq!(fields[0], (n / 3).to_string());
        let score: f64 = fields[2].parse().unwrap();
        assert!(score.is_finite() && score <= 0.0, "{row}");
    }
    for sentence in rows.chunks(3) {
        let scores: Vec<f64> = sentence
            .iter()
            .map(|r| r.rsplit(" ||| ").next().unwrap().parse().unwrap())
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "best first: {scores:?}"
        );
    }
}

#[test]
fn alignments_are_written_and_plotted() {
    let t = trained();
    let jsonl = t.dir.join("a.jsonl");
    let pharaoh = t.dir.join("a.txt");
    tolk()
        .args([
            "translate",
            "--model",
            t.model.to_str().unwrap(),
            "--beam",
            "2",
        ])
        .args(["--alignments", jsonl.to_str().unwrap()])
        .args(["--pharaoh", pharaoh.to_str().unwrap()])
        .write_stdin("ein mann läuft\nder hund\n")
        .assert()
        .success();
    assert_eq!(lines(&std::fs::read(&jsonl).unwrap()).len(), 2);
    assert_eq!(lines(&std::fs::read(&pharaoh).unwrap()).len(), 2);
    let png = t.dir.join("heat.png");
    tolk()
        .args([
            "plot",
            "--alignments",
            jsonl.to_str().unwrap(),
            "--index",
            "1",
        ])
        .args(["--out", png.to_str().unwrap()])
        .assert()
        .success();
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}

#[test]
fn score_prints_bleu_and_chrf_and_rejects_a_line_count_mismatch() {
    let t = trained();
    let hyp = write(
        &t.dir,
        "hyp.txt",
        "a man runs on the street\nthe dog plays in the park\n",
    );
    let reference = write(
        &t.dir,
        "ref.txt",
        "a man runs on the street\nthe dog plays in a park\n",
    );
    let out = tolk()
        .args(["score", "--hyp", hyp.to_str().unwrap()])
        .args(["--ref", reference.to_str().unwrap(), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let bleu = v["bleu"].as_f64().unwrap();
    assert!(bleu > 0.0 && bleu < 100.0, "{v}");
    assert!(v["bleu_signature"].as_str().unwrap().contains("tok:13a"));
    let short = write(&t.dir, "short.txt", "a man runs\n");
    tolk()
        .args(["score", "--hyp", short.to_str().unwrap()])
        .args(["--ref", reference.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("short.txt has 1 lines")
                .and(predicate::str::contains("has 2")),
        );
}

#[test]
fn score_by_length_prints_buckets_and_json() {
    let t = trained();
    let src = write(
        &t.dir,
        "bl.src",
        "ein mann\nein hund spielt im park mit einem ball und einer katze heute\n",
    );
    let hyp = write(&t.dir, "bl.hyp", "a man\nthe dog plays in a park\n");
    let reference = write(&t.dir, "bl.ref", "a man\nthe dog plays in the park\n");
    let score = |extra: &[&str]| {
        tolk()
            .args(["score", "--hyp", hyp.to_str().unwrap()])
            .args(["--ref", reference.to_str().unwrap()])
            .args(["--by-length", src.to_str().unwrap()])
            .args(extra)
            .assert()
    };
    let out = score(&["--length-edges", "5"])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("0-4\t1\t"), "{text}");
    assert!(text.contains("5+\t1\t"), "{text}");
    let out = score(&["--json"]).success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let buckets = v["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 5, "default edges 10,20,30,40");
    assert_eq!(buckets[0]["sentences"], 1);
    assert_eq!(buckets[1]["sentences"], 1);
    assert!(buckets[2]["bleu"].is_null());
    let short = write(&t.dir, "bl.short", "ein mann\n");
    tolk()
        .args(["score", "--hyp", hyp.to_str().unwrap()])
        .args(["--ref", reference.to_str().unwrap()])
        .args(["--by-length", short.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("bl.short").and(predicate::str::contains("1, 2 and 2")));
}

#[test]
fn score_paired_bs_prints_sacrebleus_p_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/significance");
    let f = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let out = tolk()
        .args([
            "score",
            "--ref",
            &f("val400.ref"),
            "--hyp",
            &f("baseline.hyp"),
        ])
        .args([
            "--paired-bs",
            &f("beam5.hyp"),
            &f("bf16_greedy.hyp"),
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    for i in 0..3 {
        let got = &v["systems"][i];
        let want = &expected["systems"][i];
        assert_eq!(
            got["bleu"]["p_value"], want["BLEU"]["p_value"],
            "system {i}"
        );
        assert_eq!(
            got["chrf"]["p_value"], want["chrF2"]["p_value"],
            "system {i}"
        );
    }
    let text = tolk()
        .args([
            "score",
            "--ref",
            &f("val400.ref"),
            "--hyp",
            &f("baseline.hyp"),
        ])
        .args(["--paired-bs", &f("beam5.hyp")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("34.07 (33.96 ± 2.35) p = 0.0010"), "{text}");
    let short = write(&trained().dir, "pbs.short", "a man\n");
    tolk()
        .args([
            "score",
            "--ref",
            &f("val400.ref"),
            "--hyp",
            &f("baseline.hyp"),
        ])
        .args(["--paired-bs", short.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("pbs.short has 1 lines"));
    let empty = write(&trained().dir, "pbs.empty", "");
    let e = empty.to_str().unwrap();
    tolk()
        .args(["score", "--ref", e, "--hyp", e, "--paired-bs", e])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("pbs.empty: no lines to resample")
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn shortlist_rebuilds_and_translate_uses_it() {
    let t = trained();
    let sl = t.model.join("shortlist.json");
    let before = std::fs::read(&sl).unwrap();
    tolk()
        .args(["shortlist", "--model", t.model.to_str().unwrap()])
        .args(["--src", t.dir.join("train.de").to_str().unwrap()])
        .args(["--tgt", t.dir.join("train.en").to_str().unwrap()])
        .args(["--frequent", "3", "--translations", "2"])
        .assert()
        .success();
    let after = std::fs::read(&sl).unwrap();
    assert_ne!(before, after, "other sizes give another shortlist");
    let v: serde_json::Value = serde_json::from_slice(&after).unwrap();
    assert!(v.is_object(), "shortlist.json is JSON");
    tolk()
        .args([
            "translate",
            "--model",
            t.model.to_str().unwrap(),
            "--shortlist",
        ])
        .write_stdin("ein mann\n")
        .assert()
        .success()
        .stdout(predicate::str::is_empty().not());
}

#[test]
fn a_missing_model_directory_is_a_clear_error() {
    let t = trained();
    let missing = t.dir.join("no-such-model");
    tolk()
        .args(["translate", "--model", missing.to_str().unwrap()])
        .write_stdin("ein mann\n")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("no-such-model")
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn checkpoints_are_chosen_by_name() {
    let t = trained();
    let model = t.model.to_str().unwrap();
    let run = |extra: &[&str]| {
        tolk()
            .args(["translate", "--model", model, "--beam", "2"])
            .args(extra)
            .write_stdin("ein mann\n")
            .assert()
    };
    let last = run(&["--last"]).success().get_output().stdout.clone();
    let named = run(&["--checkpoint", "last"])
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(last, named);
    run(&["--checkpoint", "step-9"])
        .failure()
        .stderr(predicate::str::contains("no checkpoint named \"step-9\""));
    run(&["--device", "tpu"])
        .failure()
        .stderr(predicate::str::contains("unknown device \"tpu\""));
}

#[test]
fn learning_curves_plot_from_the_metrics_training_wrote() {
    let t = trained();
    let metrics = t.model.join("metrics.csv");
    let rows = tolk::artifacts::metrics_log::read(&metrics).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        vec![15, 30],
        "a row per validation"
    );
    assert!(rows
        .iter()
        .all(|r| r.valid_loss.is_finite() && r.target_tokens > 0));
    let png = t.dir.join("curves.png");
    tolk()
        .args(["plot", "--metrics", metrics.to_str().unwrap()])
        .args(["--out", png.to_str().unwrap()])
        .assert()
        .success();
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}

fn translate_cmd(t: &Trained) -> Command {
    let mut cmd = tolk();
    cmd.args([
        "translate",
        "--model",
        t.model.to_str().unwrap(),
        "--beam",
        "2",
    ]);
    cmd
}

#[test]
fn an_invalid_utf8_line_names_its_line_and_keeps_the_lines_before() {
    let t = trained();
    let input: &[u8] = b"ein mann\nein hund\nder \xffball\nein park\n";
    let out = translate_cmd(t)
        .args(["--chunk-lines", "2"])
        .write_stdin(input)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "<stdin>:3: invalid UTF-8 at byte 4 of the line",
        ))
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        lines(&out).len(),
        2,
        "the two lines before the bad one are written"
    );
    // With --on-bad-line skip every line gives one output line; the bad one is empty.
    let out = translate_cmd(t)
        .args(["--on-bad-line", "skip"])
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains("<stdin>:3: invalid UTF-8"))
        .get_output()
        .stdout
        .clone();
    let got = lines(&out);
    assert_eq!(got.len(), 4);
    assert_eq!(got[2], "");
    assert!(!got[3].is_empty());
}

#[test]
fn empty_and_whitespace_lines_give_empty_lines() {
    let t = trained();
    let out = translate_cmd(t)
        .args(["--nbest", "2"])
        .write_stdin("\n  \t \nein mann\n\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let got = lines(&out);
    assert_eq!(&got[..2], ["0 |||  ||| 0.0000", "1 |||  ||| 0.0000"]);
    assert!(got[2].starts_with("2 ||| ") && got[2].len() > "2 |||  ||| 0.0000".len());
    assert_eq!(got.last().unwrap(), "3 |||  ||| 0.0000");
}

#[test]
fn an_overlong_line_is_cut_with_a_warning_naming_it() {
    let t = trained();
    let long = "der hund spielt im park ".repeat(20);
    let input = format!("ein mann\n{long}\n");
    let cut = translate_cmd(t)
        .args(["--max-input-subwords", "6"])
        .write_stdin(input.clone())
        .assert()
        .success()
        .stderr(
            predicate::str::contains("line 2: ")
                .and(predicate::str::contains("cut to the first 6")),
        )
        .get_output()
        .stdout
        .clone();
    // The search saw 6 subwords: its output is bounded by 1.5 * 6 + 5 = 14 tokens (so at most
    // 14 words), where the whole line would allow ~150.
    assert!(
        lines(&cut)[1].split_whitespace().count() <= 14,
        "{:?}",
        lines(&cut)
    );
    let whole = translate_cmd(t)
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains("cut to").not())
        .get_output()
        .stdout
        .clone();
    assert_eq!(lines(&cut).len(), 2);
    assert_eq!(lines(&cut)[0], lines(&whole)[0]);
}

#[test]
fn chunked_translation_equals_one_chunk() {
    let t = trained();
    let input = "ein mann läuft\nder hund\nein ball im park\nzwei frauen\nein kind spielt\n";
    let run = |chunk: &str| {
        translate_cmd(t)
            .args(["--chunk-lines", chunk])
            .write_stdin(input)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    assert_eq!(run("2"), run("1000"));
}

#[test]
fn shards_joined_in_order_equal_one_run() {
    let t = trained();
    let text: String = (0..23)
        .map(|i| format!("ein mann {} hund\n", ["läuft", "spielt", "im park"][i % 3]))
        .collect();
    let input = write(&t.dir, "shard_input.de", &text);
    let run = |extra: &[&str]| {
        translate_cmd(t)
            .args(["--input", input.to_str().unwrap(), "--nbest", "2"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let whole = run(&[]);
    // n-best lines carry the global line index, so the joined shards equal the whole run.
    let mut joined = Vec::new();
    for i in 1..=4 {
        joined.extend(run(&["--shard", &format!("{i}/4")]));
    }
    assert_eq!(lines(&joined), lines(&whole));
    assert_eq!(lines(&whole).len(), 2 * 23);
    translate_cmd(t)
        .args(["--shard", "1/4"])
        .write_stdin("ein mann\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("--input"));
    translate_cmd(t)
        .args(["--input", input.to_str().unwrap(), "--shard", "5/4"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("expected I/N"));
}

#[test]
fn a_corrupted_checkpoint_is_refused_naming_the_file() {
    let t = trained();
    let copy = t.dir.join("corrupt-model");
    for entry in ["config.toml", "tokenizer.json"] {
        std::fs::create_dir_all(copy.join("best")).unwrap();
        std::fs::copy(t.model.join(entry), copy.join(entry)).unwrap();
    }
    for entry in ["model.safetensors", "state.json", "checksums.json"] {
        std::fs::copy(
            t.model.join("best").join(entry),
            copy.join("best").join(entry),
        )
        .unwrap();
    }
    let weights = copy.join("best/model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&weights, bytes).unwrap();
    tolk()
        .args(["translate", "--model", copy.to_str().unwrap()])
        .write_stdin("ein mann\n")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("checksum mismatch").and(predicate::str::contains(
                "best/model.safetensors was modified or is corrupt",
            )),
        );
}

#[test]
fn resume_with_another_model_config_is_refused() {
    let t = trained();
    tolk()
        .args([
            "train",
            t.dir.join("tiny.toml").to_str().unwrap(),
            "--resume",
        ])
        .args(["--set", "model.decoder_hidden=40"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "holds a different model or subword setup than this config",
        ));
}

/// `index ||| text ||| score` lines of `translate --nbest 2` (the beam is 2) with `flags`.
fn nbest_with(t: &Trained, flags: &[&str]) -> Vec<(String, f64)> {
    let out = translate_cmd(t)
        .args(["--nbest", "2", "--input"])
        .arg(t.dir.join("valid.de"))
        .args(flags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines(&out.stdout)
        .iter()
        .map(|l| {
            let parts: Vec<&str> = l.split(" ||| ").collect();
            (
                format!("{} ||| {}", parts[0], parts[1]),
                parts[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_fused_kernels_bf16_and_int8_translate_like_the_reference() {
    let t = trained();
    let reference = nbest_with(t, &["--fused-kernels", "false", "--precision", "fp32"]);
    assert_eq!(reference.len(), 20 * 2);
    // fp32 levers: the same hypotheses, scores equal up to float rounding.
    let fused = nbest_with(t, &["--fused-kernels", "true"]);
    for ((rt, rs), (ft, fs)) in reference.iter().zip(&fused) {
        assert_eq!(rt, ft);
        assert!((rs - fs).abs() < 1e-3, "{rt}: score {rs} vs {fs}");
    }
    // bf16 and int8 projections: scores within their rounding of the logits.
    for precision in ["bf16", "int8"] {
        let low = nbest_with(t, &["--precision", precision]);
        assert_eq!(low.len(), reference.len());
        let close = reference
            .iter()
            .zip(&low)
            .filter(|((rt, rs), (bt, bs))| rt == bt && (rs - bs).abs() < 0.05)
            .count();
        assert!(
            close * 10 >= reference.len() * 8,
            "only {close} of {} {precision} hypotheses match",
            reference.len()
        );
    }
    translate_cmd(t)
        .args(["--precision", "fp16"])
        .write_stdin("ein hund\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "unknown precision \"fp16\": use fp32, bf16, int8 or auto",
        ));
}

/// `--workers 2` splits each chunk over two model copies on two threads: the same hypotheses,
/// scores and order as one worker (also with chunks smaller than the input, and with more
/// workers than lines in the last chunk).
#[test]
fn workers_translate_like_one_worker_in_input_order() {
    let t = trained();
    let one = nbest_with(t, &["--threads", "2"]);
    assert_eq!(one.len(), 20 * 2);
    let settings: [&[&str]; 2] = [
        &["--workers", "2", "--threads", "2"],
        &["--workers", "3", "--chunk-lines", "7"],
    ];
    for flags in settings {
        let many = nbest_with(t, flags);
        assert_eq!(many.len(), one.len(), "{flags:?}");
        for ((a, sa), (b, sb)) in one.iter().zip(&many) {
            assert_eq!(a, b, "{flags:?}");
            assert!((sa - sb).abs() < 1e-4, "{flags:?}: {a}: score {sa} vs {sb}");
        }
    }
}

/// `translate --model A --model B`: an ensemble of the same model twice gives one model's
/// n-best lists (scores within float rounding: the mean of two equal log-softmaxes) and its
/// alignments; members with another vocabulary are refused, naming the directory.
#[test]
fn an_ensemble_of_identical_models_translates_like_one_model() {
    let t = trained();
    let m = t.model.to_str().unwrap();
    let one = nbest_with(t, &[]);
    let two = nbest_with(t, &["--model", m]);
    assert_eq!(one.len(), two.len());
    for ((a, sa), (b, sb)) in one.iter().zip(&two) {
        assert_eq!(a, b);
        assert!((sa - sb).abs() < 1e-3, "{a}: {sa} vs {sb}");
    }
    let align = |extra: &[&str], name: &str| {
        let path = t.dir.join(name);
        translate_cmd(t)
            .args(["--alignments", path.to_str().unwrap()])
            .args(extra)
            .write_stdin("ein mann läuft\n")
            .assert()
            .success();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        v["weights"].clone()
    };
    let (a1, a2) = (
        align(&[], "ens1.jsonl"),
        align(&["--model", m], "ens2.jsonl"),
    );
    let flat = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
            .collect::<Vec<_>>()
    };
    let (f1, f2) = (flat(&a1), flat(&a2));
    assert!(!f1.is_empty() && f1.len() == f2.len());
    assert!(f1.iter().zip(&f2).all(|(x, y)| (x - y).abs() < 1e-5));

    let other = tempfile::tempdir().unwrap();
    let other_model =
        common::train_tiny_with_cli(other.path(), 2, &["--set", "subword.vocab_size=50"]);
    translate_cmd(t)
        .args(["--model", other_model.to_str().unwrap()])
        .write_stdin("ein mann\n")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("cannot join an ensemble")
                .and(predicate::str::contains("vocabulary differs")),
        );
}

/// An ensemble of one model searches exactly as that model: the same hypotheses with the same
/// scores, bit for bit (the one member's scores pass through unchanged).
#[test]
fn an_ensemble_of_one_equals_the_model() {
    use tolk::decode::{TranslateOverrides, Translator};
    let t = trained();
    let overrides = TranslateOverrides {
        beam_size: Some(3),
        nbest: Some(3),
        ..Default::default()
    };
    let device = tch::Device::Cpu;
    let single = Translator::load(&t.model, None, device, &overrides).unwrap();
    let ensemble =
        Translator::load_ensemble(std::slice::from_ref(&t.model), None, device, &overrides)
            .unwrap();
    let src = vec!["ein mann läuft".to_string(), "zwei hunde".to_string()];
    let a = single.translate(&src).unwrap();
    let b = ensemble.translate(&src).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.len(), y.len());
        for (h, g) in x.iter().zip(y) {
            assert_eq!(h.hypothesis.tokens, g.hypothesis.tokens);
            assert_eq!(h.hypothesis.score, g.hypothesis.score);
        }
    }
}

/// `--replace-unk` leaves translations without `<unk>` as they are (and keeps the output
/// format: no attention is printed unless asked for).
#[test]
fn replace_unk_keeps_translations_without_unk() {
    let t = trained();
    let run = |extra: &[&str]| {
        translate_cmd(t)
            .args(extra)
            .write_stdin("ein mann läuft\nzwei hunde\n")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let plain = run(&[]);
    assert!(!String::from_utf8_lossy(&plain).contains("<unk>"));
    assert_eq!(run(&["--replace-unk"]), plain);
}

/// `tolk translate` on the trained model with `args`, `stdin` in; stdout lines.
fn translate_lines(t: &Trained, args: &[&str], stdin: &str) -> Vec<String> {
    let out = tolk()
        .args(["translate", "--model", t.model.to_str().unwrap()])
        .args(args)
        .write_stdin(stdin.to_string())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    lines(&out)
}

#[test]
fn split_sentences_translates_each_sentence_as_alone_and_keeps_the_line() {
    let t = trained();
    let sentences = [
        "Der hund läuft im park.",
        "Ein mann spielt ball.",
        "Die frau läuft.",
    ];
    let line = format!("  {}  {} {}", sentences[0], sentences[1], sentences[2]);
    let alone = translate_lines(t, &["--beam", "3"], &(sentences.join("\n") + "\n"));
    let split = translate_lines(
        t,
        &["--beam", "3", "--split-sentences"],
        &format!("{line}\n\nein hund\n"),
    );
    assert_eq!(split.len(), 3, "one output line per input line: {split:?}");
    assert_eq!(
        split[0],
        format!("  {}  {} {}", alone[0], alone[1], alone[2])
    );
    assert_eq!(split[1], "");
    // n-best rows of a split line: its sentences' k-th hypotheses joined, scores summed.
    let nbest = translate_lines(
        t,
        &["--beam", "3", "--nbest", "2", "--split-sentences"],
        &format!("{line}\n"),
    );
    assert_eq!(nbest.len(), 2);
    assert_eq!(
        nbest[0],
        format!(
            "0 |||   {}  {} {} ||| {}",
            alone[0],
            alone[1],
            alone[2],
            nbest[0].rsplit(" ||| ").next().unwrap()
        )
    );
    // Alignments are per sentence: one record each, numbered in order.
    let jsonl = t.dir.join("split.jsonl");
    translate_lines(
        t,
        &["--split-sentences", "--alignments", jsonl.to_str().unwrap()],
        &format!("{line}\nein hund\n"),
    );
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
    assert_eq!(records[1]["source"], sentences[1]);
}

#[test]
fn output_file_and_special_token_strings_as_text() {
    let t = trained();
    let out = t.dir.join("out.en");
    let input = "ein mann </s> <pad> läuft\n";
    translate_lines(t, &["--output", out.to_str().unwrap()], input);
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.lines().count(), 1);
    assert_eq!(
        translate_lines(t, &[], input),
        vec![written.trim_end_matches('\n').to_string()]
    );
    let jsonl = t.dir.join("special.jsonl");
    translate_lines(t, &["--alignments", jsonl.to_str().unwrap()], input);
    let record: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&jsonl)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let tokens = record["src_tokens"].as_array().unwrap();
    let (last, rest) = tokens.split_last().unwrap();
    assert_eq!(last, "</s>");
    assert!(
        !rest.contains(&serde_json::json!("</s>")) && !rest.contains(&serde_json::json!("<pad>")),
        "{tokens:?}"
    );
}

#[test]
fn search_settings_out_of_range_are_errors_not_clamps() {
    let t = trained();
    for (args, message) in [
        (
            vec!["--beam", "2", "--nbest", "3"],
            "n-best 3 must not exceed the beam size 2",
        ),
        (vec!["--beam", "0"], "beam size 0 must be between 1 and 256"),
        (vec!["--nbest", "0"], "n-best 0 must be between 1 and 256"),
        (
            vec!["--max-len-ratio", "0"],
            "max length ratio 0.0 must be > 0 and at most 10",
        ),
    ] {
        tolk()
            .args(["translate", "--model", t.model.to_str().unwrap()])
            .args(&args)
            .write_stdin("ein mann\n")
            .assert()
            .failure()
            .stderr(predicate::str::contains(message));
    }
}

/// A copy of the shared model directory as `t.dir/name`, for a test that damages it.
fn copy_model(t: &Trained, name: &str) -> PathBuf {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let copy = t.dir.join(name);
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(&t.model, &copy);
    copy
}

/// Every file under `dir` (links not followed) with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            out.extend(snapshot(&entry.path()));
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path()).unwrap();
            out.push((entry.path(), target.into_os_string().into_encoded_bytes()));
        } else {
            out.push((entry.path(), std::fs::read(entry.path()).unwrap()));
        }
    }
    out.sort();
    out
}

/// `tolk train` of the shared config into `model_dir` for 3 updates, plus `extra`.
fn train_into(t: &Trained, model_dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    tolk()
        .args(["train", t.dir.join("tiny.toml").to_str().unwrap()])
        .args([
            "--set",
            &format!("training.model_dir={}", model_dir.display()),
        ])
        .args(["--set", "training.max_steps=3"])
        .args(extra)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
}

#[test]
fn train_refuses_a_directory_with_checkpoints_but_no_last_unless_overwrite() {
    let t = trained();
    let held = copy_model(t, "held-best");
    std::fs::remove_dir_all(held.join("last")).unwrap();
    let before = snapshot(&held);
    for extra in [&[][..], &["--resume"][..]] {
        train_into(t, &held, extra).failure().stderr(
            predicate::str::contains(held.to_str().unwrap())
                .and(predicate::str::contains("best/"))
                .and(predicate::str::contains("--overwrite")),
        );
        assert!(
            snapshot(&held) == before,
            "{extra:?} changed {}",
            held.display()
        );
    }
    train_into(t, &held, &["--overwrite"]).success();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(held.join("last/state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 3, "--overwrite trains from scratch");
}

#[test]
fn resume_from_a_broken_last_names_it_and_changes_nothing() {
    let t = trained();
    for (case, problem) in [
        ("dangling", "does not exist"),
        ("loop", "symbolic link loop"),
        ("file", "not a directory"),
    ] {
        let model = copy_model(t, &format!("broken-last-{case}"));
        let last = model.join("last");
        std::fs::remove_dir_all(&last).unwrap();
        match case {
            "dangling" => std::os::unix::fs::symlink(model.join("nowhere"), &last).unwrap(),
            "loop" => std::os::unix::fs::symlink(&last, &last).unwrap(),
            _ => std::fs::write(&last, b"not a checkpoint").unwrap(),
        }
        let before = snapshot(&model);
        train_into(t, &model, &["--resume"]).failure().stderr(
            predicate::str::contains(last.to_str().unwrap())
                .and(predicate::str::contains(problem))
                .and(predicate::str::contains("from scratch").not()),
        );
        assert!(
            snapshot(&model) == before,
            "{case}: the model directory changed"
        );
    }
}

#[test]
fn a_best_checkpoint_that_does_not_load_is_an_error_not_a_fallback_to_last() {
    let t = trained();
    let model = copy_model(t, "broken-best");
    let best = model.join("best");
    std::fs::remove_dir_all(&best).unwrap();
    std::os::unix::fs::symlink(&best, &best).unwrap();
    for extra in [&[][..], &["--checkpoint", "best"][..]] {
        tolk()
            .args(["translate", "--model", model.to_str().unwrap()])
            .args(extra)
            .write_stdin("ein mann\n")
            .assert()
            .failure()
            .stderr(
                predicate::str::contains(best.to_str().unwrap())
                    .and(predicate::str::contains("symbolic link loop")),
            );
    }
    // Only a best/ that does not exist at all falls back to last/, with a warning.
    std::fs::remove_file(&best).unwrap();
    tolk()
        .args(["translate", "--model", model.to_str().unwrap()])
        .write_stdin("ein mann\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("no best/").and(predicate::str::contains("last")));
}

#[test]
fn translate_ends_quietly_when_its_stdout_is_closed() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let t = trained();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tolk"))
        .args(["translate", "--model", t.model.to_str().unwrap()])
        .args(["--chunk-lines", "10", "--beam", "1"])
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all("ein mann läuft\n".repeat(10).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    // Like `head -1`: read one line, then close the pipe.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.trim().is_empty());
    // The next chunk's output has nowhere to go; the child may exit before it reads all this.
    let _ = stdin.write_all("der hund spielt\n".repeat(20).as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("Error"), "{stderr}");
}

#[test]
fn an_out_of_range_shortlist_id_is_an_error_naming_it_not_a_panic() {
    let t = trained();
    let model = copy_model(t, "bad-shortlist");
    // As in a model directory written before its files were checksummed.
    let _ = std::fs::remove_file(model.join("checksums.json"));
    let path = model.join("shortlist.json");
    let mut shortlist: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    shortlist["frequent"][0] = serde_json::json!(9999);
    std::fs::write(&path, serde_json::to_vec(&shortlist).unwrap()).unwrap();
    let out = tolk()
        .args([
            "translate",
            "--model",
            model.to_str().unwrap(),
            "--shortlist",
        ])
        .write_stdin("ein mann\n")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("shortlist.json: the frequent list lists target id 9999")
                .and(predicate::str::contains("the target vocabulary has"))
                .and(predicate::str::contains("panicked").not()),
        )
        .get_output()
        .status
        .code();
    assert_eq!(out, Some(1));
}

#[test]
fn tokenizer_and_shortlist_files_are_checked_against_checksums() {
    let t = trained();
    let model = copy_model(t, "checksummed");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("checksums.json")).unwrap()).unwrap();
    for file in ["tokenizer.json", "shortlist.json"] {
        assert!(manifest["files"][file].is_string(), "{file}: {manifest}");
    }
    let translate = |extra: &[&str]| {
        tolk()
            .args(["translate", "--model", model.to_str().unwrap()])
            .args(extra)
            .write_stdin("ein mann\n")
            .assert()
    };
    let shortlist = model.join("shortlist.json");
    let mut bytes = std::fs::read(&shortlist).unwrap();
    bytes.push(b'\n');
    std::fs::write(&shortlist, &bytes).unwrap();
    translate(&["--shortlist"]).failure().stderr(
        predicate::str::contains("checksum mismatch: ").and(predicate::str::contains(
            "shortlist.json was modified or is corrupt",
        )),
    );
    let tokenizer = model.join("tokenizer.json");
    let mut bytes = std::fs::read(&tokenizer).unwrap();
    bytes.push(b'\n');
    std::fs::write(&tokenizer, &bytes).unwrap();
    translate(&[]).failure().stderr(predicate::str::contains(
        "tokenizer.json was modified or is corrupt",
    ));
    // A directory from before: its files load with a warning naming them, and are recorded.
    std::fs::remove_file(model.join("checksums.json")).unwrap();
    translate(&["--shortlist"]).success().stderr(
        predicate::str::contains("tokenizer.json not listed in checksums.json")
            .and(predicate::str::contains(
                "shortlist.json not listed in checksums.json",
            ))
            .and(predicate::str::contains("added to it now")),
    );
    translate(&["--shortlist"])
        .success()
        .stderr(predicate::str::contains("not listed").not());
}

#[test]
fn a_tokenizer_of_another_vocabulary_size_is_an_error_naming_it() {
    let t = trained();
    let model = copy_model(t, "other-tokenizer");
    let _ = std::fs::remove_file(model.join("checksums.json"));
    let text = std::fs::read_to_string(t.dir.join("train.de")).unwrap();
    let other = tolk::subword::train_bpe(text.lines(), 30, 1).unwrap();
    other.save(&model.join("tokenizer.json")).unwrap();
    tolk()
        .args(["translate", "--model", model.to_str().unwrap()])
        .write_stdin("ein mann\n")
        .assert()
        .failure()
        .stderr(
            predicate::str::contains(format!(
                "tokenizer.json: {} subwords, but encoder.embed.weight",
                other.vocab_size()
            ))
            .and(predicate::str::contains(
                "the tokenizer is not this model's",
            )),
        );
}

#[test]
fn a_two_megabyte_line_is_cut_in_characters_before_it_is_segmented() {
    let t = trained();
    let long = "der hund spielt im park ".repeat(90_000);
    let long = long.trim_end();
    for extra in [&[][..], &["--split-sentences"][..]] {
        let out = translate_cmd(t)
            .args(extra)
            .write_stdin(format!("ein mann\n{long}\n"))
            .assert()
            .success()
            .stderr(
                predicate::str::contains("line 2: ").and(predicate::str::contains(
                    "2159999 characters, cut to the first 250 subwords of its first 4000 \
                     characters",
                )),
            )
            .get_output()
            .stdout
            .clone();
        assert_eq!(lines(&out).len(), 2, "{extra:?}");
    }
}
