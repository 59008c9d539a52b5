//! Writes translated runs back into a copy of the parsed tree and serializes it.

use ego_tree::{NodeId, Tree};
use html5ever::serialize::{serialize as serialize_html, SerializeOpts, TraversalScope};
use scraper::node::Text;
use scraper::{ElementRef, Html, Node};

use super::error::HtmlError;
use super::run::{Mark, Run};
use super::spacing::Out;

/// Replaces the nodes of `run` in `tree` by `out`: inline elements are
/// emptied and re-filled, leaves moved whole, text nodes made anew.
pub(super) fn apply(tree: &mut Tree<Node>, run: &Run, out: &[Out]) {
    let (Some(&first), Some(&last)) = (run.nodes.first(), run.nodes.last()) else {
        return;
    };
    let Some(container) = tree.get(first).and_then(|n| n.parent()).map(|n| n.id()) else {
        return;
    };
    let anchor = tree
        .get(last)
        .and_then(|n| n.next_sibling())
        .map(|n| n.id());
    empty_run(tree, run);
    let mut inserter = Inserter {
        tree,
        container,
        anchor,
        open: Vec::new(),
    };
    for piece in out {
        match piece {
            Out::Text(text) => inserter.text(text),
            Out::Mark(Mark::Open(i)) => inserter.open(run.items[*i].node),
            Out::Mark(Mark::Close(_)) => inserter.close(),
            Out::Mark(Mark::Leaf(i)) => inserter.insert(run.items[*i].node),
        }
    }
}

/// Detaches the run's nodes and the content of its inline elements.
fn empty_run(tree: &mut Tree<Node>, run: &Run) {
    let inner = run.items.iter().filter(|item| !item.leaf);
    let parents = inner.map(|item| item.node).collect::<Vec<_>>();
    for parent in parents {
        let children = match tree.get(parent) {
            Some(node) => node.children().map(|c| c.id()).collect(),
            None => Vec::new(),
        };
        children.into_iter().for_each(|id| detach(tree, id));
    }
    run.nodes.iter().for_each(|&id| detach(tree, id));
}

fn detach(tree: &mut Tree<Node>, id: NodeId) {
    if let Some(mut node) = tree.get_mut(id) {
        node.detach();
    }
}

/// Inserts nodes where the run was, inside the currently open element.
struct Inserter<'a> {
    tree: &'a mut Tree<Node>,
    container: NodeId,
    /// The node after the run in its container, if any.
    anchor: Option<NodeId>,
    open: Vec<NodeId>,
}

impl Inserter<'_> {
    fn text(&mut self, text: &str) {
        let node = Node::Text(Text { text: text.into() });
        let id = self.tree.orphan(node).id();
        self.insert(id);
    }

    fn open(&mut self, id: NodeId) {
        self.insert(id);
        self.open.push(id);
    }

    fn close(&mut self) {
        self.open.pop();
    }

    fn insert(&mut self, id: NodeId) {
        let (parent, before) = match self.open.last() {
            Some(&element) => (element, None),
            None => (self.container, self.anchor),
        };
        if let Some(mut sibling) = before.and_then(|b| self.tree.get_mut(b)) {
            sibling.insert_id_before(id);
        } else if let Some(mut parent) = self.tree.get_mut(parent) {
            parent.append_id(id);
        }
    }
}

/// The content of the fragment root (the parser's context element), as HTML.
pub(super) fn serialize(html: &Html) -> Result<String, HtmlError> {
    let root = html.tree.root().children().find_map(ElementRef::wrap);
    let Some(root) = root else {
        return Ok(String::new());
    };
    let opts = SerializeOpts {
        // As when parsing: `<noscript>` holds raw text.
        scripting_enabled: true,
        traversal_scope: TraversalScope::ChildrenOnly(None),
        create_missing_parent: false,
    };
    let mut bytes = Vec::new();
    serialize_html(&mut bytes, &root, opts).map_err(|e| HtmlError::Serialize(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| HtmlError::Serialize(e.to_string()))
}
