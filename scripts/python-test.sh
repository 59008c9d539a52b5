#!/usr/bin/env bash
# The Python package's tests: a fresh venv with `pip install ./python[test,examples]`
# (scripts/python-venv.sh), then pytest on python/tests. They compare against the tolk binary
# (target/release/tolk, built by `cargo test --release`; or $TOLK_BIN) and the sacrebleu
# package, and train their own tiny model (about 2 minutes in all on 2 cores).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/target/python-venv"
[ -x "${TOLK_BIN:-$repo/target/release/tolk}" ] || cargo build --release --manifest-path "$repo/Cargo.toml" --bin tolk
"$repo/scripts/python-venv.sh" "$venv"
cd "$repo"
"$venv/bin/python" -m pytest python/tests -q
