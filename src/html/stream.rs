//! Lays the placed items over the translation: a flat stream of words,
//! spaces and tags, properly nested.

use std::ops::Range;

use super::run::{is_space, Mark, Run};

/// A piece of a translated run, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// Word characters of the translation (bytes of the target text).
    Word(Range<usize>),
    /// Whitespace of the translation (bytes of the target text).
    Space(Range<usize>),
    /// A tag or a node kept whole.
    Mark(Mark),
}

/// The stream for `run` translated as `target`, items at `placed` (which
/// must nest: children inside parents, siblings apart, as `place` makes them).
pub(super) fn stream(run: &Run, placed: &[Range<usize>], target: &str) -> Vec<Piece> {
    let mut walker = Walker {
        run,
        placed,
        target,
        lists: run.child_lists(),
        pieces: Vec::new(),
    };
    walker.children(run.items.len(), 0..target.len());
    walker.pieces
}

struct Walker<'a> {
    run: &'a Run,
    placed: &'a [Range<usize>],
    target: &'a str,
    lists: Vec<Vec<usize>>,
    pieces: Vec<Piece>,
}

impl Walker<'_> {
    /// The content of list `list` (an item, or the top level) over `range`.
    fn children(&mut self, list: usize, range: Range<usize>) {
        let mut kids = self.lists.get(list).cloned().unwrap_or_default();
        kids.sort_by_key(|&k| (self.placed[k].start, self.placed[k].end, k));
        let mut cursor = range.start;
        for kid in kids {
            let at = self.placed[kid].clone();
            self.text(cursor..at.start.max(cursor));
            self.item(kid);
            cursor = cursor.max(at.end);
        }
        self.text(cursor..range.end.max(cursor));
    }

    fn item(&mut self, index: usize) {
        if self.run.items[index].leaf {
            self.pieces.push(Piece::Mark(Mark::Leaf(index)));
            return;
        }
        self.pieces.push(Piece::Mark(Mark::Open(index)));
        self.children(index, self.placed[index].clone());
        self.pieces.push(Piece::Mark(Mark::Close(index)));
    }

    /// Target bytes `range`, cut into words and spaces.
    fn text(&mut self, range: Range<usize>) {
        let Some(text) = self.target.get(range.clone()) else {
            return;
        };
        let mut start = range.start;
        let mut previous = None;
        for (offset, c) in text.char_indices() {
            let space = is_space(c);
            if previous.is_some_and(|p| p != space) {
                self.push_text(start..range.start + offset);
                start = range.start + offset;
            }
            previous = Some(space);
        }
        self.push_text(start..range.end);
    }

    fn push_text(&mut self, range: Range<usize>) {
        match self
            .target
            .get(range.clone())
            .and_then(|t| t.chars().next())
        {
            Some(c) if is_space(c) => self.pieces.push(Piece::Space(range)),
            Some(_) => self.pieces.push(Piece::Word(range)),
            None => {}
        }
    }
}
