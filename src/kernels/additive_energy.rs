//! Fused additive-attention energies: e_rj = v^T tanh(q_r + k_rj) (Bahdanau et al. 2015, eq. 6,
//! with q_r = W_a s_r and k_rj = U_a h_j + b already computed), in one pass per row without
//! materialising the `[R, S, A]` pre-activations that the reference
//! `(keys + q.unsqueeze(1)).tanh().matmul(v)` writes, re-reads and reads again.
//! [`additive_energy`] serves search; [`additive_energy_train`] serves training, through the
//! C++ shim's autograd function ([`super::shim`]), whose backward recomputes the tanh instead
//! of keeping `[R, S, A]` activations for every decoder step.

use tch::{Device, Kind, Tensor};

use super::tanh::tanh;

/// Lanes of independent partial sums (so the sum over A vectorises without reassociation
/// being left to the compiler).
const LANES: usize = 16;

/// Energies `[R, S]` from `query` `[R, A]`, `keys` `[M, S, A]` and `energy` v `[A]` (all fp32,
/// CPU), where M divides R and query row r reads keys row r / (R / M): the R / M hypotheses of a
/// sentence in beam search share its keys, read once per sentence instead of once per
/// hypothesis (as Marian's `Att` does). `None` for inputs the kernel does not take (other kinds or devices, a `query` or
/// `keys` that needs gradients, as in training), for which the caller runs the reference.
/// The result carries no gradient, also not towards `energy` (a parameter: search runs under
/// `no_grad`).
///
/// The sum over A runs in 16 lanes then adds them, so results differ from the reference's
/// GEMV by float reassociation (~1e-6 relative), and tanh is [`super::tanh::tanh`].
pub fn additive_energy(query: &Tensor, keys: &Tensor, energy: &Tensor) -> Option<Tensor> {
    let fp32_cpu = |t: &Tensor| t.kind() == Kind::Float && t.device() == Device::Cpu;
    let no_grad = |t: &Tensor| fp32_cpu(t) && !t.requires_grad();
    if !(no_grad(query) && no_grad(keys) && fp32_cpu(energy)) || keys.dim() != 3 {
        return None;
    }
    let (m, s, a) = keys.size3().ok()?;
    let r = query.size2().ok()?.0;
    if m == 0 || query.size() != [r, a] || r % m != 0 || energy.numel() != a as usize {
        return None;
    }
    let (q, k, v) = (query.contiguous(), keys.contiguous(), energy.contiguous());
    let out = Tensor::zeros([r, s], (Kind::Float, Device::Cpu));
    let (r, m, s, a) = (r as usize, m as usize, s as usize, a as usize);
    // SAFETY: contiguous fp32 CPU tensors of the checked sizes, alive for this scope; `out` is
    // written only here, by disjoint rows.
    unsafe {
        let q = std::slice::from_raw_parts(q.data_ptr() as *const f32, r * a);
        let k = std::slice::from_raw_parts(k.data_ptr() as *const f32, m * s * a);
        let v = std::slice::from_raw_parts(v.data_ptr() as *const f32, a);
        let e = std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, r * s);
        rows_dispatch(q, k, v, e, s, a);
    }
    Some(out)
}

/// Energies `[R, S]` like [`additive_energy`], differentiable towards `query`, `keys` and
/// `energy` (training). With t_rja = tanh(q_ra + k_rja) recomputed and g = ∂L/∂e:
/// ∂L/∂k_rja = g_rj v_a (1 − t_rja²), ∂L/∂q_ra = Σ_j ∂L/∂k_rja, ∂L/∂v_a = Σ_rj g_rj t_rja.
/// `None` for inputs other than fp32 CPU tensors of those shapes.
pub fn additive_energy_train(query: &Tensor, keys: &Tensor, energy: &Tensor) -> Option<Tensor> {
    let fp32_cpu = |t: &Tensor| t.kind() == Kind::Float && t.device() == Device::Cpu;
    if !(fp32_cpu(query) && fp32_cpu(keys) && fp32_cpu(energy)) || keys.dim() != 3 {
        return None;
    }
    let (r, _, a) = keys.size3().ok()?;
    if query.size() != [r, a] || energy.size() != [a] {
        return None;
    }
    Some(super::shim::additive_energy_autograd(
        query,
        keys,
        energy,
        forward_rows,
        backward_rows,
    ))
}

/// Forward over rows `[begin, end)` for the shim.
///
/// # Safety
/// `q` `[R, A]`, `k` `[R, S, A]`, `v` `[A]` and `e` `[R, S]` are contiguous fp32 arrays with
/// `begin ≤ end ≤ R`; concurrent calls write disjoint rows of `e`.
pub(crate) unsafe extern "C" fn forward_rows(
    begin: i64,
    end: i64,
    s: i64,
    a: i64,
    q: *const f32,
    k: *const f32,
    v: *const f32,
    e: *mut f32,
) {
    let (b, n, s, a) = (
        begin as usize,
        (end - begin) as usize,
        s as usize,
        a as usize,
    );
    let q = std::slice::from_raw_parts(q.add(b * a), n * a);
    let k = std::slice::from_raw_parts(k.add(b * s * a), n * s * a);
    let v = std::slice::from_raw_parts(v, a);
    let e = std::slice::from_raw_parts_mut(e.add(b * s), n * s);
    rows_dispatch(q, k, v, e, s, a);
}

/// Backward over rows `[begin, end)` for the shim: writes those rows of `d_q` `[R, A]` and
/// `d_k` `[R, S, A]`, and adds their share of ∂L/∂v into `dv_partial` `[A]`.
///
/// # Safety
/// As [`forward_rows`], with `grad_e` `[R, S]`; `dv_partial` is written by one call at a time.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn backward_rows(
    begin: i64,
    end: i64,
    s: i64,
    a: i64,
    grad_e: *const f32,
    q: *const f32,
    k: *const f32,
    v: *const f32,
    d_q: *mut f32,
    d_k: *mut f32,
    dv_partial: *mut f32,
) {
    let (b, n, s, a) = (
        begin as usize,
        (end - begin) as usize,
        s as usize,
        a as usize,
    );
    let g = std::slice::from_raw_parts(grad_e.add(b * s), n * s);
    let q = std::slice::from_raw_parts(q.add(b * a), n * a);
    let k = std::slice::from_raw_parts(k.add(b * s * a), n * s * a);
    let v = std::slice::from_raw_parts(v, a);
    let d_q = std::slice::from_raw_parts_mut(d_q.add(b * a), n * a);
    let d_k = std::slice::from_raw_parts_mut(d_k.add(b * s * a), n * s * a);
    let dv = std::slice::from_raw_parts_mut(dv_partial, a);
    simd!(backward_body, backward_avx512, backward_avx2;
        g: &[f32], q: &[f32], k: &[f32], v: &[f32],
        d_q: &mut [f32], d_k: &mut [f32], dv: &mut [f32], s: usize);
}

/// The backward body (formulas in [`additive_energy_train`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_body(
    g: &[f32],
    q: &[f32],
    k: &[f32],
    v: &[f32],
    d_q: &mut [f32],
    d_k: &mut [f32],
    dv: &mut [f32],
    s: usize,
) {
    let a = v.len();
    for (row, d_q_row) in d_q.chunks_exact_mut(a).enumerate() {
        let q_row = &q[row * a..(row + 1) * a];
        d_q_row.fill(0.0);
        for j in 0..s {
            let g_rj = g[row * s + j];
            let span = (row * s + j) * a..(row * s + j + 1) * a;
            let (k_rj, d_k_rj) = (&k[span.clone()], &mut d_k[span]);
            for i in 0..a {
                let t = tanh(q_row[i] + k_rj[i]);
                let d_pre = g_rj * v[i] * (1.0 - t * t);
                d_k_rj[i] = d_pre;
                d_q_row[i] += d_pre;
                dv[i] = g_rj.mul_add(t, dv[i]);
            }
        }
    }
}

/// The widest SIMD this CPU has. One thread: splitting the rows over both cores of the AMD
/// EPYC measured no faster (the kernel streams the keys from memory; bench/NOTES.md).
fn rows_dispatch(q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize) {
    simd!(rows_portable, rows_avx512, rows_avx2;
        q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize);
}

/// The kernel body (inlined into each SIMD variant).
#[inline(always)]
fn rows_portable(q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize) {
    // Query rows per keys row (1 in training; the beam size in search with shared keys).
    let group = (e.len() / s.max(1)) / (k.len() / (s * a).max(1)).max(1);
    for (row, e_row) in e.chunks_exact_mut(s).enumerate() {
        let q_row = &q[row * a..(row + 1) * a];
        let key_row = row / group.max(1);
        for (j, e_rj) in e_row.iter_mut().enumerate() {
            let k_rj = &k[(key_row * s + j) * a..(key_row * s + j + 1) * a];
            *e_rj = energy(q_row, k_rj, v);
        }
    }
}

#[inline(always)]
fn energy(q: &[f32], k: &[f32], v: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = q.len() / LANES;
    for c in 0..chunks {
        let (qc, kc, vc) = (
            &q[c * LANES..(c + 1) * LANES],
            &k[c * LANES..(c + 1) * LANES],
            &v[c * LANES..(c + 1) * LANES],
        );
        for l in 0..LANES {
            acc[l] = vc[l].mul_add(tanh(qc[l] + kc[l]), acc[l]);
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * LANES..q.len() {
        sum = v[i].mul_add(tanh(q[i] + k[i]), sum);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(q: &Tensor, k: &Tensor, v: &Tensor) -> Tensor {
        (k + q.unsqueeze(1)).tanh().matmul(v)
    }

    #[test]
    fn equals_the_unfused_reference_on_random_shapes() {
        tch::manual_seed(7);
        for &(r, s, a) in &[
            (1, 1, 1),
            (5, 7, 16),
            (10, 23, 256),
            (3, 40, 37),
            (64, 30, 512),
        ] {
            let q = Tensor::randn([r, a], (Kind::Float, Device::Cpu));
            let k = Tensor::randn([r, s, a], (Kind::Float, Device::Cpu));
            let v = Tensor::randn([a], (Kind::Float, Device::Cpu)) * 0.1;
            let got = additive_energy(&q, &k, &v).unwrap();
            let want = reference(&q, &k, &v);
            let err = (&got - &want).abs().max().double_value(&[]);
            let scale = want.abs().max().double_value(&[]).max(1e-3);
            assert!(
                err / scale < 1e-5,
                "[{r},{s},{a}]: max error {err} of {scale}"
            );
        }
    }

    #[test]
    fn declines_what_it_does_not_take() {
        let q = Tensor::randn([2, 4], (Kind::Float, Device::Cpu));
        let k = Tensor::randn([2, 3, 4], (Kind::Float, Device::Cpu));
        let v = Tensor::randn([4], (Kind::Float, Device::Cpu));
        assert!(additive_energy(&q.to_kind(Kind::Double), &k, &v).is_none());
        assert!(additive_energy(&q.set_requires_grad(true), &k, &v).is_none());
        assert!(additive_energy(&q, &k.view([2, 12]), &v).is_none());
        // Query rows must be a multiple of the keys rows.
        let q3 = Tensor::randn([3, 4], (Kind::Float, Device::Cpu));
        assert!(additive_energy(&q3, &k, &v).is_none());
    }

    #[test]
    fn shared_keys_equal_keys_expanded_per_hypothesis() {
        use crate::kernels::test_inputs::uniform;
        for (i, &(m, group, s, a)) in [(1, 5, 4, 16), (3, 5, 7, 33), (4, 1, 2, 8)]
            .iter()
            .enumerate()
        {
            let seed = 300 + 10 * i as u64;
            let q = uniform(seed, &[m * group, a], 6.0);
            let k = uniform(seed + 1, &[m, s, a], 6.0);
            let v = uniform(seed + 2, &[a], 2.0);
            let expanded = k.repeat_interleave_self_int(group, Some(0), None);
            let shared = additive_energy(&q, &k, &v).unwrap();
            let per_row = additive_energy(&q, &expanded, &v).unwrap();
            assert_eq!(shared.size(), [m * group, s]);
            assert!(shared.equal(&per_row), "[{m}x{group}, {s}, {a}]");
        }
    }

    /// Gradients of Σ w ⊙ e towards (q, keys, v), through `f`.
    fn gradients(
        f: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
        inputs: [&Tensor; 3],
        w: &Tensor,
    ) -> (Tensor, Vec<Tensor>) {
        let inputs: Vec<Tensor> = inputs
            .iter()
            .map(|t| t.detach().set_requires_grad(true))
            .collect();
        let out = f(&inputs[0], &inputs[1], &inputs[2]);
        let loss = (&out * w).sum(out.kind());
        (
            out.detach(),
            Tensor::run_backward(&[loss], &inputs, false, false),
        )
    }

    fn fused(q: &Tensor, k: &Tensor, v: &Tensor) -> Tensor {
        additive_energy_train(q, k, v).unwrap()
    }

    #[test]
    fn training_kernel_values_and_gradients_equal_the_reference() {
        use crate::kernels::test_inputs::uniform;
        // Rows as batch·beam with beam 1 and 5, odd attention sizes, one source position.
        for (i, &(r, s, a)) in [(1, 1, 1), (5, 7, 3), (10, 1, 33), (3, 23, 512)]
            .iter()
            .enumerate()
        {
            let seed = 200 + 10 * i as u64;
            let q = uniform(seed, &[r, a], 6.0);
            let k = uniform(seed + 1, &[r, s, a], 6.0);
            let v = uniform(seed + 2, &[a], 2.0);
            let w = uniform(seed + 3, &[r, s], 2.0);
            let (got, got_grads) = gradients(fused, [&q, &k, &v], &w);
            let (want, want_grads) = gradients(reference, [&q, &k, &v], &w);
            let close = |x: &Tensor, y: &Tensor, what: &str| {
                let err = (x - y).abs().max().double_value(&[]);
                let scale = y.abs().max().double_value(&[]);
                // 1e-5 relative, plus 1e-7 absolute: 1 − t² of a saturated t cancels, which
                // turns tanh's few-ulp difference into a larger relative one of a tiny value.
                assert!(
                    err <= 1e-5 * scale + 1e-7,
                    "[{r},{s},{a}] {what}: error {err} of {scale}"
                );
            };
            close(&got, &want, "e");
            for (name, (g, w)) in ["q", "keys", "v"]
                .iter()
                .zip(got_grads.iter().zip(&want_grads))
            {
                close(g, w, &format!("d{name}"));
            }
        }
    }

    #[test]
    fn training_kernel_gradients_match_finite_differences() {
        use crate::kernels::test_inputs::uniform;
        let (r, s, a) = (2, 3, 5);
        let q = uniform(31, &[r, a], 3.0);
        let k = uniform(32, &[r, s, a], 3.0);
        let v = uniform(33, &[a], 2.0);
        let w = uniform(34, &[r, s], 2.0);
        let (_, grads) = gradients(fused, [&q, &k, &v], &w);
        let to64 = |t: &Tensor| t.to_kind(Kind::Double);
        let inputs = [to64(&q), to64(&k), to64(&v)];
        let f = |x: &[Tensor]| {
            (reference(&x[0], &x[1], &x[2]) * to64(&w))
                .sum(Kind::Double)
                .double_value(&[])
        };
        let eps = 1e-6;
        for (which, grad) in grads.iter().enumerate() {
            for e in 0..inputs[which].numel() as i64 {
                let x = inputs[which].view([-1]).double_value(&[e]);
                let shifted = |delta: f64| {
                    let moved: Vec<Tensor> = inputs.iter().map(Tensor::copy).collect();
                    let _ = moved[which].view([-1]).get(e).fill_(x + delta);
                    f(&moved)
                };
                let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
                let analytic = grad.view([-1]).double_value(&[e]);
                assert!(
                    (numeric - analytic).abs() < 1e-4 * (1.0 + numeric.abs()),
                    "input {which} element {e}: numeric {numeric}, kernel {analytic}"
                );
            }
        }
    }
}
