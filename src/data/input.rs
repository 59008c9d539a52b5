//! Translation input: numbered source lines from a file or stdin, read strictly (as
//! [`super::corpus`] reads training data) but with a policy for lines that are not UTF-8, so
//! one bad byte does not cost the lines around it.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::corpus::{CorpusError, LineReader};

/// What to do with an input line that is not valid UTF-8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BadLinePolicy {
    /// Stop with an error naming the input and the line (after writing the lines before it).
    #[default]
    Fail,
    /// Log a warning naming the line and translate it as an empty line, so every input line
    /// still gives one output line.
    Skip,
}

impl FromStr for BadLinePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fail" => Ok(Self::Fail),
            "skip" => Ok(Self::Skip),
            other => Err(format!("unknown bad-line policy {other:?} (fail | skip)")),
        }
    }
}

impl fmt::Display for BadLinePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fail => "fail",
            Self::Skip => "skip",
        })
    }
}

/// Source lines to translate, read one at a time.
pub struct InputLines {
    reader: LineReader,
    policy: BadLinePolicy,
    skipped: usize,
}

impl InputLines {
    /// Reads `path` (plain or gzip), or stdin when `None` (named `<stdin>` in messages).
    ///
    /// Errors: [`CorpusError::Io`] if the file cannot be opened.
    pub fn open(path: Option<&Path>, policy: BadLinePolicy) -> Result<Self, CorpusError> {
        let reader = match path {
            Some(p) => LineReader::open(p)?,
            None => LineReader::from_reader("<stdin>", Box::new(std::io::stdin().lock())),
        };
        Ok(Self::new(reader, policy))
    }

    /// Lines from an open reader.
    pub fn new(reader: LineReader, policy: BadLinePolicy) -> Self {
        Self {
            reader,
            policy,
            skipped: 0,
        }
    }

    /// The next line (`None` at end of input). Under [`BadLinePolicy::Skip`] a line that is not
    /// UTF-8 comes back as `""` after a warning naming it.
    ///
    /// Errors: [`CorpusError::InvalidUtf8`] (policy `Fail`), read errors.
    pub fn next_line(&mut self) -> Result<Option<String>, CorpusError> {
        match self.reader.next_line() {
            Err(e @ CorpusError::InvalidUtf8 { .. }) if self.policy == BadLinePolicy::Skip => {
                tracing::warn!("{e}; translated as an empty line (--on-bad-line skip)");
                self.skipped += 1;
                Ok(Some(String::new()))
            }
            other => other,
        }
    }

    /// Up to `n` lines. The lines read before an error come back with it, so the caller can
    /// translate and write them first.
    pub fn next_chunk(&mut self, n: usize) -> (Vec<String>, Option<CorpusError>) {
        let mut lines = Vec::with_capacity(n.min(4096));
        while lines.len() < n {
            match self.next_line() {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => break,
                Err(e) => return (lines, Some(e)),
            }
        }
        (lines, None)
    }

    /// Reads past up to `n` lines without decoding them; returns how many there were.
    ///
    /// Errors: read errors.
    pub fn skip_lines(&mut self, n: usize) -> Result<usize, CorpusError> {
        let mut done = 0;
        while done < n && self.reader.skip_line()? {
            done += 1;
        }
        Ok(done)
    }

    /// 1-based number of the line read last.
    pub fn line_number(&self) -> usize {
        self.reader.line_number()
    }

    /// Lines replaced by `""` under [`BadLinePolicy::Skip`].
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &'static [u8], policy: BadLinePolicy) -> InputLines {
        InputLines::new(LineReader::from_reader("in", Box::new(bytes)), policy)
    }

    #[test]
    fn a_bad_line_fails_with_its_number_and_keeps_the_lines_before() {
        let mut input = lines(b"a\nb\xff\nc\n", BadLinePolicy::Fail);
        let (got, err) = input.next_chunk(10);
        assert_eq!(got, vec!["a"]);
        let msg = err.expect("an error").to_string();
        assert_eq!(msg, "in:2: invalid UTF-8 at byte 1 of the line");
        // The reader goes on after the bad line.
        assert_eq!(input.next_line().unwrap().as_deref(), Some("c"));
    }

    #[test]
    fn skip_gives_an_empty_line_in_its_place() {
        let mut input = lines(b"a\n\xc3\n\r\nd", BadLinePolicy::Skip);
        let (got, err) = input.next_chunk(10);
        assert!(err.is_none());
        assert_eq!(got, vec!["a", "", "", "d"]);
        assert_eq!(input.skipped(), 1);
        assert_eq!(input.line_number(), 4);
    }

    #[test]
    fn chunks_split_the_input_without_losing_lines() {
        let mut input = lines(b"1\n2\n3\n4\n5\n", BadLinePolicy::Fail);
        assert_eq!(input.next_chunk(2).0, vec!["1", "2"]);
        assert_eq!(input.next_chunk(2).0, vec!["3", "4"]);
        assert_eq!(input.next_chunk(2).0, vec!["5"]);
        assert!(input.next_chunk(2).0.is_empty());
    }

    #[test]
    fn policy_parses_and_prints() {
        for p in [BadLinePolicy::Fail, BadLinePolicy::Skip] {
            assert_eq!(p.to_string().parse::<BadLinePolicy>(), Ok(p));
        }
        assert!("ignore".parse::<BadLinePolicy>().is_err());
    }
}
