//! Fused label-smoothed cross entropy for training: the loss and its gradient with respect to
//! the logits in one pass per row, instead of log-softmax, the NLL gather and the smoothing
//! mean forward and their backward ops, which each read or write the whole `[N, V]`.
//!
//! For a row z `[V]` with target y and smoothing ε (Szegedy et al. 2016, §7):
//! log p(v) = z_v − lse(z); nll = lse − z_y; smooth = −mean_v log p(v) = lse − mean(z);
//! loss = (1 − ε)·nll + ε·smooth; ∂loss/∂z_v = softmax(z)_v − (1 − ε)·[v = y] − ε / V.
//!
//! tch has no custom-autograd API, so the caller attaches the gradient through a surrogate:
//! s = ⟨z, g⟩ with g detached has ∂s/∂z = g, and loss + s − s.detach() has the loss's value and
//! gradient g (see [`crate::train::loss`]).

use tch::{Device, Kind, Tensor};

use super::exp::exp;

/// Sums over the rows and the gradient of the loss sum.
#[derive(Debug)]
pub struct CrossEntropy {
    /// Σ over non-padding rows of the label-smoothed loss (nats).
    pub loss_sum: f64,
    /// Σ over non-padding rows of −log p(y) (nats).
    pub nll_sum: f64,
    /// ∂ loss_sum / ∂ logits `[N, V]` (zero on padding rows).
    pub grad: Tensor,
}

/// `logits` `[N, V]` (fp32, CPU), `targets` `[N]` int64 (rows equal to `pad` ignored) →
/// the loss sums and gradient; `None` for inputs the kernel does not take (other kinds or
/// devices, a target out of range), for which the caller runs the reference ops. Rows are split
/// over libtorch's intra-op thread count. Sums and exp differ from libtorch's by float
/// reassociation (~1e-6 relative).
pub fn label_smoothed_cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    epsilon: f64,
    pad: i64,
) -> Option<CrossEntropy> {
    let cpu = |t: &Tensor, kind: Kind| t.kind() == kind && t.device() == Device::Cpu;
    if !(cpu(logits, Kind::Float) && cpu(targets, Kind::Int64)) || logits.dim() != 2 {
        return None;
    }
    let (n, v) = logits.size2().ok()?;
    if targets.numel() != n as usize || v == 0 {
        return None;
    }
    let y = Vec::<i64>::try_from(targets.reshape([-1])).ok()?;
    if y.iter().any(|&t| t != pad && !(0..v).contains(&t)) {
        return None;
    }
    let z = logits.detach().contiguous();
    let grad = Tensor::empty([n, v], (Kind::Float, Device::Cpu));
    let (n, v) = (n as usize, v as usize);
    let threads = (tch::get_num_threads().max(1) as usize).min(n.max(1));
    let rows_per = n.div_ceil(threads).max(1);
    // SAFETY: contiguous fp32 CPU tensors of the checked sizes, alive for this scope; `grad` is
    // freshly allocated, and each thread writes its own disjoint rows of it.
    let sums = unsafe {
        let z = std::slice::from_raw_parts(z.data_ptr() as *const f32, n * v);
        let g = std::slice::from_raw_parts_mut(grad.data_ptr() as *mut f32, n * v);
        let row = Row {
            v,
            epsilon: epsilon as f32,
            pad,
        };
        std::thread::scope(|scope| {
            let work: Vec<_> = z
                .chunks(rows_per * v)
                .zip(g.chunks_mut(rows_per * v))
                .zip(y.chunks(rows_per))
                .map(|((z, g), y)| scope.spawn(move || row.dispatch(z, g, y)))
                .collect();
            work.into_iter()
                .map(|w| w.join().expect("cross-entropy worker"))
                .fold((0f64, 0f64), |a, b| (a.0 + b.0, a.1 + b.1))
        })
    };
    Some(CrossEntropy {
        loss_sum: sums.0,
        nll_sum: sums.1,
        grad,
    })
}

/// The per-row settings.
#[derive(Debug, Clone, Copy)]
struct Row {
    v: usize,
    epsilon: f32,
    pad: i64,
}

impl Row {
    /// (loss sum, NLL sum) of rows `z` with targets `y`, writing their gradients into `g`.
    fn dispatch(self, z: &[f32], g: &mut [f32], y: &[i64]) -> (f64, f64) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the feature was detected.
                return unsafe { self.rows_avx512(z, g, y) };
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the features were detected.
                return unsafe { self.rows_avx2(z, g, y) };
            }
        }
        self.rows(z, g, y)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn rows_avx512(self, z: &[f32], g: &mut [f32], y: &[i64]) -> (f64, f64) {
        self.rows(z, g, y)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows_avx2(self, z: &[f32], g: &mut [f32], y: &[i64]) -> (f64, f64) {
        self.rows(z, g, y)
    }

    /// The kernel body (inlined into each SIMD variant): per row, pass 1 finds the max and
    /// the sum of z, pass 2 writes e^(z − max) into g and sums it, pass 3 (on the row in
    /// cache) turns g into the gradient.
    #[inline(always)]
    fn rows(self, z: &[f32], g: &mut [f32], y: &[i64]) -> (f64, f64) {
        let (v, eps) = (self.v, self.epsilon);
        let (mut loss_sum, mut nll_sum) = (0f64, 0f64);
        for ((zr, gr), &target) in z.chunks_exact(v).zip(g.chunks_exact_mut(v)).zip(y) {
            if target == self.pad {
                gr.fill(0.0);
                continue;
            }
            let (max, total) = max_and_sum(zr);
            let sum = exp_into(gr, zr, max);
            let lse = max + sum.ln();
            let nll = lse - zr[target as usize];
            let smooth = lse - total / v as f32;
            loss_sum += ((1.0 - eps) * nll + eps * smooth) as f64;
            nll_sum += nll as f64;
            let (inv, uniform) = (1.0 / sum, eps / v as f32);
            for g in gr.iter_mut() {
                *g = g.mul_add(inv, -uniform);
            }
            gr[target as usize] -= 1.0 - eps;
        }
        (loss_sum, nll_sum)
    }
}

/// Lanes of the row reductions (one AVX-512 register of fp32).
const LANES: usize = 16;

/// (max, sum) of a row, in lanes.
#[inline(always)]
fn max_and_sum(zr: &[f32]) -> (f32, f32) {
    let (mut max, mut total) = ([f32::NEG_INFINITY; LANES], [0f32; LANES]);
    let chunks = zr.chunks_exact(LANES);
    let tail = chunks.remainder();
    for part in chunks {
        let part: &[f32; LANES] = part.try_into().expect("a full part");
        for l in 0..LANES {
            max[l] = if part[l] > max[l] { part[l] } else { max[l] };
            total[l] += part[l];
        }
    }
    let mut m = max.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let mut t: f32 = total.iter().sum();
    for &x in tail {
        m = m.max(x);
        t += x;
    }
    (m, t)
}

/// Writes e^(z − max) into `gr` and returns its sum, in lanes.
#[inline(always)]
fn exp_into(gr: &mut [f32], zr: &[f32], max: f32) -> f32 {
    let mut sum = [0f32; LANES];
    let mut g_chunks = gr.chunks_exact_mut(LANES);
    let mut z_chunks = zr.chunks_exact(LANES);
    for (g, z) in (&mut g_chunks).zip(&mut z_chunks) {
        let (g, z): (&mut [f32; LANES], &[f32; LANES]) = (
            g.try_into().expect("a full part"),
            z.try_into().expect("a full part"),
        );
        for l in 0..LANES {
            g[l] = exp(z[l] - max);
            sum[l] += g[l];
        }
    }
    let mut s: f32 = sum.iter().sum();
    for (g, &z) in g_chunks
        .into_remainder()
        .iter_mut()
        .zip(z_chunks.remainder())
    {
        *g = exp(z - max);
        s += *g;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::test_inputs::uniform;
    use super::*;
    use tch::Reduction;

    /// The reference: tolk's label-smoothed loss through libtorch's ops, and its autograd
    /// gradient.
    fn reference(z: &Tensor, y: &Tensor, eps: f64, pad: i64) -> (f64, f64, Tensor) {
        let z = z.detach().set_requires_grad(true);
        let lp = z.log_softmax(-1, Kind::Float);
        let keep = y.ne(pad);
        let nll = lp
            .nll_loss_nd::<Tensor>(y, None, Reduction::None, pad)
            .masked_select(&keep)
            .sum(Kind::Float);
        let smooth = (-lp.mean_dim(-1, false, Kind::Float))
            .masked_select(&keep)
            .sum(Kind::Float);
        let loss = (1.0 - eps) * &nll + eps * smooth;
        loss.backward();
        (loss.double_value(&[]), nll.double_value(&[]), z.grad())
    }

    #[test]
    fn loss_and_gradient_equal_the_autograd_reference() {
        for (i, &(n, v, eps)) in [(1, 1, 0.0), (3, 7, 0.1), (9, 33, 0.0), (40, 1000, 0.1)]
            .iter()
            .enumerate()
        {
            let z = uniform(i as u64, &[n, v], 12.0);
            let mut targets: Vec<i64> = (0..n).map(|r| (r * 7 + 3) % v).collect();
            if n > 2 {
                targets[1] = -1; // a padding row (pad = -1 here, so 0 stays a token)
            }
            let y = Tensor::from_slice(&targets);
            let got = label_smoothed_cross_entropy(&z, &y, eps, -1).unwrap();
            let (loss, nll, grad) = reference(&z, &y, eps, -1);
            assert!(
                (got.loss_sum - loss).abs() <= 1e-5 * loss.abs().max(1.0),
                "{loss}"
            );
            assert!(
                (got.nll_sum - nll).abs() <= 1e-5 * nll.abs().max(1.0),
                "{nll}"
            );
            let err = (&got.grad - &grad).abs().max().double_value(&[]);
            assert!(err < 1e-6, "[{n},{v}] gradient differs by {err}");
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = uniform(11, &[2, 5], 4.0).to_kind(Kind::Double);
        let y = Tensor::from_slice(&[3i64, 0]);
        let loss = |z: &Tensor| {
            let got = label_smoothed_cross_entropy(&z.to_kind(Kind::Float), &y, 0.1, -1);
            got.unwrap().loss_sum
        };
        let grad = label_smoothed_cross_entropy(&z.to_kind(Kind::Float), &y, 0.1, -1)
            .unwrap()
            .grad;
        let h = 1e-2;
        for idx in 0..10i64 {
            let (r, c) = (idx / 5, idx % 5);
            let bump = |d: f64| {
                let z2 = z.copy();
                let _ = z2.get(r).get(c).fill_(z.double_value(&[r, c]) + d);
                loss(&z2)
            };
            let numeric = (bump(h) - bump(-h)) / (2.0 * h);
            let analytic = grad.double_value(&[r, c]);
            assert!(
                (numeric - analytic).abs() < 1e-3,
                "[{r},{c}]: {numeric} vs {analytic}"
            );
        }
    }

    #[test]
    fn declines_what_it_does_not_take() {
        let z = uniform(1, &[2, 3], 1.0);
        let y = Tensor::from_slice(&[0i64, 2]);
        assert!(label_smoothed_cross_entropy(&z, &y, 0.1, -1).is_some());
        assert!(label_smoothed_cross_entropy(&z.to_kind(Kind::Double), &y, 0.1, -1).is_none());
        let out_of_range = Tensor::from_slice(&[0i64, 3]);
        assert!(label_smoothed_cross_entropy(&z, &out_of_range, 0.1, -1).is_none());
        assert!(label_smoothed_cross_entropy(&z, &Tensor::from_slice(&[0i64]), 0.1, -1).is_none());
    }
}
