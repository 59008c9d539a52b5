//! `tolk prepare` and training's data path over the prepared corpus (issue 29): every pair is
//! the segmentation of its text, a stale corpus is prepared again, a damaged one is an error
//! naming the file (that `tolk prepare` replaces), and the shortlist and BPE sample rules.

mod common;

use std::fs;
use std::path::Path;

use tolk::artifacts::ModelDir;
use tolk::config::Config;
use tolk::data::corpus::read_training_pairs;
use tolk::data::prepared::{PreparedCorpus, SRC_IDS, SRC_OFFSETS};
use tolk::subword::SubwordModel;
use tolk::train::prepare::{prepare, prepare_model_dir, segment_and_filter};

/// A tiny config whose model directory exists.
fn setup(dir: &Path) -> (Config, ModelDir) {
    let mut cfg = common::tiny_config(dir, "model", 1);
    // Some pairs fall over the length limit, so the filter's line bookkeeping is exercised.
    cfg.data.max_src_len = 14;
    cfg.data.concat_pairs = 2;
    let md = ModelDir::new(&cfg.training.model_dir);
    fs::create_dir_all(&md.root).unwrap();
    (cfg, md)
}

/// The header's modification time: changes when the corpus is written again.
fn written_at(md: &ModelDir) -> std::time::SystemTime {
    fs::metadata(md.corpus().join("header.json"))
        .unwrap()
        .modified()
        .unwrap()
}

#[test]
fn every_prepared_pair_is_the_segmentation_of_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, md) = setup(dir.path());
    let data = prepare(&cfg, &md).unwrap();
    // The in-memory path of earlier versions, over the same text and subword model.
    let dc = &cfg.data;
    let text = read_training_pairs(
        &dc.train_src,
        &dc.train_tgt,
        dc.empty_lines,
        dc.max_line_chars,
    )
    .unwrap();
    let text = tolk::data::concat::with_joined_pairs(&text, dc.concat_pairs);
    let sw = SubwordModel::load(&md.root.join("tokenizer.json")).unwrap();
    let (pairs, filter) = segment_and_filter(&cfg, &sw, &sw, &text).unwrap();
    assert!(
        filter.n_dropped() > 0 && filter.n_kept() > 100,
        "{}",
        filter.n_dropped()
    );
    let corpus = &data.corpus;
    assert_eq!(corpus.len(), pairs.len());
    for (i, (s, t)) in pairs.iter().enumerate() {
        assert_eq!(&corpus.src(i), s, "pair {i}");
        assert_eq!(&corpus.tgt(i), t, "pair {i}");
        assert_eq!(
            corpus.line(i) as usize,
            text.line_numbers[filter.kept[i]],
            "pair {i}"
        );
        let l = data.lengths[i];
        assert_eq!((l.src as usize, l.tgt as usize), (s.len() + 1, t.len() + 1));
    }
    // Decoding a pair gives its text back (the tiny corpus has no unknown characters).
    let first = filter.kept[0];
    assert_eq!(sw.decode(&corpus.src(0)).unwrap(), text.src[first]);
}

#[test]
fn a_changed_input_or_setting_prepares_the_corpus_again_and_an_unchanged_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, md) = setup(dir.path());
    let n = prepare(&cfg, &md).unwrap().corpus.len();
    let first = written_at(&md);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(prepare(&cfg, &md).unwrap().corpus.len(), n);
    assert_eq!(
        written_at(&md),
        first,
        "an up-to-date corpus was written again"
    );

    // One more training pair: stale, prepared again with it.
    let src = fs::read_to_string(&cfg.data.train_src).unwrap() + "ein mann\n";
    let tgt = fs::read_to_string(&cfg.data.train_tgt).unwrap() + "a man\n";
    fs::write(&cfg.data.train_src, src).unwrap();
    fs::write(&cfg.data.train_tgt, tgt).unwrap();
    let grown = prepare(&cfg, &md).unwrap().corpus;
    assert!(
        grown.len() > n,
        "{} pairs after adding one to {n}",
        grown.len()
    );
    assert!(
        (0..grown.len()).any(|i| grown.line(i) == 301),
        "the added pair names its line"
    );

    // A filter setting: stale too.
    cfg.data.max_src_len = 1000;
    let wider = prepare(&cfg, &md).unwrap().corpus;
    assert!(wider.len() > grown.len());
    let source = wider.header().source.clone().unwrap();
    assert_eq!(source["settings"]["data.max_src_len"], "1000");
}

#[test]
fn a_damaged_corpus_is_an_error_naming_the_file_and_tolk_prepare_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, md) = setup(dir.path());
    let n = prepare(&cfg, &md).unwrap().corpus.len();

    // A flipped byte in the ids.
    let ids = md.corpus().join(SRC_IDS);
    let mut bytes = fs::read(&ids).unwrap();
    bytes[10] ^= 0x40;
    fs::write(&ids, &bytes).unwrap();
    let err = format!("{:#}", prepare(&cfg, &md).err().expect("a damaged corpus"));
    assert!(
        err.contains("is damaged") && err.contains(SRC_IDS) && err.contains("tolk prepare"),
        "{err}"
    );
    let report = prepare_model_dir(&cfg, false).unwrap();
    assert!(report.written && report.pairs == n, "{report:?}");
    assert!(PreparedCorpus::open(&md.corpus()).is_ok());

    // A truncated index, its checksums recorded again so that only the sizes tell.
    let offsets = md.corpus().join(SRC_OFFSETS);
    let len = fs::metadata(&offsets).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&offsets)
        .unwrap()
        .set_len(len - 8)
        .unwrap();
    tolk::artifacts::checksum::record(&md.corpus(), &tolk::data::prepared::FILES).unwrap();
    let err = format!("{:#}", prepare(&cfg, &md).err().expect("a truncated index"));
    assert!(err.contains(SRC_OFFSETS), "{err}");
    assert!(prepare_model_dir(&cfg, false).unwrap().written);
    assert!(
        !prepare_model_dir(&cfg, false).unwrap().written,
        "up to date"
    );
    assert!(prepare_model_dir(&cfg, true).unwrap().written, "--force");
}

#[test]
fn bpe_is_learned_on_a_seeded_sample_of_the_corpus_when_it_is_larger() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::tiny_config(dir.path(), "model", 1);
    cfg.subword.sample_pairs = 50;
    let (a, total) = {
        let (s, _, total) = tolk::train::prepare::subwords::sample_pairs(&cfg).unwrap();
        (s, total)
    };
    assert_eq!((a.len(), total), (50, 300));
    let (b, _, _) = tolk::train::prepare::subwords::sample_pairs(&cfg).unwrap();
    assert_eq!(a, b, "the same seed draws the same sample");
    cfg.training.seed += 1;
    let (c, _, _) = tolk::train::prepare::subwords::sample_pairs(&cfg).unwrap();
    assert_ne!(a, c);
    // Within the limit: the whole corpus, in file order.
    cfg.subword.sample_pairs = 300;
    let (all, _, _) = tolk::train::prepare::subwords::sample_pairs(&cfg).unwrap();
    let lines: Vec<String> = fs::read_to_string(&cfg.data.train_src)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(all, lines);
}

#[test]
fn the_shortlist_counted_in_parallel_equals_the_one_learned_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, md) = setup(dir.path());
    let data = prepare(&cfg, &md).unwrap();
    let pairs: Vec<(Vec<i64>, Vec<i64>)> = (0..data.corpus.len())
        .map(|i| (data.corpus.src(i), data.corpus.tgt(i)))
        .collect();
    let dec = &cfg.decoding;
    let one_pass = tolk::decode::LexicalShortlist::learn(
        &pairs,
        data.src_subwords.vocab_size(),
        dec.shortlist_frequent,
        dec.shortlist_translations,
    );
    let saved =
        tolk::decode::LexicalShortlist::load(&md.shortlist(), data.tgt_subwords.vocab_size())
            .unwrap();
    assert_eq!(saved, one_pass);
}
