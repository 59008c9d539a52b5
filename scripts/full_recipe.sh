#!/usr/bin/env bash
# The full recipes of README: train configs/RECIPE.toml (an update budget of 5,500 updates,
# capped at 2 hours), keep the best checkpoint as it stood at 45 minutes of training, average
# the last K kept step-N checkpoints (every 500 updates) into RUN_avgK, then translate the
# recipe's test set with beam 5 from all three and score them. K is the recipe's: 8, or 4 for
# tatoeba_en_fr (chosen on Tatoeba dev, docs/results.md row 12).
#
#   scripts/full_recipe.sh [--eval] [--seed N] [--nproc N] [--average K] [--set KEY=VALUE]... [RECIPE]
#     RECIPE  multi30k_de_en (default) | multi30k_en_de | tatoeba_en_fr
#     --seed  training seed (default 42, the config's); other seeds get RUN = runs/RECIPE_seedN
#     --eval  only average and evaluate an existing run
#     --nproc data-parallel ranks on this machine (`tolk train --nproc N`, 1 thread each on 2
#             cores); batch_tokens is per rank, so keep the update size with e.g. `--nproc 2
#             --set training.batch_tokens=1000` (2 x 1000 = the recipes' 2000 tokens per update)
#     --average  average the last K step-N checkpoints instead of the recipe's K
#     --set   passed on to `tolk train` (e.g. --set training.max_minutes=140)
#   TOLK_TRAIN_THREADS=N  libtorch threads for training (default: the config's, all cores)
#   TOLK_THREADS=N        libtorch threads for translating (default: all cores)
#   TOLK_SNAPSHOT_STEP=S  take the 45-minute snapshot by update count (validations up to update
#                         S) instead of by wall time, for runs that share the cores (e.g. two
#                         1-thread runs side by side); S = what a 2-core run reaches in 45 min
#
# Results: RUN/{test.hyp,test.score.json} and the same under RUN_45min/ and RUN_avgK/, where
# RUN = runs/RECIPE (seed 42) or runs/RECIPE_seedN.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eval_only=0 seed=42 nproc=1 recipe=multi30k_de_en extra=() average=
while [ $# -gt 0 ]; do
  case "$1" in
    --eval) eval_only=1 ;;
    --seed) seed=$2; shift ;;
    --nproc) nproc=$2; shift ;;
    --average) average=$2; shift ;;
    --set) extra+=(--set "$2"); shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) recipe=$1 ;;
  esac
  shift
done
case "$recipe" in
  multi30k_de_en) test_src=data/multi30k/test2016.de.gz test_ref=data/multi30k/test2016.en.gz ;;
  multi30k_en_de) test_src=data/multi30k/test2016.en.gz test_ref=data/multi30k/test2016.de.gz ;;
  tatoeba_en_fr) test_src=data/tatoeba-en-fr/test.en.gz test_ref=data/tatoeba-en-fr/test.fr.gz
                 average=${average:-4} ;;
  *) echo "unknown recipe $recipe (multi30k_de_en, multi30k_en_de, tatoeba_en_fr)" >&2; exit 2 ;;
esac
config=configs/$recipe.toml
run=runs/$recipe
[ "$seed" = 42 ] || run=runs/${recipe}_seed$seed
snap=${run}_45min
average=${average:-8}
avg=${run}_avg$average
tolk=./runs/tolk-$recipe-$seed   # a copy, so rebuilding during the run does not swap the binary
threads=${TOLK_THREADS:-0}
train_args=(--nproc "$nproc" --set training.model_dir="$run" --set training.seed="$seed" "${extra[@]}")
[ -z "${TOLK_TRAIN_THREADS:-}" ] || train_args+=(--set training.threads="$TOLK_TRAIN_THREADS")

if [ "$eval_only" = 0 ]; then
  ./scripts/setup-libtorch.sh
  cargo build --release
  rm -rf "$run" "$snap"
  mkdir -p runs && cp target/release/tolk "$tolk"
  $tolk train "$config" "${train_args[@]}" &
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
      # The elapsed_s (or step) column of the last row, found by its header name.
      column=elapsed_s limit=2700
      [ -z "${TOLK_SNAPSHOT_STEP:-}" ] || { column=step limit=$((TOLK_SNAPSHOT_STEP + 1)); }
      value=$(awk -F, -v n="$column" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i }
                                      END { print (c ? $c : "inf") }' "$run/metrics.csv")
      if awk -v e="$value" -v l="$limit" 'BEGIN { exit !(e < l) }'; then
        mkdir -p "$snap.tmp"
        cp -r "$run/best" "$run/config.toml" "$run"/tokenizer*.json "$run/metrics.csv" "$snap.tmp/"
        rm -rf "$snap" && mv "$snap.tmp" "$snap"
      fi
    done
  ) &
  wait "$train_pid"
  wait
fi
[ -x "$tolk" ] || tolk=target/release/tolk

# Checkpoint averaging (measured on val2016 and Tatoeba dev in docs/results.md): the last K
# step-N checkpoints.
rm -rf "$avg"
$tolk average --model "$run" --last "$average" --out "$avg" ||
  echo "averaging skipped: fewer than $average step checkpoints" >&2

gzip -dc "$test_src" > "$run/test.src"
gzip -dc "$test_ref" > "$run/test.ref"
for dir in "$run" "$snap" "$avg"; do
  [ -d "$dir/best" ] || continue
  /usr/bin/time -v -o "$dir/translate.time" $tolk translate --model "$dir" --beam 5 --threads "$threads" \
    --input "$run/test.src" > "$dir/test.hyp" 2> "$dir/translate.log"
  $tolk score --hyp "$dir/test.hyp" --ref "$run/test.ref" --json > "$dir/test.score.json"
  echo "$dir: $(cat "$dir/test.score.json")"
done
