#!/usr/bin/env bash
# Load test of `tolk serve` on loopback, bounded in count and time: CLIENTS concurrent
# connections x REQUESTS requests each, every request one real Multi30k test2016 German
# sentence (LibreTranslate POST /translate, the model's default beam), sent by `oha` (crates.io:
# cargo install oha); first with the default dynamic batching, then with batching off
# (--batch-delay-ms 0 --max-batch-sentences 1). Prints and appends to bench/serve_load.tsv:
# sentences/s, p50/p90/p99 latency, status codes, errors, the server's RSS before and after the
# run and its peak, and the mean batch size.
#
# usage: bench/serve_load.sh [MODEL_DIR] [CLIENTS] [REQUESTS]   (default runs/quickstart 64 200)
# env:   RUNS="batched unbatched" (which runs; also delay=MS, sentences=N for a batched run
#        with another --batch-delay-ms or --max-batch-sentences; keys: batched with an API
#        keys file, every request with its key as a Bearer header, and its rate limiter and
#        the per-IP one on at limits it never reaches), TOLK=path of another tolk binary,
#        TAG=suffix of the run names (e.g. -before for an older binary), MAX_SECONDS=900 (cap per run), PORT=5391
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL=${1:-runs/quickstart}
CLIENTS=${2:-64}
REQUESTS=${3:-200}
PORT=${PORT:-5391}
MAX_SECONDS=${MAX_SECONDS:-900}
RUNS=${RUNS:-batched unbatched}
TOLK=${TOLK:-./target/release/tolk}
TAG=${TAG:-}
OHA=$(command -v oha || echo ~/.cargo/bin/oha)
[ -x "$OHA" ] || { echo "oha not found: cargo install oha --locked" >&2; exit 1; }
[ -x "$TOLK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$MODEL/config.toml" ] || { echo "no model in $MODEL: run scripts/quickstart.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(cat "$work"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
gzip -dc data/multi30k/test2016.de.gz |
  python3 -c 'import json,sys
for l in sys.stdin: print(json.dumps({"q": l.rstrip("\n"), "source": "de", "target": "en"}, ensure_ascii=False))' \
  > "$work/bodies.jsonl"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
rss_mb() { awk -v k="$2:" '$1 == k {print int($2 / 1024)}' "/proc/$1/status"; }
KEY=bench-load-key-0123456789abcdef
printf '[[key]]\nkey = "%s"\nrequests_per_minute = 1000000\n' "$KEY" > "$work/keys.toml"
AUTH=()
load() { # requests, output file
  timeout "$MAX_SECONDS" "$OHA" -n "$1" -c "$CLIENTS" -t 60s --no-tui --output-format json \
    -m POST -H 'Content-Type: application/json' "${AUTH[@]}" -Z "$work/bodies.jsonl" \
    "http://127.0.0.1:$PORT/translate" > "$2"
}

run() { # name, extra serve flags...
  local name=$1$TAG; shift
  RUST_LOG=warn "$TOLK" serve --model "$MODEL" --addr "127.0.0.1:$PORT" "$@" 2> "$work/$name.log" &
  local pid=$!; echo $pid > "$work/pid"
  for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  load "$CLIENTS" "$work/warmup.json"   # one request per client: RSS "before" has buffers in place
  local before; before=$(rss_mb $pid VmRSS)
  # RSS every second during the run, to see whether it grows or levels off.
  ( while kill -0 $pid 2>/dev/null; do rss_mb $pid VmRSS; sleep 1; done ) > "$work/$name.rss" &
  local sampler=$!
  load $(( CLIENTS * REQUESTS )) "$work/$name.json"
  kill $sampler 2>/dev/null || true
  local after peak; after=$(rss_mb $pid VmRSS); peak=$(rss_mb $pid VmHWM)
  curl -s "127.0.0.1:$PORT/metrics" > "$work/$name.metrics"
  kill -TERM $pid; wait $pid || true
  python3 - "$work/$name.json" "$work/$name.metrics" "$name" "$cpu" "$CLIENTS" "$REQUESTS" \
    "$before" "$after" "$peak" "$*" "$work/$name.rss" <<'PY'
import json, sys
out, metrics, name, cpu, clients, requests, before, after, peak, flags, rss_file = sys.argv[1:]
rss = [int(x) for x in open(rss_file).read().split()]
quarters = "/".join(str(max(rss[len(rss) * q // 4:len(rss) * (q + 1) // 4] or [0])) for q in range(4))
r = json.load(open(out))
s, p = r["summary"], r["latencyPercentiles"]
m = dict(l.rsplit(" ", 1) for l in open(metrics) if l.startswith("tolk_batch_sentences_"))
mean_batch = float(m["tolk_batch_sentences_sum"]) / max(float(m["tolk_batch_sentences_count"]), 1)
codes = ",".join(f"{k}:{v}" for k, v in sorted(r["statusCodeDistribution"].items()))
errors = ",".join(f"{k}:{v}" for k, v in r["errorDistribution"].items()) or "0"
total = sum(r["statusCodeDistribution"].values())
row = [__import__("datetime").date.today().isoformat(), cpu, name, flags, clients, requests, total,
       f"{s['total']:.1f}", f"{s['requestsPerSec']:.1f}", f"{p['p50']*1e3:.0f}", f"{p['p90']*1e3:.0f}",
       f"{p['p99']*1e3:.0f}", f"{s['slowest']*1e3:.0f}", codes, errors, before, after, peak, quarters, f"{mean_batch:.1f}"]
print(f"{name}: {total} answers in {s['total']:.1f} s = {s['requestsPerSec']:.1f} sentences/s; "
      f"p50 {p['p50']*1e3:.0f} ms, p90 {p['p90']*1e3:.0f} ms, p99 {p['p99']*1e3:.0f} ms; status {codes}; "
      f"errors {errors}; RSS {before} -> {after} MB (peak {peak}; max per quarter of the run {quarters}); mean batch {mean_batch:.1f} sentences")
with open("bench/serve_load.tsv", "a") as f:
    f.write("\t".join(map(str, row)) + "\n")
PY
}

[ -f bench/serve_load.tsv ] || printf 'date\tcpu\trun\tserve_flags\tclients\trequests_per_client\tanswers\tseconds\tsentences_per_s\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tstatus\terrors\trss_before_mb\trss_after_mb\trss_peak_mb\trss_max_per_quarter_mb\tmean_batch\n' > bench/serve_load.tsv
echo "cpu: $cpu; model: $MODEL; $CLIENTS clients x $REQUESTS requests"
for r in $RUNS; do
  case $r in
    batched) run batched --threads 2 ;;
    keys) AUTH=(-H "Authorization: Bearer $KEY")
          run keys --threads 2 --api-keys "$work/keys.toml" --req-limit 1000000
          AUTH=() ;;
    unbatched) run unbatched --threads 2 --batch-delay-ms 0 --max-batch-sentences 1 ;;
    delay=*) run "batched-delay${r#delay=}ms" --threads 2 --batch-delay-ms "${r#delay=}" ;;
    sentences=*) run "batched-max${r#sentences=}" --threads 2 --max-batch-sentences "${r#sentences=}" ;;
  esac
done
