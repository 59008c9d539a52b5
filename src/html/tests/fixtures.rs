//! HTML fragments that every mock translator is run on: one test each.

/// Declares the fixtures: a test per fixture, and the list of all.
macro_rules! fixtures {
    ($($name:ident: $html:expr,)*) => {
        /// Every fixture, as `(name, html)`.
        #[allow(dead_code)]
        pub(super) const FIXTURES: &[(&str, &str)] = &[$((stringify!($name), $html)),*];
        $(
            #[test]
            fn $name() {
                super::checks::check_all(stringify!($name), $html);
            }
        )*
    };
}

fixtures! {
    nested_inline: "<p>A <b>big <i>red</i></b> dog.</p>",
    link_with_attributes: r#"<p>See <a href="x?a=1&amp;b=2" title="t" class="c">the docs</a> for more.</p>"#,
    entities: "<p>Fish &amp; chips &lt;3 &gt; all &quot;ok&quot; &copy; 2024&nbsp;Ltd</p>",
    br: "<p>Line one<br>Line two<br/>\nLine three</p>",
    list: "<ul>\n  <li>First item</li>\n  <li>Second <em>item</em> here</li>\n</ul>",
    table: "<table><caption>Prices</caption><tr><th>Item</th><th>Cost</th></tr>\
         <tr><td>Tea <small>(hot)</small></td><td>3 euros</td></tr></table>",
    translate_no: r#"<p>Use <span translate="no">Tolk Server</span> today.</p><div translate="no"><p>Keep this text</p></div><p class="notranslate">Also keep</p>"#,
    script_and_style: r#"<style>p > a { content: "&amp;"; }</style><p>Hello world</p><script>if (a < b && c) { x = "</p>"; }</script>"#,
    pre: "<pre>  keep   this\n    spacing &amp; <b>bold</b> </pre><p>Then   text</p>",
    code_in_a_sentence: "<p>Run <code>ls -l</code> now, then <code>cd ..</code> please.</p>",
    img_in_text: r#"<p>Click <img src="a.png" alt="an icon"> to start.</p>"#,
    comments: "<!-- top --><p>Hello <!-- inline --> world</p>",
    empty_elements: "<p>Hello <span></span>world<i></i></p><div></div><p></p><p><b> </b></p>",
    malformed: "<p>Unclosed <b>bold <p>next</b> para</i> text <b><i>x</b></i> end",
    plain_text: "Just a plain sentence without tags.",
    headings_and_divs: "<div><h1>Main title</h1>Intro text <div>Inner block</div> tail text<h2>Sub <u>title</u></h2></div>",
    source_formatting: "<div>\n  <p>\n    This paragraph is\n    <b>formatted</b>   over\n    several lines.\n  </p>\n</div>\n",
    non_ascii: "<p>Die Straße ist <b>übermäßig</b> groß.</p><p>Übermäßig</p>",
    inline_holding_a_break: "<p>Before <b>bold<br>after break</b> end</p>",
    form_controls: r#"<label>Name <input name="n" value="v"></label><button>Send it</button><select><option>One choice</option></select><textarea> raw &lt; text </textarea>"#,
    title_and_sup: "<title>My page</title><p>Body <sup>1</sup> text<sub>2</sub></p>",
    tags_inside_a_word: "<p>un<b>believ</b>able things</p>",
    nbsp_and_wbr: "<p>&nbsp;</p><p>super<wbr>long word</p>",
    spaces_inside_tags: "<p>A<b> spaced </b>word and <i> </i>gap</p>",
    siblings: r#"<p><a href="/1">One</a> <a href="/2">two</a>, <em>three</em> and <strong>four</strong>.</p>"#,
}
