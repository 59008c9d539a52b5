//! What role an element plays when cutting a fragment into running texts.

use scraper::node::Element;
use scraper::Node;

/// Formatting elements that live inside a running text and are re-placed
/// around the translated words.
const INLINE: &[&str] = &[
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "data", "del", "dfn", "em", "font",
    "i", "ins", "kbd", "mark", "nobr", "q", "rp", "rt", "ruby", "s", "samp", "small", "span",
    "strike", "strong", "sub", "sup", "time", "tt", "u", "var",
];

/// Elements kept whole (never translated) that sit inside a running text:
/// untranslatable text (`code`, `script`, ...) and embedded content (`img`, ...).
const ATOM: &[&str] = &[
    "audio", "canvas", "code", "embed", "iframe", "img", "input", "math", "noscript", "object",
    "picture", "script", "style", "svg", "template", "textarea", "video", "wbr",
];

/// Atoms that do not split a word in two: invisible ones and `wbr`.
const JOINING: &[&str] = &["noscript", "script", "style", "template", "wbr"];

/// Block elements whose content is never translated.
const FROZEN: &[&str] = &["pre"];

/// The role of a node in a block's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Text or an inline element: part of the current running text.
    Inline,
    /// Kept whole inside the running text; `separates` when it stands
    /// between two words (as a space would) rather than joining them.
    Atom {
        /// Whether the atom ends the word before it.
        separates: bool,
    },
    /// `<br>`: ends the running text, stays where it is.
    Break,
    /// A block: ends the running text; its content has running texts of its own.
    Block,
    /// A block that is not translated: ends the running text, left as it is.
    Frozen,
}

/// The role of a tree node (text, comment or element).
pub(super) fn role(node: &Node) -> Role {
    match node {
        Node::Element(element) => element_role(element),
        Node::Text(_) => Role::Inline,
        _ => Role::Atom { separates: false },
    }
}

/// The role of an element from its name and its `translate`/`class` attributes.
fn element_role(element: &Element) -> Role {
    let name = element.name();
    let inline = INLINE.contains(&name);
    if name == "br" {
        Role::Break
    } else if ATOM.contains(&name) || (inline && no_translate(element)) {
        Role::Atom {
            separates: !JOINING.contains(&name),
        }
    } else if inline {
        Role::Inline
    } else if FROZEN.contains(&name) || no_translate(element) {
        Role::Frozen
    } else {
        Role::Block
    }
}

/// `translate="no"` or the `notranslate` class (the convention of Google
/// Translate and of browsers' page translators).
fn no_translate(element: &Element) -> bool {
    let translate_no = element
        .attr("translate")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("no"));
    let class_no = element
        .attr("class")
        .is_some_and(|v| v.split_ascii_whitespace().any(|c| c == "notranslate"));
    translate_no || class_no
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn first_role(html: &str) -> Role {
        let doc = Html::parse_fragment(html);
        let root = doc.root_element();
        root.first_child().map_or(Role::Inline, |n| role(n.value()))
    }

    #[test]
    fn roles_follow_names_and_attributes() {
        assert_eq!(first_role("<b>x</b>"), Role::Inline);
        assert_eq!(
            first_role("<span translate=\"no\">x</span>"),
            Role::Atom { separates: true }
        );
        assert_eq!(first_role("<code>x</code>"), Role::Atom { separates: true });
        assert_eq!(first_role("<wbr>"), Role::Atom { separates: false });
        assert_eq!(first_role("<br>"), Role::Break);
        assert_eq!(first_role("<p>x</p>"), Role::Block);
        assert_eq!(first_role("<pre>x</pre>"), Role::Frozen);
        assert_eq!(
            first_role("<div class=\"a notranslate\">x</div>"),
            Role::Frozen
        );
        assert_eq!(first_role("<!-- c -->"), Role::Atom { separates: false });
    }
}
