#!/usr/bin/env bash
# Browser test of tolk serve's web page, run by CI (.ci/run): starts `tolk serve` on loopback,
# drives headless Chromium (Debian `chromium`) with playwright-core (npm) through
# tests/browser/page_check.mjs (a three-line text, per-sentence heatmaps, keyboard, the 400-px
# layout, the error states; then tests/browser/key_check.mjs on a server with --api-keys) and
# saves screenshots into OUTDIR. Without MODEL_DIR it trains the
# tiny model of tests/browser/tiny.toml (300 updates, under a minute) into target/browser-model.
#
# usage: scripts/browser_check.sh [MODEL_DIR] [OUTDIR]   (default: the tiny model, target/browser-shots)
# needs: apt-get install chromium; npm; cargo build --release
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL=${1:-}
OUT=${2:-target/browser-shots}
PORT=${PORT:-5393}
TOLK=./target/release/tolk
command -v chromium >/dev/null || { echo "chromium not found: apt-get install chromium" >&2; exit 1; }
started=$(date +%s)
if [ -z "$MODEL" ]; then
  MODEL=target/browser-model
  if [ ! -f "$MODEL/best/model.safetensors" ]; then
    rm -rf "$MODEL"
    OMP_WAIT_POLICY=PASSIVE RUST_LOG=warn "$TOLK" train tests/browser/tiny.toml
  fi
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)
mkdir -p "$OUT"
RUST_LOG=warn "$TOLK" serve --model "$MODEL" --addr "127.0.0.1:$PORT" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
timeout 300 node tests/browser/page_check.mjs "http://127.0.0.1:$PORT/" "$OUT"
# The same page on a server that requires API keys.
KEYS=$(mktemp)
printf '[[key]]\nkey = "browser-check-key-0123456789"\n' > "$KEYS"
KPORT=$((PORT + 1))
RUST_LOG=warn "$TOLK" serve --model "$MODEL" --addr "127.0.0.1:$KPORT" --api-keys "$KEYS" &
kpid=$!
trap 'kill -TERM $pid $kpid 2>/dev/null || true; wait $pid $kpid 2>/dev/null || true; rm -f "$KEYS"' EXIT
for _ in $(seq 300); do curl -sf "127.0.0.1:$KPORT/health" >/dev/null && break; sleep 0.2; done
timeout 120 node tests/browser/key_check.mjs "http://127.0.0.1:$KPORT/" browser-check-key-0123456789 "$OUT"
echo "browser check passed in $(( $(date +%s) - started )) s (model training and npm included)"
