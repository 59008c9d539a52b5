//! Gives the extension module a run path to the libtorch of the `torch` package installed
//! beside it (`site-packages/torch/lib`), so `import tolk` finds libtorch even without
//! `import torch` first; `tolk/__init__.py` imports torch first anyway, and the loader then
//! reuses the libraries already loaded under the same names. The build links against
//! `LIBTORCH` (`.cargo/config.toml`: the same torch 2.11.0 wheel, from
//! `scripts/setup-libtorch.sh`), whose `lib/` comes last as a fallback.
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rustc-link-arg-cdylib=-Wl,-rpath,$ORIGIN/../torch/lib");
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        let lib = std::path::Path::new(&libtorch).join("lib");
        let lib = lib.canonicalize().unwrap_or(lib);
        println!("cargo:rustc-link-arg-cdylib=-Wl,-rpath,{}", lib.display());
    }
}
