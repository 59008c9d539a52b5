//! Sentence boundaries inside one line of text.
//!
//! The boundaries come from the `sentencex` crate (Wikimedia; MIT), a rule-based segmenter made
//! for machine translation: it knows per-language abbreviations (`z. B.`, `Dr.`, `e.g.`,
//! `M.`), numbers (`3.5`), quotes, ellipses and list markers, covers de/en/fr among ~30
//! languages, falls back along related languages (`cs` → `sk`) and to English for the rest,
//! and needs no model file. Only its cut points are used: the pieces between them are taken
//! from the input itself, so no character can be lost or changed here.

/// Byte ranges of the sentences of `line` (which should hold no newline), in order, covering
/// `line` without gaps or overlaps: concatenating `line[r]` over the ranges gives `line`.
/// Whitespace between sentences stays attached to the sentence before it; trimming is the
/// caller's business ([`super::layout`]). `language` is an ISO 639-1 code (`de`, `en`, `fr`,
/// ...); an unknown code segments as English.
pub fn sentence_ranges(line: &str, language: &str) -> Vec<std::ops::Range<usize>> {
    if line.is_empty() {
        return Vec::new();
    }
    let mut cuts: Vec<usize> = sentencex::get_sentence_boundaries(language, line)
        .iter()
        .map(|b| b.start_byte)
        .filter(|&c| c > 0 && c < line.len() && line.is_char_boundary(c))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| !ends_in_short_abbreviation(&line[..c]));
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        ranges.push(start..cut);
        start = cut;
    }
    ranges.push(start..line.len());
    ranges
}

/// Whether `text` ends in a lone capitalised word of at most two letters and a period (`M.`,
/// `Dr.`, `St.`): a title or an initial the segmenter's lists missed (French `M.` for
/// Monsieur), not a sentence of its own. Cutting after it would translate it alone; keeping it
/// costs at worst two short sentences translated together.
fn ends_in_short_abbreviation(text: &str) -> bool {
    let Some(word) = text.split_whitespace().last() else {
        return false;
    };
    let Some(stem) = word.strip_suffix('.') else {
        return false;
    };
    let letters = stem.chars().count();
    (1..=2).contains(&letters)
        && stem.chars().all(char::is_alphabetic)
        && stem.chars().next().is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split<'a>(line: &'a str, lang: &str) -> Vec<&'a str> {
        sentence_ranges(line, lang)
            .into_iter()
            .map(|r| line[r].trim())
            .collect()
    }

    #[test]
    fn cuts_after_sentence_punctuation_but_not_abbreviations() {
        assert_eq!(
            split("Ein Hund läuft. Zwei Männer spielen, z. B. Fußball.", "de"),
            ["Ein Hund läuft.", "Zwei Männer spielen, z. B. Fußball."]
        );
        assert_eq!(
            split("Dr. Smith arrived. He was late.", "en"),
            ["Dr. Smith arrived.", "He was late."]
        );
        assert_eq!(
            split("M. Dupont est arrivé. Il est en retard.", "fr"),
            ["M. Dupont est arrivé.", "Il est en retard."]
        );
    }

    #[test]
    fn ranges_cover_the_line() {
        for line in ["", "a", "  A. B.  ", "Straße… Übel? Ja!", "x\u{a0}. Y."] {
            let joined: String = sentence_ranges(line, "de")
                .into_iter()
                .map(|r| &line[r])
                .collect();
            assert_eq!(joined, line);
        }
    }
}
