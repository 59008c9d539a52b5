#!/usr/bin/env bash
# Browser test of tolk serve's web page: starts `tolk serve` on loopback with a trained model,
# drives headless Chromium (Debian `chromium`) with playwright-core (npm) through
# tests/browser/page_check.mjs, and saves a screenshot. Not part of CI (Chromium does not fit
# its time budget); run it after changing src/serve/static/index.html.
#
# usage: scripts/browser_check.sh [MODEL_DIR] [SCREENSHOT]   (default runs/quickstart docs/serve/page.png)
# needs: apt-get install chromium nodejs npm; cargo build --release; a trained model
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL=${1:-runs/quickstart}
SHOT=${2:-docs/serve/page.png}
PORT=${PORT:-5393}
command -v chromium >/dev/null || { echo "chromium not found: apt-get install chromium" >&2; exit 1; }
(cd tests/browser && npm install --no-audit --no-fund --silent)
mkdir -p "$(dirname "$SHOT")"
RUST_LOG=warn ./target/release/tolk serve --model "$MODEL" --addr "127.0.0.1:$PORT" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
node tests/browser/page_check.mjs "http://127.0.0.1:$PORT/" "$SHOT"
