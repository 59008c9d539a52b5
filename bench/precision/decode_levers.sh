#!/usr/bin/env bash
# Decoding levers of issue 12 measured with `tolk translate` on Multi30k test2016 (de->en):
# the fp32 reference ops against the fused kernels with an fp32, int8 or bf16 vocabulary
# projection (set LEVERS to choose: name:flag:flag ... separated by spaces; the first is the
# baseline the line diffs count against). Configurations alternate REPS times; prints the median of tolk's own "translated seconds" (search and
# subwords, model loading excluded), BLEU, and how many lines differ from the fp32 reference.
# A benchmark for bench/NOTES.md, not a test.
#
# usage: bench/precision/decode_levers.sh [MODEL_DIR] [REPS] [THREADS]   (default runs/quickstart 3 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
MODEL=${1:-runs/quickstart}
REPS=${2:-3}
THREADS=${3:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gzip -dc data/multi30k/test2016.de.gz > "$work/src"
gzip -dc data/multi30k/test2016.en.gz > "$work/ref"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|avx512_vnni|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "model: $MODEL; threads: $THREADS; $(date -u +%F)"
configs=${LEVERS:-"fp32:--precision=fp32:--fused-kernels=false fused:--precision=fp32:--fused-kernels=true int8+fused:--precision=int8:--fused-kernels=true bf16+fused:--precision=bf16:--fused-kernels=true"}
base=${configs%%:*}
for beam in 1 5; do
  for rep in $(seq "$REPS"); do
    for c in $configs; do
      name=${c%%:*}; flags=$(tr ':' ' ' <<< "${c#*:}")
      # shellcheck disable=SC2086
      RUST_LOG=info RUST_BACKTRACE=0 ./target/release/tolk translate --model "$MODEL" --threads "$THREADS" \
        --beam $beam $flags --input "$work/src" 2> "$work/log" > "$work/$name.b$beam.out"
      sed 's/\x1b\[[0-9;]*m//g' "$work/log" | grep -o 'seconds="[^"]*"' | tr -dc '0-9.\n' >> "$work/$name.b$beam.secs"
    done
  done
  for c in $configs; do
    name=${c%%:*}
    med=$(sort -n "$work/$name.b$beam.secs" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    bleu=$(./target/release/tolk score --hyp "$work/$name.b$beam.out" --ref "$work/ref" 2>/dev/null | grep -o '= [0-9.]*' | head -1 | tr -d '= ')
    diff_lines=$(diff "$work/$base.b$beam.out" "$work/$name.b$beam.out" | grep -c '^<' || true)
    printf 'beam %s\t%-11s\tmedian %s s\t(runs: %s)\tBLEU %s\tlines differing from %s: %s\n' \
      "$beam" "$name" "$med" "$(tr '\n' ' ' < "$work/$name.b$beam.secs")" "$bleu" "$base" "$diff_lines"
  done
done
