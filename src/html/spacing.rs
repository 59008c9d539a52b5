//! Source formatting on output: between two target words that translate two
//! adjacent source words, with the same tags between them as in the source,
//! the source's raw gap (its newlines, indentation, and where its spaces
//! stood relative to the tags) replaces the translation's single space. The
//! run's leading and trailing whitespace always comes from the source.
//!
//! With an identity translation this gives back the parsed input exactly.

use super::align::Alignment;
use super::run::{is_space, marks, GapPiece, Mark, Run};
use super::stream::Piece;

/// A piece of a run's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Out {
    /// Text, unescaped.
    Text(String),
    /// A tag or a node kept whole.
    Mark(Mark),
}

/// The output of `run` from its translated `pieces`.
pub(super) fn spaced(run: &Run, alignment: &Alignment<'_>, pieces: &[Piece]) -> Vec<Out> {
    let target = alignment.target();
    let words = word_bounds(pieces);
    let last_gap = run.words.len();
    let mut out = Spaced {
        run,
        target,
        out: Vec::new(),
    };
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        out.edge(0, pieces, false);
        out.edge(last_gap, &[], false);
        return out.finish();
    };
    let starts = alignment.word_sources(0).is_some_and(|(s, _)| s == 0);
    out.edge(0, &pieces[..first.0], starts);
    for (j, bound) in words.iter().enumerate() {
        out.verbatim(&pieces[bound.0..=bound.1]);
        if let Some(next) = words.get(j + 1) {
            let gap = &pieces[bound.1 + 1..next.0];
            match adjacent(alignment, j) {
                Some(source_gap) => out.gap(source_gap, gap),
                None => out.verbatim(gap),
            }
        }
    }
    let ends = alignment.word_sources(words.len() - 1);
    let ends = ends.is_some_and(|(_, s)| s + 1 == last_gap);
    out.edge(last_gap, &pieces[last.1 + 1..], ends);
    out.finish()
}

/// For each target word, its first and last piece (marks inside it included).
fn word_bounds(pieces: &[Piece]) -> Vec<(usize, usize)> {
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let mut in_word = false;
    for (index, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Word(_) if in_word => {
                if let Some(bound) = bounds.last_mut() {
                    bound.1 = index;
                }
            }
            Piece::Word(_) => {
                bounds.push((index, index));
                in_word = true;
            }
            Piece::Space(_) => in_word = false,
            Piece::Mark(_) => {}
        }
    }
    bounds
}

/// The source gap between the source words of target words `j` and `j + 1`,
/// if those are adjacent in the source (in that order).
fn adjacent(alignment: &Alignment<'_>, j: usize) -> Option<usize> {
    let (_, left) = alignment.word_sources(j)?;
    let (right, _) = alignment.word_sources(j + 1)?;
    (right == left + 1).then_some(right)
}

struct Spaced<'a> {
    run: &'a Run,
    target: &'a str,
    out: Vec<Out>,
}

impl Spaced<'_> {
    /// Translated pieces as they are.
    fn verbatim(&mut self, pieces: &[Piece]) {
        for piece in pieces {
            match piece {
                Piece::Word(range) | Piece::Space(range) => {
                    let text = self.target.get(range.clone()).unwrap_or("");
                    self.text(text.to_owned());
                }
                Piece::Mark(mark) => self.out.push(Out::Mark(*mark)),
            }
        }
    }

    /// A gap between two target words of adjacent source words: the source
    /// gap if it has the same tags, else the translated one.
    fn gap(&mut self, source_gap: usize, pieces: &[Piece]) {
        if !self.source(source_gap, pieces) {
            self.verbatim(pieces);
        }
    }

    /// The run's first (`gap == 0`) or last gap: the source gap if `aligned`
    /// (its neighbouring word is the source's first or last) and it has the
    /// same tags; else the source whitespace outside the translated tags.
    fn edge(&mut self, gap: usize, pieces: &[Piece], aligned: bool) {
        if aligned && self.source(gap, pieces) {
            return;
        }
        let space = Out::Text(self.run.gap_space(gap));
        let marks = pieces.iter().filter_map(|piece| match piece {
            Piece::Mark(mark) => Some(Out::Mark(*mark)),
            Piece::Word(_) | Piece::Space(_) => None,
        });
        let marks: Vec<Out> = marks.collect();
        if gap == 0 {
            self.out.push(space);
            self.out.extend(marks);
        } else {
            self.out.extend(marks);
            self.out.push(space);
        }
    }

    /// Writes source gap `gap` if its tags are those of `pieces`.
    fn source(&mut self, gap: usize, pieces: &[Piece]) -> bool {
        let translated = pieces.iter().filter_map(|piece| match piece {
            Piece::Mark(mark) => Some(*mark),
            Piece::Word(_) | Piece::Space(_) => None,
        });
        let Some(source) = self.run.gaps.get(gap) else {
            return false;
        };
        if !translated.eq(marks(source)) {
            return false;
        }
        for piece in source {
            match piece {
                GapPiece::Space(space) => self.text(space.clone()),
                GapPiece::Mark(mark) => self.out.push(Out::Mark(*mark)),
            }
        }
        true
    }

    /// Appends text, merged with text before it.
    fn text(&mut self, text: String) {
        match self.out.last_mut() {
            Some(Out::Text(last)) => last.push_str(&text),
            _ => self.out.push(Out::Text(text)),
        }
    }

    /// The output, text pieces merged, atoms padded.
    fn finish(self) -> Vec<Out> {
        let mut out: Vec<Out> = Vec::new();
        for piece in self.out {
            match (out.last_mut(), piece) {
                (_, Out::Text(text)) if text.is_empty() => {}
                (Some(Out::Text(last)), Out::Text(text)) => last.push_str(&text),
                (_, piece) => out.push(piece),
            }
        }
        pad_atoms(self.run, &mut out);
        out
    }
}

/// Puts back a space the source had between a visible atom and a word, where
/// the atom now touches a translated word (`Run<code>ls</code>` becomes
/// `Run <code>ls</code>`). This changes no run's text: such an atom counts as a
/// space anyway.
fn pad_atoms(run: &Run, out: &mut [Out]) {
    for at in 0..out.len() {
        let Out::Mark(Mark::Leaf(index)) = out[at] else {
            continue;
        };
        let (before, after) = run.items.get(index).map_or((false, false), |item| item.pad);
        let touches = |text: &str, c: Option<char>| !text.is_empty() && !c.is_some_and(is_space);
        if let (true, Some(Out::Text(text))) = (before, at.checked_sub(1).map(|i| &mut out[i])) {
            if touches(text, text.chars().next_back()) {
                text.push(' ');
            }
        }
        if let (true, Some(Out::Text(text))) = (after, out.get_mut(at + 1)) {
            if touches(text, text.chars().next()) {
                text.insert(0, ' ');
            }
        }
    }
}
