//! Dequantisation of an int8 × int8 product with its bias in one pass, y_rn = acc_rn · t_r ·
//! s_n plus b_n, instead of libtorch's cast, two products and an add, which each read and
//! write the whole `[R, N]` output (N = the vocabulary for the projection). It rounds as the
//! reference does, so it runs whenever its inputs fit, not only inside
//! [`super::with_fused`].

use tch::{Device, Kind, Tensor};

/// `acc` `[R, N]` int32 (from `_int_mm`), `row_scale` t `[R]`, `col_scale` s `[N]`, `bias` b
/// `[N]` (fp32, CPU) → y `[R, N]` fp32 with y_rn = (acc_rn · t_r) · s_n + b_n, rounded as the
/// reference `acc.to_kind(Float) * t.unsqueeze(1) * s + b` rounds. `None` for inputs of other
/// kinds, devices or sizes (the caller then runs the reference).
pub fn dequantize_rows(
    acc: &Tensor,
    row_scale: &Tensor,
    col_scale: &Tensor,
    bias: &Tensor,
) -> Option<Tensor> {
    let on_cpu = |t: &Tensor, kind: Kind| t.kind() == kind && t.device() == Device::Cpu;
    let kinds = on_cpu(acc, Kind::Int) && on_cpu(row_scale, Kind::Float);
    if !(kinds && on_cpu(col_scale, Kind::Float) && on_cpu(bias, Kind::Float)) || acc.dim() != 2 {
        return None;
    }
    let (r, n) = acc.size2().ok()?;
    if row_scale.numel() != r as usize || col_scale.numel() != n as usize {
        return None;
    }
    if bias.numel() != n as usize {
        return None;
    }
    let (acc, t, s, b) = (
        acc.contiguous(),
        row_scale.contiguous(),
        col_scale.contiguous(),
        bias.contiguous(),
    );
    let out = Tensor::empty([r, n], (Kind::Float, Device::Cpu));
    let (r, n) = (r as usize, n as usize);
    // SAFETY: contiguous CPU tensors of the checked sizes and kinds, alive for this scope; `out`
    // is freshly allocated and written only here.
    unsafe {
        let acc = std::slice::from_raw_parts(acc.data_ptr() as *const i32, r * n);
        let t = std::slice::from_raw_parts(t.data_ptr() as *const f32, r);
        let s = std::slice::from_raw_parts(s.data_ptr() as *const f32, n);
        let b = std::slice::from_raw_parts(b.data_ptr() as *const f32, n);
        let y = std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, r * n);
        rows_dispatch(acc, t, s, b, y);
    }
    Some(out)
}

fn rows_dispatch(acc: &[i32], t: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected.
            return unsafe { rows_avx512(acc, t, s, b, y) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the feature was detected.
            return unsafe { rows_avx2(acc, t, s, b, y) };
        }
    }
    rows_portable(acc, t, s, b, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rows_avx512(acc: &[i32], t: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) {
    rows_portable(acc, t, s, b, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_avx2(acc: &[i32], t: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) {
    rows_portable(acc, t, s, b, y)
}

/// The kernel body (element-wise over fixed rows: the compiler vectorises it).
#[inline(always)]
fn rows_portable(acc: &[i32], t: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) {
    let n = s.len();
    for ((y_row, acc_row), &t_r) in y.chunks_exact_mut(n).zip(acc.chunks_exact(n)).zip(t) {
        for (((y, &a), &s), &b) in y_row.iter_mut().zip(acc_row).zip(s).zip(b) {
            // No fused multiply-add: the same two roundings as the reference's ops.
            *y = (a as f32 * t_r) * s + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_unfused_reference_bit_for_bit() {
        let (r, n) = (7i64, 45i64);
        let acc = Tensor::randint_low(-200_000, 200_000, [r, n], (Kind::Int, Device::Cpu));
        let t = Tensor::rand([r], (Kind::Float, Device::Cpu)) * 0.01;
        let s = Tensor::rand([n], (Kind::Float, Device::Cpu)) * 0.01;
        let b = Tensor::randn([n], (Kind::Float, Device::Cpu));
        let got = dequantize_rows(&acc, &t, &s, &b).unwrap();
        let want = acc.to_kind(Kind::Float) * t.unsqueeze(1) * &s + &b;
        assert!(got.equal(&want));
    }

    #[test]
    fn declines_what_it_does_not_take() {
        let acc = Tensor::zeros([2, 3], (Kind::Int, Device::Cpu));
        let f = |n: i64| Tensor::zeros([n], (Kind::Float, Device::Cpu));
        assert!(dequantize_rows(&acc, &f(2), &f(3), &f(3)).is_some());
        assert!(dequantize_rows(&acc.to_kind(Kind::Int64), &f(2), &f(3), &f(3)).is_none());
        assert!(dequantize_rows(&acc, &f(3), &f(3), &f(3)).is_none());
        assert!(dequantize_rows(&acc, &f(2), &f(3), &f(2)).is_none());
    }
}
