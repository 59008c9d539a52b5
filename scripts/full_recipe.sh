#!/usr/bin/env bash
# The full recipe of README: train configs/multi30k_de_en.toml (2-hour budget), keep the best
# checkpoint as it stood at 45 minutes of training (for the comparison with Joey NMT), average
# the last 8 kept step-N checkpoints (every 500 updates) into runs/multi30k_de_en_avg8, then
# translate Multi30k test2016 German->English with beam 5 from all three and score them.
#
#   scripts/full_recipe.sh            # train + evaluate
#   scripts/full_recipe.sh --eval     # only evaluate an existing run
#
# Results: runs/multi30k_de_en/{test2016.hyp.en,test2016.score.json} and the same under
# runs/multi30k_de_en_45min/ and runs/multi30k_de_en_avg8/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
run=runs/multi30k_de_en
snap=runs/multi30k_de_en_45min
avg=runs/multi30k_de_en_avg8
tolk=./runs/tolk-full-recipe   # a copy, so rebuilding during the run does not swap the binary
threads=${TOLK_THREADS:-0}

if [ "${1:-}" != "--eval" ]; then
  ./scripts/setup-libtorch.sh
  cargo build --release
  rm -rf "$run" "$snap"
  mkdir -p runs && cp target/release/tolk "$tolk"
  $tolk train configs/multi30k_de_en.toml &
  train_pid=$!
  # Snapshot: after every validation row logged before 45 minutes (2700 s) of training, copy
  # best/; the last copy is the best model a 45-minute budget would have given.
  (
    seen=0
    while kill -0 "$train_pid" 2>/dev/null; do
      sleep 15
      [ -f "$run/metrics.csv" ] || continue
      rows=$(($(wc -l < "$run/metrics.csv") - 1))
      [ "$rows" -gt "$seen" ] || continue
      seen=$rows
      # The elapsed_s column of the last row, found by its header name.
      elapsed=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "elapsed_s") c = i }
                         END { print (c ? $c : "inf") }' "$run/metrics.csv")
      if awk -v e="$elapsed" 'BEGIN { exit !(e < 2700) }'; then
        mkdir -p "$snap.tmp"
        cp -r "$run/best" "$run/config.toml" "$run"/tokenizer*.json "$run/metrics.csv" "$snap.tmp/"
        rm -rf "$snap" && mv "$snap.tmp" "$snap"
      fi
    done
  ) &
  wait "$train_pid"
  wait
fi

# Checkpoint averaging (measured on val2016 in docs/results.md): the last 8 step-N checkpoints.
rm -rf "$avg"
$tolk average --model "$run" --last 8 --out "$avg" || echo "averaging skipped: fewer than 8 step checkpoints" >&2

gzip -dc data/multi30k/test2016.de.gz > "$run/test2016.de"
gzip -dc data/multi30k/test2016.en.gz > "$run/test2016.ref.en"
for dir in "$run" "$snap" "$avg"; do
  [ -d "$dir/best" ] || continue
  /usr/bin/time -v -o "$dir/translate.time" $tolk translate --model "$dir" --beam 5 --threads "$threads" \
    --input "$run/test2016.de" > "$dir/test2016.hyp.en" 2> "$dir/translate.log"
  $tolk score --hyp "$dir/test2016.hyp.en" --ref "$run/test2016.ref.en" --json > "$dir/test2016.score.json"
  echo "$dir: $(cat "$dir/test2016.score.json")"
done
