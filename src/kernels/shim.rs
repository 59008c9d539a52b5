//! The C++ shim (`csrc/tolk_shim.cpp`, compiled by `build.rs` against libtorch's headers) for
//! what tch 0.24 does not bind: CPU autocast, and `torch::autograd::Function` wrappers that
//! give tolk's Rust row kernels a backward pass. Tensors cross as tch's `C_tensor` pointers
//! (`at::Tensor*`); a returned pointer is a new tensor owned by the Rust side.

use std::ffi::CStr;

use tch::Tensor;
use torch_sys::C_tensor;

/// GRU forward rows `[begin, end)`: see [`super::gru_gates::forward_rows`].
pub(crate) type GruForwardRows =
    unsafe extern "C" fn(i64, i64, i64, *const f32, *const f32, *const f32, *mut f32, *mut f32);
/// GRU backward rows `[begin, end)`: see [`super::gru_gates::backward_rows`].
pub(crate) type GruBackwardRows = unsafe extern "C" fn(
    i64,
    i64,
    i64,
    *const f32,
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
);

/// Additive-energy forward rows: see [`super::additive_energy::forward_rows`].
pub(crate) type EnergyForwardRows =
    unsafe extern "C" fn(i64, i64, i64, i64, *const f32, *const f32, *const f32, *mut f32);
/// Additive-energy backward rows: see [`super::additive_energy::backward_rows`].
pub(crate) type EnergyBackwardRows = unsafe extern "C" fn(
    i64,
    i64,
    i64,
    i64,
    *const f32,
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
);

extern "C" {
    fn tolk_last_error() -> *const std::ffi::c_char;
    fn tolk_autocast_cpu_enter() -> bool;
    fn tolk_autocast_cpu_exit(before: bool);
    fn tolk_autocast_cpu_enabled() -> bool;
    fn tolk_gru_gates(
        gi: *const C_tensor,
        gh: *const C_tensor,
        h: *const C_tensor,
        fwd: GruForwardRows,
        bwd: GruBackwardRows,
    ) -> *mut C_tensor;
    fn tolk_additive_energy(
        q: *const C_tensor,
        k: *const C_tensor,
        v: *const C_tensor,
        fwd: EnergyForwardRows,
        bwd: EnergyBackwardRows,
    ) -> *mut C_tensor;
}

/// The message of the shim's last failure on this thread.
pub(crate) fn last_error() -> String {
    // SAFETY: the shim returns a NUL-terminated thread-local string that lives until the next
    // failing call on this thread; it is copied at once.
    unsafe { CStr::from_ptr(tolk_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Runs `f` with libtorch's CPU autocast in bf16 on this thread: matrix products (`mm`,
/// `addmm`, `bmm`, `linear`, `matmul`) take bf16 copies of their operands (made once per
/// outermost call for each weight) and give bf16 results, accumulated in fp32 by oneDNN;
/// reductions and losses stay fp32. Gradients reach the fp32 parameters through the casts, so
/// the master weights and optimiser state stay fp32 (Micikevicius et al. 2018, arXiv
/// 1710.03740). Calls nest; the weight-copy cache is cleared when the outermost returns, so
/// one call must not span an optimiser step.
pub fn with_cpu_autocast_bf16<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: thread-local switches in libtorch; the exit below restores them.
    let before = unsafe { tolk_autocast_cpu_enter() };
    struct Exit(bool);
    impl Drop for Exit {
        fn drop(&mut self) {
            // SAFETY: matches the enter above, on the same thread.
            unsafe { tolk_autocast_cpu_exit(self.0) }
        }
    }
    let _exit = Exit(before);
    f()
}

/// Whether CPU autocast is on for this thread.
pub fn cpu_autocast_enabled() -> bool {
    // SAFETY: a thread-local read.
    unsafe { tolk_autocast_cpu_enabled() }
}

/// h' `[R, D]` from `gi`, `gh` `[R, 3D]` and `h` `[R, D]` (fp32, CPU) through the shim's
/// autograd function, whose forward and backward are the row kernels of
/// [`super::gru_gates`].
///
/// # Panics
/// If the shim reports an error (shapes are checked by the caller).
pub(crate) fn gru_gates_autograd(
    gi: &Tensor,
    gh: &Tensor,
    h: &Tensor,
    fwd: GruForwardRows,
    bwd: GruBackwardRows,
) -> Tensor {
    // SAFETY: the pointers are live tch tensors for the duration of the call; the result is a
    // new heap tensor that `from_ptr` takes ownership of.
    let out = unsafe { tolk_gru_gates(gi.as_ptr(), gh.as_ptr(), h.as_ptr(), fwd, bwd) };
    assert!(!out.is_null(), "GRU gates (C++ shim): {}", last_error());
    // SAFETY: non-null, freshly allocated by the shim.
    unsafe { Tensor::from_ptr(out) }
}

/// Energies `[R, S]` from `q` `[R, A]`, `keys` `[R, S, A]` and `v` `[A]` (fp32, CPU) through
/// the shim's autograd function, whose forward and backward are the row kernels of
/// [`super::additive_energy`].
///
/// # Panics
/// If the shim reports an error (shapes are checked by the caller).
pub(crate) fn additive_energy_autograd(
    q: &Tensor,
    keys: &Tensor,
    v: &Tensor,
    fwd: EnergyForwardRows,
    bwd: EnergyBackwardRows,
) -> Tensor {
    // SAFETY: as in `gru_gates_autograd`.
    let out = unsafe { tolk_additive_energy(q.as_ptr(), keys.as_ptr(), v.as_ptr(), fwd, bwd) };
    assert!(
        !out.is_null(),
        "additive energy (C++ shim): {}",
        last_error()
    );
    // SAFETY: non-null, freshly allocated by the shim.
    unsafe { Tensor::from_ptr(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn cpu_autocast_makes_matrix_products_bf16_nests_and_switches_off() {
        let a = Tensor::ones([4, 8], (Kind::Float, Device::Cpu));
        let b = Tensor::ones([8, 3], (Kind::Float, Device::Cpu));
        assert_eq!(a.mm(&b).kind(), Kind::Float);
        let (outer, inner, after_inner) = with_cpu_autocast_bf16(|| {
            let outer = a.mm(&b).kind();
            let inner = with_cpu_autocast_bf16(|| a.matmul(&b).kind());
            (outer, inner, (a.mm(&b).kind(), cpu_autocast_enabled()))
        });
        assert_eq!((outer, inner), (Kind::BFloat16, Kind::BFloat16));
        assert_eq!(
            after_inner,
            (Kind::BFloat16, true),
            "the inner exit ended the outer region"
        );
        assert!(!cpu_autocast_enabled());
        assert_eq!(a.mm(&b).kind(), Kind::Float);
        // Reductions stay fp32, and gradients reach fp32 leaves through the casts.
        let w = Tensor::ones([8, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let loss = with_cpu_autocast_bf16(|| a.mm(&w).sum(Kind::Float));
        loss.backward();
        assert_eq!(w.grad().kind(), Kind::Float);
        assert!(w
            .grad()
            .equal(&Tensor::full([8, 3], 4.0, (Kind::Float, Device::Cpu))));
    }
}
