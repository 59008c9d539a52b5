//! Fused additive-attention energies for search: e_rj = v^T tanh(q_r + k_rj) (Bahdanau et al.
//! 2015, eq. 6, with q_r = W_a s_r and k_rj = U_a h_j + b already computed), in one pass per
//! row without materialising the `[R, S, A]` pre-activations that the reference
//! `(keys + q.unsqueeze(1)).tanh().matmul(v)` writes, re-reads and reads again.

use tch::{Device, Kind, Tensor};

use super::tanh::tanh;

/// Lanes of independent partial sums (so the sum over A vectorises without reassociation
/// being left to the compiler).
const LANES: usize = 16;

/// Energies `[R, S]` from `query` `[R, A]`, `keys` `[R, S, A]` and `energy` v `[A]` (all fp32,
/// CPU); `None` for inputs the kernel does not take (other kinds or devices, a `query` or
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
    let (r, s, a) = keys.size3().ok()?;
    if query.size() != [r, a] || energy.numel() != a as usize {
        return None;
    }
    let (q, k, v) = (query.contiguous(), keys.contiguous(), energy.contiguous());
    let out = Tensor::zeros([r, s], (Kind::Float, Device::Cpu));
    let (r, s, a) = (r as usize, s as usize, a as usize);
    // SAFETY: contiguous fp32 CPU tensors of the checked sizes, alive for this scope; `out` is
    // written only here, by disjoint rows.
    unsafe {
        let q = std::slice::from_raw_parts(q.data_ptr() as *const f32, r * a);
        let k = std::slice::from_raw_parts(k.data_ptr() as *const f32, r * s * a);
        let v = std::slice::from_raw_parts(v.data_ptr() as *const f32, a);
        let e = std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, r * s);
        rows_dispatch(q, k, v, e, s, a);
    }
    Some(out)
}

/// The widest SIMD this CPU has. One thread: splitting the rows over both cores of the AMD
/// EPYC measured no faster (the kernel streams the keys from memory; bench/NOTES.md).
fn rows_dispatch(q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected.
            return unsafe { rows_avx512(q, k, v, e, s, a) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the features were detected.
            return unsafe { rows_avx2(q, k, v, e, s, a) };
        }
    }
    rows_portable(q, k, v, e, s, a);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn rows_avx512(q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize) {
    rows_portable(q, k, v, e, s, a)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2(q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize) {
    rows_portable(q, k, v, e, s, a)
}

/// The kernel body (inlined into each SIMD variant).
#[inline(always)]
fn rows_portable(q: &[f32], k: &[f32], v: &[f32], e: &mut [f32], s: usize, a: usize) {
    for (row, e_row) in e.chunks_exact_mut(s).enumerate() {
        let q_row = &q[row * a..(row + 1) * a];
        for (j, e_rj) in e_row.iter_mut().enumerate() {
            let k_rj = &k[(row * s + j) * a..(row * s + j + 1) * a];
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
    }
}
