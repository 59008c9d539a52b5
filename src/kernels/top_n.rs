//! The n largest values of each row, their columns and the row's log-sum-exp, for search's
//! candidate selection (n = 2K of `[R, V]` logits in beam search, n = 1 in greedy search).
//!
//! A vector pass finds chunk maxima, a scan of the few chunks that can hold one of the n best
//! selects them, and a vector pass sums e^(x − max) while the row is in cache. It replaces
//! libtorch's CPU `topk` (which copies each row into (value, index) pairs and heap-sorts them:
//! 15 % of beam-5 search time in the profile, bench/NOTES.md) and `logsumexp` (max, subtract,
//! exp, sum, log: four passes).

use tch::{Device, Kind, Tensor};

use super::exp::exp;

/// Lanes of a chunk's running maximum (one AVX-512 register of fp32).
const LANES: usize = 16;
/// Elements reduced to one maximum in the first pass.
const CHUNK: usize = 2 * LANES;

/// `x` `[R, V]` (fp32, CPU, no gradient) → (values `[R, n]` fp32, columns `[R, n]` int64,
/// log-sum-exp `[R]` fp32): values and columns sorted best first as `x.topk(n, -1, true,
/// true)` gives them for 1 ≤ n ≤ V, the log-sum-exp as `x.logsumexp([-1], false)` up to float
/// reassociation (~1e-7 relative). Among equal values the lower column comes first; NaN is
/// never selected unless a row has fewer than n other values, and a row with a NaN has NaN
/// log-sum-exp. `None` for inputs the kernel does not take (the caller then runs libtorch).
pub fn row_top_n(x: &Tensor, n: i64) -> Option<(Tensor, Tensor, Tensor)> {
    let takes = x.kind() == Kind::Float && x.device() == Device::Cpu && !x.requires_grad();
    if !takes || x.dim() != 2 {
        return None;
    }
    let (r, v) = x.size2().ok()?;
    if n < 1 || n > v {
        return None;
    }
    let x = x.contiguous();
    let values = Tensor::empty([r, n], (Kind::Float, Device::Cpu));
    let columns = Tensor::empty([r, n], (Kind::Int64, Device::Cpu));
    let lse = Tensor::empty([r], (Kind::Float, Device::Cpu));
    let (r, v, n) = (r as usize, v as usize, n as usize);
    // SAFETY: contiguous CPU tensors of the checked sizes and kinds, alive for this scope; the
    // outputs are freshly allocated and written only here.
    unsafe {
        let x = std::slice::from_raw_parts(x.data_ptr() as *const f32, r * v);
        let out_v = std::slice::from_raw_parts_mut(values.data_ptr() as *mut f32, r * n);
        let out_c = std::slice::from_raw_parts_mut(columns.data_ptr() as *mut i64, r * n);
        let out_lse = std::slice::from_raw_parts_mut(lse.data_ptr() as *mut f32, r);
        rows_dispatch(x, v, n, Out(out_v, out_c, out_lse));
    }
    Some((values, columns, lse))
}

/// The outputs of every row: values `[R·n]`, columns `[R·n]`, log-sum-exp `[R]`.
struct Out<'a>(&'a mut [f32], &'a mut [i64], &'a mut [f32]);

fn rows_dispatch(x: &[f32], v: usize, n: usize, out: Out) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected.
            return unsafe { rows_avx512(x, v, n, out) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the features were detected.
            return unsafe { rows_avx2(x, v, n, out) };
        }
    }
    rows_portable(x, v, n, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn rows_avx512(x: &[f32], v: usize, n: usize, out: Out) {
    use std::arch::x86_64::*;
    let chunk_max = |chunk: &[f32]| {
        assert_eq!(chunk.len(), CHUNK);
        // SAFETY: CHUNK = 2 × 16 fp32 in bounds (checked); unaligned loads. max_ps returns its
        // second operand when either is NaN, so NaN never replaces the running maximum.
        unsafe {
            let p = chunk.as_ptr();
            let m = _mm512_max_ps(_mm512_loadu_ps(p), _mm512_set1_ps(f32::NEG_INFINITY));
            let m = _mm512_max_ps(_mm512_loadu_ps(p.add(LANES)), m);
            _mm512_reduce_max_ps(m)
        }
    };
    rows(x, v, n, out, chunk_max)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2(x: &[f32], v: usize, n: usize, out: Out) {
    use std::arch::x86_64::*;
    let chunk_max = |chunk: &[f32]| {
        assert_eq!(chunk.len(), CHUNK);
        // SAFETY: CHUNK = 4 × 8 fp32 in bounds (checked); unaligned loads; NaN as above.
        unsafe {
            let p = chunk.as_ptr();
            let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
            for i in 0..CHUNK / 8 {
                m = _mm256_max_ps(_mm256_loadu_ps(p.add(8 * i)), m);
            }
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), m);
            lanes
                .iter()
                .fold(f32::NEG_INFINITY, |a, &x| if x > a { x } else { a })
        }
    };
    rows(x, v, n, out, chunk_max)
}

fn rows_portable(x: &[f32], v: usize, n: usize, out: Out) {
    rows(x, v, n, out, chunk_max)
}

/// The kernel body, with the chunk maximum of the SIMD variant (inlined into each).
#[inline(always)]
fn rows(x: &[f32], v: usize, n: usize, out: Out, chunk_max: impl Fn(&[f32]) -> f32) {
    let Out(out_v, out_c, out_lse) = out;
    let mut best = Best::new(n);
    let mut maxima = Vec::with_capacity(v / CHUNK);
    let mut scratch = Vec::with_capacity(v / CHUNK);
    for (row, xs) in x.chunks_exact(v).enumerate() {
        best.clear();
        // Pass 1 (vector max): each chunk's maximum. The n largest maxima are n values of the
        // row, so the row's n-th best is at least the n-th largest maximum: only chunks whose
        // maximum reaches it can hold one of the n best.
        maxima.clear();
        // (A plain loop: an iterator adapter would be compiled outside the SIMD variant.)
        for chunk in xs.chunks_exact(CHUNK) {
            maxima.push(chunk_max(chunk));
        }
        let floor = nth_largest(&maxima, n, &mut scratch);
        // Pass 2: offer the elements of those chunks, then the tail.
        for (c, &m) in maxima.iter().enumerate() {
            if m >= floor {
                for (l, &value) in xs[c * CHUNK..(c + 1) * CHUNK].iter().enumerate() {
                    best.offer(value, c * CHUNK + l);
                }
            }
        }
        let tail = maxima.len() * CHUNK;
        for (l, &value) in xs[tail..].iter().enumerate() {
            best.offer(value, tail + l);
        }
        best.fill_with_nan(xs);
        for (i, &(value, column)) in best.sorted().iter().enumerate() {
            out_v[row * n + i] = value;
            out_c[row * n + i] = column as i64;
        }
        out_lse[row] = log_sum_exp(xs, best.sorted()[0].0);
    }
}

/// log Σ e^x over a row whose largest non-NaN value is `max` (NaN if the row has one).
#[inline(always)]
fn log_sum_exp(xs: &[f32], max: f32) -> f32 {
    if max == f32::NEG_INFINITY || max.is_nan() {
        return max; // all −∞ (or a row of NaN)
    }
    let mut lanes = [0f32; LANES];
    let mut nan = false;
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for part in chunks {
        let part: &[f32; LANES] = part.try_into().expect("a full part");
        for l in 0..LANES {
            lanes[l] += exp(part[l] - max);
            nan |= part[l].is_nan();
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for &x in tail {
        sum += exp(x - max);
        nan |= x.is_nan();
    }
    if nan {
        f32::NAN
    } else {
        max + sum.ln()
    }
}

/// The n-th largest of `maxima` (−∞ when there are fewer than n), using `scratch` as space.
fn nth_largest(maxima: &[f32], n: usize, scratch: &mut Vec<f32>) -> f32 {
    if maxima.len() < n {
        return f32::NEG_INFINITY;
    }
    scratch.clear();
    scratch.extend_from_slice(maxima);
    *scratch
        .select_nth_unstable_by(n - 1, |a, b| b.total_cmp(a))
        .1
}

/// The maximum of a full chunk, NaN ignored (−∞ if all are NaN); the portable variant.
#[inline(always)]
fn chunk_max(chunk: &[f32]) -> f32 {
    let chunk: &[f32; CHUNK] = chunk.try_into().expect("a full chunk");
    let mut lanes = [f32::NEG_INFINITY; LANES];
    for p in 0..CHUNK / LANES {
        for l in 0..LANES {
            let x = chunk[p * LANES + l];
            // `>` is false for NaN, so NaN never replaces a lane.
            lanes[l] = if x > lanes[l] { x } else { lanes[l] };
        }
    }
    lanes
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// The n best (value, column) pairs seen so far, sorted best first (ties: lower column first).
struct Best {
    n: usize,
    items: Vec<(f32, usize)>,
}

impl Best {
    fn new(n: usize) -> Self {
        Self {
            n,
            items: Vec::with_capacity(n + 1),
        }
    }

    fn clear(&mut self) {
        self.items.clear();
    }

    fn is_full(&self) -> bool {
        self.items.len() == self.n
    }

    /// A value must exceed this to enter (−∞ until n values are held).
    fn threshold(&self) -> f32 {
        if self.is_full() {
            self.items[self.n - 1].0
        } else {
            f32::NEG_INFINITY
        }
    }

    /// Inserts `value` at `column` if it beats the n-th best (columns arrive in increasing
    /// order, so a tie keeps the earlier column). NaN never enters here.
    #[inline(always)]
    fn offer(&mut self, value: f32, column: usize) {
        if (self.is_full() && value <= self.threshold()) || value.is_nan() {
            return;
        }
        let at = self.items.partition_point(|&(v, _)| v >= value);
        self.items.insert(at, (value, column));
        self.items.truncate(self.n);
    }

    /// Rows with fewer than n non-NaN values: the missing places go to the row's NaN columns
    /// (lowest first), so the output always has n columns.
    fn fill_with_nan(&mut self, xs: &[f32]) {
        for (column, &value) in xs.iter().enumerate() {
            if self.is_full() {
                break;
            }
            if value.is_nan() {
                self.items.push((value, column));
            }
        }
    }

    fn sorted(&self) -> &[(f32, usize)] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values uniform in [−10, 10).
    fn uniform(seed: u64, shape: &[i64]) -> Tensor {
        super::super::test_inputs::uniform(seed, shape, 20.0)
    }

    #[test]
    fn equals_libtorch_topk_on_random_shapes() {
        for (i, &(r, v, n)) in [
            (1, 1, 1),
            (3, 7, 7),
            (5, 33, 10),
            (64, 4000, 10),
            (2, 17, 16),
        ]
        .iter()
        .enumerate()
        {
            let x = uniform(i as u64, &[r, v]);
            let (values, columns, lse) = row_top_n(&x, n).unwrap();
            let (want_v, want_c) = x.topk(n, -1, true, true);
            assert!(values.equal(&want_v), "[{r},{v}] top {n}: values differ");
            assert!(columns.equal(&want_c), "[{r},{v}] top {n}: columns differ");
            let want_lse = x.logsumexp([-1], false);
            let err = (&lse - &want_lse).abs().max().double_value(&[]);
            let scale = want_lse.abs().max().double_value(&[]).max(1.0);
            assert!(err / scale < 1e-6, "[{r},{v}]: log-sum-exp off by {err}");
        }
    }

    /// Every SIMD variant this CPU can run (not only the one dispatch picks) equals `topk`.
    #[test]
    fn each_simd_variant_equals_libtorch_topk() {
        type Variant = fn(&[f32], usize, usize, Out);
        let mut variants: Vec<(&str, Variant)> = vec![("portable", rows_portable)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the features were detected.
                variants.push(("avx2", |x, v, n, out| unsafe { rows_avx2(x, v, n, out) }));
            }
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the feature was detected.
                variants.push(("avx512", |x, v, n, out| unsafe {
                    rows_avx512(x, v, n, out)
                }));
            }
        }
        let (r, v, n) = (6usize, 1000usize, 10usize);
        let x = uniform(77, &[r as i64, v as i64]);
        let xs = Vec::<f32>::try_from(x.reshape([-1])).unwrap();
        let (want_v, want_c) = x.topk(n as i64, -1, true, true);
        let want_lse = Vec::<f32>::try_from(x.logsumexp([-1], false)).unwrap();
        let want_v = Vec::<f32>::try_from(want_v.reshape([-1])).unwrap();
        let want_c = Vec::<i64>::try_from(want_c.reshape([-1])).unwrap();
        for (name, variant) in variants {
            let (mut got_v, mut got_c, mut got_lse) =
                (vec![0f32; r * n], vec![0i64; r * n], vec![0f32; r]);
            variant(&xs, v, n, Out(&mut got_v, &mut got_c, &mut got_lse));
            assert_eq!(got_v, want_v, "{name}: values");
            assert_eq!(got_c, want_c, "{name}: columns");
            for (g, w) in got_lse.iter().zip(&want_lse) {
                assert!(
                    (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                    "{name}: lse {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn ties_keep_the_lower_column_and_nan_comes_last() {
        let x = Tensor::from_slice(&[1f32, 3.0, 3.0, f32::NAN, 2.0, 3.0]).reshape([1, 6]);
        let (values, columns, lse) = row_top_n(&x, 4).unwrap();
        assert!(lse.double_value(&[0]).is_nan());
        assert_eq!(
            Vec::<f32>::try_from(values.view(-1)).unwrap(),
            [3.0, 3.0, 3.0, 2.0]
        );
        assert_eq!(
            Vec::<i64>::try_from(columns.view(-1)).unwrap(),
            [1, 2, 5, 4]
        );
        let all = row_top_n(&x, 6).unwrap().1;
        assert_eq!(
            Vec::<i64>::try_from(all.view(-1)).unwrap(),
            [1, 2, 5, 4, 0, 3]
        );
    }

    #[test]
    fn nan_is_skipped_in_long_rows() {
        let mut values: Vec<f32> = (0..200).map(|i| (i % 50) as f32).collect();
        values[70] = f32::NAN; // in a chunk that is compared whole
        values[149] = f32::NAN; // the chunk that holds the maxima 49 at 99 and 149
        let x = Tensor::from_slice(&values).reshape([1, 200]);
        let (top, columns, _) = row_top_n(&x, 3).unwrap();
        assert_eq!(
            Vec::<f32>::try_from(top.view(-1)).unwrap(),
            [49.0, 49.0, 49.0]
        );
        assert_eq!(
            Vec::<i64>::try_from(columns.view(-1)).unwrap(),
            [49, 99, 199]
        );
    }

    #[test]
    fn log_sum_exp_handles_infinities() {
        let inf = f32::INFINITY;
        let x = Tensor::from_slice(&[-inf, -inf, 0.0, -inf, -inf, -inf]).reshape([2, 3]);
        let (_, _, lse) = row_top_n(&x, 1).unwrap();
        assert_eq!(Vec::<f32>::try_from(lse).unwrap(), [0.0, -inf]);
    }

    #[test]
    fn declines_what_it_does_not_take() {
        let x = uniform(9, &[2, 5]);
        assert!(row_top_n(&x, 0).is_none());
        assert!(row_top_n(&x, 6).is_none());
        assert!(row_top_n(&x.to_kind(Kind::Double), 2).is_none());
        assert!(row_top_n(&x.view([10]), 2).is_none());
    }
}
