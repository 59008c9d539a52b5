//! The properties every fixture must keep under every mock translator.

use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node};

use super::super::HtmlDocument;
use super::mock::{self, translate_all, Mock};

/// An element's name and its attributes, in order.
type Tag = (String, Vec<(String, String)>);

/// Translates `html` with `mock`; returns the output and the mock's texts.
pub(super) fn translate(html: &str, mock: Mock) -> (String, Vec<String>) {
    let doc = HtmlDocument::parse(html).expect("fixture parses");
    let translations = translate_all(doc.texts(), mock);
    let output = doc.render(&translations).expect("render");
    let texts = translations.into_iter().map(|t| t.text).collect();
    (output, texts)
}

/// The fragment as parsed and serialized, untranslated.
pub(super) fn reserialized(html: &str) -> String {
    let doc = HtmlDocument::parse(html).expect("parses");
    doc.html().expect("serializes")
}

/// The elements of `html` in document order.
pub(super) fn tags(html: &str) -> Vec<Tag> {
    let doc = Html::parse_fragment(html);
    let root = doc.root_element();
    let elements = root
        .descendants()
        .skip(1)
        .filter_map(|n| n.value().as_element().cloned());
    let tag = |e: scraper::node::Element| {
        let attrs = e
            .attrs()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (e.name().to_owned(), attrs)
    };
    elements.map(tag).collect()
}

/// The serialization of each untranslatable subtree, in document order.
pub(super) fn frozen(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let mut found = Vec::new();
    let mut skip_until = None;
    for edge in doc.root_element().traverse() {
        match edge {
            Edge::Open(node) if skip_until.is_none() => {
                if let Some(element) = ElementRef::wrap(node).filter(|e| untranslatable(e)) {
                    found.push(element.html());
                    skip_until = Some(node.id());
                }
            }
            Edge::Close(node) if skip_until == Some(node.id()) => skip_until = None,
            _ => {}
        }
    }
    found
}

fn untranslatable(element: &ElementRef<'_>) -> bool {
    let names = ["script", "style", "code", "pre", "textarea"];
    let value = element.value();
    names.contains(&value.name())
        || value.attr("translate") == Some("no")
        || value.attr("class") == Some("notranslate")
}

/// The comments of `html`, in document order.
pub(super) fn comments(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let nodes = doc.tree.root().descendants();
    let comment = |n: ego_tree::NodeRef<'_, Node>| n.value().as_comment().map(|c| c.to_string());
    nodes.filter_map(comment).collect()
}

/// Runs every check on `html` translated by `mock`; `ordered` when the mock
/// keeps the word order (so elements keep theirs).
pub(super) fn check(name: &str, html: &str, mock: Mock, ordered: bool) -> String {
    let (output, texts) = translate(html, mock);
    let context = format!("{name}: {html:?} gave {output:?}");
    assert_eq!(
        reserialized(&output),
        output,
        "output is not stable HTML: {context}"
    );
    let reparsed = HtmlDocument::parse(&output).expect("output parses");
    assert_eq!(reparsed.texts(), &texts[..], "texts: {context}");
    let (before, after) = (sorted(tags(html), ordered), sorted(tags(&output), ordered));
    assert_eq!(before, after, "tags: {context}");
    let (before, after) = (
        sorted(frozen(html), ordered),
        sorted(frozen(&output), ordered),
    );
    assert_eq!(before, after, "untranslated: {context}");
    let (before, after) = (
        sorted(comments(html), ordered),
        sorted(comments(&output), ordered),
    );
    assert_eq!(before, after, "comments: {context}");
    output
}

/// `items` sorted unless `ordered` (when their order must match as it is).
fn sorted<T: Ord>(mut items: Vec<T>, ordered: bool) -> Vec<T> {
    if !ordered {
        items.sort();
    }
    items
}

/// The checks of one fixture under every mock; with the identity mock the
/// output must be the input parsed and serialized.
pub(super) fn check_all(name: &str, html: &str) {
    let same = check(name, html, mock::identity, true);
    assert_eq!(
        same,
        reserialized(html),
        "{name}: identity is not a round trip"
    );
    check(name, html, mock::upper, true);
    check(name, html, mock::drop_second, true);
    check(name, html, mock::reverse, false);
}
