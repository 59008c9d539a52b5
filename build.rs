//! Compiles tolk's C++ shim (`csrc/tolk_shim.cpp`: CPU autocast and the autograd wrappers of
//! the fused training kernels; `csrc/tolk_distributed.cpp`: c10d's Gloo process group, with the
//! Gloo headers the wheel lacks vendored in `csrc/third_party/`) against libtorch's headers, and adds an rpath to libtorch's
//! `lib/` so tolk's binaries and tests run without LD_LIBRARY_PATH. LIBTORCH is set by
//! `.cargo/config.toml` to the link made by `scripts/setup-libtorch.sh`.
use std::path::PathBuf;

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
    cc::Build::new()
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
        .opt_level(2)
        .compile("tolk_shim");
    let lib = libtorch.join("lib");
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    // Keep libtorch_cuda as a dependency even though no symbol of it is referenced, so that
    // CUDA devices are found on GPU machines.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
}
