//! Tests of the whole module on HTML fixtures with mock translators.

mod checks;
mod fixtures;
mod fuzz;
mod mock;

use std::ops::Range;

use super::{AlignedTranslation, HtmlDocument, HtmlError, MAX_DEPTH};
use checks::translate;
use fixtures::FIXTURES;

#[test]
fn there_are_enough_fixtures() {
    assert!(FIXTURES.len() >= 15);
}

#[test]
fn nested_tags_follow_their_words() {
    let html = "<p>A <b>big <i>red</i></b> dog.</p>";
    assert_eq!(
        translate(html, mock::upper).0,
        "<p>A <b>BIG <i>RED</i></b> DOG.</p>"
    );
    let reversed = "<p>dog. <b><i>red</i> big</b> A</p>";
    assert_eq!(translate(html, mock::reverse).0, reversed);
    let dropped = "<p>A <b><i>red</i></b> dog.</p>";
    assert_eq!(translate(html, mock::drop_second).0, dropped);
}

#[test]
fn texts_are_what_a_browser_shows() {
    let html = "<p>Fish &amp;\n  <b>chips</b>&nbsp;&lt;3<br>Next</p><ul><li> One </li></ul>";
    let doc = HtmlDocument::parse(html).expect("parses");
    assert_eq!(doc.texts(), ["Fish & chips\u{a0}<3", "Next", "One"]);
}

#[test]
fn code_is_kept_whole_and_placed_by_its_neighbours() {
    let html = "<p>Run <code>ls -l</code> now.</p>";
    let doc = HtmlDocument::parse(html).expect("parses");
    assert_eq!(doc.texts(), ["Run now."]);
    let reversed = "<p>now. Run <code>ls -l</code></p>";
    assert_eq!(translate(html, mock::reverse).0, reversed);
    let upper = "<p>RUN <code>ls -l</code> NOW.</p>";
    assert_eq!(translate(html, mock::upper).0, upper);
}

#[test]
fn escaping_is_kept() {
    let html = r#"<p title="a&amp;b">x &amp; y &lt; z&nbsp;!</p>"#;
    let upper = r#"<p title="a&amp;b">X &amp; Y &lt; Z&nbsp;!</p>"#;
    assert_eq!(translate(html, mock::upper).0, upper);
}

#[test]
fn script_and_style_are_byte_identical() {
    let script = r#"<script>if (a < b && c) { x = "</p>"; }</script>"#;
    let style = r#"<style>p > a { content: "&amp;"; }</style>"#;
    let html = format!("{style}<p>Hello</p>{script}");
    let output = translate(&html, mock::reverse).0;
    assert!(
        output.contains(script) && output.contains(style),
        "{output}"
    );
}

#[test]
fn fragments_gain_no_wrappers() {
    let output = translate("Hello <b>world</b>", mock::upper).0;
    assert_eq!(output, "HELLO <b>WORLD</b>");
}

#[test]
fn wrong_count_is_an_error() {
    let doc = HtmlDocument::parse("<p>a</p><p>b</p>").expect("parses");
    let got = doc.render(&[AlignedTranslation::default()]);
    assert_eq!(
        got,
        Err(HtmlError::Count {
            expected: 2,
            got: 1
        })
    );
}

#[test]
fn bad_links_are_clamped() {
    let doc = HtmlDocument::parse("<p>Gr<b>üß</b>e <i>dich</i></p>").expect("parses");
    let links = vec![
        (0..99, 1..2),
        (3..4, Range { start: 7, end: 3 }),
        (usize::MAX - 1..usize::MAX, 0..1),
    ];
    let translation = AlignedTranslation {
        text: "Grüß dich".into(),
        links,
    };
    let output = doc.render(&[translation]).expect("renders");
    assert_eq!(checks::tags(&output).len(), 3, "{output}");
}

#[test]
fn garbage_alignments_keep_every_element() {
    for (name, html) in FIXTURES {
        let doc = HtmlDocument::parse(html).expect("parses");
        let translations: Vec<AlignedTranslation> = doc.texts().iter().map(scramble).collect();
        let output = doc.render(&translations).expect("renders");
        let mut before = checks::tags(html);
        let mut after = checks::tags(&output);
        before.sort();
        after.sort();
        assert_eq!(before, after, "{name}: {output}");
    }
}

/// A translation with links that cross, overlap and run out of bounds.
fn scramble(text: &String) -> AlignedTranslation {
    let target = format!("ÜBER {text} ß");
    let n = text.len();
    let links = (0..n + 3).map(|i| (i..i + 3, (i * 7) % (n + 9)..(i * 5) % (n + 9) + 2));
    AlignedTranslation {
        text: target,
        links: links.collect(),
    }
}

#[test]
fn deep_nesting_is_refused() {
    let deep = "<div>".repeat(MAX_DEPTH + 1);
    assert_eq!(
        HtmlDocument::parse(&deep).err(),
        Some(HtmlError::TooDeep { max: MAX_DEPTH })
    );
    assert!(HtmlDocument::parse(&"<div>".repeat(MAX_DEPTH)).is_ok());
}

#[test]
fn documents_can_be_sent_between_threads() {
    fn send<T: Send>() {}
    send::<HtmlDocument>();
}
