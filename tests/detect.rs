//! Language detection on whole sentences of the shipped Multi30k test2016 files: at least 95 %
//! of each language's lines get their language first (the full table, with Tatoeba, is in
//! docs/serve.md, from `cargo run --release --example detect_accuracy`).

use std::io::Read;

use tolk::detect::{LanguageDetector, DEFAULT_LANGUAGES};

fn lines(file: &str) -> Vec<String> {
    let path = format!("{}/data/multi30k/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_string).collect()
}

#[test]
fn whole_test2016_sentences_are_detected_at_95_percent_or_better() {
    let detector = LanguageDetector::new(&DEFAULT_LANGUAGES).unwrap();
    for lang in ["de", "en", "fr", "cs"] {
        let text = lines(&format!("test2016.{lang}.gz"));
        assert_eq!(text.len(), 1000);
        let right = text
            .iter()
            .filter(|l| detector.detect(l).first().map(|d| d.language.as_str()) == Some(lang))
            .count();
        assert!(right >= 950, "{lang}: {right}/1000 detected");
    }
}
