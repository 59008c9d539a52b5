//! Training lines that are not usable text: lines with control characters (NUL and the other
//! Unicode `Cc` characters except TAB, which corpora use as text) and lines longer than
//! `data.max_line_chars` characters. Such a line drops its pair, both sides
//! ([`crate::data::corpus::read_training_pairs`]): a control character would become a
//! subword of its own, and an overlong line is almost always a concatenation or binary junk
//! that costs BPE training time and memory before the subword length filter sees it.

use std::fmt;
use std::path::PathBuf;

/// Why a line is not usable training text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// The first control character in it.
    Control(char),
    /// Longer than the limit: its length in characters.
    TooLong(usize),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::Control(c) => write!(f, "control character U+{:04X}", *c as u32),
            Unusable::TooLong(n) => write!(f, "{n} characters"),
        }
    }
}

/// A skipped line: file, 1-based line number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableLine {
    /// The file (source or target side) whose line is unusable.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub why: Unusable,
}

impl fmt::Display for UnusableLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} ({})", self.path.display(), self.line, self.why)
    }
}

/// What, if anything, makes `line` unusable for training; `max_chars` 0 means no length
/// limit. Control characters are checked first.
pub fn check_line(line: &str, max_chars: usize) -> Option<Unusable> {
    if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
        return Some(Unusable::Control(c));
    }
    if max_chars > 0 && line.chars().nth(max_chars).is_some() {
        return Some(Unusable::TooLong(line.chars().count()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_but_tab_and_long_lines_are_unusable() {
        assert_eq!(check_line("a\tb  c", 10), None);
        assert_eq!(check_line("a\0b", 10), Some(Unusable::Control('\0')));
        assert_eq!(
            check_line("a\u{85}b", 10),
            Some(Unusable::Control('\u{85}'))
        );
        assert_eq!(check_line("äöüß", 4), None);
        assert_eq!(check_line("äöüßx", 4), Some(Unusable::TooLong(5)));
        assert_eq!(check_line(&"x".repeat(5000), 0), None);
        assert_eq!(
            Unusable::Control('\0').to_string(),
            "control character U+0000"
        );
    }
}
