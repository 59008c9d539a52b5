//! Segmentation of running text (`tolk::document`) against a hand-written fixture of de/en/fr
//! texts: the expected sentences, and the layout (every newline, blank line and run of
//! whitespace) kept when the sentences are replaced by their translations.

use serde::Deserialize;
use tolk::document::{Document, DocumentBatch};

#[derive(Deserialize)]
struct Case {
    lang: String,
    text: String,
    sentences: Vec<String>,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/segmentation/cases.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1)))
        .collect()
}

/// Blank and non-blank lines of a text, as (is blank) per line: what a reader sees as layout.
fn line_shape(text: &str) -> Vec<bool> {
    text.split('\n').map(|l| l.trim().is_empty()).collect()
}

#[test]
fn sentences_match_the_hand_written_fixture() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let doc = Document::segment(&c.text, &c.lang);
        let got: Vec<&str> = doc.sentences().iter().map(|s| s.text.as_str()).collect();
        if got != c.sentences {
            wrong.push(format!(
                "[{}] {:?}\n  want {:?}\n  got  {:?}",
                c.lang, c.text, c.sentences, got
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_layout_survives_translation() {
    for c in cases() {
        let doc = Document::segment(&c.text, &c.lang);
        // The sentences themselves give back the text byte for byte: every gap is verbatim.
        let same: Vec<&str> = doc.sentences().iter().map(|s| s.text.as_str()).collect();
        assert_eq!(doc.assemble(&same).unwrap(), c.text);
        // Translations of another length keep the lines, blank lines and spacing.
        let translated: Vec<String> = (0..same.len()).map(|i| format!("T{i} x y.")).collect();
        let out = doc.assemble(&translated).unwrap();
        assert_eq!(
            line_shape(&out),
            line_shape(&c.text),
            "{:?} -> {out:?}",
            c.text
        );
        let lead = |s: &str| s.len() - s.trim_start().len();
        let trail = |s: &str| s.len() - s.trim_end().len();
        assert_eq!(&out[..lead(&out)], &c.text[..lead(&c.text)]);
        assert_eq!(
            &out[out.len() - trail(&out)..],
            &c.text[c.text.len() - trail(&c.text)..]
        );
        // Character offsets point at the sentences.
        let chars: Vec<char> = c.text.chars().collect();
        for s in doc.sentences() {
            assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text);
        }
    }
}

#[test]
fn a_batch_of_texts_is_one_flat_list_of_sentences() {
    let cases = cases();
    let de: Vec<&str> = cases
        .iter()
        .filter(|c| c.lang == "de")
        .map(|c| c.text.as_str())
        .collect();
    let batch = DocumentBatch::new(&de, "de");
    let expected: usize = cases
        .iter()
        .filter(|c| c.lang == "de")
        .map(|c| c.sentences.len())
        .sum();
    assert_eq!(batch.model_inputs().len(), expected);
    assert_eq!(batch.sentence_count(), expected);
    let groups = batch.regroup(batch.model_inputs());
    for (doc, group) in batch.documents().iter().zip(&groups) {
        let want: Vec<String> = doc.sentences().iter().map(|s| s.model_input()).collect();
        assert_eq!(&want, group);
    }
}
