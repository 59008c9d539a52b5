//! The C++ shim (`csrc/tolk_shim.cpp`, compiled by `build.rs` against libtorch's headers) for
//! what tch 0.24 does not bind: autocast regions (CPU or CUDA, bf16 or fp16), and
//! `torch::autograd::Function` wrappers that give tolk's Rust row kernels a backward pass.
//! Tensors cross as tch's `C_tensor` pointers (`at::Tensor*`); a returned pointer is a new
//! tensor owned by the Rust side.

use std::ffi::CStr;

use tch::{Device, Kind, Tensor};
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
    fn tolk_autocast_enter(device: i32, dtype: i32) -> i32;
    fn tolk_autocast_exit(device: i32, state: i32);
    fn tolk_autocast_enabled(device: i32) -> bool;
    fn tolk_autocast_dtype(device: i32) -> i32;
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

/// An autocast region: the device type whose operators it switches, and the low-precision
/// type of their matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autocast {
    /// Whose operators are cast: the CPU's or CUDA's (every CUDA device of this thread).
    pub device: AutocastDevice,
    /// The type matrix products compute in: `Kind::BFloat16` or `Kind::Half`.
    pub kind: Kind,
}

/// The device types autocast has a switch for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutocastDevice {
    /// CPU tensors (oneDNN's bf16 / fp16 products).
    Cpu,
    /// CUDA tensors (cuBLAS / cuDNN in bf16 or fp16).
    Cuda,
}

impl AutocastDevice {
    /// The switch of `device`'s type.
    pub fn of(device: Device) -> Self {
        match device {
            Device::Cuda(_) => Self::Cuda,
            _ => Self::Cpu,
        }
    }

    fn code(self) -> i32 {
        match self {
            Self::Cpu => 0,
            Self::Cuda => 1,
        }
    }
}

/// Runs `f` with libtorch's autocast on for `autocast.device` in `autocast.kind` on this
/// thread: matrix products (`mm`, `addmm`, `bmm`, `linear`, `matmul`, the RNN ops) take
/// low-precision copies of their operands (made once per outermost call for each weight) and
/// give low-precision results, accumulated in fp32; reductions and losses stay fp32.
/// Gradients reach the fp32 parameters through the casts, so the master weights and optimiser
/// state stay fp32 (Micikevicius et al. 2018, "Mixed Precision Training", arXiv 1710.03740,
/// §3.1). Calls nest and restore the switch and type they found; the weight-copy cache is
/// cleared when the outermost returns, so one call must not span an optimiser step.
///
/// # Panics
/// If `autocast.kind` is neither `BFloat16` nor `Half`.
pub fn with_autocast<T>(autocast: Autocast, f: impl FnOnce() -> T) -> T {
    let dtype = match autocast.kind {
        Kind::BFloat16 => 0,
        Kind::Half => 1,
        other => panic!("autocast computes in bf16 or fp16, not {other:?}"),
    };
    let device = autocast.device.code();
    // SAFETY: thread-local switches in libtorch; the exit below restores them.
    let state = unsafe { tolk_autocast_enter(device, dtype) };
    assert!(state >= 0, "autocast: {}", last_error());
    struct Exit(i32, i32);
    impl Drop for Exit {
        fn drop(&mut self) {
            // SAFETY: matches the enter above, on the same thread.
            unsafe { tolk_autocast_exit(self.0, self.1) }
        }
    }
    let _exit = Exit(device, state);
    f()
}

/// Whether autocast is on for `device`'s type on this thread.
pub fn autocast_enabled(device: AutocastDevice) -> bool {
    // SAFETY: a thread-local read.
    unsafe { tolk_autocast_enabled(device.code()) }
}

/// The type autocast gives `device`'s matrix products on this thread (whether or not it is on).
pub fn autocast_kind(device: AutocastDevice) -> Kind {
    // SAFETY: a thread-local read.
    let code = unsafe { tolk_autocast_dtype(device.code()) };
    match code {
        5 => Kind::Half,
        15 => Kind::BFloat16,
        6 => Kind::Float,
        other => panic!("autocast dtype code {other}"),
    }
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

    const CPU_BF16: Autocast = Autocast {
        device: AutocastDevice::Cpu,
        kind: Kind::BFloat16,
    };

    #[test]
    fn cpu_autocast_makes_matrix_products_bf16_nests_and_switches_off() {
        let a = Tensor::ones([4, 8], (Kind::Float, Device::Cpu));
        let b = Tensor::ones([8, 3], (Kind::Float, Device::Cpu));
        assert_eq!(a.mm(&b).kind(), Kind::Float);
        let (outer, inner, after_inner) = with_autocast(CPU_BF16, || {
            let outer = a.mm(&b).kind();
            let inner = with_autocast(CPU_BF16, || a.matmul(&b).kind());
            let on = autocast_enabled(AutocastDevice::Cpu);
            (outer, inner, (a.mm(&b).kind(), on))
        });
        assert_eq!((outer, inner), (Kind::BFloat16, Kind::BFloat16));
        assert_eq!(
            after_inner,
            (Kind::BFloat16, true),
            "the inner exit ended the outer region"
        );
        assert!(!autocast_enabled(AutocastDevice::Cpu));
        assert_eq!(a.mm(&b).kind(), Kind::Float);
        // Reductions stay fp32, and gradients reach fp32 leaves through the casts.
        let w = Tensor::ones([8, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let loss = with_autocast(CPU_BF16, || a.mm(&w).sum(Kind::Float));
        loss.backward();
        assert_eq!(w.grad().kind(), Kind::Float);
        assert!(w
            .grad()
            .equal(&Tensor::full([8, 3], 4.0, (Kind::Float, Device::Cpu))));
    }

    #[test]
    fn autocast_regions_switch_their_own_device_and_restore_the_type() {
        let a = Tensor::ones([4, 8], (Kind::Float, Device::Cpu));
        let fp16 = Autocast {
            device: AutocastDevice::Cpu,
            kind: Kind::Half,
        };
        let before = autocast_kind(AutocastDevice::Cpu);
        let (outer, inner, restored) = with_autocast(fp16, || {
            let outer = a.mm(&a.tr()).kind();
            let inner = with_autocast(CPU_BF16, || a.mm(&a.tr()).kind());
            (outer, inner, a.mm(&a.tr()).kind())
        });
        assert_eq!(
            (outer, inner, restored),
            (Kind::Half, Kind::BFloat16, Kind::Half)
        );
        assert_eq!(autocast_kind(AutocastDevice::Cpu), before);
        // A CUDA region flips CUDA's switch only: CPU products stay fp32 inside it.
        let cuda = Autocast {
            device: AutocastDevice::Cuda,
            kind: Kind::Half,
        };
        let (cpu_kind, cuda_on, cuda_kind) = with_autocast(cuda, || {
            (
                a.mm(&a.tr()).kind(),
                autocast_enabled(AutocastDevice::Cuda),
                autocast_kind(AutocastDevice::Cuda),
            )
        });
        assert_eq!(
            (cpu_kind, cuda_on, cuda_kind),
            (Kind::Float, true, Kind::Half)
        );
        assert!(!autocast_enabled(AutocastDevice::Cuda));
        assert_eq!(AutocastDevice::of(Device::Cuda(1)), AutocastDevice::Cuda);
        assert_eq!(AutocastDevice::of(Device::Cpu), AutocastDevice::Cpu);
    }
}
