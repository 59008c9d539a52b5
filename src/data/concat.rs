//! Joined-pair augmentation: training pairs made by joining k consecutive sentence pairs
//! (sources and targets joined alike), so that a model sees inputs as long as the joined test
//! sets that probe length (Bahdanau et al. 2015, Figure 2, on a corpus of short sentences)
//! and length generalisation is not what such a test measures.

use super::corpus::ParallelCorpus;

/// `corpus` followed, for every k in 2..=`max_k`, by the pairs that join each non-overlapping
/// run of k consecutive pairs (pairs 0..k, k..2k, …; a shorter tail is left out), the texts
/// joined with one space. A joined pair carries the line number of its first pair. `max_k`
/// ≤ 1 returns the corpus unchanged.
pub fn with_joined_pairs(corpus: &ParallelCorpus, max_k: usize) -> ParallelCorpus {
    let mut out = corpus.clone();
    for k in 2..=max_k {
        for start in (0..corpus.len()).step_by(k) {
            let end = start + k;
            if end > corpus.len() {
                break;
            }
            out.src.push(corpus.src[start..end].join(" "));
            out.tgt.push(corpus.tgt[start..end].join(" "));
            out.line_numbers.push(corpus.line_numbers[start]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_non_overlapping_joins_for_each_k() {
        let corpus = ParallelCorpus {
            src: vec!["a".into(), "b".into(), "c".into(), "d".into(), "e".into()],
            tgt: vec!["A".into(), "B".into(), "C".into(), "D".into(), "E".into()],
            line_numbers: vec![1, 2, 3, 4, 6],
            stats: Default::default(),
        };
        assert_eq!(with_joined_pairs(&corpus, 1).src, corpus.src);
        let j = with_joined_pairs(&corpus, 3);
        assert_eq!(j.src[5..], ["a b", "c d", "a b c"]);
        assert_eq!(j.tgt[5..], ["A B", "C D", "A B C"]);
        assert_eq!(j.line_numbers[5..], [1, 3, 1]);
    }
}
