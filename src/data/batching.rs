//! Token-budget batching with length bucketing.
//!
//! Batches are lists of example indices. The *cost* of a batch is the number
//! of token positions it occupies once padded:
//!
//! ```text
//! cost = n_examples * max over the batch of max(src_len, tgt_len)
//! ```
//!
//! and every planned batch has `cost <= max_tokens`, except that an example
//! whose own width already exceeds `max_tokens` forms a batch of one (it is
//! never dropped here; drop over-long examples beforehand with
//! [`crate::data::filter_by_length`]). When planning, an example of length 0
//! on both sides is counted as width 1, so a batch never grows without bound.
//!
//! Training uses "pool" bucketing as in fairseq / Joey NMT
//! ([`plan_epoch`]): shuffle all examples, split them into pools of about
//! `pool_factor` expected batches, sort each pool by length, cut it greedily
//! into batches under the budget, and shuffle the order of the batches. Sorting
//! within a pool keeps padding low while the pools keep randomness across
//! epochs. The random generator is ChaCha8 seeded from `(seed, epoch)` only, so
//! a plan is reproducible and independent of any global state.
//!
//! Inference uses [`plan_inference`]: sort by length (longest first) and cut
//! under the budget; the caller restores the input order afterwards.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Default number of expected batches per pool in [`plan_epoch`].
pub const DEFAULT_POOL_FACTOR: usize = 100;

/// Domain tag mixed into the RNG seed, so that other users of the same
/// `(seed, epoch)` get an unrelated stream.
const SEED_TAG: &[u8; 16] = b"tolk/batching/v1";

/// Settings for planning training epochs: the token budget, the base seed and
/// the pool size factor. [`plan_epoch`] is a shorthand for
/// `BatchPlan::new(max_tokens, seed).epoch(lengths, epoch)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPlan {
    /// Maximum padded token count per batch (see the module docs).
    pub max_tokens: usize,
    /// Base seed; each epoch uses a generator seeded from `(seed, epoch)`.
    pub seed: u64,
    /// Pool size in expected batches (default [`DEFAULT_POOL_FACTOR`]).
    /// Larger pools give less padding but less randomness in batch
    /// composition; `usize::MAX` sorts the whole corpus as one pool.
    pub pool_factor: usize,
}

impl BatchPlan {
    /// A plan with the given budget (padded tokens per batch) and seed and the
    /// default pool factor.
    pub fn new(max_tokens: usize, seed: u64) -> Self {
        BatchPlan {
            max_tokens,
            seed,
            pool_factor: DEFAULT_POOL_FACTOR,
        }
    }

    /// The same plan with another pool factor (clamped to at least 1).
    pub fn with_pool_factor(mut self, pool_factor: usize) -> Self {
        self.pool_factor = pool_factor.max(1);
        self
    }

    /// Pool size, in examples, used for these `lengths`:
    /// `pool_factor * max(1, max_tokens / mean width)`, where the width of an
    /// example is `max(src_len, tgt_len, 1)`. At least 1.
    pub fn pool_size(&self, lengths: &[(usize, usize)]) -> usize {
        self.pool_size_of(lengths.iter().map(|&(s, t)| width(s, t)), lengths.len())
    }

    /// Plans the batches of epoch `epoch` for examples with the given
    /// `(src_len, tgt_len)` token counts. See [`plan_epoch`].
    pub fn epoch(&self, lengths: &[(usize, usize)], epoch: usize) -> Vec<Vec<usize>> {
        let lens: Vec<PairLengths> = lengths.iter().map(|&l| PairLengths::new(l)).collect();
        let plan = self.epoch_plan(&lens, epoch);
        (0..plan.len())
            .map(|b| plan.batch(b).iter().map(|&i| i as usize).collect())
            .collect()
    }

    /// [`epoch`](Self::epoch) in the compact form training uses at scale: the batches as
    /// ranges of one permutation of `u32` indices ([`EpochPlan`], 4 bytes per example plus 8 per
    /// batch), over lengths stored in 8 bytes per example. The same arguments give the same
    /// batches in the same order as [`epoch`](Self::epoch).
    ///
    /// # Panics
    ///
    /// With more than `u32::MAX` examples.
    pub fn epoch_plan(&self, lengths: &[PairLengths], epoch: usize) -> EpochPlan {
        let n = u32::try_from(lengths.len()).expect("at most u32::MAX examples per corpus");
        let mut rng = epoch_rng(self.seed, epoch);
        let mut order: Vec<u32> = (0..n).collect();
        order.shuffle(&mut rng);
        let pool_size = self.pool_size_of(lengths.iter().map(|l| l.width()), lengths.len());
        let mut ranges = Vec::new();
        let mut start = 0usize;
        for pool in order.chunks_mut(pool_size) {
            // Stable sort: ties keep their shuffled order.
            pool.sort_by_key(|&i| {
                let l = lengths[i as usize];
                (l.tgt, l.src)
            });
            cut_ranges(
                pool,
                start,
                |i| lengths[i as usize].width(),
                self.max_tokens,
                &mut ranges,
            );
            start += pool.len();
        }
        ranges.shuffle(&mut rng);
        tracing::debug!(
            epoch,
            examples = lengths.len(),
            batches = ranges.len(),
            pool_size,
            "planned epoch batches"
        );
        EpochPlan { order, ranges }
    }

    /// Pool size in examples for `n` examples of the given planning widths.
    fn pool_size_of(&self, widths: impl Iterator<Item = usize>, n: usize) -> usize {
        if n == 0 {
            return 1;
        }
        let total: f64 = widths.map(|w| w as f64).sum();
        let mean = total / n as f64;
        let expected_batch = ((self.max_tokens as f64 / mean).floor() as usize).max(1);
        self.pool_factor.max(1).saturating_mul(expected_batch)
    }
}

/// `(source, target)` length of one example in tokens, stored compactly for planning epochs of
/// millions of examples (lengths above `u32::MAX` saturate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairLengths {
    /// Source length, tokens.
    pub src: u32,
    /// Target length, tokens.
    pub tgt: u32,
}

impl PairLengths {
    /// From `(src_len, tgt_len)`.
    pub fn new((src, tgt): (usize, usize)) -> Self {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            src: narrow(src),
            tgt: narrow(tgt),
        }
    }

    /// Width used for planning: the longer side, counted as at least 1.
    pub fn width(self) -> usize {
        width(self.src as usize, self.tgt as usize)
    }
}

/// The batches of one epoch: batch `b` is `order[ranges[b]]`, a list of example indices; the
/// batches are in training order. Built by [`BatchPlan::epoch_plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochPlan {
    order: Vec<u32>,
    ranges: Vec<(u32, u32)>,
}

impl EpochPlan {
    /// Number of batches.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the epoch has no batch (no examples).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The example indices of batch `b` (in training order).
    ///
    /// # Panics
    ///
    /// When `b >= len()`.
    pub fn batch(&self, b: usize) -> &[u32] {
        let (start, end) = self.ranges[b];
        &self.order[start as usize..end as usize]
    }
}

/// Plans the training batches of one epoch.
///
/// `lengths[i]` is `(src_len, tgt_len)` of example `i`, in tokens. Returns the
/// batches as lists of example indices, in the order to train on them. Every
/// index `0..lengths.len()` appears exactly once. Each batch costs at most
/// `max_tokens` padded tokens ([`batch_cost`]), except a batch of one example
/// that alone exceeds the budget.
///
/// The result depends only on `(lengths, max_tokens, seed, epoch)`: the same
/// arguments always give the same plan, and different epochs give different
/// shuffles. Uses pool bucketing with [`DEFAULT_POOL_FACTOR`]; use
/// [`BatchPlan`] to change the pool size.
pub fn plan_epoch(
    lengths: &[(usize, usize)],
    max_tokens: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    BatchPlan::new(max_tokens, seed).epoch(lengths, epoch)
}

/// Plans batches for translation (no shuffling).
///
/// `lengths[i]` is the source length of input `i` in tokens. Inputs are sorted
/// by length, longest first (ties in input order), and cut greedily so that
/// `n_examples * longest length <= max_tokens`, except that an input longer
/// than `max_tokens` forms a batch of one. Every index appears exactly once;
/// the caller must put the translations back in input order.
pub fn plan_inference(lengths: &[usize], max_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut batches = Vec::new();
    cut_greedy(&order, |i| lengths[i].max(1), max_tokens, &mut batches);
    batches
}

/// Padded token count of `batch`: `batch.len() * max over the batch of
/// max(src_len, tgt_len)` (0 for an empty batch).
///
/// # Panics
///
/// If an index in `batch` is out of range for `lengths`.
pub fn batch_cost(lengths: &[(usize, usize)], batch: &[usize]) -> usize {
    let widest = batch
        .iter()
        .map(|&i| lengths[i].0.max(lengths[i].1))
        .max()
        .unwrap_or(0);
    batch.len() * widest
}

/// Fraction of padding positions in `batches`, source and target together.
///
/// Source and target are padded separately, as they are in tensors: a batch
/// occupies `n * max_src + n * max_tgt` positions of which
/// `sum(src_len) + sum(tgt_len)` hold real tokens. Returns
/// `padding / positions` over all batches, in `[0, 1]`, or 0 when there are
/// no positions at all.
///
/// # Panics
///
/// If an index in `batches` is out of range for `lengths`.
pub fn padding_fraction(lengths: &[(usize, usize)], batches: &[Vec<usize>]) -> f64 {
    let mut positions = 0usize;
    let mut real = 0usize;
    for batch in batches {
        let n = batch.len();
        let (mut max_s, mut max_t) = (0, 0);
        for &i in batch {
            let (s, t) = lengths[i];
            max_s = max_s.max(s);
            max_t = max_t.max(t);
            real += s + t;
        }
        positions += n * (max_s + max_t);
    }
    if positions == 0 {
        0.0
    } else {
        (positions - real) as f64 / positions as f64
    }
}

/// Width used for planning: the longer side, counted as at least 1.
fn width(src_len: usize, tgt_len: usize) -> usize {
    src_len.max(tgt_len).max(1)
}

/// Generator for one epoch, seeded from `(seed, epoch)` and a fixed tag.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(epoch as u64).to_le_bytes());
    key[16..].copy_from_slice(SEED_TAG);
    ChaCha8Rng::from_seed(key)
}

/// Cuts `order` into consecutive batches: an example joins the current batch
/// unless that would make `len * max width` exceed `max_tokens`; a batch always
/// takes at least one example.
fn cut_greedy(
    order: &[usize],
    width_of: impl Fn(usize) -> usize,
    max_tokens: usize,
    out: &mut Vec<Vec<usize>>,
) {
    let mut batch: Vec<usize> = Vec::new();
    let mut widest = 0;
    for &i in order {
        let w = width_of(i);
        let new_widest = widest.max(w);
        if !batch.is_empty() && (batch.len() + 1).saturating_mul(new_widest) > max_tokens {
            out.push(std::mem::take(&mut batch));
            widest = w;
        } else {
            widest = new_widest;
        }
        batch.push(i);
    }
    if !batch.is_empty() {
        out.push(batch);
    }
}

/// [`cut_greedy`] over a pool that starts at position `start` of the epoch's order, giving the
/// batches as `(start, end)` ranges of that order.
fn cut_ranges(
    pool: &[u32],
    start: usize,
    width_of: impl Fn(u32) -> usize,
    max_tokens: usize,
    out: &mut Vec<(u32, u32)>,
) {
    let mut batch_start = 0usize;
    let mut widest = 0;
    let at = |k: usize| (start + k) as u32;
    for (k, &i) in pool.iter().enumerate() {
        let w = width_of(i);
        let new_widest = widest.max(w);
        let len = k - batch_start;
        if len > 0 && (len + 1).saturating_mul(new_widest) > max_tokens {
            out.push((at(batch_start), at(k)));
            batch_start = k;
            widest = w;
        } else {
            widest = new_widest;
        }
    }
    if batch_start < pool.len() {
        out.push((at(batch_start), at(pool.len())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The epoch planner before the compact plan (index vectors per batch), kept as the
    /// reference the compact one must equal batch for batch.
    fn reference_epoch(
        plan: &BatchPlan,
        lengths: &[(usize, usize)],
        epoch: usize,
    ) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(plan.seed, epoch);
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.shuffle(&mut rng);
        let mut batches = Vec::new();
        for pool in order.chunks_mut(plan.pool_size(lengths)) {
            pool.sort_by_key(|&i| (lengths[i].1, lengths[i].0));
            cut_greedy(
                pool,
                |i| width(lengths[i].0, lengths[i].1),
                plan.max_tokens,
                &mut batches,
            );
        }
        batches.shuffle(&mut rng);
        batches
    }

    #[test]
    fn compact_plan_gives_the_reference_batches() {
        let lengths: Vec<(usize, usize)> = (0..5000)
            .map(|i| ((i * 31) % 47, (i * 17) % 53 + (i % 3)))
            .collect();
        for (tokens, factor, epoch) in [(300, 100, 0), (300, 100, 3), (64, 2, 1), (5, 1, 0)] {
            let plan = BatchPlan::new(tokens, 11).with_pool_factor(factor);
            assert_eq!(
                plan.epoch(&lengths, epoch),
                reference_epoch(&plan, &lengths, epoch),
                "budget {tokens}, pool factor {factor}, epoch {epoch}"
            );
        }
        let empty = BatchPlan::new(10, 0).epoch_plan(&[], 0);
        assert!(empty.is_empty());
    }

    #[test]
    fn greedy_cut_respects_budget_and_isolates_oversized() {
        let widths = [2, 2, 3, 10, 1, 1];
        let mut out = Vec::new();
        cut_greedy(&[0, 1, 2, 3, 4, 5], |i| widths[i], 6, &mut out);
        // [2,2] -> cost 4; adding 3 -> 3*3=9 > 6; [3] then [3] + 10 -> 20 > 6;
        // [10] alone (over budget); [1,1].
        assert_eq!(out, vec![vec![0, 1], vec![2], vec![3], vec![4, 5]]);
    }

    #[test]
    fn zero_lengths_count_as_width_one() {
        let lengths = vec![(0, 0); 50];
        let batches = plan_epoch(&lengths, 8, 0, 0);
        assert!(batches.iter().all(|b| b.len() <= 8), "{batches:?}");
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 50);
        let inf = plan_inference(&[0; 20], 5);
        assert!(inf.iter().all(|b| b.len() <= 5));
    }

    #[test]
    fn pool_size_from_mean_width() {
        let lengths = vec![(10, 30); 4]; // mean width 30
        let plan = BatchPlan::new(300, 0);
        assert_eq!(plan.pool_size(&lengths), 100 * 10);
        assert_eq!(plan.with_pool_factor(2).pool_size(&lengths), 20);
        assert_eq!(plan.with_pool_factor(0).pool_size(&lengths), 10);
        // Budget smaller than one example: one expected example per batch.
        assert_eq!(BatchPlan::new(5, 0).pool_size(&lengths), 100);
        assert_eq!(plan.pool_size(&[]), 1);
    }

    #[test]
    fn epoch_rng_depends_on_seed_and_epoch() {
        use rand::RngCore;
        let a = epoch_rng(1, 0).next_u64();
        assert_eq!(a, epoch_rng(1, 0).next_u64());
        assert_ne!(a, epoch_rng(1, 1).next_u64());
        assert_ne!(a, epoch_rng(2, 0).next_u64());
    }

    #[test]
    fn pools_are_sorted_before_cutting() {
        // One pool (huge factor): batches must be contiguous runs of the
        // (tgt, src)-sorted order, so the width ranges of batches don't
        // interleave.
        let lengths: Vec<(usize, usize)> =
            (0..200).map(|i| (i % 7 + 1, (i * 37) % 50 + 1)).collect();
        let plan = BatchPlan::new(100, 3).with_pool_factor(usize::MAX);
        let batches = plan.epoch(&lengths, 0);
        let mut ranges: Vec<(usize, usize)> = batches
            .iter()
            .map(|b| {
                let t: Vec<usize> = b.iter().map(|&i| lengths[i].1).collect();
                (*t.iter().min().unwrap(), *t.iter().max().unwrap())
            })
            .collect();
        ranges.sort();
        for w in ranges.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlapping batches {:?}", w);
        }
    }

    #[test]
    fn batch_cost_and_padding_basics() {
        let lengths = [(2, 4), (3, 1)];
        assert_eq!(batch_cost(&lengths, &[0, 1]), 8);
        assert_eq!(batch_cost(&lengths, &[]), 0);
        // positions: 2*(3+4) = 14, real: 2+4+3+1 = 10.
        let f = padding_fraction(&lengths, &[vec![0, 1]]);
        assert!((f - 4.0 / 14.0).abs() < 1e-12, "{f}");
        assert_eq!(padding_fraction(&lengths, &[vec![0], vec![1]]), 0.0);
        assert_eq!(padding_fraction(&lengths, &[]), 0.0);
    }

    #[test]
    fn inference_sorted_longest_first_stable() {
        let batches = plan_inference(&[3, 5, 3, 1, 5], 10);
        // order: 1(5), 4(5), 0(3), 2(3), 3(1)
        assert_eq!(batches, vec![vec![1, 4], vec![0, 2, 3]]);
    }
}
