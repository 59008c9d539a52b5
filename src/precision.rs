//! Numeric precision of decoding's vocabulary projection and of training's matrix products,
//! chosen at run time from the CPU's features with fp32 as the fallback that gives today's
//! results.

use serde::{Deserialize, Serialize};

/// What a config or the command line asks for: `"fp32"`, `"bf16"`, `"int8"` or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrecisionChoice {
    /// fp32 everywhere (the default; bit-for-bit today's outputs).
    #[default]
    Fp32,
    /// bf16 inputs to the vocabulary projection (oneDNN through libtorch; fp32 accumulation,
    /// output rounded to bf16, log-softmax in fp32). Fast only where the CPU has
    /// AVX-512-BF16 or AMX; elsewhere libtorch emulates it slowly.
    Bf16,
    /// int8 projection weights with per-token scales, each input row quantised with its own
    /// scale, int32 accumulation (libtorch's `_int_mm`; see [`crate::model::quantized`]).
    Int8,
    /// bf16 where the CPU has AVX-512-BF16 (which every AMX CPU also has), else fp32.
    Auto,
}

impl std::str::FromStr for PrecisionChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fp32" => Ok(Self::Fp32),
            "bf16" => Ok(Self::Bf16),
            "int8" => Ok(Self::Int8),
            "auto" => Ok(Self::Auto),
            _ => Err(format!(
                "unknown precision {s:?}: use fp32, bf16, int8 or auto"
            )),
        }
    }
}

/// The precision decoding runs in, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// fp32.
    #[default]
    Fp32,
    /// bf16 matrix products.
    Bf16,
    /// int8 matrix products (dynamic quantisation).
    Int8,
}

impl PrecisionChoice {
    /// `Auto` becomes bf16 when [`cpu_has_fast_bf16`], else fp32.
    pub fn resolve(self) -> Precision {
        match self {
            Self::Fp32 => Precision::Fp32,
            Self::Bf16 => Precision::Bf16,
            Self::Int8 => Precision::Int8,
            Self::Auto if cpu_has_fast_bf16() => Precision::Bf16,
            Self::Auto => Precision::Fp32,
        }
    }
}

/// Whether this CPU multiplies bf16 matrices in hardware (AVX-512-BF16; AMX CPUs have it too).
pub fn cpu_has_fast_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Fp32 => "fp32",
            Self::Bf16 => "bf16",
            Self::Int8 => "int8",
        })
    }
}

/// What `training.precision` asks for: `"fp32"` (default), `"bf16"` or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainingPrecision {
    /// fp32 everywhere (today's results).
    #[default]
    Fp32,
    /// bf16 matrix products through libtorch's CPU autocast (oneDNN; AMX or AVX-512-BF16 make
    /// it fast, elsewhere it is emulated and slow), with fp32 master weights, gradients, Adam
    /// state and loss ([`crate::kernels::shim::with_cpu_autocast_bf16`]).
    Bf16,
    /// bf16 where [`cpu_has_fast_bf16`], else fp32.
    Auto,
}

impl TrainingPrecision {
    /// Whether updates run their forward pass under bf16 autocast on this CPU.
    pub fn uses_bf16(self) -> bool {
        match self {
            Self::Fp32 => false,
            Self::Bf16 => true,
            Self::Auto => cpu_has_fast_bf16(),
        }
    }
}
