//! Paired bootstrap resampling (Koehn 2004), exactly as sacreBLEU 2.6.0's `--paired-bs` computes
//! it under NumPy 2: the same resamples and the same p-values, means and 95 % confidence
//! intervals on the same files (`tests/fixtures/significance/`).
//!
//! sacreBLEU draws all resamples at once with `numpy.random.default_rng(12345).choice(n,
//! (samples, n))`, reproduced here by [`NumpyRng`] (PCG64 seeded by NumPy's `SeedSequence`,
//! bounded integers by Lemire's method). It recomputes each resample's score from float32
//! statistics, which NumPy 2's promotion rules (NEP 50) turn into float32 arithmetic for BLEU's
//! n-gram precisions and for all of chrF; [`bleu_f32`] and [`chrf_f32`] follow that. The test
//! statistic is |sys − baseline| per resample, centred on its mean, and
//! p = (#{resamples above the observed difference} + 1) / (samples + 1).

use super::{BleuStats, ChrfStats, MAX_NGRAM_ORDER};

/// sacreBLEU's default seed (`SACREBLEU_SEED`).
pub const SACREBLEU_SEED: u64 = 12345;

/// sacreBLEU's default number of bootstrap resamples.
pub const DEFAULT_SAMPLES: usize = 1000;

/// `numpy.random.default_rng(seed)`: PCG64 (XSL-RR 128/64) seeded through `SeedSequence`.
#[derive(Debug, Clone)]
pub struct NumpyRng {
    state: u128,
    inc: u128,
    /// The upper half of the last 64-bit output, not yet used (NumPy's `next_uint32` buffer).
    buffered: Option<u32>,
}

const PCG_MULTIPLIER: u128 = (2549297995355413924u128 << 64) | 4865540595714422341u128;

impl NumpyRng {
    /// The generator `numpy.random.default_rng(seed)` returns, for a seed below 2^64.
    pub fn new(seed: u64) -> Self {
        let words = seed_sequence_u64(seed, 4);
        let initstate = (u128::from(words[0]) << 64) | u128::from(words[1]);
        let initseq = (u128::from(words[2]) << 64) | u128::from(words[3]);
        let mut rng = Self {
            state: 0,
            inc: (initseq << 1) | 1,
            buffered: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.inc);
    }

    /// The next 64-bit output (step, then XSL-RR of the new state).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let xored = ((self.state >> 64) as u64) ^ (self.state as u64);
        xored.rotate_right((self.state >> 122) as u32)
    }

    /// The next 32 bits: the low half of a 64-bit output, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(high) = self.buffered.take() {
            return high;
        }
        let x = self.next_u64();
        self.buffered = Some((x >> 32) as u32);
        x as u32
    }

    /// A uniform integer in `0..=max` (`max < 2^32 − 1`), by Lemire's multiply-and-reject, as
    /// NumPy's `buffered_bounded_lemire_uint32`.
    pub fn bounded(&mut self, max: u32) -> u32 {
        let excl = u64::from(max) + 1;
        let mut m = u64::from(self.next_u32()) * excl;
        if (m as u32 as u64) < excl {
            let threshold = (u64::from(u32::MAX) - u64::from(max)) % excl;
            while (m as u32 as u64) < threshold {
                m = u64::from(self.next_u32()) * excl;
            }
        }
        (m >> 32) as u32
    }

    /// `choice(n, size=(samples, n), replace=True)`: `samples` rows of `n` indices in `0..n`.
    pub fn resamples(&mut self, n: usize, samples: usize) -> Vec<Vec<usize>> {
        assert!(
            n > 0 && n < u32::MAX as usize,
            "resampling needs 1..2^32 - 1 segments"
        );
        (0..samples)
            .map(|_| {
                (0..n)
                    .map(|_| self.bounded((n - 1) as u32) as usize)
                    .collect()
            })
            .collect()
    }
}

/// `SeedSequence(seed).generate_state(words, uint64)` (NumPy's bit_generator.pyx, pool size 4).
fn seed_sequence_u64(seed: u64, words: usize) -> Vec<u64> {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; 4];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..4 {
        for dst in 0..4 {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    let mut hash_b = INIT_B;
    let state: Vec<u32> = (0..2 * words)
        .map(|i| {
            let mut v = pool[i % 4] ^ hash_b;
            hash_b = hash_b.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_b);
            v ^ (v >> 16)
        })
        .collect();
    state
        .chunks_exact(2)
        .map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32))
        .collect()
}

/// A float precision sacreBLEU's resampled scores come in (f64 for BLEU, f32 for chrF).
pub trait PairwiseFloat:
    Copy
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + From<f32>
    + Into<f64>
{
    /// 0.
    const ZERO: Self;
    /// `n` in this precision.
    fn from_count(n: usize) -> Self;
    /// `x` rounded to this precision (NumPy casts a Python float to the array's dtype).
    fn from_f64(x: f64) -> Self;
    /// |self|.
    fn abs(self) -> Self;
}
impl PairwiseFloat for f32 {
    const ZERO: Self = 0.0;
    fn from_count(n: usize) -> Self {
        n as f32
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn abs(self) -> Self {
        f32::abs(self)
    }
}
impl PairwiseFloat for f64 {
    const ZERO: Self = 0.0;
    fn from_count(n: usize) -> Self {
        n as f64
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
}

/// `numpy.sum` of a contiguous array: pairwise summation with 8 accumulators in blocks of at
/// most 128, in the array's own precision.
pub fn pairwise_sum<T: PairwiseFloat>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(T::ZERO, |s, &x| s + x);
    }
    if n <= 128 {
        let mut r = [T::ZERO; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        for block in a[8..full].chunks_exact(8) {
            for j in 0..8 {
                r[j] = r[j] + block[j];
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res = res + x;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
}

/// BLEU of resampled statistics as sacreBLEU's `compute_bleu` evaluates it on float32
/// statistics: each n-gram precision is float32 (`100 * correct / total`, or `100 / (2^k ·
/// total)` for `exp` smoothing), the rest float64. Exact while every summed count is below
/// 2^24 (float32 sums of integers are exact there).
pub fn bleu_f32(s: &BleuStats) -> f64 {
    let mut bp = 1.0;
    if s.sys_len < s.ref_len {
        bp = if s.sys_len > 0 {
            (1.0 - s.ref_len as f64 / s.sys_len as f64).exp()
        } else {
            0.0
        };
    }
    if s.counts.iter().all(|&c| c == 0) {
        return 0.0;
    }
    let mut precisions = [0.0f64; MAX_NGRAM_ORDER];
    let mut smooth = 1.0f64;
    for (n, precision) in precisions.iter_mut().enumerate() {
        let total = s.totals[n] as f32;
        if s.totals[n] == 0 {
            break;
        }
        *precision = if s.counts[n] == 0 {
            smooth *= 2.0;
            f64::from(100.0f32 / (smooth as f32 * total))
        } else {
            f64::from(100.0f32 * s.counts[n] as f32 / total)
        };
    }
    let log = |p: f64| if p > 0.0 { p.ln() } else { -9_999_999_999.0 };
    let sum = precisions.iter().fold(0.0, |acc, &p| acc + log(p));
    bp * (sum / MAX_NGRAM_ORDER as f64).exp()
}

/// chrF of resampled statistics as sacreBLEU's `_compute_f_score` evaluates it on float32
/// statistics: all float32 (only the orders with hypothesis and reference n-grams count).
pub fn chrf_f32(s: &ChrfStats) -> f32 {
    let (mut avg_prec, mut avg_rec, mut order) = (0.0f32, 0.0f32, 0u32);
    for i in 0..s.hyp.len() {
        let (h, r, m) = (s.hyp[i] as f32, s.reference[i] as f32, s.matches[i] as f32);
        if s.hyp[i] > 0 && s.reference[i] > 0 {
            avg_prec += m / h;
            avg_rec += m / r;
            order += 1;
        }
    }
    if order == 0 {
        return 0.0;
    }
    avg_prec /= order as f32;
    avg_rec /= order as f32;
    if avg_prec + avg_rec == 0.0 {
        return 0.0;
    }
    let score = 5.0f32 * avg_prec * avg_rec / (4.0f32 * avg_prec + avg_rec);
    100.0f32 * score
}

/// sacreBLEU's `estimate_ci`: (mean, half-width of the central 95 %) of resampled scores, in
/// their own precision.
pub fn estimate_ci<T: PairwiseFloat>(scores: &[T]) -> (T, T) {
    let mut sorted = scores.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("scores are not NaN"));
    let n = sorted.len();
    let lower = sorted[n / 40];
    let upper = sorted[n - n / 40 - 1];
    let mean = pairwise_sum(&sorted) / T::from_count(n);
    (mean, T::from(0.5) * (upper - lower))
}

/// One system's result of the paired test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairedResult {
    /// The system's corpus score.
    pub score: f64,
    /// p-value against the baseline (`None` for the baseline itself).
    pub p_value: Option<f64>,
    /// Mean over the resamples.
    pub mean: f64,
    /// Half-width of the 95 % confidence interval around the mean.
    pub ci: f64,
}

/// p = (#{centred |sys − baseline| above `observed`} + 1) / (samples + 1), in the precision
/// of the resampled scores (sacreBLEU's `_compute_p_value`).
fn p_value<T: PairwiseFloat>(system: &[T], baseline: &[T], observed: T) -> f64 {
    let diffs: Vec<T> = system
        .iter()
        .zip(baseline)
        .map(|(&s, &b)| (s - b).abs())
        .collect();
    let mean = pairwise_sum(&diffs) / T::from_count(diffs.len());
    let above = diffs.iter().filter(|&&d| d - mean > observed).count();
    (above + 1) as f64 / (diffs.len() + 1) as f64
}

/// Paired bootstrap of one metric: `baseline` and each of `systems` give per-segment
/// statistics (all of the same length); `score` turns summed statistics into the corpus score
/// (float64), `resampled` into a resample's score in sacreBLEU's precision `T`. Returns the
/// baseline's result, then each system's.
pub fn paired_bootstrap<S, T>(
    baseline: &[S],
    systems: &[Vec<S>],
    resamples: &[Vec<usize>],
    score: impl Fn(&S) -> f64,
    resampled: impl Fn(&S) -> T,
) -> Vec<PairedResult>
where
    S: Copy + std::iter::Sum,
    T: PairwiseFloat,
{
    let total = |stats: &[S]| stats.iter().copied().sum::<S>();
    let scores_of = |stats: &[S]| -> Vec<T> {
        resamples
            .iter()
            .map(|rows| resampled(&rows.iter().map(|&i| stats[i]).sum::<S>()))
            .collect()
    };
    let base_score = score(&total(baseline));
    let base_resampled = scores_of(baseline);
    let (mean, ci) = estimate_ci(&base_resampled);
    let mut out = vec![PairedResult {
        score: base_score,
        p_value: None,
        mean: mean.into(),
        ci: ci.into(),
    }];
    for system in systems {
        let sys_score = score(&total(system));
        let sys_resampled = scores_of(system);
        let observed = T::from_f64((base_score - sys_score).abs());
        let (mean, ci) = estimate_ci(&sys_resampled);
        out.push(PairedResult {
            score: sys_score,
            p_value: Some(p_value(&sys_resampled, &base_resampled, observed)),
            mean: mean.into(),
            ci: ci.into(),
        });
    }
    out
}

/// sacreBLEU's `--paired-bs` for BLEU and chrF: `outputs[0]` is the baseline, each output
/// line-aligned with `refs` (one reference stream). Returns (BLEU results, chrF results), one
/// per output in order, over [`DEFAULT_SAMPLES`] resamples from seed [`SACREBLEU_SEED`].
///
/// # Panics
/// If `outputs` or `refs` is empty, or an output's length differs from `refs` (callers check
/// and report).
pub fn paired_bleu_chrf<H: AsRef<str>>(
    outputs: &[&[H]],
    refs: &[String],
) -> (Vec<PairedResult>, Vec<PairedResult>) {
    assert!(
        outputs.iter().all(|o| o.len() == refs.len()),
        "outputs and references differ in length"
    );
    let (bleu, chrf): (Vec<Vec<BleuStats>>, Vec<Vec<ChrfStats>>) = outputs
        .iter()
        .map(|o| {
            o.iter()
                .zip(refs)
                .map(|(h, r)| {
                    let r = std::slice::from_ref(r);
                    (
                        BleuStats::from_segment(h.as_ref(), r),
                        ChrfStats::from_segment(h.as_ref(), r),
                    )
                })
                .unzip()
        })
        .unzip();
    let resamples = NumpyRng::new(SACREBLEU_SEED).resamples(refs.len(), DEFAULT_SAMPLES);
    let bleu_score = |s: &BleuStats| super::BleuScore::from_stats(s, 1).score;
    (
        paired_bootstrap(&bleu[0], &bleu[1..], &resamples, bleu_score, bleu_f32),
        paired_bootstrap(
            &chrf[0],
            &chrf[1..],
            &resamples,
            ChrfStats::f_score,
            chrf_f32,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_default_rng_12345_first_draws() {
        // numpy 2.4.6: np.random.default_rng(12345).choice(1000, size=8)
        let mut rng = NumpyRng::new(12345);
        let got: Vec<u32> = (0..8).map(|_| rng.bounded(999)).collect();
        assert_eq!(got, [699, 227, 788, 316, 204, 797, 642, 676]);
    }

    #[test]
    fn pairwise_sum_equals_numpy_sum_of_float32() {
        // numpy 2.4.6: x = np.arange(1000, dtype=np.float32) * np.float32(0.1) + np.float32(1/3)
        // np.sum(x) == 50283.3359375, where a left-to-right float32 sum gives 50283.36328125.
        let xs: Vec<f32> = (0..1000)
            .map(|i| i as f32 * 0.1f32 + 1.0f32 / 3.0)
            .collect();
        assert_eq!(f64::from(pairwise_sum(&xs)), 50283.3359375);
        assert_ne!(
            f64::from(xs.iter().fold(0.0f32, |s, &x| s + x)),
            50283.3359375
        );
        assert_eq!(pairwise_sum(&[1.0f64, 2.0, 3.0]), 6.0);
    }
}
