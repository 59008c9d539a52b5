//! Fused CPU kernels, each behind a narrow function over tensors and tested against the unfused
//! libtorch expression it replaces (the reference). A kernel picks its SIMD width at run time
//! from the CPU's features (AVX-512, AVX2+FMA, or portable code) and runs on the calling
//! thread; callers fall back to the reference for inputs it does not take (autograd,
//! non-fp32, non-CPU).

/// Runs a kernel body compiled for the widest SIMD this CPU has (the bodies are element-wise,
/// so the compiler vectorises them at the enabled width): `simd!(body, variant_avx512,
/// variant_avx2; args...)` defines the two variants and dispatches.
macro_rules! simd {
    ($body:ident, $avx512:ident, $avx2:ident; $($arg:ident: $ty:ty),*) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,fma")]
            unsafe fn $avx512($($arg: $ty),*) {
                $body($($arg),*)
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn $avx2($($arg: $ty),*) {
                $body($($arg),*)
            }
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the feature was detected.
                return unsafe { $avx512($($arg),*) };
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the features were detected.
                return unsafe { $avx2($($arg),*) };
            }
        }
        $body($($arg),*)
    }};
}

pub mod additive_energy;
pub mod cross_entropy;
pub mod dequantize;
pub mod exp;
pub mod gru_gates;
pub mod shim;
pub mod tanh;
pub mod top_n;

use std::cell::Cell;

pub use additive_energy::{additive_energy, additive_energy_train};
pub use cross_entropy::label_smoothed_cross_entropy;
pub use dequantize::dequantize_rows;
pub use gru_gates::{gru_gates, gru_gates_train};
pub use top_n::row_top_n;

thread_local! {
    static FUSED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the fused kernels on or off on this thread (off outside: the reference ops
/// give today's results bit for bit). [`crate::decode::Translator`] runs each search inside it
/// with `decoding.fused_kernels`, and `train::update::train_step` each update's forward pass
/// and loss with `training.fused_kernels`; anything else that calls the model directly gets
/// the reference. The search kernels decline inputs that need gradients; the cross-entropy
/// kernel is the one that serves training.
pub fn with_fused<T>(enabled: bool, f: impl FnOnce() -> T) -> T {
    let before = FUSED.with(|c| c.replace(enabled));
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FUSED.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(before);
    f()
}

/// Whether the fused kernels are on for this thread (see [`with_fused`]).
pub fn fused_enabled() -> bool {
    FUSED.with(Cell::get)
}

/// Seeded test inputs for the kernels' tests (not libtorch's global RNG, which other tests in
/// this process reseed concurrently).
#[cfg(test)]
pub(crate) mod test_inputs {
    use tch::Tensor;

    /// Values uniform in [−scale/2, scale/2) of the given shape, from `seed`.
    pub fn uniform(seed: u64, shape: &[i64], scale: f32) -> Tensor {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n: i64 = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| (rng.random::<f32>() - 0.5) * scale)
            .collect();
        Tensor::from_slice(&v).reshape(shape)
    }
}
