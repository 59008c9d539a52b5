//! A text's layout: lines, the whitespace around and between sentences, and the sentences.

use std::ops::Range;

use crate::error::Error;

use super::sentences::sentence_ranges;

/// One sentence of a [`Document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// The sentence as it is in the text, without the whitespace around it.
    pub text: String,
    /// Offset of its first character in the text, in characters (Unicode scalar values).
    pub start: usize,
    /// Offset just past its last character, in characters.
    pub end: usize,
}

impl Sentence {
    /// What the model translates: the sentence with every run of whitespace (tabs, no-break
    /// spaces, several spaces) as one space, as the single-sentence training data has it.
    pub fn model_input(&self) -> String {
        self.text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text kept verbatim: newlines, blank lines, whitespace between and around sentences.
    Gap(String),
    /// The i-th sentence.
    Sentence(usize),
}

/// A running text split into sentences, with everything between them kept: the parts in order
/// (gaps and sentences) concatenate to the text exactly.
///
/// A text is cut into lines first (at `\n`; `\r\n` stays one line end), so a sentence never
/// spans lines, then each line into sentences ([`sentence_ranges`]). A text without any
/// non-whitespace character has no sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    parts: Vec<Part>,
    sentences: Vec<Sentence>,
}

impl Document {
    /// Segments `text`, whose language is `language` (ISO 639-1; it picks the segmenter's
    /// abbreviation rules).
    pub fn segment(text: &str, language: &str) -> Self {
        let mut doc = Builder::default();
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let content = body.trim();
            let lead = &body[..body.len() - body.trim_start().len()];
            doc.gap(lead);
            let offset = lead.len();
            for range in sentence_ranges(content, language) {
                let piece = &content[range];
                let trimmed = piece.trim();
                let before = &piece[..piece.len() - piece.trim_start().len()];
                doc.gap(before);
                doc.sentence(trimmed);
                doc.gap(&piece[before.len() + trimmed.len()..]);
            }
            doc.gap(&body[offset + content.len()..]);
            doc.gap(&line[body.len()..]);
        }
        Document {
            parts: doc.parts,
            sentences: doc.sentences,
        }
    }

    /// The sentences, in order.
    pub fn sentences(&self) -> &[Sentence] {
        &self.sentences
    }

    /// The text with sentence i replaced by `translations[i]`, every gap as it was.
    ///
    /// Errors: [`Error::Internal`] when there is not exactly one translation per sentence.
    pub fn assemble<S: AsRef<str>>(&self, translations: &[S]) -> Result<String, Error> {
        self.assemble_spans(translations).map(|(text, _)| text)
    }

    /// [`Document::assemble`], with the byte range of each translation in the result.
    ///
    /// Errors: as [`Document::assemble`].
    pub fn assemble_spans<S: AsRef<str>>(
        &self,
        translations: &[S],
    ) -> Result<(String, Vec<Range<usize>>), Error> {
        if translations.len() != self.sentences.len() {
            return Err(Error::Internal(format!(
                "{} translations for {} sentences",
                translations.len(),
                self.sentences.len()
            )));
        }
        let mut out = String::new();
        let mut spans = vec![0..0; translations.len()];
        for part in &self.parts {
            match part {
                Part::Gap(g) => out.push_str(g),
                Part::Sentence(i) => {
                    let start = out.len();
                    out.push_str(translations[*i].as_ref());
                    spans[*i] = start..out.len();
                }
            }
        }
        Ok((out, spans))
    }

    /// Byte range of sentence `i` in the text (`None` past the last sentence).
    pub fn sentence_bytes(&self, i: usize) -> Option<Range<usize>> {
        let mut at = 0;
        for part in &self.parts {
            match part {
                Part::Gap(g) => at += g.len(),
                Part::Sentence(k) => {
                    let len = self.sentences[*k].text.len();
                    if *k == i {
                        return Some(at..at + len);
                    }
                    at += len;
                }
            }
        }
        None
    }
}

/// Collects parts while counting characters for the sentence offsets.
#[derive(Default)]
struct Builder {
    parts: Vec<Part>,
    sentences: Vec<Sentence>,
    chars: usize,
}

impl Builder {
    fn gap(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.chars += s.chars().count();
        match self.parts.last_mut() {
            Some(Part::Gap(g)) => g.push_str(s),
            _ => self.parts.push(Part::Gap(s.to_string())),
        }
    }

    fn sentence(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let start = self.chars;
        self.chars += s.chars().count();
        self.parts.push(Part::Sentence(self.sentences.len()));
        self.sentences.push(Sentence {
            text: s.to_string(),
            start,
            end: self.chars,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_sentences_with_the_layout_kept() {
        let text = "  Ein Hund läuft.  Er bellt.\r\n\n\tZwei Männer spielen.\n";
        let doc = Document::segment(text, "de");
        let s: Vec<&str> = doc.sentences().iter().map(|s| s.text.as_str()).collect();
        assert_eq!(s, ["Ein Hund läuft.", "Er bellt.", "Zwei Männer spielen."]);
        assert_eq!(doc.assemble(&s).unwrap(), text);
        let upper: Vec<String> = s.iter().map(|x| x.to_uppercase()).collect();
        assert_eq!(
            doc.assemble(&upper).unwrap(),
            "  EIN HUND LÄUFT.  ER BELLT.\r\n\n\tZWEI MÄNNER SPIELEN.\n"
        );
        let (_, spans) = doc.assemble_spans(&upper).unwrap();
        assert_eq!(spans, [2..18, 20..29, 33..54]);
        assert_eq!(doc.sentence_bytes(1), Some(20..29));
        assert_eq!(doc.sentence_bytes(3), None);
        let first = &doc.sentences()[1];
        let chars: Vec<char> = text.chars().collect();
        let at: String = chars[first.start..first.end].iter().collect();
        assert_eq!(at, "Er bellt.");
        assert!(doc.assemble(&["x"]).is_err());
    }

    #[test]
    fn blank_texts_have_no_sentence() {
        for text in ["", " ", "\n\n", " \t \r\n"] {
            let doc = Document::segment(text, "en");
            assert!(doc.sentences().is_empty());
            assert_eq!(doc.assemble::<&str>(&[]).unwrap(), text);
        }
    }

    #[test]
    fn model_input_collapses_whitespace() {
        let doc = Document::segment(" Ein\t Hund\u{a0}läuft. ", "de");
        assert_eq!(doc.sentences()[0].model_input(), "Ein Hund läuft.");
        assert_eq!(doc.assemble(&["A dog runs."]).unwrap(), " A dog runs. ");
    }
}
