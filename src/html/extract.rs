//! Cuts a parsed fragment into running texts: walks the blocks and groups
//! each block's consecutive inline children into a [`Run`].

use ego_tree::{NodeId, NodeRef};
use scraper::Node;

use super::classify::{role, Role};
use super::collapse::Builder;
use super::run::Run;

/// The runs with some text in them under `container`, in document order.
pub(super) fn runs(container: NodeRef<'_, Node>) -> Vec<Run> {
    let mut runs = Vec::new();
    collect(container, &mut runs);
    runs
}

/// How a child of a block takes part in the block's runs.
enum Flow {
    /// Part of the current run.
    Run,
    /// Ends the current run; its own content is walked for runs.
    Nested,
    /// Ends the current run; nothing inside is translated.
    End,
}

fn collect(container: NodeRef<'_, Node>, runs: &mut Vec<Run>) {
    let mut pending: Vec<NodeId> = Vec::new();
    for child in container.children() {
        match flow(child) {
            Flow::Run => pending.push(child.id()),
            Flow::Nested => {
                flush(container, &mut pending, runs);
                collect(child, runs);
            }
            Flow::End => flush(container, &mut pending, runs),
        }
    }
    flush(container, &mut pending, runs);
}

/// An inline element holding a break or a block is treated as a block, so
/// that each run stays within one parent.
fn flow(node: NodeRef<'_, Node>) -> Flow {
    match role(node.value()) {
        Role::Inline if has_break(node) => Flow::Nested,
        Role::Inline | Role::Atom { .. } => Flow::Run,
        Role::Block => Flow::Nested,
        Role::Break | Role::Frozen => Flow::End,
    }
}

/// Whether an inline element has a `<br>` or a block inside (not counting
/// what atoms hold).
fn has_break(node: NodeRef<'_, Node>) -> bool {
    node.children().any(|child| match role(child.value()) {
        Role::Inline => has_break(child),
        Role::Atom { .. } => false,
        Role::Break | Role::Block | Role::Frozen => true,
    })
}

/// Turns the pending nodes into a run, kept if it has text.
fn flush(container: NodeRef<'_, Node>, pending: &mut Vec<NodeId>, runs: &mut Vec<Run>) {
    if pending.is_empty() {
        return;
    }
    let nodes = std::mem::take(pending);
    let mut builder = Builder::default();
    let tree = container.tree();
    for node in nodes.iter().filter_map(|&id| tree.get(id)) {
        builder.add(node);
    }
    let run = builder.finish(nodes);
    // `&nbsp;` alone is nothing to translate either.
    if run.text.chars().any(|c| !c.is_whitespace()) {
        runs.push(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn texts(html: &str) -> Vec<String> {
        let doc = Html::parse_fragment(html);
        let root = *doc.root_element();
        runs(root).into_iter().map(|run| run.text).collect()
    }

    #[test]
    fn blocks_and_breaks_end_runs() {
        let html = "Intro <b>x</b><div>One<br>Two <p>Three</p> four</div>";
        assert_eq!(texts(html), ["Intro x", "One", "Two", "Three", "four"]);
    }

    #[test]
    fn inline_with_break_is_a_block() {
        assert_eq!(texts("<p>A <b>B<br>C</b> D</p>"), ["A", "B", "C", "D"]);
    }

    #[test]
    fn blank_runs_are_dropped() {
        assert!(texts("<p> &nbsp; </p>\n<pre> x </pre><!-- c -->").is_empty());
    }
}
