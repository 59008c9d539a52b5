//! Prepared corpus (issue 29) timings: writing PAIRS random pairs (1–40 ids each side, vocab
//! 32,000, so u16), opening with and without checksums, reading every pair, SHA-256
//! throughput. `cargo run --release --example prepared_bench [PAIRS] [DIR]` (defaults
//! 1,000,000 and a temporary directory). The files are in the page cache when opened, so
//! the open timings are CPU-bound, not disk-bound. A benchmark for docs/scale.md, not a test.

use std::path::PathBuf;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tolk::artifacts::checksum::sha256_file;
use tolk::data::prepared::{PreparedCorpus, PreparedWriter, FILES};

fn main() {
    let pairs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let scratch = tempfile::tempdir().expect("temporary directory");
    let parent = std::env::args()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.path().to_path_buf());
    let dir = parent.join("prepared_bench");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (mut src, mut tgt) = (Vec::new(), Vec::new());

    let t = Instant::now();
    let mut w = PreparedWriter::create(&dir, 32_000, 32_000).expect("create");
    for line in 1..=pairs {
        src.clear();
        tgt.clear();
        let (ls, lt) = (rng.random_range(1..=40), rng.random_range(1..=40));
        src.extend((0..ls).map(|_| rng.random_range(0..32_000u32)));
        tgt.extend((0..lt).map(|_| rng.random_range(0..32_000u32)));
        w.push(&src, &tgt, line).expect("push");
    }
    let header = w.finish().expect("finish");
    let write_s = t.elapsed().as_secs_f64();
    let bytes: u64 = FILES
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).expect("size").len())
        .sum();
    println!(
        "{pairs} pairs, {} + {} tokens, {:.1} MB on disk ({:.1} bytes/pair)",
        header.src_tokens,
        header.tgt_tokens,
        bytes as f64 / 1e6,
        bytes as f64 / pairs as f64
    );
    println!("write + finish (incl. generating random ids, fsync, SHA-256): {write_s:.2} s");

    let t = Instant::now();
    for f in FILES {
        sha256_file(&dir.join(f)).expect("hash");
    }
    let hash_s = t.elapsed().as_secs_f64();
    println!(
        "sha256 of all files: {hash_s:.2} s, {:.0} MB/s",
        bytes as f64 / 1e6 / hash_s
    );

    let t = Instant::now();
    let corpus = PreparedCorpus::open(&dir).expect("open");
    println!("open (verified): {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let corpus2 = PreparedCorpus::open_unverified(&dir).expect("open");
    println!("open_unverified: {:.3} s", t.elapsed().as_secs_f64());
    assert_eq!(corpus.len(), corpus2.len());

    let t = Instant::now();
    let lengths: Vec<(usize, usize)> = corpus.lengths().collect();
    println!(
        "lengths of all pairs: {:.3} s ({} pairs)",
        t.elapsed().as_secs_f64(),
        lengths.len()
    );
    let t = Instant::now();
    let mut buf = Vec::with_capacity(64);
    let mut total = 0usize;
    for i in 0..corpus.len() {
        buf.clear();
        corpus.append_src(i, &mut buf);
        corpus.append_tgt(i, &mut buf);
        total += buf.len();
    }
    let read_s = t.elapsed().as_secs_f64();
    println!(
        "read every pair as i64: {read_s:.3} s ({:.0} M ids/s)",
        total as f64 / 1e6 / read_s
    );
    let t = Instant::now();
    corpus.release_pages();
    println!(
        "release_pages with every page mapped: {:.4} s",
        t.elapsed().as_secs_f64()
    );
    // What training does per update: a batch of 130 pairs at random places, then release.
    let t = Instant::now();
    let rounds = 100;
    for r in 0..rounds {
        for k in 0..130usize {
            let i = (r * 7919 + k * 104_729) % corpus.len();
            buf.clear();
            corpus.append_src(i, &mut buf);
        }
        corpus.release_pages();
    }
    println!(
        "130 random pairs + release_pages: {:.3} ms per round",
        t.elapsed().as_secs_f64() * 1e3 / rounds as f64
    );
}
