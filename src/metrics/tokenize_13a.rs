//! The `13a` tokenizer of sacreBLEU (the default BLEU tokenizer).
//!
//! A port of sacreBLEU's `Tokenizer13a` (`tokenizers/tokenizer_13a.py`) and
//! its post-tokenizer `TokenizerRegexp` (`tokenizers/tokenizer_re.py`), which
//! reproduce the tokenization of the WMT `mteval-v13a.pl` script (Post, 2018).
//! It is case-preserving (sacreBLEU's `lowercase=False` default) and uses the
//! same four regular expressions, applied in the same order with the same
//! leftmost, non-overlapping substitution semantics.

use once_cell::sync::Lazy;
use regex::Regex;

use super::py_split;

/// Name of this tokenizer in sacreBLEU signatures (`tok:13a`).
pub const TOKENIZER_13A_SIGNATURE: &str = "13a";

/// `([\{-\~\[-\` -\&\(-\+\:-\@\/])`: the ASCII symbols `{|}~`, `[\]^_` and
/// the backtick, space and `!"#$%&`, `()*+`, `:;<=>?@`, and `/`.
static RE_SYMBOL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40\x2F])").expect("valid regex")
});
/// Tokenize period and comma unless preceded by a digit.
static RE_PERIOD_COMMA_NOT_AFTER_DIGIT: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"([^0-9])([.,])").expect("valid regex"));
/// Tokenize period and comma unless followed by a digit.
static RE_PERIOD_COMMA_NOT_BEFORE_DIGIT: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"([.,])([^0-9])").expect("valid regex"));
/// Tokenize dash when preceded by a digit.
static RE_DASH_AFTER_DIGIT: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"([0-9])(-)").expect("valid regex"));

/// Tokenizes one segment exactly like sacreBLEU's `Tokenizer13a()(line)`.
///
/// Steps, as in sacreBLEU: remove `<skipped>`, join `-\n` line breaks, turn
/// other newlines into spaces, unescape `&quot;`, `&amp;`, `&lt;`, `&gt;`
/// (in that order, only when the line contains `&`), pad the line with one
/// space on each side, then
/// 1. surround ASCII symbols (everything but letters, digits, `'`, `,`, `-`
///    and `.`) with spaces,
/// 2. split off `.`/`,` not preceded by an ASCII digit,
/// 3. split off `.`/`,` not followed by an ASCII digit,
/// 4. split off `-` preceded by an ASCII digit,
///
/// and finally collapse whitespace runs (Python's `str.split()` whitespace)
/// into single spaces, with none at either end. The result's tokens are
/// separated by single ASCII spaces. Note that BLEU additionally strips
/// trailing whitespace (`rstrip()`) from a segment *before* calling this.
///
/// ```
/// use tolk::metrics::tokenize_13a;
/// assert_eq!(tokenize_13a("It costs $3.50, or 3,50 EUR."), "It costs $ 3.50 , or 3,50 EUR .");
/// ```
pub fn tokenize_13a(line: &str) -> String {
    // Language-independent part.
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }

    // Language-dependent part (TokenizerRegexp), on the padded line.
    let padded = format!(" {line} ");
    let s = RE_SYMBOL.replace_all(&padded, " ${1} ");
    let s = RE_PERIOD_COMMA_NOT_AFTER_DIGIT.replace_all(&s, "${1} ${2} ");
    let s = RE_PERIOD_COMMA_NOT_BEFORE_DIGIT.replace_all(&s, " ${1} ${2}");
    let s = RE_DASH_AFTER_DIGIT.replace_all(&s, "${1} ${2} ");

    // No leading or trailing spaces, single space between words.
    let mut out = String::with_capacity(s.len());
    for (i, word) in py_split(&s).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tokenize_13a;

    /// Expected outputs were produced by sacreBLEU 2.6.0:
    /// `sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(input)`.
    #[test]
    fn matches_sacrebleu_on_tricky_strings() {
        let cases: &[(&str, &str)] = &[
            ("Hello, world!", "Hello , world !"),
            ("It costs $3.50, or 3,50 EUR.", "It costs $ 3.50 , or 3,50 EUR ."),
            ("1,000,000 people - 5-6 years", "1,000,000 people - 5 - 6 years"),
            ("U.S.A. e.g. i.e. etc.", "U . S . A . e . g . i . e . etc ."),
            (
                "&quot;quoted&quot; &amp; &lt;tag&gt; &apos;x&apos; &amp;quot;",
                "\" quoted \" & < tag > & apos ; x & apos ; & quot ;",
            ),
            ("a<skipped>b <skipped>", "ab"),
            ("line-\nbreak and\nnewline", "linebreak and newline"),
            ("  leading and trailing   ", "leading and trailing"),
            ("tabs\tand\u{a0}nbsp\u{2009}thin\u{3000}ideo", "tabs and nbsp thin ideo"),
            ("ctrl\u{1f}sep\u{1c}fs\u{85}nel\u{2028}ls", "ctrl sep fs nel ls"),
            ("\u{bf}Qu\u{e9} tal? \u{a1}Bien!", "\u{bf}Qu\u{e9} tal ? \u{a1}Bien !"),
            (
                "\u{201c}Smart quotes\u{201d} and \u{2014} dashes \u{2013} here\u{2026}",
                "\u{201c}Smart quotes\u{201d} and \u{2014} dashes \u{2013} here\u{2026}",
            ),
            (
                "\u{4e2d}\u{6587}\u{ff0c}\u{6807}\u{70b9}\u{3002}",
                "\u{4e2d}\u{6587}\u{ff0c}\u{6807}\u{70b9}\u{3002}",
            ),
            (
                "emoji \u{1f600}\u{1f44d}\u{1f3fd} test.",
                "emoji \u{1f600}\u{1f44d}\u{1f3fd} test .",
            ),
            (
                "[brackets] {braces} (parens) <angle> |pipe| ~tilde^ `back` _under_ \\back",
                "[ brackets ] { braces } ( parens ) < angle > | pipe | ~ tilde ^ ` back ` _ under _ \\ back",
            ),
            ("a.b,c.d 3.b b.3 3,b b,3", "a . b , c . d 3 . b b . 3 3 , b b , 3"),
            ("x..., y,, z..", "x . . . , y , , z . ."),
            ("...", ". . ."),
            (".", "."),
            (",", ","),
            ("", ""),
            (" ", ""),
            ("-", "-"),
            ("v1.2.3-beta 10-20 a-b -5 5- 5--6", "v1.2.3 - beta 10 - 20 a-b -5 5 - 5 - -6"),
            (
                "e-mail: foo@bar.com http://x.org/a?b=c&d=e#f",
                "e-mail : foo @ bar . com http : / / x . org / a ? b = c & d = e # f",
            ),
            (
                "50% off *today* +1 'single' \"double\"",
                "50 % off * today * + 1 'single' \" double \"",
            ),
            ("ends with period .", "ends with period ."),
            (
                "\u{660}\u{661}.\u{662},\u{663} \u{664}-\u{665}",
                "\u{660}\u{661} . \u{662} , \u{663} \u{664}-\u{665}",
            ),
            (
                "\u{ff11}\u{ff12}\u{ff13}\u{ff0e}\u{ff14}\u{ff15}",
                "\u{ff11}\u{ff12}\u{ff13}\u{ff0e}\u{ff14}\u{ff15}",
            ),
            (
                "Mr. Smith's dog's bone; it's 9:30 a.m.",
                "Mr . Smith's dog's bone ; it's 9 : 30 a . m .",
            ),
            ("3.14.15,92,a.1", "3.14.15,92 , a . 1"),
            ("tokenized ' s and n't ,", "tokenized ' s and n't ,"),
        ];
        for (input, expected) in cases {
            assert_eq!(tokenize_13a(input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn is_idempotent_on_its_output() {
        let once = tokenize_13a("A man, aged 3.5, runs (fast) -- \"really\"!");
        assert_eq!(tokenize_13a(&once), once);
    }
}
