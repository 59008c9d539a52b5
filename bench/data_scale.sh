#!/usr/bin/env bash
# Corpora at real scale (issue 29): for each corpus size, a synthetic en-fr corpus from
# scripts/scale_corpus.py (two Tatoeba pairs per line; benchmarks only, never evaluate on it),
# then, each under /usr/bin/time (wall s, peak RSS) and `timeout MAX_SECONDS`, with the config
# configs/tatoeba_en_fr.toml pointed at it (absolute paths; valid = the shipped dev split):
#   1. `tolk prepare` at RAYON_NUM_THREADS=1 in a fresh model dir (skipped with THREADS_CHECK=0),
#      then the model dir removed and `tolk prepare` again at the default threads (all cores);
#   2. `tolk train` for 20 updates on the prepared corpus (ends with one validation+checkpoint);
#   3. `tolk train --resume` to 60 updates: peak RSS during training, and resume to first update
#      (the `since_start_s=` field of tolk's "first update of this session" log line);
#   4. the size of MODEL_DIR/corpus (du -sb).
# Prints a markdown table row per size and appends to bench/data_scale.tsv. MB = MiB.
#
# usage: bench/data_scale.sh
# env:   SIZES="0.16M 1M 4M 16M" (pairs per corpus; also 160000, 2.5k), WORK=/tmp/tolk-scale
#        (corpora, configs, model-SIZE dirs, logs/ with every command's output; a corpus of the
#        same pair count and seed is reused, a model dir is removed first), SEED=1 (corpus
#        seed), TOLK=path of another tolk binary (default ./target/release/tolk),
#        MAX_SECONDS=3600 (cap per command), THREADS_CHECK=0 (no 1-thread prepare),
#        DRY_RUN=1 (only generate the corpora and configs, print and check them; no tolk)
# disk:  16M pairs are 2.2 GB of text in WORK, plus the prepared corpus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SIZES=${SIZES:-0.16M 1M 4M 16M}
WORK=${WORK:-/tmp/tolk-scale}
SEED=${SEED:-1}
TOLK=${TOLK:-./target/release/tolk}
MAX_SECONDS=${MAX_SECONDS:-3600}
THREADS_CHECK=${THREADS_CHECK:-1}
DRY_RUN=${DRY_RUN:-0}
LOGS=$WORK/logs
# OMP_WAIT_POLICY as tolk would set it by re-executing itself (src/runtime.rs); info-level logs,
# which carry the "first update of this session" line.
export OMP_WAIT_POLICY=PASSIVE RUST_LOG=${RUST_LOG:-info}
if [ "$DRY_RUN" != 1 ]; then
  [ -x "$TOLK" ] || { echo "build first: cargo build --release (or set TOLK)" >&2; exit 1; }
fi
mkdir -p "$WORK" "$LOGS"
WORK=$(cd "$WORK" && pwd)
LOGS=$WORK/logs
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
rev=$(git rev-parse --short HEAD)

pair_count() { PYTHONPATH=scripts python3 -c \
  'import sys, scale_corpus; print(scale_corpus.parse_pairs(sys.argv[1]))' "$1"; }

# write_config SIZE PAIRS: $WORK/config-SIZE.toml, the Tatoeba recipe with absolute paths to
# this size's corpus and model dir and to the shipped dev split; checked with tomllib.
write_config() {
  python3 - "$ROOT" "$WORK" "$1" "$2" "$SEED" <<'PY'
import json, os, re, sys, tomllib
root, work, size, pairs, seed = sys.argv[1:]
corpus = f"{work}/corpus-{pairs}-s{seed}"
paths = {
    "train_src": f"{corpus}.en", "train_tgt": f"{corpus}.fr",
    "valid_src": f"{root}/data/tatoeba-en-fr/dev.en.gz",
    "valid_tgt": f"{root}/data/tatoeba-en-fr/dev.fr.gz",
    "model_dir": f"{work}/model-{size}",
}
text = open(f"{root}/configs/tatoeba_en_fr.toml").read()
text = text[text.index("[data]"):]  # without the recipe's notes on its own paths and timings
for key, value in paths.items():
    # json.dumps gives a valid TOML basic string for any path.
    text, n = re.subn(rf"(?m)^{key} = .*$", lambda _: f"{key} = {json.dumps(value)}", text)
    assert n == 1, f"configs/tatoeba_en_fr.toml: {n} lines set {key}"
header = (f"# bench/data_scale.sh: configs/tatoeba_en_fr.toml on a synthetic {pairs}-pair corpus\n"
          f"# (scripts/scale_corpus.py {pairs} {corpus} --seed {seed}; benchmarks only).\n")
out = f"{work}/config-{size}.toml"
with open(out, "w") as f:
    f.write(header + text)
c = tomllib.load(open(out, "rb"))
assert {k: c["data"][k] for k in list(paths)[:4]} == {k: paths[k] for k in list(paths)[:4]}, c["data"]
assert c["training"]["model_dir"] == paths["model_dir"], c["training"]
missing = [p for k, p in paths.items() if k != "model_dir" and not os.path.isfile(p)]
assert not missing, f"missing: {missing}"
print(out)
PY
}

# measure NAME COMMAND...: runs it under /usr/bin/time and timeout, its stdout and stderr to
# $LOGS/NAME.log; sets $wall (s) and $rss (MB). A failure or timeout ends the benchmark.
measure() {
  local name=$1; shift
  local rc=0
  echo "[$(date -u +%H:%M:%S)] $name: $*" >&2
  /usr/bin/time -f '%e %M' -o "$LOGS/$name.time" timeout "$MAX_SECONDS" "$@" \
    > "$LOGS/$name.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 20 "$LOGS/$name.log" >&2
    [ "$rc" = 124 ] && echo "$name: timed out after $MAX_SECONDS s" >&2
    echo "$name: exit status $rc (log: $LOGS/$name.log)" >&2
    exit "$rc"
  fi
  # The last line: /usr/bin/time puts a "Command exited with non-zero status" line before it.
  read -r wall rss_kb < <(tail -n 1 "$LOGS/$name.time")
  rss=$(( rss_kb / 1024 ))
}

# since_start_s of the "first update of this session" line (ANSI colours stripped).
first_update_s() {
  python3 - "$1" <<'PY'
import re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1], errors="replace").read())
hits = [l for l in text.splitlines() if "first update of this session" in l]
m = re.search(r'since_start_s="?([0-9.]+)', hits[-1]) if hits else None
if not m:
    sys.exit(f"{sys.argv[1]}: no 'first update of this session' line with since_start_s=")
print(m.group(1))
PY
}

rate() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / float(sys.argv[2]):,.0f}")' "$@"; }

TSV=bench/data_scale.tsv
if [ "$DRY_RUN" != 1 ]; then
  [ -f "$TSV" ] || printf 'date\tcpu\tgit_rev\tpairs\tprepare_s\tprepare_rss_mb\tprepare_1thread_s\ttrain_rss_mb\tresume_first_update_s\tcorpus_mb\n' > "$TSV"
fi
echo "cpu: $cpu ($(nproc) cores); tolk: $TOLK at $rev; work: $WORK"
[ "$DRY_RUN" = 1 ] || { echo
echo "| pairs | prepare s (pairs/s) | prepare RSS MB | prepare 1 thread s (pairs/s) | train 20 updates s | RSS MB | resume to 60 s | peak RSS in training MB | resume to first update s | corpus MB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"; }
for size in $SIZES; do
  pairs=$(pair_count "$size")
  corpus=$WORK/corpus-$pairs-s$SEED
  if [ -f "$corpus.en" ] && [ -f "$corpus.fr" ]; then
    echo "reusing $corpus.{en,fr}" >&2
  else
    python3 scripts/scale_corpus.py "$pairs" "$corpus" --seed "$SEED"
  fi
  config=$(write_config "$size" "$pairs")
  model=$WORK/model-$size
  if [ "$DRY_RUN" = 1 ]; then
    echo "--- $config" >&2
    cat "$config" >&2
    continue
  fi
  rm -rf "$model"
  one_s=NA one_rate=NA
  if [ "$THREADS_CHECK" != 0 ]; then
    measure "$size-prepare-1thread" env RAYON_NUM_THREADS=1 "$TOLK" prepare "$config"
    one_s=$wall one_rate=$(rate "$pairs" "$wall")
    rm -rf "$model"
  fi
  measure "$size-prepare" "$TOLK" prepare "$config"
  prep_s=$wall prep_rss=$rss prep_rate=$(rate "$pairs" "$wall")
  common=(--set training.validate_every=0 --set training.checkpoint_every=0)
  measure "$size-train" "$TOLK" train "$config" --set training.max_steps=20 "${common[@]}"
  train_s=$wall train_rss=$rss
  measure "$size-resume" "$TOLK" train "$config" --resume --set training.max_steps=60 "${common[@]}"
  resume_s=$wall resume_rss=$rss
  first=$(first_update_s "$LOGS/$size-resume.log")
  corpus_mb=$(du -sb "$model/corpus" | awk '{printf "%.1f", $1 / 1048576}')
  echo "| $pairs | $prep_s ($prep_rate) | $prep_rss | $one_s ($one_rate) | $train_s | $train_rss | $resume_s | $resume_rss | $first | $corpus_mb |"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$cpu" "$rev" \
    "$pairs" "$prep_s" "$prep_rss" "$one_s" "$resume_rss" "$first" "$corpus_mb" >> "$TSV"
done
