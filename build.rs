//! Compiles tolk's C++ shim (`csrc/tolk_shim.cpp`: CPU autocast and the autograd wrappers of
//! the fused training kernels; `csrc/tolk_distributed.cpp`: c10d's Gloo process group, with the
//! Gloo headers the wheel lacks vendored in `csrc/third_party/`; `csrc/tolk_nccl.cpp`: c10d's
//! NCCL process group, when the NCCL and CUDA headers are found beside libtorch, else
//! `csrc/tolk_nccl_stub.cpp`) against libtorch's headers, and adds an rpath to libtorch's
//! `lib/` so tolk's binaries and tests run without LD_LIBRARY_PATH. LIBTORCH is set by
//! `.cargo/config.toml` to the link made by `scripts/setup-libtorch.sh`.
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-changed=csrc");
    let libtorch = PathBuf::from(
        std::env::var("LIBTORCH").expect("LIBTORCH is not set: run scripts/setup-libtorch.sh"),
    );
    let libtorch = libtorch.canonicalize().unwrap_or(libtorch);
    let include = libtorch.join("include");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file("csrc/tolk_shim.cpp")
        .file("csrc/tolk_distributed.cpp")
        .include(&include)
        .include("csrc/third_party/gloo")
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .flag("-DUSE_C10D_GLOO")
        .flag_if_supported("-Wno-unused-parameter")
        .warnings(false)
        .opt_level(2);
    let nccl = nccl_includes(&libtorch);
    match &nccl {
        Some(dirs) => {
            build.file("csrc/tolk_nccl.cpp").flag("-DUSE_C10D_NCCL");
            for d in dirs {
                build.include(d);
            }
        }
        None => {
            println!("cargo:warning=NCCL or CUDA headers not found beside libtorch: building without the NCCL backend (run scripts/setup-libtorch.sh)");
            build.file("csrc/tolk_nccl_stub.cpp");
        }
    }
    build.compile("tolk_shim");
    let lib = libtorch.join("lib");
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
    if nccl.is_some() {
        // ProcessGroupNCCL lives in libtorch_cuda, CUDA device calls in libc10_cuda; neither
        // needs a GPU to load.
        println!("cargo:rustc-link-lib=dylib=torch_cuda");
        println!("cargo:rustc-link-lib=dylib=c10_cuda");
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    // Keep libtorch_cuda as a dependency even where no symbol of it is referenced (a build
    // without NCCL), so that CUDA devices are found on GPU machines.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
}

/// The include directories `csrc/tolk_nccl.cpp` needs, when all are there: NCCL's and CUDA's
/// from the torch wheel's nvidia-* packages (`nvidia/nccl`, `nvidia/cu13`), and the crt/ and
/// nv/ headers that `scripts/setup-libtorch.sh` adds in `tolk-cuda-headers/`.
fn nccl_includes(libtorch: &Path) -> Option<Vec<PathBuf>> {
    let wheel = libtorch.parent()?;
    let dirs = vec![
        wheel.join("nvidia/nccl/include"),
        wheel.join("nvidia/cu13/include"),
        wheel.join("tolk-cuda-headers/nvidia/cu13/include"),
    ];
    let needed = [
        dirs[0].join("nccl.h"),
        dirs[1].join("cuda_runtime_api.h"),
        dirs[2].join("crt/host_config.h"),
        dirs[2].join("nv/target"),
        libtorch.join("lib/libtorch_cuda.so"),
    ];
    needed.iter().all(|p| p.exists()).then_some(dirs)
}
