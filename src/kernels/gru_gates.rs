//! Fused GRU gates: from the input and recurrent transforms to the new state in one pass per
//! row, instead of the ~10 libtorch ops (two adds, two sigmoids, a product, tanh and the
//! interpolation) that each write a `[R, D]` intermediate. [`gru_gates`] serves search (no
//! gradients); [`gru_gates_train`] serves training, with the backward of Marian's
//! `GRUFastBackward` through the C++ shim's autograd function ([`super::shim`]).
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

/// h' `[R, D]` like [`gru_gates`], but differentiable towards `gi`, `gh` and `h` (training):
/// the forward keeps r, z, n for the backward pass, which computes (with dh' the incoming
/// gradient) dn = dh' ⊙ (1 − z), dz = dh' ⊙ (h − n), dh = dh' ⊙ z,
/// d(gi_n) = dn ⊙ (1 − n²), d(gh_n) = d(gi_n) ⊙ r, d(gi_r) = d(gh_r) = d(gi_n) ⊙ gh_n ⊙ r(1 − r),
/// d(gi_z) = d(gh_z) = dz ⊙ z(1 − z). `None` for inputs other than fp32 CPU tensors of those
/// shapes (the caller runs the reference ops).
pub fn gru_gates_train(gi: &Tensor, gh: &Tensor, h: &Tensor) -> Option<Tensor> {
    let fp32_cpu = |t: &Tensor| t.kind() == Kind::Float && t.device() == Device::Cpu;
    if !(fp32_cpu(gi) && fp32_cpu(gh) && fp32_cpu(h)) || h.dim() != 2 {
        return None;
    }
    let (r, d) = h.size2().ok()?;
    if gi.size() != [r, 3 * d] || gh.size() != [r, 3 * d] {
        return None;
    }
    Some(super::shim::gru_gates_autograd(
        gi,
        gh,
        h,
        forward_rows,
        backward_rows,
    ))
}

/// Forward over rows `[begin, end)` for the shim: `out` `[R, D]` ← h', `rzn` `[R, 3D]` ← the
/// gates r, z and the candidate n.
///
/// # Safety
/// The pointers address contiguous fp32 arrays of R·3D (`gi`, `gh`, `rzn`) and R·D (`h`,
/// `out`) elements, with `begin ≤ end ≤ R`; concurrent calls write disjoint rows.
pub(crate) unsafe extern "C" fn forward_rows(
    begin: i64,
    end: i64,
    d: i64,
    gi: *const f32,
    gh: *const f32,
    h: *const f32,
    out: *mut f32,
    rzn: *mut f32,
) {
    let (b, n, d) = (begin as usize, (end - begin) as usize, d as usize);
    let gi = std::slice::from_raw_parts(gi.add(b * 3 * d), n * 3 * d);
    let gh = std::slice::from_raw_parts(gh.add(b * 3 * d), n * 3 * d);
    let h = std::slice::from_raw_parts(h.add(b * d), n * d);
    let out = std::slice::from_raw_parts_mut(out.add(b * d), n * d);
    let rzn = std::slice::from_raw_parts_mut(rzn.add(b * 3 * d), n * 3 * d);
    simd!(forward_body, forward_avx512, forward_avx2;
        gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], rzn: &mut [f32], d: usize);
}

/// Backward over rows `[begin, end)` for the shim, from `grad_out` `[R, D]` and the saved
/// `rzn`, `gh` `[R, 3D]` and `h` `[R, D]` into `d_gi`, `d_gh` `[R, 3D]` and `d_h` `[R, D]`.
///
/// # Safety
/// As [`forward_rows`]; the three outputs are written, never read.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn backward_rows(
    begin: i64,
    end: i64,
    d: i64,
    grad_out: *const f32,
    rzn: *const f32,
    gh: *const f32,
    h: *const f32,
    d_gi: *mut f32,
    d_gh: *mut f32,
    d_h: *mut f32,
) {
    let (b, n, d) = (begin as usize, (end - begin) as usize, d as usize);
    let g = std::slice::from_raw_parts(grad_out.add(b * d), n * d);
    let rzn = std::slice::from_raw_parts(rzn.add(b * 3 * d), n * 3 * d);
    let gh = std::slice::from_raw_parts(gh.add(b * 3 * d), n * 3 * d);
    let h = std::slice::from_raw_parts(h.add(b * d), n * d);
    let d_gi = std::slice::from_raw_parts_mut(d_gi.add(b * 3 * d), n * 3 * d);
    let d_gh = std::slice::from_raw_parts_mut(d_gh.add(b * 3 * d), n * 3 * d);
    let d_h = std::slice::from_raw_parts_mut(d_h.add(b * d), n * d);
    simd!(backward_body, backward_avx512, backward_avx2;
        g: &[f32], rzn: &[f32], gh: &[f32], h: &[f32],
        d_gi: &mut [f32], d_gh: &mut [f32], d_h: &mut [f32], d: usize);
}

/// The forward body: [`rows_portable`] that also keeps r, z, n.
#[inline(always)]
fn forward_body(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], rzn: &mut [f32], d: usize) {
    for (row, out_row) in out.chunks_exact_mut(d).enumerate() {
        let span = row * 3 * d..(row + 1) * 3 * d;
        let (gi, gh, rzn) = (&gi[span.clone()], &gh[span.clone()], &mut rzn[span]);
        let h = &h[row * d..(row + 1) * d];
        let (r_out, rest) = rzn.split_at_mut(d);
        let (z_out, n_out) = rest.split_at_mut(d);
        for k in 0..d {
            let r = sigmoid(gi[k] + gh[k]);
            let z = sigmoid(gi[d + k] + gh[d + k]);
            let n = tanh(r.mul_add(gh[2 * d + k], gi[2 * d + k]));
            out_row[k] = z.mul_add(h[k] - n, n);
            (r_out[k], z_out[k], n_out[k]) = (r, z, n);
        }
    }
}

/// The backward body (formulas in [`gru_gates_train`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_body(
    g: &[f32],
    rzn: &[f32],
    gh: &[f32],
    h: &[f32],
    d_gi: &mut [f32],
    d_gh: &mut [f32],
    d_h: &mut [f32],
    d: usize,
) {
    for (row, d_h_row) in d_h.chunks_exact_mut(d).enumerate() {
        let span = row * 3 * d..(row + 1) * 3 * d;
        let (rzn, gh) = (&rzn[span.clone()], &gh[span.clone()]);
        let (d_gi, d_gh) = (&mut d_gi[span.clone()], &mut d_gh[span]);
        let (g, h) = (&g[row * d..(row + 1) * d], &h[row * d..(row + 1) * d]);
        for k in 0..d {
            let (r, z, n) = (rzn[k], rzn[d + k], rzn[2 * d + k]);
            let dn = g[k] * (1.0 - z);
            let dz = g[k] * (h[k] - n);
            d_h_row[k] = g[k] * z;
            let dn_pre = dn * (1.0 - n * n);
            let dr_pre = dn_pre * gh[2 * d + k] * r * (1.0 - r);
            let dz_pre = dz * z * (1.0 - z);
            d_gi[k] = dr_pre;
            d_gh[k] = dr_pre;
            d_gi[d + k] = dz_pre;
            d_gh[d + k] = dz_pre;
            d_gi[2 * d + k] = dn_pre;
            d_gh[2 * d + k] = dn_pre * r;
        }
    }
}

/// The widest SIMD this CPU has (the loop body is element-wise, so the compiler vectorises it
/// at the enabled width).
fn rows_dispatch(gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], d: usize) {
    simd!(rows_portable, rows_avx512, rows_avx2;
        gi: &[f32], gh: &[f32], h: &[f32], out: &mut [f32], d: usize);
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

    /// Gradients of Σ w ⊙ h' towards (gi, gh, h), through `f`.
    fn gradients(
        f: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
        gi: &Tensor,
        gh: &Tensor,
        h: &Tensor,
        w: &Tensor,
    ) -> (Tensor, Vec<Tensor>) {
        let inputs: Vec<Tensor> = [gi, gh, h]
            .iter()
            .map(|t| t.detach().set_requires_grad(true))
            .collect();
        let out = f(&inputs[0], &inputs[1], &inputs[2]);
        let grads = Tensor::run_backward(&[(&out * w).sum(Kind::Float)], &inputs, false, false);
        (out.detach(), grads)
    }

    #[test]
    fn training_kernel_values_and_gradients_equal_the_reference() {
        for (i, &(r, d)) in [(1, 1), (5, 7), (3, 37), (64, 512)].iter().enumerate() {
            let seed = 100 + 10 * i as u64;
            let gi = uniform(seed, &[r, 3 * d], 16.0);
            let gh = uniform(seed + 1, &[r, 3 * d], 16.0);
            let h = uniform(seed + 2, &[r, d], 2.0);
            let w = uniform(seed + 3, &[r, d], 2.0);
            let fused = |gi: &Tensor, gh: &Tensor, h: &Tensor| gru_gates_train(gi, gh, h).unwrap();
            let (got, got_grads) = gradients(fused, &gi, &gh, &h, &w);
            let (want, want_grads) = gradients(reference, &gi, &gh, &h, &w);
            let close = |a: &Tensor, b: &Tensor, what: &str| {
                let err = (a - b).abs().max().double_value(&[]);
                let scale = b.abs().max().double_value(&[]).max(1e-3);
                assert!(
                    err / scale < 1e-5,
                    "[{r},{d}] {what}: error {err} of {scale}"
                );
            };
            close(&got, &want, "h'");
            for (name, (g, w)) in ["gi", "gh", "h"]
                .iter()
                .zip(got_grads.iter().zip(&want_grads))
            {
                close(g, w, &format!("d{name}"));
            }
        }
    }

    #[test]
    fn training_kernel_gradients_match_finite_differences() {
        let (r, d) = (3, 4);
        let to64 = |t: Tensor| t.to_kind(Kind::Double);
        let gi = uniform(7, &[r, 3 * d], 4.0);
        let gh = uniform(8, &[r, 3 * d], 4.0);
        let h = uniform(9, &[r, d], 2.0);
        let w = uniform(10, &[r, d], 2.0);
        let fused = |gi: &Tensor, gh: &Tensor, h: &Tensor| gru_gates_train(gi, gh, h).unwrap();
        let (_, grads) = gradients(fused, &gi, &gh, &h, &w);
        // Central differences of the float64 reference, one element at a time.
        let f = |gi: &Tensor, gh: &Tensor, h: &Tensor| {
            (reference(gi, gh, h) * to64(w.copy()))
                .sum(Kind::Double)
                .double_value(&[])
        };
        let eps = 1e-6;
        let inputs = [to64(gi.copy()), to64(gh.copy()), to64(h.copy())];
        for (which, grad) in grads.iter().enumerate() {
            let n = inputs[which].numel() as i64;
            for e in 0..n {
                let plus = inputs.iter().map(Tensor::copy).collect::<Vec<_>>();
                let minus = inputs.iter().map(Tensor::copy).collect::<Vec<_>>();
                let x = inputs[which].view([-1]).double_value(&[e]);
                let _ = plus[which].view([-1]).get(e).fill_(x + eps);
                let _ = minus[which].view([-1]).get(e).fill_(x - eps);
                let numeric = (f(&plus[0], &plus[1], &plus[2])
                    - f(&minus[0], &minus[1], &minus[2]))
                    / (2.0 * eps);
                let analytic = grad.view([-1]).double_value(&[e]);
                assert!(
                    (numeric - analytic).abs() < 1e-4 * (1.0 + numeric.abs()),
                    "input {which} element {e}: numeric {numeric}, kernel {analytic}"
                );
            }
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
