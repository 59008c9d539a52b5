//! Which c10d backend carries a data-parallel run's collectives: Gloo (CPU tensors; CUDA
//! tensors through host memory) or NCCL (CUDA tensors, GPU to GPU), as PyTorch's
//! `init_process_group(backend=...)` chooses them.

use tch::Device;

use crate::config::BackendSetting;
use crate::error::Error;

extern "C" {
    fn tolk_nccl_built() -> bool;
}

/// A c10d backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `ProcessGroupGloo`: TCP between processes, on any device.
    Gloo,
    /// `ProcessGroupNCCL`: NVIDIA's collectives between GPUs; needs CUDA tensors.
    Nccl,
}

impl Backend {
    /// Whether this build carries c10d's NCCL backend (`build.rs` found the NCCL and CUDA
    /// headers beside libtorch).
    pub fn nccl_built() -> bool {
        // SAFETY: a constant answer, no arguments.
        unsafe { tolk_nccl_built() }
    }

    /// The backend for `training.distributed_backend` = `setting` on `device`: `Auto` takes
    /// NCCL on CUDA where it is built, else Gloo (PyTorch's default pairing); `Gloo` always
    /// works; `Nccl` needs a CUDA device and an NCCL build.
    ///
    /// Errors: [`Error::Input`] for `Nccl` where it cannot run.
    pub fn resolve(setting: BackendSetting, device: Device) -> Result<Self, Error> {
        let cuda = matches!(device, Device::Cuda(_));
        match setting {
            BackendSetting::Auto if cuda && Self::nccl_built() => Ok(Self::Nccl),
            BackendSetting::Auto | BackendSetting::Gloo => Ok(Self::Gloo),
            BackendSetting::Nccl if !cuda => Err(Error::Input(format!(
                "training.distributed_backend = \"nccl\" needs training.device = \"cuda\" (the device is {device:?}); use \"gloo\" or \"auto\""
            ))),
            BackendSetting::Nccl if !Self::nccl_built() => Err(Error::Input(
                "training.distributed_backend = \"nccl\": this tolk was built without NCCL (scripts/setup-libtorch.sh installs the headers it needs); use \"gloo\" or \"auto\"".into(),
            )),
            BackendSetting::Nccl => Ok(Self::Nccl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_gloo_on_the_cpu_and_nccl_needs_cuda() {
        assert_eq!(
            Backend::resolve(BackendSetting::Auto, Device::Cpu).unwrap(),
            Backend::Gloo
        );
        assert_eq!(
            Backend::resolve(BackendSetting::Gloo, Device::Cpu).unwrap(),
            Backend::Gloo
        );
        let err = Backend::resolve(BackendSetting::Nccl, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs training.device = \"cuda\""), "{err}");
    }

    #[test]
    fn auto_on_cuda_follows_the_build() {
        let want = if Backend::nccl_built() {
            Backend::Nccl
        } else {
            Backend::Gloo
        };
        assert_eq!(
            Backend::resolve(BackendSetting::Auto, Device::Cuda(0)).unwrap(),
            want
        );
        assert_eq!(
            Backend::resolve(BackendSetting::Nccl, Device::Cuda(0)).is_ok(),
            Backend::nccl_built()
        );
    }

    /// The build this test suite runs on: scripts/setup-libtorch.sh installs the headers, so
    /// CI's build carries NCCL (a silent fall back to the stub would go unnoticed otherwise).
    #[test]
    fn this_build_carries_nccl() {
        assert!(
            Backend::nccl_built(),
            "built without NCCL: run scripts/setup-libtorch.sh, then cargo clean -p tolk"
        );
    }
}
