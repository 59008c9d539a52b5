//! Language-detection accuracy and speed on the shipped test sets, as the table in
//! docs/serve.md: `cargo run --release --example detect_accuracy`.
//!
//! Each line of a file counts as correct when the detector's most likely language is the
//! file's language. The detector chooses among `tolk::detect::DEFAULT_LANGUAGES`, as
//! `tolk serve` does by default.

use std::io::Read;
use std::time::Instant;

use tolk::detect::{LanguageDetector, DEFAULT_LANGUAGES};

fn lines(path: &str) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_string).collect()
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let started = Instant::now();
    let detector = LanguageDetector::new(&DEFAULT_LANGUAGES).unwrap();
    let built = started.elapsed();
    println!(
        "detector over {} languages built in {:.1} ms",
        DEFAULT_LANGUAGES.len(),
        built.as_secs_f64() * 1e3
    );
    println!("| file | lines | accurate | accuracy | confused with | lines/s |");
    println!("|---|---|---|---|---|---|");
    for (file, lang) in [
        ("data/multi30k/test2016.de.gz", "de"),
        ("data/multi30k/test2016.en.gz", "en"),
        ("data/multi30k/test2016.fr.gz", "fr"),
        ("data/multi30k/test2016.cs.gz", "cs"),
        ("data/tatoeba-en-fr/test.en.gz", "en"),
        ("data/tatoeba-en-fr/test.fr.gz", "fr"),
    ] {
        let text = lines(&format!("{root}/{file}"));
        let started = Instant::now();
        let found: Vec<Option<String>> = text
            .iter()
            .map(|l| detector.detect(l).into_iter().next().map(|d| d.language))
            .collect();
        let secs = started.elapsed().as_secs_f64();
        let right = found.iter().filter(|f| f.as_deref() == Some(lang)).count();
        let mut confused: std::collections::BTreeMap<String, usize> = Default::default();
        for f in found.iter().filter(|f| f.as_deref() != Some(lang)) {
            *confused
                .entry(f.clone().unwrap_or("none".into()))
                .or_default() += 1;
        }
        let confused: Vec<String> = confused.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "| {file} | {} | {right} | {:.1} % | {} | {:.0} |",
            text.len(),
            100.0 * right as f64 / text.len() as f64,
            confused.join(", "),
            text.len() as f64 / secs
        );
    }
}
