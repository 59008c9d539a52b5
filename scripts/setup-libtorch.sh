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

# Repo-local link read by .cargo/config.toml ([env] LIBTORCH, relative to the repo root).
ln -sfn "$dest/torch" "$repo/.libtorch"
echo "[setup] .libtorch -> $dest/torch"
