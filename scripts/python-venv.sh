#!/usr/bin/env bash
# Makes a fresh virtual environment with the tolk Python package installed from ./python
# (`pip install ./python`, built by maturin), plus the test and example extras.
#
#   scripts/python-venv.sh [VENV]      default VENV: target/python-venv
#
# torch==2.11.0, which the package requires, is taken from the cache that
# scripts/setup-libtorch.sh fills (~/.cache/tolk, or $TOLK_CACHE) through a .pth file, so the
# venv does not download and unpack the multi-GB wheel a second time; pip sees it as installed.
# Without that cache pip installs torch from PyPI as for any other package.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/target/python-venv}"
torch_dir="${TOLK_CACHE:-$HOME/.cache/tolk}/torch-2.11.0"

python3 -m venv --clear "$venv"
if [ -f "$torch_dir/torch/lib/libtorch_cpu.so" ]; then
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$torch_dir" > "$site/tolk-torch-cache.pth"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --disable-pip-version-check "$repo/python[test,examples]"
echo "[python] tolk installed in $venv: $venv/bin/python -c 'import tolk'"
