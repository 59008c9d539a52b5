//! Numeric precision of decoding's vocabulary projection and of training's matrix products,
//! chosen at run time from the device and the CPU's features, with fp32 as the fallback that
//! gives today's results.

use serde::{Deserialize, Serialize};

use crate::kernels::shim::{Autocast, AutocastDevice};

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

/// What `training.precision` asks for: `"fp32"` (default), `"bf16"`, `"fp16"` or `"auto"`.
/// The low-precision choices run each update's forward pass under libtorch's autocast on the
/// model's device (CPU or CUDA), with fp32 master weights, gradients, Adam state and loss
/// (Micikevicius et al. 2018, "Mixed Precision Training", arXiv 1710.03740).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainingPrecision {
    /// fp32 everywhere (today's results).
    #[default]
    Fp32,
    /// bf16 matrix products ([`crate::kernels::shim::with_autocast`]). On the CPU oneDNN runs
    /// them fast where there is AMX or AVX-512-BF16, elsewhere it emulates them slowly; on
    /// CUDA they need an Ampere or newer GPU to be fast. bf16 has fp32's exponent range, so no
    /// loss scaling.
    Bf16,
    /// fp16 matrix products with dynamic loss scaling ([`crate::train::LossScale`]): fp16's
    /// narrow range (6e-8 .. 65504) loses small gradients unless the loss is scaled up before
    /// the backward pass (Micikevicius et al. 2018, §3.2). Meant for GPUs; the CPU runs it too
    /// (slowly, without AVX-512-FP16), which is how the tests cover it.
    Fp16,
    /// CUDA: bf16. CPU: bf16 where [`cpu_has_fast_bf16`], else fp32.
    Auto,
}

impl TrainingPrecision {
    /// The autocast region an update's forward pass runs in on `device`, or `None` for fp32.
    pub fn autocast(self, device: tch::Device) -> Option<Autocast> {
        let device = AutocastDevice::of(device);
        let kind = match (self, device) {
            (Self::Fp32, _) => return None,
            (Self::Bf16, _) => tch::Kind::BFloat16,
            (Self::Fp16, _) => tch::Kind::Half,
            (Self::Auto, AutocastDevice::Cuda) => tch::Kind::BFloat16,
            (Self::Auto, AutocastDevice::Cpu) if cpu_has_fast_bf16() => tch::Kind::BFloat16,
            (Self::Auto, AutocastDevice::Cpu) => return None,
        };
        Some(Autocast { device, kind })
    }

    /// Whether updates scale the loss dynamically (fp16 only).
    pub fn scales_loss(self) -> bool {
        self == Self::Fp16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn training_precision_picks_the_autocast_of_the_model_device() {
        let (cpu, cuda) = (Device::Cpu, Device::Cuda(0));
        let region = |device, kind| Some(Autocast { device, kind });
        assert_eq!(TrainingPrecision::Fp32.autocast(cpu), None);
        assert_eq!(TrainingPrecision::Fp32.autocast(cuda), None);
        assert_eq!(
            TrainingPrecision::Bf16.autocast(cpu),
            region(AutocastDevice::Cpu, Kind::BFloat16)
        );
        assert_eq!(
            TrainingPrecision::Fp16.autocast(cuda),
            region(AutocastDevice::Cuda, Kind::Half)
        );
        assert_eq!(
            TrainingPrecision::Auto.autocast(cuda),
            region(AutocastDevice::Cuda, Kind::BFloat16)
        );
        let auto_cpu = cpu_has_fast_bf16().then_some(Autocast {
            device: AutocastDevice::Cpu,
            kind: Kind::BFloat16,
        });
        assert_eq!(TrainingPrecision::Auto.autocast(cpu), auto_cpu);
        let scaling: Vec<bool> = [
            TrainingPrecision::Fp32,
            TrainingPrecision::Bf16,
            TrainingPrecision::Fp16,
            TrainingPrecision::Auto,
        ]
        .map(TrainingPrecision::scales_loss)
        .to_vec();
        assert_eq!(scaling, [false, false, true, false]);
    }

    #[test]
    fn training_precision_reads_from_toml() {
        #[derive(Deserialize)]
        struct T {
            precision: TrainingPrecision,
        }
        let read =
            |s: &str| toml::from_str::<T>(&format!("precision = \"{s}\"")).map(|t| t.precision);
        assert_eq!(read("fp16").unwrap(), TrainingPrecision::Fp16);
        assert_eq!(read("bf16").unwrap(), TrainingPrecision::Bf16);
        assert!(read("fp8").is_err());
    }
}
