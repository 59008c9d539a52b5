//! Builds a [`Run`] from inline nodes: collapses whitespace as a browser
//! does, records where each element starts and ends in the collapsed text,
//! and keeps the raw source between words (for re-use on output).

use std::mem;

use ego_tree::{NodeId, NodeRef};
use scraper::Node;

use super::classify::{role, Role};
use super::run::{is_space, words, GapPiece, Item, Mark, Run};

/// Collects the text and markup of a run, node by node.
#[derive(Default)]
pub(super) struct Builder {
    text: String,
    /// Whitespace (or a separating atom) seen since the last word character.
    pending_space: bool,
    items: Vec<Item>,
    open: Vec<usize>,
    gaps: Vec<Vec<GapPiece>>,
    /// Pieces seen since the last word character.
    gap: Vec<GapPiece>,
}

impl Builder {
    /// Adds a node (recursively for inline elements).
    pub fn add(&mut self, node: NodeRef<'_, Node>) {
        match (node.value(), role(node.value())) {
            (Node::Text(text), _) => self.add_text(text),
            (_, Role::Inline) => {
                self.open(node.id());
                node.children().for_each(|child| self.add(child));
                self.close();
            }
            (_, Role::Atom { separates }) => self.leaf(node.id(), separates),
            // Not reached: extract only passes inline content here.
            _ => self.leaf(node.id(), true),
        }
    }

    /// The finished run over `nodes`.
    pub fn finish(mut self, nodes: Vec<NodeId>) -> Run {
        let len = self.text.len();
        for item in &mut self.items {
            item.span = item.span.start.min(len)..item.span.end.min(len);
        }
        self.gaps.push(mem::take(&mut self.gap));
        Run {
            nodes,
            words: words(&self.text),
            text: self.text,
            items: self.items,
            gaps: self.gaps,
        }
    }

    /// Where a mark placed now falls in the collapsed text: after the pending
    /// space, which a following word would materialize.
    fn offset(&self) -> usize {
        let space = self.pending_space && !self.text.is_empty();
        self.text.len() + usize::from(space)
    }

    fn add_text(&mut self, text: &str) {
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let space = is_space(c);
            let end = rest.find(|c| is_space(c) != space).unwrap_or(rest.len());
            let (chunk, tail) = rest.split_at(end);
            if space {
                self.pad_after();
                self.gap.push(GapPiece::Space(chunk.to_owned()));
                self.pending_space = true;
            } else {
                self.start_chars();
                self.text.push_str(chunk);
            }
            rest = tail;
        }
    }

    /// Word characters follow: closes the current gap if there is one.
    fn start_chars(&mut self) {
        if self.text.is_empty() {
            self.gaps.push(mem::take(&mut self.gap));
        } else if self.pending_space {
            self.gaps.push(mem::take(&mut self.gap));
            self.text.push(' ');
        } else {
            // Markup inside a word: placed by alignment, not kept as a gap.
            self.gap.clear();
        }
        self.pending_space = false;
    }

    fn push_item(&mut self, node: NodeId, leaf: bool) -> usize {
        let at = self.offset();
        self.items.push(Item {
            node,
            parent: self.open.last().copied(),
            span: at..at,
            leaf,
            separates: false,
            pad: (false, false),
        });
        self.items.len() - 1
    }

    fn open(&mut self, node: NodeId) {
        let index = self.push_item(node, false);
        self.gap.push(GapPiece::Mark(Mark::Open(index)));
        self.open.push(index);
    }

    fn close(&mut self) {
        if let Some(index) = self.open.pop() {
            self.items[index].span.end = self.offset();
            self.gap.push(GapPiece::Mark(Mark::Close(index)));
        }
    }

    fn leaf(&mut self, node: NodeId, separates: bool) {
        let index = self.push_item(node, true);
        let after_space = matches!(self.gap.last(), Some(GapPiece::Space(_)));
        self.items[index].separates = separates;
        self.items[index].pad.0 = separates && after_space;
        self.gap.push(GapPiece::Mark(Mark::Leaf(index)));
        self.pending_space |= separates;
    }

    /// Whitespace follows: notes it on a visible atom just before it.
    fn pad_after(&mut self) {
        if let Some(GapPiece::Mark(Mark::Leaf(index))) = self.gap.last() {
            let item = &mut self.items[*index];
            item.pad.1 = item.separates;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn build(html: &str) -> Run {
        let doc = Html::parse_fragment(html);
        let root = doc.root_element();
        let mut builder = Builder::default();
        root.children().for_each(|child| builder.add(child));
        builder.finish(Vec::new())
    }

    #[test]
    fn collapses_whitespace_across_tags() {
        let run = build("\n  A <b> big\n <i>red</i></b>\tdog. ");
        assert_eq!(run.text, "A big red dog.");
        assert_eq!(run.items[0].span, 2..9);
        assert_eq!(run.items[1].span, 6..9);
        assert_eq!(run.words.len(), 4);
        assert_eq!(run.gaps.len(), 5);
        assert_eq!(run.gap_space(0), "\n  ");
        assert_eq!(run.gap_space(1), "  ");
        assert_eq!(run.gap_space(4), " ");
    }

    #[test]
    fn separating_atoms_split_words() {
        let run = build("foo<img>bar<!-- c -->baz");
        assert_eq!(run.text, "foo barbaz");
        assert_eq!(run.items[0].span, 3..3);
        assert_eq!(run.gap_marks(1), vec![Mark::Leaf(0)]);
    }
}
