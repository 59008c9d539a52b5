//! Language detection for `source = auto` and LibreTranslate's `POST /detect`.
//!
//! Backed by `lingua` (Apache-2.0), built with the language models of [`DEFAULT_LANGUAGES`]
//! only (cargo features). Chosen over `whatlang` by measurement on the shipped test sets
//! (`docs/serve.md`): lingua over 10 European languages detected 99-100 % of Multi30k
//! test2016 de/en/fr/cs sentences, whatlang over all its languages 85 % of the English ones
//! (it confuses short English captions with other languages) and 92.6 % with a 10-language
//! allowlist, below the 95 % a server needs. lingua's cost is size and memory: its models are
//! loaded on first use (about 40 MB of memory for 10 languages) and add to the binary.

use lingua::{IsoCode639_1, LanguageDetectorBuilder};
use serde::Serialize;

use crate::error::Error;

/// The languages tolk is built to detect (ISO 639-1): the shipped corpora's (cs, de, en, fr)
/// and their European neighbours, so that a text in a language no model takes is named
/// rather than mistaken for one that some model takes.
pub const DEFAULT_LANGUAGES: [&str; 13] = [
    "cs", "da", "de", "en", "es", "fi", "fr", "it", "nl", "pl", "pt", "sk", "sv",
];

/// One candidate language of a text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// ISO 639-1 code (`de`).
    pub language: String,
    /// How likely the text is in this language, in percent (0-100), as LibreTranslate reports
    /// it; the candidates of one text sum to about 100.
    pub confidence: f64,
}

/// A detector over a fixed set of languages.
pub struct LanguageDetector {
    inner: lingua::LanguageDetector,
    languages: Vec<String>,
}

impl std::fmt::Debug for LanguageDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanguageDetector")
            .field("languages", &self.languages)
            .finish()
    }
}

impl LanguageDetector {
    /// A detector choosing among `languages` (ISO 639-1 codes; duplicates are ignored).
    ///
    /// Errors: [`Error::Input`] for a code this build cannot detect (naming the ones it can),
    /// or fewer than two distinct languages.
    pub fn new<S: AsRef<str>>(languages: &[S]) -> Result<Self, Error> {
        let mut codes: Vec<String> = languages
            .iter()
            .map(|l| l.as_ref().trim().to_lowercase())
            .collect();
        codes.sort();
        codes.dedup();
        let isos = codes
            .iter()
            .map(|c| iso_code(c))
            .collect::<Result<Vec<_>, _>>()?;
        if isos.len() < 2 {
            return Err(Error::Input(format!(
                "language detection needs at least two languages to choose from, got {codes:?}"
            )));
        }
        Ok(Self {
            inner: LanguageDetectorBuilder::from_iso_codes_639_1(&isos).build(),
            languages: codes,
        })
    }

    /// Whether this build can detect `code` (ISO 639-1).
    pub fn knows(code: &str) -> bool {
        iso_code(code).is_ok()
    }

    /// The languages chosen among, sorted.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The candidate languages of `text`, most likely first, with a confidence above 0.05 %;
    /// empty for a text without letters.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        self.inner
            .compute_language_confidence_values(text)
            .into_iter()
            .map(|(language, p)| Detection {
                language: language.iso_code_639_1().to_string(),
                confidence: (p * 1000.0).round() / 10.0,
            })
            .filter(|d| d.confidence > 0.0)
            .collect()
    }
}

/// The lingua code of `code`, if this build has its model.
fn iso_code(code: &str) -> Result<IsoCode639_1, Error> {
    let known = || DEFAULT_LANGUAGES.join(", ");
    let iso: IsoCode639_1 = code.parse().map_err(|_| {
        Error::Input(format!(
            "{code:?} is not an ISO 639-1 language code the detector knows ({})",
            known()
        ))
    })?;
    if !DEFAULT_LANGUAGES.contains(&code) {
        return Err(Error::Input(format!(
            "language detection for {code:?} is not built in (built in: {})",
            known()
        )));
    }
    Ok(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_whole_sentences_with_percent_confidences() {
        let d = LanguageDetector::new(&DEFAULT_LANGUAGES).unwrap();
        for (text, lang) in [
            ("Ein Mann fährt mit dem Fahrrad die Straße entlang.", "de"),
            ("A man rides his bicycle down the street.", "en"),
            ("Un homme descend la rue à vélo.", "fr"),
            ("Muž jede na kole po ulici.", "cs"),
        ] {
            let found = d.detect(text);
            assert_eq!(found[0].language, lang, "{text}: {found:?}");
            assert!(
                found[0].confidence > 30.0 && found[0].confidence <= 100.0,
                "{text}: {found:?}"
            );
            let total: f64 = found.iter().map(|c| c.confidence).sum();
            assert!((total - 100.0).abs() < 1.0, "{found:?}");
        }
        assert!(d.detect("1234 !!").is_empty());
    }

    #[test]
    fn unknown_or_too_few_languages_are_input_errors() {
        assert!(
            matches!(LanguageDetector::new(&["de", "xx"]), Err(Error::Input(m)) if m.contains("\"xx\""))
        );
        assert!(
            matches!(LanguageDetector::new(&["de", "ru"]), Err(Error::Input(m)) if m.contains("\"ru\""))
        );
        assert!(matches!(
            LanguageDetector::new(&["de", "de"]),
            Err(Error::Input(_))
        ));
        assert!(LanguageDetector::knows("fr") && !LanguageDetector::knows("zz"));
    }
}
