#!/usr/bin/env bash
# Installs libtorch 2.11.0 (the shared libraries of the PyPI wheel `torch==2.11.0`) into a cache
# outside the repository and points the build at it. Idempotent: a second run does nothing.
#
#   TOLK_CACHE   where to install (default: ~/.cache/tolk); the wheel lands in $TOLK_CACHE/torch-2.11.0
#
# After it has run once, plain `cargo build --release` and `cargo test` work: .cargo/config.toml
# sets LIBTORCH to the repo-local link `.libtorch` made here, and build.rs adds an rpath so the
# binaries run without LD_LIBRARY_PATH. Python is used only to install the wheel, never at run time.
set -euo pipefail
TORCH_VERSION=2.11.0
cache="${TOLK_CACHE:-$HOME/.cache/tolk}"
dest="$cache/torch-$TORCH_VERSION"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ ! -f "$dest/torch/lib/libtorch_cpu.so" ]; then
  echo "[setup] installing torch==$TORCH_VERSION wheel into $dest (one time, several GB with its CUDA libraries)"
  mkdir -p "$cache"
  rm -rf "$dest.partial"
  python3 -m pip install --no-input --disable-pip-version-check --quiet \
    --target "$dest.partial" "torch==$TORCH_VERSION"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
else
  echo "[setup] libtorch $TORCH_VERSION already in $dest"
fi

# The CUDA headers that c10d's NCCL backend needs to compile against (csrc/tolk_nccl.cpp) and
# that the wheel's nvidia-* dependencies leave out: crt/ (nvidia-cuda-crt) and nv/target
# (nvidia-cuda-cccl), of the wheel's CUDA 13.0. Headers only (about 20 MB). Without them
# build.rs builds tolk without NCCL (GPU ranks then all-reduce through Gloo).
headers="$dest/tolk-cuda-headers"
if [ ! -f "$headers/nvidia/cu13/include/crt/host_config.h" ] || [ ! -d "$headers/nvidia/cu13/include/nv" ]; then
  echo "[setup] installing the CUDA 13.0 crt and cccl headers into $headers (for NCCL)"
  rm -rf "$headers.partial"
  if python3 -m pip install --no-input --disable-pip-version-check --quiet --no-deps \
      --target "$headers.partial" "nvidia-cuda-crt==13.0.88" "nvidia-cuda-cccl==13.0.85"; then
    rm -rf "$headers" && mv "$headers.partial" "$headers"
  else
    echo "[setup] warning: CUDA headers not installed; tolk will be built without NCCL" >&2
  fi
fi

# Repo-local link read by .cargo/config.toml ([env] LIBTORCH, relative to the repo root).
ln -sfn "$dest/torch" "$repo/.libtorch"
echo "[setup] .libtorch -> $dest/torch"
