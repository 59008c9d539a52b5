//! Dropping training pairs that are too long.
//!
//! Lengths are whatever unit the caller measures, normally tokens after
//! subword segmentation (including any BOS/EOS the model adds). The filter
//! only decides which example indices survive; it never touches the data, so
//! the caller keeps full control of how to report the dropped ones (count and
//! the first few line numbers, see [`LengthFilter::first_dropped_lines`]).

/// Result of [`filter_by_length`]: which example indices are kept and which
/// are dropped. Both lists are in increasing index order and together contain
/// every index `0..n` exactly once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LengthFilter {
    /// Indices of the examples within both limits.
    pub kept: Vec<usize>,
    /// Indices of the examples over at least one limit.
    pub dropped: Vec<usize>,
}

impl LengthFilter {
    /// Number of kept examples.
    pub fn n_kept(&self) -> usize {
        self.kept.len()
    }

    /// Number of dropped examples.
    pub fn n_dropped(&self) -> usize {
        self.dropped.len()
    }

    /// Maps the first `n` dropped indices to line numbers, e.g. with
    /// [`crate::data::ParallelCorpus::line_numbers`], for a log message such
    /// as "dropped 12 pairs longer than 250 tokens (lines 17, 802, ...)".
    ///
    /// # Panics
    ///
    /// If a dropped index is out of range for `line_numbers`.
    pub fn first_dropped_lines(&self, line_numbers: &[usize], n: usize) -> Vec<usize> {
        self.dropped
            .iter()
            .take(n)
            .map(|&i| line_numbers[i])
            .collect()
    }
}

/// The rule of [`filter_by_length`] for one example: kept iff `src_len <= max_src &&
/// tgt_len <= max_tgt` (inclusive limits), for code that filters pairs as they stream by.
pub fn within_limits(src_len: usize, tgt_len: usize, max_src: usize, max_tgt: usize) -> bool {
    src_len <= max_src && tgt_len <= max_tgt
}

/// Splits examples into kept and dropped by length.
///
/// Example `i` is kept iff `src_lens[i] <= max_src && tgt_lens[i] <= max_tgt`
/// (the limits are inclusive; pass `usize::MAX` for "no limit").
///
/// # Panics
///
/// If `src_lens` and `tgt_lens` have different lengths: they must describe
/// the same examples.
pub fn filter_by_length(
    src_lens: &[usize],
    tgt_lens: &[usize],
    max_src: usize,
    max_tgt: usize,
) -> LengthFilter {
    assert_eq!(
        src_lens.len(),
        tgt_lens.len(),
        "filter_by_length: {} source lengths but {} target lengths",
        src_lens.len(),
        tgt_lens.len()
    );
    let mut out = LengthFilter::default();
    for (i, (&s, &t)) in src_lens.iter().zip(tgt_lens).enumerate() {
        if within_limits(s, t, max_src, max_tgt) {
            out.kept.push(i);
        } else {
            out.dropped.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive_and_per_side() {
        let src = [3, 4, 5, 1, 9];
        let tgt = [3, 6, 2, 5, 9];
        let f = filter_by_length(&src, &tgt, 4, 5);
        assert_eq!(f.kept, vec![0, 3]);
        assert_eq!(f.dropped, vec![1, 2, 4]);
        assert_eq!((f.n_kept(), f.n_dropped()), (2, 3));
    }

    #[test]
    fn no_limit() {
        let f = filter_by_length(&[1, 1000], &[7, 0], usize::MAX, usize::MAX);
        assert_eq!(f.kept, vec![0, 1]);
        assert!(f.dropped.is_empty());
    }

    #[test]
    fn dropped_line_numbers() {
        let f = filter_by_length(&[10, 1, 10, 10], &[1, 1, 1, 1], 5, 5);
        let lines = [3, 4, 8, 9];
        assert_eq!(f.first_dropped_lines(&lines, 2), vec![3, 8]);
        assert_eq!(f.first_dropped_lines(&lines, 10), vec![3, 8, 9]);
    }

    #[test]
    #[should_panic(expected = "2 source lengths but 1 target lengths")]
    fn mismatched_inputs_panic() {
        filter_by_length(&[1, 2], &[1], 5, 5);
    }
}
