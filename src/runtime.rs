//! Process set-up shared by the `tolk` binary, training and the benchmark: the device, the
//! number of libtorch threads, OpenMP's wait policy.

use tch::Device;

/// A device name that is not known, or a device that this machine does not have.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DeviceError {
    /// Not one of the accepted names.
    #[error("unknown device {0:?}: use cpu, cuda or auto")]
    Unknown(String),
    /// `cuda` was asked for but libtorch sees no CUDA device.
    #[error("device {0:?} asked for, but no CUDA device is available (use cpu or auto)")]
    NoCuda(String),
}

/// Resolves a device name: `cpu`; `cuda` (or `gpu`), an error when there is no CUDA device;
/// `auto`, CUDA when available and otherwise the CPU.
///
/// Errors: [`DeviceError`] for an unknown name or a missing CUDA device.
pub fn device_from(name: &str) -> Result<Device, DeviceError> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" | "gpu" => Err(DeviceError::NoCuda(name.into())),
        "auto" => Ok(Device::cuda_if_available()),
        _ => Err(DeviceError::Unknown(name.into())),
    }
}

/// Most libtorch threads a process may ask for (`--threads`).
pub const MAX_THREADS: usize = 256;
/// Most translation workers, each with its own copy of the model (`--workers`).
pub const MAX_WORKERS: usize = 64;

/// A thread or worker count out of bounds.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParallelismError {
    /// `--threads` above [`MAX_THREADS`].
    #[error("--threads {0} must be at most {MAX_THREADS} (0 = all cores)")]
    Threads(usize),
    /// `--workers` of 0 or above [`MAX_WORKERS`].
    #[error("--workers {0} must be between 1 and {MAX_WORKERS}")]
    Workers(usize),
}

/// Checks libtorch threads (`0` = all cores, at most [`MAX_THREADS`]) and workers
/// (`1..=`[`MAX_WORKERS`]): the one rule of the CLI and the server.
///
/// Errors: [`ParallelismError`] naming the flag.
pub fn check_parallelism(threads: usize, workers: usize) -> Result<(), ParallelismError> {
    if threads > MAX_THREADS {
        return Err(ParallelismError::Threads(threads));
    }
    if !(1..=MAX_WORKERS).contains(&workers) {
        return Err(ParallelismError::Workers(workers));
    }
    Ok(())
}

/// Sets libtorch's intra-op threads (`0` = all cores).
pub fn set_threads(n: usize) {
    let n = if n == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        n
    };
    tch::set_num_threads(n as i32);
}

/// libtorch's OpenMP threads spin-wait by default; when another process holds a core, each of
/// the thousands of small ops per training step then waits for a time slice (measured here: a
/// step over 100x slower). OMP_WAIT_POLICY is read when libgomp loads, before `main`, so this
/// sets it to PASSIVE and re-executes the current program once, unless the caller chose a
/// policy. Call it first thing in `main`. On failure it warns and continues.
#[cfg(unix)]
pub fn ensure_passive_omp_wait() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .exec();
    eprintln!("warning: could not re-execute with OMP_WAIT_POLICY=PASSIVE: {err}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_resolve_or_fail_clearly() {
        assert_eq!(device_from("cpu"), Ok(Device::Cpu));
        assert_eq!(device_from("auto"), Ok(Device::cuda_if_available()));
        let err = device_from("cpu0").unwrap_err();
        assert_eq!(err, DeviceError::Unknown("cpu0".into()));
        assert!(err.to_string().contains("\"cpu0\""), "{err}");
        if !tch::Cuda::is_available() {
            assert_eq!(device_from("cuda"), Err(DeviceError::NoCuda("cuda".into())));
        } else {
            assert_eq!(device_from("cuda"), Ok(Device::Cuda(0)));
        }
    }
}
