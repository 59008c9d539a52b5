#!/bin/bash
# Data-parallel training on this machine's CPUs: the quickstart model for a fixed number of
# updates as (a) 1 rank x 2 threads with 2 batches accumulated per update and (b) 2 ranks x 1
# thread (`tolk train --nproc 2`), the same 2 batches per update; prints wall time and target
# tokens/s of each (tests/distributed.rs checks that the weights agree, at 1 thread each).
#   bench/scale/ddp_cpu.sh [UPDATES]      (default 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
updates=${1:-200}
out=$(mktemp -d)
tolk=./target/release/tolk
export OMP_WAIT_POLICY=PASSIVE RUST_LOG=warn
common=(--set training.max_steps="$updates" --set training.validate_every=100000
        --set training.checkpoint_every=0)
run() { # name, extra args...
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$tolk" train configs/quickstart.toml "${common[@]}" --set training.model_dir="$out/$name" "$@"
  t1=$(date +%s.%N)
  python3 - "$out/$name" "$t0" "$t1" "$name" <<'PY'
import csv, sys
d, t0, t1, name = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(f"{d}/metrics.csv")))
tok = int(rows[-1]["target_tokens"])
print(f"{name}: {t1 - t0:.1f} s wall (with one validation and checkpoint), {tok} target tokens, "
      f"{tok / (t1 - t0):.0f} tok/s, valid BLEU {float(rows[-1]['valid_bleu']):.2f}")
PY
}
run accumulate2_threads2 --set training.threads=2 --set training.accumulate_batches=2
run nproc2_threads1 --nproc 2 --set training.threads=1
lscpu | grep 'Model name'; date -u
