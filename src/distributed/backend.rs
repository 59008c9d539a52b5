//! Which c10d backend carries a data-parallel run's collectives: Gloo (CPU tensors; CUDA
//! tensors through host memory) or NCCL (CUDA tensors, GPU to GPU), as PyTorch's
//! `init_process_group(backend=...)` chooses them.

use tch::Device;

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

    /// The backend for `training.distributed_backend` = `setting` on `device`: `"auto"` takes
    /// NCCL on CUDA where it is built, else Gloo (PyTorch's default pairing); `"gloo"` always
    /// works; `"nccl"` needs a CUDA device and an NCCL build.
    ///
    /// Errors: [`Error::Input`] for another name, or `"nccl"` where it cannot run.
    pub fn resolve(setting: &str, device: Device) -> Result<Self, Error> {
        let cuda = matches!(device, Device::Cuda(_));
        match setting {
            "auto" if cuda && Self::nccl_built() => Ok(Self::Nccl),
            "auto" | "gloo" => Ok(Self::Gloo),
            "nccl" if !cuda => Err(Error::Input(format!(
                "training.distributed_backend = \"nccl\" needs training.device = \"cuda\" (the device is {device:?}); use \"gloo\" or \"auto\""
            ))),
            "nccl" if !Self::nccl_built() => Err(Error::Input(
                "training.distributed_backend = \"nccl\": this tolk was built without NCCL (scripts/setup-libtorch.sh installs the headers it needs); use \"gloo\" or \"auto\"".into(),
            )),
            "nccl" => Ok(Self::Nccl),
            other => Err(Error::Input(format!(
                "training.distributed_backend = {other:?}: expected \"auto\", \"gloo\" or \"nccl\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_gloo_on_the_cpu_and_nccl_needs_cuda() {
        assert_eq!(
            Backend::resolve("auto", Device::Cpu).unwrap(),
            Backend::Gloo
        );
        assert_eq!(
            Backend::resolve("gloo", Device::Cpu).unwrap(),
            Backend::Gloo
        );
        let err = Backend::resolve("nccl", Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs training.device = \"cuda\""), "{err}");
        let err = Backend::resolve("mpi", Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected \"auto\", \"gloo\" or \"nccl\""),
            "{err}"
        );
    }

    #[test]
    fn auto_on_cuda_follows_the_build() {
        let want = if Backend::nccl_built() {
            Backend::Nccl
        } else {
            Backend::Gloo
        };
        assert_eq!(Backend::resolve("auto", Device::Cuda(0)).unwrap(), want);
        assert_eq!(
            Backend::resolve("nccl", Device::Cuda(0)).is_ok(),
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
