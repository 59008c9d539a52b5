//! Fused GRU gates for search: from the input and recurrent transforms to the new state in one
//! pass per row, instead of the ~10 libtorch ops (two adds, two sigmoids, a product, tanh and
//! the interpolation) that each write a `[R, D]` intermediate.
//!
//! GRU of Cho et al. 2014 (arXiv 1406.1078, eq. 5-8) in PyTorch's gate order r, z, n:
//! r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = n + z ⊙ (h − n),
//! where gi = W_i x + b_i and gh = W_h h + b_h are the two transforms (GEMMs, not fused here).

use tch::{Device, Kind, Tensor};

use super::tanh::tanh;

/// The new state h' `[R, D]` from `gi` `[R, 3D]`, `gh` `[R, 3D]` (gate blocks r, z, n along the
/// last axis) and `h` `[R, D]` (all fp32, CPU, none needing gradients); `None` for inputs the
/// kernel does not take, for which the caller runs the reference ops.
///
/// σ(x) is computed as (1 + tanh(x / 2)) / 2 with [`super::tanh::tanh`], so results differ
/// from libtorch's sigmoid and tanh by a few ulp (~3e-7 absolute).
pub fn gru_gates(gi: &Tensor, gh: &Tensor, h: &Tensor) -> Option<Tensor> {
    let fp32_no_grad =
        |t: &Tensor| t.kind() == Kind::Float && t.device() == Device::Cpu && !t.requires_grad();
    if !(fp32_no_grad(gi) && fp32_no_grad(gh) && fp32_no_grad(h)) || h.dim() != 2 {
        return None;
    }
    let (r, d) = h.size2().ok()?;
    if gi.size() != [r, 3 * d] || gh.size() != [r, 3 * d] {
        return None;
    }
    let (gi, gh, h) = (gi.contiguous(), gh.contiguous(), h.contiguous());
    let out = Tensor::empty([r, d], (Kind::Float, Device::Cpu));
    let (r, d) = (r as usize, d as usize);
    // SAFETY: contiguous fp32 CPU tensors of the checked sizes, alive for this scope; `out` is
    // freshly allocated and written only here.
    unsafe {
        let gi = std::slice::from_raw_parts(gi.data_ptr() as *const f32, r * 3 * d);
        let gh = std::slice::from_raw_parts(gh.data_ptr() as *const f32, r * 3 * d);
        let h = std::slice::from_raw_parts(h.data_ptr() as *const f32, r * d);
        let out = std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, r * d);
        rows_dispatch(gi, gh, h, out, d);
    }
    Some(out)
}

/// The widest SIMD this CPU has (the loop body is element-wise, so the compiler vectorises it
/// at the enabled width).
fn rows_dispatch(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], d: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected.
            return unsafe { rows_avx512(gi, gh, h, out, d) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the features were detected.
            return unsafe { rows_avx2(gi, gh, h, out, d) };
        }
    }
    rows_portable(gi, gh, h, out, d);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn rows_avx512(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], d: usize) {
    rows_portable(gi, gh, h, out, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], d: usize) {
    rows_portable(gi, gh, h, out, d)
}

/// The kernel body (inlined into each SIMD variant).
#[inline(always)]
fn rows_portable(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], d: usize) {
    for (row, out_row) in out.chunks_exact_mut(d).enumerate() {
        let gi = &gi[row * 3 * d..(row + 1) * 3 * d];
        let gh = &gh[row * 3 * d..(row + 1) * 3 * d];
        let h = &h[row * d..(row + 1) * d];
        let (gi_r, gi_z, gi_n) = (&gi[..d], &gi[d..2 * d], &gi[2 * d..]);
        let (gh_r, gh_z, gh_n) = (&gh[..d], &gh[d..2 * d], &gh[2 * d..]);
        for k in 0..d {
            let r = sigmoid(gi_r[k] + gh_r[k]);
            let z = sigmoid(gi_z[k] + gh_z[k]);
            let n = tanh(r.mul_add(gh_n[k], gi_n[k]));
            out_row[k] = z.mul_add(h[k] - n, n);
        }
    }
}

/// σ(x) = (1 + tanh(x/2)) / 2.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    tanh(0.5 * x).mul_add(0.5, 0.5)
}

#[cfg(test)]
mod tests {
    use super::super::test_inputs::uniform;
    use super::*;

    /// The libtorch ops of `SplitInputCell::step` that the kernel replaces.
    fn reference(gi: &Tensor, gh: &Tensor, h: &Tensor) -> Tensor {
        let gi = gi.chunk(3, 1);
        let gh = gh.chunk(3, 1);
        let r = (&gi[0] + &gh[0]).sigmoid();
        let z = (&gi[1] + &gh[1]).sigmoid();
        let n = (&gi[2] + r * &gh[2]).tanh();
        &n + z * (h - &n)
    }

    #[test]
    fn equals_the_unfused_reference_on_random_shapes() {
        for (i, &(r, d)) in [(1, 1), (5, 7), (10, 16), (3, 37), (64, 512)]
            .iter()
            .enumerate()
        {
            let seed = 10 * i as u64;
            // Pre-activations up to ±8 reach both saturated ends of σ and tanh.
            let gi = uniform(seed, &[r, 3 * d], 16.0);
            let gh = uniform(seed + 1, &[r, 3 * d], 16.0);
            let h = uniform(seed + 2, &[r, d], 2.0);
            let got = gru_gates(&gi, &gh, &h).unwrap();
            let want = reference(&gi, &gh, &h);
            // Relative to the output's scale (h' = n + z(h - n) cancels near 0, where an
            // element-wise relative error says nothing).
            let err = (&got - &want).abs().max().double_value(&[]);
            let scale = want.abs().max().double_value(&[]).max(1e-3);
            assert!(err / scale < 1e-5, "[{r},{d}]: max error {err} of {scale}");
        }
    }

    #[test]
    fn declines_what_it_does_not_take() {
        let gi = uniform(1, &[2, 12], 1.0);
        let gh = uniform(2, &[2, 12], 1.0);
        let h = uniform(3, &[2, 4], 1.0);
        assert!(gru_gates(&gi, &gh, &h).is_some());
        assert!(gru_gates(&gi.to_kind(Kind::Double), &gh, &h).is_none());
        assert!(gru_gates(&gi, &gh.set_requires_grad(true), &h).is_none());
        assert!(gru_gates(&gi, &gh, &h.view([4, 2])).is_none());
        assert!(gru_gates(&gi.view([4, 6]), &gh, &h).is_none());
    }
}
