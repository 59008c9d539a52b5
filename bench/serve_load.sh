#!/usr/bin/env bash
# Load test of `tolk serve` on loopback, bounded in count and time: CLIENTS concurrent
# connections x REQUESTS requests each of one real Multi30k test2016 German sentence
# (LibreTranslate POST /translate, the model's default beam), with Debian's `wrk`; first with
# the default dynamic batching, then with batching off (--batch-delay-ms 0
# --max-batch-sentences 1). Prints p50/p90/p99 latency, sentences/s and the server's RSS,
# and appends a row per run to bench/serve_load.tsv.
#
# usage: bench/serve_load.sh [MODEL_DIR] [CLIENTS] [REQUESTS]   (default runs/quickstart 64 200)
# needs: wrk (apt-get install wrk), a trained model (scripts/quickstart.sh), cargo build --release
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL=${1:-runs/quickstart}
CLIENTS=${2:-64}
REQUESTS=${3:-200}
PORT=${PORT:-5391}
MAX_SECONDS=${MAX_SECONDS:-900}
TOLK=./target/release/tolk
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
[ -x "$TOLK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$MODEL/config.toml" ] || { echo "no model in $MODEL: run scripts/quickstart.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(cat "$work"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
gzip -dc data/multi30k/test2016.de.gz |
  python3 -c 'import json,sys
for l in sys.stdin: print(json.dumps({"q": l.rstrip("\n"), "source": "de", "target": "en"}, ensure_ascii=False))' \
  > "$work/bodies.jsonl"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
threads=2
per_thread=$(( CLIENTS * REQUESTS / threads ))

rss() { awk '/^VmRSS|^VmHWM/ {printf "%s=%d ", $1, $2/1024}' "/proc/$1/status"; }

run() { # name, extra serve flags...
  local name=$1; shift
  RUST_LOG=warn "$TOLK" serve --model "$MODEL" --addr "127.0.0.1:$PORT" "$@" 2> "$work/$name.log" &
  local pid=$!; echo $pid > "$work/pid"
  for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  # Warm-up: one request per client, so RSS "before" has the model and buffers in place.
  WRK_BODIES="$work/bodies.jsonl" WRK_REQUESTS_PER_THREAD=$(( CLIENTS / threads )) \
    wrk -t$threads -c"$CLIENTS" -d120s --timeout 60s -s bench/serve/requests.lua \
    "http://127.0.0.1:$PORT" > /dev/null
  local before; before=$(rss $pid)
  local out
  out=$(WRK_BODIES="$work/bodies.jsonl" WRK_REQUESTS_PER_THREAD=$per_thread \
    wrk -t$threads -c"$CLIENTS" -d"${MAX_SECONDS}s" --timeout 60s -s bench/serve/requests.lua \
    "http://127.0.0.1:$PORT" | grep '^RESULT')
  local after; after=$(rss $pid)
  local batches; batches=$(curl -s "127.0.0.1:$PORT/metrics" | awk '/^tolk_batch_sentences_(sum|count)/ {printf "%s=%d ", $1, $2}')
  kill -TERM $pid; wait $pid || true
  local reqs secs
  reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<< "$out")
  secs=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<< "$out")
  local rate; rate=$(python3 -c "print(f'{$reqs/$secs:.1f}')")
  echo "$name: $out sentences_per_s=$rate rss_before[$before] rss_after[$after] $batches"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$cpu" "$name" "$CLIENTS" "$REQUESTS" \
    "$rate" "$out" "$before" "$after" "$batches" >> bench/serve_load.tsv
}

[ -f bench/serve_load.tsv ] || printf 'date\tcpu\trun\tclients\trequests_per_client\tsentences_per_s\twrk\trss_before_mb\trss_after_mb\tbatches\n' > bench/serve_load.tsv
echo "cpu: $cpu; model: $MODEL; $CLIENTS clients x $REQUESTS requests"
run batched --threads 2
run unbatched --threads 2 --batch-delay-ms 0 --max-batch-sentences 1
