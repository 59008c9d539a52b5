#!/bin/bash
# GPU check (issue 14), for a machine with an NVIDIA GPU and the same torch 2.11.0 wheel:
# builds (offline when vendor/ holds the crates: `cargo vendor` on a machine with the
# registry, then carry vendor/ and .cargo/), runs the test suite with a CUDA device visible,
# trains the quickstart config for a fixed number of updates on cuda and on cpu, translates
# test2016 with each model, and prints tokens/s, BLEU and peak GPU memory, and the GPU/CPU
# ratio. Not run yet on a GPU: no session so far has been lent one (docs/scale.md).
#   scripts/gpu_check.sh [UPDATES]        (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
updates=${1:-300}
out=${OUT:-$(mktemp -d)}
export OMP_WAIT_POLICY=PASSIVE RUST_LOG=warn
./scripts/setup-libtorch.sh
offline=(); [ -d vendor ] && offline=(--offline)
cargo build --release "${offline[@]}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
cargo test --release "${offline[@]}" 2>&1 | grep -E 'test result|FAILED|panicked' || true
tolk=./target/release/tolk
zcat data/multi30k/test2016.de.gz > "$out/test.de"
zcat data/multi30k/test2016.en.gz > "$out/test.en"
for dev in cuda cpu; do
  mem_log="$out/$dev.gpu_mem.csv"
  if [ "$dev" = cuda ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$mem_log" &
    smi=$!
  fi
  t0=$(date +%s.%N)
  "$tolk" train configs/quickstart.toml --set training.device="$dev" \
    --set training.max_steps="$updates" --set training.max_minutes=0 \
    --set training.model_dir="$out/$dev"
  t1=$(date +%s.%N)
  "$tolk" translate --model "$out/$dev" --device "$dev" --beam 5 --input "$out/test.de" > "$out/$dev.hyp"
  t2=$(date +%s.%N)
  [ "$dev" = cuda ] && kill "$smi"
  tokens=$(tail -1 "$out/$dev/metrics.csv" | awk -F, '{print $(NF-1)}')
  bleu=$("$tolk" score --ref "$out/test.en" --hyp "$out/$dev.hyp" --json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["bleu"], 2))')
  peak=$([ "$dev" = cuda ] && sort -n "$mem_log" | tail -1 || echo -)
  python3 -c "import sys; t0,t1,t2=map(float,sys.argv[1:4]); print(f'$dev: train {t1-t0:.1f} s ({float(sys.argv[4])/(t1-t0):.0f} target tok/s incl. validation), translate test2016 beam 5 {t2-t1:.1f} s, BLEU $bleu, peak GPU memory $peak MiB')" "$t0" "$t1" "$t2" "$tokens" | tee -a "$out/summary.txt"
done
lscpu | grep 'Model name' | tee -a "$out/summary.txt"; date -u | tee -a "$out/summary.txt"
# Mixed precision on the GPU: fp32 / bf16 / fp16 for equal updates, val2016 BLEU and the paired
# bootstrap against fp32 (docs/scale.md, "Mixed precision").
OUT="$out/precision" TOLK="$tolk" bench/scale/precision_quality.sh "$updates" cuda
