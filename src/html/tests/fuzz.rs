//! Random fragments and random alignments: nothing panics, every element
//! and comment survives, untranslated subtrees are untouched, and the output
//! is HTML that parses back to itself.

use super::super::run::words;
use super::super::{AlignedTranslation, HtmlDocument};
use super::checks::{comments, frozen, reserialized, tags};

/// A small deterministic generator (xorshift64).
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TEXT: &[&str] = &[
    "alpha", "Beta ", " gamma", "Straße", "&amp; ", "x&nbsp;y", " ", "\n  ",
];
const LEAVES: &[&str] = &[
    "<code>c &lt; d</code>",
    "<img src=\"i.png\">",
    "<!-- c -->",
    "<br>",
    "<wbr>",
    "<script>a<b</script>",
    "<span translate=\"no\">keep</span>",
];
const INLINE: &[&str] = &[
    "b",
    "i",
    "em",
    "span class=\"k\"",
    "a href=\"?a=1&amp;b=2\"",
];
const BLOCKS: &[&str] = &["p", "div", "li", "h2", "td"];

/// A random fragment of nested text, inline elements, leaves and blocks.
fn fragment(random: &mut Random, depth: usize) -> String {
    let mut html = String::new();
    for _ in 0..1 + random.below(5) {
        match random.below(if depth == 0 { 2 } else { 5 }) {
            0 => html.push_str(random.pick(TEXT)),
            1 => html.push_str(random.pick(LEAVES)),
            2 | 3 => element(random, depth, INLINE, &mut html),
            _ => element(random, depth, BLOCKS, &mut html),
        }
    }
    html
}

fn element(random: &mut Random, depth: usize, names: &[&str], html: &mut String) {
    let tag = random.pick(names);
    let name = tag.split(' ').next().unwrap_or(tag);
    html.push_str(&format!("<{tag}>{}</{name}>", fragment(random, depth - 1)));
}

/// A random translation of `text`: its words shuffled, some dropped or
/// doubled, linked to their sources, with some links out of bounds.
fn translation(random: &mut Random, text: &str) -> AlignedTranslation {
    let mut out = AlignedTranslation::default();
    let sources = words(text);
    for _ in 0..sources.len() + random.below(3) {
        let source = sources[random.below(sources.len())].clone();
        if !out.text.is_empty() {
            out.text.push(' ');
        }
        let start = out.text.len();
        out.text.push_str(if random.below(2) == 0 {
            "wörd"
        } else {
            &text[source.clone()]
        });
        let end = out.text.len() + random.below(2) * 7;
        if random.below(6) > 0 {
            out.links.push((source, start..end));
        }
    }
    out
}

#[test]
fn random_fragments_keep_their_markup() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for case in 0..250 {
        let html = fragment(&mut random, 4);
        let doc = HtmlDocument::parse(&html).expect("parses");
        let texts = doc.texts().to_vec();
        let translations: Vec<_> = texts.iter().map(|t| translation(&mut random, t)).collect();
        let output = doc.render(&translations).expect("renders");
        let context = format!("case {case}: {html:?} gave {output:?}");
        assert_eq!(reserialized(&output), output, "not stable: {context}");
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let tag_names = |h: &str| sorted(tags(h).into_iter().map(|t| format!("{t:?}")).collect());
        assert_eq!(tag_names(&html), tag_names(&output), "tags: {context}");
        assert_eq!(
            sorted(frozen(&html)),
            sorted(frozen(&output)),
            "frozen: {context}"
        );
        assert_eq!(
            sorted(comments(&html)),
            sorted(comments(&output)),
            "comments: {context}"
        );
    }
}
