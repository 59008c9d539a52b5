//! Word alignment between a run's text and its translation: the links made
//! safe (clamped to the texts, on char boundaries) and indexed by word.

use std::ops::Range;

use super::run::words;

/// A link: source bytes translated as target bytes.
type Link = (Range<usize>, Range<usize>);

/// The alignment of one run, queried by byte range or by word.
#[derive(Debug, Clone)]
pub(super) struct Alignment<'a> {
    source: &'a str,
    target: &'a str,
    /// Sorted by source start.
    links: Vec<Link>,
    /// The longest source range of a link (bounds the links to look at).
    longest: usize,
    /// The words of the source text.
    pub source_words: Vec<Range<usize>>,
    /// The words of the target text.
    pub target_words: Vec<Range<usize>>,
    /// Per source word: the smallest range covering its linked target bytes.
    word_targets: Vec<Option<Range<usize>>>,
    /// Per target word: the first and last source word linked to it.
    word_sources: Vec<Option<(usize, usize)>>,
}

impl<'a> Alignment<'a> {
    /// Indexes `links` between `source` and `target`, dropping links with an
    /// empty side and clamping the others into the texts.
    pub fn new(source: &'a str, target: &'a str, links: &[Link]) -> Self {
        let mut links: Vec<Link> = links
            .iter()
            .map(|(s, t)| (clamp(source, s), clamp(target, t)))
            .filter(|(s, t)| !s.is_empty() && !t.is_empty())
            .collect();
        links.sort_by_key(|(s, t)| (s.start, s.end, t.start, t.end));
        let mut alignment = Alignment {
            longest: links.iter().map(|(s, _)| s.len()).max().unwrap_or(0),
            source,
            target,
            source_words: words(source),
            target_words: words(target),
            word_targets: Vec::new(),
            word_sources: Vec::new(),
            links,
        };
        alignment.index_words();
        alignment
    }

    fn index_words(&mut self) {
        self.word_targets = vec![None; self.source_words.len()];
        self.word_sources = vec![None; self.target_words.len()];
        for (s, t) in &self.links {
            let sources = overlapping(&self.source_words, s);
            for i in sources.clone() {
                self.word_targets[i] = Some(cover(self.word_targets[i].take(), t));
            }
            if sources.is_empty() {
                continue;
            }
            let (first, last) = (sources.start, sources.end - 1);
            for j in overlapping(&self.target_words, t) {
                let known = self.word_sources[j].unwrap_or((first, last));
                self.word_sources[j] = Some((known.0.min(first), known.1.max(last)));
            }
        }
    }

    /// The smallest target range covering every target range linked to a
    /// source range that overlaps `span`; `None` if no link does.
    ///
    /// A link only partly inside `span` gives its whole target, except when
    /// its target is the same text as its source (a copied token): then just
    /// the matching part, so that markup inside a copied word stays put.
    pub fn target_of(&self, span: &Range<usize>) -> Option<Range<usize>> {
        let mut covered = None;
        for (s, t) in self.near(span) {
            if s.start < span.end && span.start < s.end {
                covered = Some(cover(covered, &self.part(s, t, span)));
            }
        }
        covered
    }

    /// The links whose source could overlap `span` (or hold its start).
    fn near(&self, span: &Range<usize>) -> &[Link] {
        let from = span.start.saturating_sub(self.longest);
        let first = self.links.partition_point(|(s, _)| s.start < from);
        let last = self.links.partition_point(|(s, _)| s.start <= span.end);
        &self.links[first..last.max(first)]
    }

    fn part(&self, s: &Range<usize>, t: &Range<usize>, span: &Range<usize>) -> Range<usize> {
        let inside = span.start <= s.start && s.end <= span.end;
        if inside || self.source.get(s.clone()) != self.target.get(t.clone()) {
            return t.clone();
        }
        let start = span.start.max(s.start) - s.start;
        let end = span.end.min(s.end) - s.start;
        t.start + start..t.start + end
    }

    /// Where source position `at`, strictly inside a copied token (a link
    /// whose target is the same text as its source), falls in the target.
    pub fn inside_copy(&self, at: usize) -> Option<usize> {
        self.near(&(at..at)).iter().find_map(|(s, t)| {
            let copied = self.source.get(s.clone()) == self.target.get(t.clone());
            (copied && s.start < at && at < s.end).then(|| t.start + (at - s.start))
        })
    }

    /// The translated text.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The target covered by source word `word`, if it is linked.
    pub fn word_target(&self, word: usize) -> Option<Range<usize>> {
        self.word_targets.get(word).cloned().flatten()
    }

    /// The first and last source word linked to target word `word`.
    pub fn word_sources(&self, word: usize) -> Option<(usize, usize)> {
        self.word_sources.get(word).copied().flatten()
    }
}

/// `range` clamped into `text`, its ends moved back onto char boundaries.
pub(super) fn clamp(text: &str, range: &Range<usize>) -> Range<usize> {
    let end = floor_boundary(text, range.end);
    floor_boundary(text, range.start).min(end)..end
}

/// The largest char boundary of `text` at or before `index`.
pub(super) fn floor_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// The indices of the (sorted, disjoint) `words` that overlap `range`.
fn overlapping(words: &[Range<usize>], range: &Range<usize>) -> Range<usize> {
    let first = words.partition_point(|w| w.end <= range.start);
    let last = words.partition_point(|w| w.start < range.end);
    first..last.max(first)
}

/// The smallest range covering `known` (if any) and `more`.
fn cover(known: Option<Range<usize>>, more: &Range<usize>) -> Range<usize> {
    match known {
        Some(r) => r.start.min(more.start)..r.end.max(more.end),
        None => more.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_clamped_and_indexed() {
        let links = vec![
            (0..1, 4..5),
            (2..5, 0..3),
            (2..99, Range { start: 7, end: 2 }),
            (1..2, 5..6),
        ];
        let alignment = Alignment::new("a bcd", "CDE B", &links);
        assert_eq!(alignment.word_target(0), Some(4..5));
        assert_eq!(alignment.word_target(1), Some(0..3));
        assert_eq!(alignment.word_sources(0), Some((1, 1)));
        assert_eq!(alignment.target_of(&(0..5)), Some(0..5));
        assert_eq!(alignment.target_of(&(1..2)), None);
    }

    #[test]
    fn copied_tokens_map_partly() {
        let alignment = Alignment::new("straße x", "straße y", &[(0..7, 0..7)]);
        assert_eq!(alignment.target_of(&(4..7)), Some(4..7));
        assert_eq!(alignment.inside_copy(4), Some(4));
        assert_eq!(alignment.inside_copy(0), None);
        assert_eq!(clamp("ß", &(1..2)), 0..2);
    }
}
