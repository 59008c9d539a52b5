//! A running text: the inline content of a block between two breaks, with
//! its text as a browser renders it and the markup laid over that text.

use std::ops::Range;

use ego_tree::NodeId;

/// A markup event inside a run; the `usize` indexes [`Run::items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    /// Start tag of an inline element.
    Open(usize),
    /// End tag of an inline element.
    Close(usize),
    /// A node kept whole (atom, comment).
    Leaf(usize),
}

/// A piece of the source between two words: raw whitespace or markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GapPiece {
    /// Whitespace exactly as in the source (before collapsing).
    Space(String),
    /// Markup.
    Mark(Mark),
}

/// An inline element or a node kept whole, inside a run.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// The node in the parsed tree.
    pub node: NodeId,
    /// The enclosing item, if any (an index into [`Run::items`]).
    pub parent: Option<usize>,
    /// The bytes of [`Run::text`] it covers (empty for leaves and empty elements).
    pub span: Range<usize>,
    /// Whether it is moved whole (atom, comment) rather than re-filled.
    pub leaf: bool,
    /// Whether it is a leaf that stands for a space between words (see
    /// `classify::Role::Atom`).
    pub separates: bool,
    /// For a leaf that separates: whether the source had whitespace right
    /// before it, and right after it.
    pub pad: (bool, bool),
}

/// One running text of the fragment.
#[derive(Debug, Clone)]
pub(super) struct Run {
    /// The consecutive children of the block that make up the run.
    pub nodes: Vec<NodeId>,
    /// The text: entities decoded, whitespace collapsed and trimmed.
    pub text: String,
    /// Inline elements and leaves, in document (pre-)order.
    pub items: Vec<Item>,
    /// The words of `text` (split at its spaces).
    pub words: Vec<Range<usize>>,
    /// `words.len() + 1` gaps: before the first word, between each two, after the last.
    pub gaps: Vec<Vec<GapPiece>>,
}

impl Run {
    /// For each item, the indices of the items directly inside it, in order;
    /// the extra last entry lists the top-level items.
    pub fn child_lists(&self) -> Vec<Vec<usize>> {
        let top = self.items.len();
        let mut lists = vec![Vec::new(); top + 1];
        for (index, item) in self.items.iter().enumerate() {
            lists[item.parent.unwrap_or(top)].push(index);
        }
        lists
    }

    /// The source whitespace of gap `gap`, concatenated.
    pub fn gap_space(&self, gap: usize) -> String {
        let pieces = self.gaps.get(gap).map_or(&[][..], Vec::as_slice);
        let spaces = pieces.iter().filter_map(|piece| match piece {
            GapPiece::Space(space) => Some(space.as_str()),
            GapPiece::Mark(_) => None,
        });
        spaces.collect()
    }

    /// The markup of gap `gap`, in order.
    #[cfg(test)]
    pub fn gap_marks(&self, gap: usize) -> Vec<Mark> {
        let pieces = self.gaps.get(gap).map_or(&[][..], Vec::as_slice);
        marks(pieces)
    }
}

/// The marks among gap pieces, in order.
pub(super) fn marks(pieces: &[GapPiece]) -> Vec<Mark> {
    let marks = pieces.iter().filter_map(|piece| match piece {
        GapPiece::Mark(mark) => Some(*mark),
        GapPiece::Space(_) => None,
    });
    marks.collect()
}

/// Whitespace that HTML collapses (ASCII whitespace; not `&nbsp;`).
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C')
}

/// The byte ranges of the words of `text` (maximal runs of non-[`is_space`]).
pub(super) fn words(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_space(c), start) {
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }
    words
}
