//! Adds an rpath to libtorch's `lib/` so tolk's binaries and tests run without LD_LIBRARY_PATH.
//! LIBTORCH is set by `.cargo/config.toml` to the link made by `scripts/setup-libtorch.sh`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Ok(libtorch) = std::env::var("LIBTORCH") else {
        return;
    };
    let lib = PathBuf::from(libtorch).join("lib");
    let lib = lib.canonicalize().unwrap_or(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    // Keep libtorch_cuda as a dependency even though no symbol of it is referenced, so that
    // CUDA devices are found on GPU machines.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
}
