//! Shards of a translation input: `I/N` is the I-th (1-based) of N contiguous line ranges of
//! nearly equal size, so that N independent jobs (a Slurm array, GNU parallel) translate a
//! corpus and their outputs, concatenated in shard order, equal one run's.

use std::path::Path;
use std::str::FromStr;

use super::corpus::{CorpusError, LineReader};
use crate::error::Error;

/// The I-th of N shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number, `1..=count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Lines `[⌊(I−1)·L/N⌋, ⌊I·L/N⌋)` (0-based) of an input of `total` lines: the shards
    /// cover every line once, in order, and differ in size by at most one line.
    pub fn line_range(&self, total: usize) -> std::ops::Range<usize> {
        let at = |i: usize| (i as u128 * total as u128 / self.count as u128) as usize;
        at(self.index - 1)..at(self.index)
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// Parses `I/N` with 1 ≤ I ≤ N.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::Input(format!(
                "shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/8"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

/// Number of lines of a plain or gzip file (a last line without a newline counts).
///
/// Errors: [`CorpusError`] when the file cannot be read.
pub fn count_lines(path: &Path) -> Result<usize, CorpusError> {
    let mut reader = LineReader::open(path)?;
    let mut n = 0;
    while reader.skip_line()? {
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_line_once_in_order() {
        for total in [0usize, 1, 5, 7, 1000, 1001] {
            for count in 1..=9 {
                let mut next = 0;
                for index in 1..=count {
                    let r = Shard { index, count }.line_range(total);
                    assert_eq!(r.start, next, "total {total}, shard {index}/{count}");
                    assert!(r.len() <= total / count + 1 && r.len() >= total / count);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
    }

    #[test]
    fn shard_syntax_is_checked() {
        assert_eq!(
            "2/8".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 8 }
        );
        for bad in ["0/4", "5/4", "2", "a/4", "1/0", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("expected I/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn lines_are_counted_with_and_without_a_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        std::fs::write(&a, b"x\ny\n\xff\n").unwrap();
        std::fs::write(&b, "x\ny").unwrap();
        assert_eq!(count_lines(&a).unwrap(), 3);
        assert_eq!(count_lines(&b).unwrap(), 2);
    }
}
