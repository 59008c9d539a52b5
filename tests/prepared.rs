//! The prepared (binary) corpus of issue 29: what the writer stores the reader gives back,
//! exactly; damaged files are errors naming the file; an unfinished writer never harms the
//! previous corpus.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tolk::artifacts::checksum::ChecksumError;
use tolk::data::prepared::{
    IdWidth, PreparedCorpus, PreparedError, PreparedWriter, Side, SRC_IDS, SRC_OFFSETS, TGT_IDS,
    TGT_OFFSETS,
};

/// A sentence pair with its input line.
type Pair = (Vec<u32>, Vec<u32>, u64);

/// `n` seeded random pairs: source 0–40 ids below `src_vocab`, target 0–40 below `tgt_vocab`
/// (some of each empty), each side's largest id somewhere, line numbers rising with gaps.
fn random_pairs(n: usize, src_vocab: u32, tgt_vocab: u32, seed: u64) -> Vec<Pair> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut line = 0;
    let mut pairs: Vec<Pair> = (0..n)
        .map(|_| {
            line += rng.random_range(1..4);
            let side = |rng: &mut ChaCha8Rng, vocab| {
                let len = rng.random_range(0..=40);
                (0..len).map(|_| rng.random_range(0..vocab)).collect()
            };
            (side(&mut rng, src_vocab), side(&mut rng, tgt_vocab), line)
        })
        .collect();
    pairs[1].0.push(src_vocab - 1);
    pairs[2].1.push(tgt_vocab - 1);
    pairs[3].1.clear();
    pairs[4].0.clear();
    pairs
}

fn write(dir: &Path, src_vocab: u32, tgt_vocab: u32, pairs: &[Pair]) {
    let mut w = PreparedWriter::create(dir, src_vocab, tgt_vocab).unwrap();
    for (s, t, line) in pairs {
        w.push(s, t, *line).unwrap();
    }
    let header = w.finish().unwrap();
    assert_eq!(header.pairs, pairs.len() as u64);
}

fn widen(ids: &[u32]) -> Vec<i64> {
    ids.iter().map(|&i| i64::from(i)).collect()
}

/// Every pair, length and line number of `corpus` is `pairs`, in order.
fn assert_same(corpus: &PreparedCorpus, pairs: &[Pair]) {
    assert_eq!(corpus.len(), pairs.len());
    let mut buf = vec![-1];
    for (i, (s, t, line)) in pairs.iter().enumerate() {
        assert_eq!(corpus.src(i), widen(s), "source of pair {i}");
        assert_eq!(corpus.tgt(i), widen(t), "target of pair {i}");
        assert_eq!((corpus.src_len(i), corpus.tgt_len(i)), (s.len(), t.len()));
        assert_eq!(corpus.line(i), *line, "line of pair {i}");
        buf.truncate(1);
        corpus.append_tgt(i, &mut buf);
        assert_eq!(buf[1..], widen(t)[..], "append_tgt keeps what was there");
    }
    let lengths: Vec<_> = corpus.lengths().collect();
    let expected: Vec<_> = pairs.iter().map(|(s, t, _)| (s.len(), t.len())).collect();
    assert_eq!(lengths, expected);
    let read: Vec<_> = corpus
        .read_lengths()
        .unwrap()
        .iter()
        .map(|l| (l.src as usize, l.tgt as usize))
        .collect();
    assert_eq!(
        read, expected,
        "read_lengths (from the files) = lengths (from the mapping)"
    );
}

fn size(path: PathBuf) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn round_trip_with_u16_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    let pairs = random_pairs(3000, 65_536, 9_000, 1);
    write(&dir, 65_536, 9_000, &pairs);
    let corpus = PreparedCorpus::open(&dir).unwrap();
    assert_eq!(corpus.id_width(), IdWidth::U16);
    assert_same(&corpus, &pairs);
    let src_tokens: usize = pairs.iter().map(|p| p.0.len()).sum();
    assert_eq!(corpus.header().src_tokens, src_tokens as u64);
    assert_eq!(
        size(dir.join(SRC_IDS)),
        2 * src_tokens as u64,
        "2 bytes per id"
    );
    assert_eq!(size(dir.join(SRC_OFFSETS)), 8 * 3001);
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["prepared"], "no .tmp or .old left beside it");
}

#[test]
fn round_trip_with_u32_ids_when_a_vocabulary_exceeds_65536() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    let pairs = random_pairs(2000, 8_000, 70_000, 2);
    write(&dir, 8_000, 70_000, &pairs);
    let corpus = PreparedCorpus::open(&dir).unwrap();
    assert_eq!(corpus.id_width(), IdWidth::U32);
    assert!(pairs.iter().any(|p| p.1.iter().any(|&id| id > 65_535)));
    assert_same(&corpus, &pairs);
    let tgt_tokens: usize = pairs.iter().map(|p| p.1.len()).sum();
    assert_eq!(
        size(dir.join(TGT_IDS)),
        4 * tgt_tokens as u64,
        "4 bytes per id"
    );
}

#[test]
fn an_empty_corpus_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    write(&dir, 10, 10, &[]);
    let corpus = PreparedCorpus::open(&dir).unwrap();
    assert!(corpus.is_empty());
    assert_eq!(corpus.lengths().count(), 0);
}

#[test]
fn a_truncated_offsets_index_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    write(&dir, 100, 100, &random_pairs(50, 100, 100, 3));
    let path = dir.join(SRC_OFFSETS);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
    let err = PreparedCorpus::open(&dir).err().unwrap();
    assert!(
        matches!(&err, PreparedError::Checksum(ChecksumError::Mismatch { path: p, .. }) if *p == path),
        "{err}"
    );
    let err = PreparedCorpus::open_unverified(&dir).err().unwrap();
    assert!(
        matches!(&err, PreparedError::SizeMismatch { path: p, found, expected }
            if *p == path && *found == 50 * 8 && *expected == 51 * 8),
        "{err}"
    );
    assert!(err.to_string().contains("src.offsets"), "{err}");
}

#[test]
fn a_flipped_byte_in_the_ids_is_a_checksum_mismatch_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    write(&dir, 100, 100, &random_pairs(50, 100, 100, 4));
    let path = dir.join(TGT_IDS);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[7] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = PreparedCorpus::open(&dir).err().unwrap();
    assert!(
        matches!(&err, PreparedError::Checksum(ChecksumError::Mismatch { path: p, .. }) if *p == path),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.starts_with("checksum mismatch: "), "{msg}");
    assert!(msg.contains("tgt.ids was modified or is corrupt"), "{msg}");
    // Without the checksums the flip is invisible: same size, offsets untouched.
    assert!(PreparedCorpus::open_unverified(&dir).is_ok());
}

/// Rewrites u64 entry `i` of `path`.
fn set_u64(path: &Path, i: usize, value: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
    std::fs::write(path, &bytes).unwrap();
}

#[test]
fn inconsistent_offsets_are_errors_at_open_naming_the_file_and_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    let pairs: Vec<Pair> = (1..=4).map(|l| (vec![1, 2, 3], vec![4, 5], l)).collect();
    write(&dir, 10, 10, &pairs);
    let path = dir.join(TGT_OFFSETS);
    set_u64(&path, 2, 1); // tgt offsets 0 2 1 6 8: pair 1 would end before it starts
    let err = PreparedCorpus::open_unverified(&dir).err().unwrap();
    assert!(
        matches!(&err, PreparedError::OffsetsDecrease { path: p, pair: 1, previous: 2, value: 1 }
            if *p == path),
        "{err}"
    );
    set_u64(&path, 2, 4);
    set_u64(&path, 4, 7); // last offset 7, but 8 tokens
    let err = PreparedCorpus::open_unverified(&dir).err().unwrap();
    assert!(
        matches!(&err, PreparedError::OffsetsEnd { path: p, found: 7, expected: 8 } if *p == path),
        "{err}"
    );
    set_u64(&path, 4, 8);
    set_u64(&path, 0, 1);
    let err = PreparedCorpus::open_unverified(&dir).err().unwrap();
    assert!(
        matches!(&err, PreparedError::OffsetsStart { path: p, found: 1 } if *p == path),
        "{err}"
    );
    set_u64(&path, 0, 0);
    assert_same(&PreparedCorpus::open(&dir).unwrap(), &pairs);
}

#[test]
fn a_missing_manifest_is_an_error_unless_unverified() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    write(&dir, 10, 10, &[(vec![1], vec![2], 1)]);
    std::fs::remove_file(dir.join("checksums.json")).unwrap();
    let err = PreparedCorpus::open(&dir).err().unwrap();
    assert!(matches!(err, PreparedError::NoManifest { .. }), "{err}");
    assert_eq!(PreparedCorpus::open_unverified(&dir).unwrap().len(), 1);
}

#[test]
fn an_unfinished_writer_leaves_the_previous_corpus_loadable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    let old = random_pairs(100, 50, 50, 5);
    write(&dir, 50, 50, &old);
    let tmp_dir = tmp.path().join("prepared.tmp");

    // Dropped without finish (an error on the way): DIR.tmp removed, DIR untouched.
    let mut w = PreparedWriter::create(&dir, 50, 50).unwrap();
    w.push(&[1, 2], &[3], 1).unwrap();
    assert!(tmp_dir.is_dir());
    drop(w);
    assert!(!tmp_dir.exists());
    assert_same(&PreparedCorpus::open(&dir).unwrap(), &old);

    // Killed (no destructor runs): DIR.tmp stays, DIR untouched, the next writer starts over.
    let mut w = PreparedWriter::create(&dir, 50, 50).unwrap();
    w.push(&[1, 2], &[3], 1).unwrap();
    std::mem::forget(w);
    assert!(tmp_dir.is_dir());
    assert_same(&PreparedCorpus::open(&dir).unwrap(), &old);
    let new = random_pairs(30, 50, 50, 6);
    write(&dir, 50, 50, &new);
    assert_same(&PreparedCorpus::open(&dir).unwrap(), &new);
    assert!(!tmp_dir.exists() && !tmp.path().join("prepared.old").exists());
}

#[test]
fn an_id_outside_the_vocabulary_is_an_error_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prepared");
    let mut w = PreparedWriter::create(&dir, 100, 20).unwrap();
    w.push(&[5, 99], &[19], 3).unwrap();
    let err = w.push(&[5], &[0, 7, 20], 8).unwrap_err();
    assert!(
        matches!(
            err,
            PreparedError::IdOutOfVocab {
                side: Side::Target,
                line: 8,
                position: 2,
                id: 20,
                vocab: 20
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("input line 8: target token 2 has id 20"),
        "{err}"
    );
    let err = w.push(&[100], &[], 9).unwrap_err();
    assert!(
        matches!(
            err,
            PreparedError::IdOutOfVocab {
                side: Side::Source,
                line: 9,
                ..
            }
        ),
        "{err}"
    );
    // The refused pairs left nothing behind; the writer goes on.
    w.push(&[], &[1], 12).unwrap();
    w.finish().unwrap();
    let pairs = [(vec![5, 99], vec![19], 3), (vec![], vec![1], 12)];
    assert_same(&PreparedCorpus::open(&dir).unwrap(), &pairs);
}

#[test]
fn a_path_without_a_name_is_refused() {
    let err = PreparedWriter::create(Path::new("/"), 10, 10)
        .err()
        .unwrap();
    assert!(matches!(err, PreparedError::BadPath { .. }), "{err}");
}

#[test]
fn the_corpus_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PreparedCorpus>();
}
