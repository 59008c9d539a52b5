#!/bin/bash
# Mixed-precision quality check (issue 14): trains the quickstart config for the same number
# of updates in fp32, bf16 and fp16 (dynamic loss scaling) on one device, translates val2016
# with beam 5 from each, and prints valid BLEU/chrF, sacreBLEU's paired bootstrap p-value of
# each low precision against fp32, target tokens/s and the fp16 run's final loss scale.
# Validation data only: the test split is not looked at.
#   bench/scale/precision_quality.sh [UPDATES] [DEVICE]     (defaults 600, cpu)
#   PRECISIONS="fp32 fp16"  a subset (fp32 first: it is the baseline)
# Results: $OUT (or a temporary directory)/{summary.txt,<precision>/,<precision>.hyp}.
set -euo pipefail
cd "$(dirname "$0")/../.."
updates=${1:-600}
device=${2:-cpu}
precisions=${PRECISIONS:-fp32 bf16 fp16}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} RUST_LOG=${RUST_LOG:-warn}
tolk=${TOLK:-./target/release/tolk}
[ -x "$tolk" ] || cargo build --release
zcat data/multi30k/val.de.gz > "$out/val.de"
zcat data/multi30k/val.en.gz > "$out/val.en"
{ lscpu | grep 'Model name'; date -u; git rev-parse --short HEAD; echo "updates $updates, device $device"; } \
  | tee "$out/summary.txt"
for p in $precisions; do
  t0=$(date +%s.%N)
  "$tolk" train configs/quickstart.toml --set training.device="$device" \
    --set training.precision="$p" --set training.max_steps="$updates" \
    --set training.max_minutes=0 --set training.validate_every="$updates" \
    --set training.model_dir="$out/$p"
  t1=$(date +%s.%N)
  "$tolk" translate --model "$out/$p" --device "$device" --beam 5 --input "$out/val.de" > "$out/$p.hyp"
  tokens=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target_tokens"])' "$out/$p/last/state.json")
  scale=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])).get("loss_scale"); print("%g, %d skipped" % (s["scale"], s["skipped_updates"]) if s else "-")' "$out/$p/last/state.json")
  score=$("$tolk" score --ref "$out/val.en" --hyp "$out/$p.hyp" --json \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print("BLEU %.2f chrF %.2f" % (d["bleu"], d["chrf"]))')
  python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'$p: train {t:.1f} s, {int(sys.argv[3])/t:.0f} target tok/s (incl. one validation), val2016 beam 5 $score, loss scale $scale')" \
    "$t0" "$t1" "$tokens" | tee -a "$out/summary.txt"
done
set -- $precisions
base=$1; shift
if [ $# -gt 0 ]; then
  others=(); for p in "$@"; do others+=("$out/$p.hyp"); done
  echo "paired bootstrap against $base (sacreBLEU --paired-bs: 1000 resamples, seed 12345):" | tee -a "$out/summary.txt"
  "$tolk" score --ref "$out/val.en" --hyp "$out/$base.hyp" --paired-bs "${others[@]}" | tee -a "$out/summary.txt"
fi
echo "results in $out"
