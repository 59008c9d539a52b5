#!/usr/bin/env bash
# The attention comparison of docs/attention.md: trains every mechanism on Multi30k
# German->English with one fixed budget and the same model size, translates test2016
# with beam 5, scores it, and draws one heatmap per mechanism for the same test sentence.
#
#   STEPS=600 SENTENCE=3 scripts/compare_attention.sh [variant ...]
#   MINUTES=20 scripts/compare_attention.sh [variant ...]
#
# STEPS: training budget per variant in optimizer steps (default 600; a step budget stays fair
# when the CPU is shared); MINUTES: a wall-time budget instead (used when STEPS=0);
# VALIDATE_EVERY: steps between validations (default 200); SENTENCE: 0-based test2016 line whose
# heatmap is drawn (default 3). Writes runs/attention/<variant>/ and docs/attention/results.{csv,md}
# plus docs/attention/<variant>.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
steps=${STEPS:-600}
minutes=${MINUTES:-20}
validate_every=${VALIDATE_EVERY:-200}
if [ "$steps" -gt 0 ]; then
  budget="training.max_steps=$steps"; budget_label="${steps} steps"
else
  budget="training.max_minutes=$minutes"; budget_label="${minutes} min"
fi
sentence=${SENTENCE:-3}
out=docs/attention
mkdir -p "$out" runs/attention

declare -A VARIANTS=(
  [bahdanau_additive]="model.decoder=bahdanau model.attention=additive"
  [luong_dot]="model.decoder=luong model.attention=dot"
  [luong_general]="model.decoder=luong model.attention=general"
  [luong_scaled_general]="model.decoder=luong model.attention=scaled_general"
  [luong_concat]="model.decoder=luong model.attention=concat"
  [luong_location]="model.decoder=luong model.attention=location"
  [luong_local_m_general]="model.decoder=luong model.attention=general model.attention_scope=local_m"
  [luong_local_p_general]="model.decoder=luong model.attention=general model.attention_scope=local_p"
  [bahdanau_hard]="model.decoder=bahdanau model.attention_selection=hard"
  [bahdanau_coverage]="model.decoder=bahdanau model.coverage=true"
)
ORDER=(bahdanau_additive luong_dot luong_general luong_scaled_general luong_concat luong_location
       luong_local_m_general luong_local_p_general bahdanau_hard bahdanau_coverage)
[ $# -gt 0 ] && ORDER=("$@")

./scripts/setup-libtorch.sh
cargo build --release
# A private copy, so that rebuilding the tree during the (long) comparison changes nothing here.
tolk=runs/attention/tolk
cp target/release/tolk "$tolk"
gzip -dc data/multi30k/test2016.de.gz > runs/attention/test2016.de
gzip -dc data/multi30k/test2016.en.gz > runs/attention/test2016.en

csv=$out/results.csv
[ -f "$csv" ] || echo "variant,budget,steps,best_valid_ppl,best_valid_bleu,test_bleu,test_chrf,train_tokens_per_s,beam5_tokens_per_s,date,machine" > "$csv"
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
for v in "${ORDER[@]}"; do
  dir=runs/attention/$v
  rm -rf "$dir"
  sets=()
  for kv in ${VARIANTS[$v]} $budget model.tie_target_embeddings=false \
            training.validate_every=$validate_every training.model_dir=$dir; do
    sets+=(--set "$kv")
  done
  echo "== $v: ${VARIANTS[$v]}"
  $tolk train configs/multi30k_de_en.toml "${sets[@]}" 2> "$dir.train.log" || { echo "$v failed: see $dir.train.log"; continue; }
  $tolk translate --model "$dir" --beam 5 --input runs/attention/test2016.de \
    --alignments "$dir/test2016.align.jsonl" > "$dir/test2016.hyp.en" 2> "$dir/translate.log"
  $tolk score --hyp "$dir/test2016.hyp.en" --ref runs/attention/test2016.en --json > "$dir/test2016.score.json"
  $tolk plot --alignments "$dir/test2016.align.jsonl" --index "$sentence" --out "$out/$v.png"
  $tolk plot --metrics "$dir/metrics.csv" --out "$out/$v.curves.png"
  python3 - "$v" "$budget_label" "$dir" "$machine" >> "$csv" <<'PY'
import csv, json, re, statistics, sys, datetime
v, budget, d, machine = sys.argv[1:]
rows = list(csv.DictReader(open(f"{d}/metrics.csv")))
best = max(rows, key=lambda r: float(r["valid_bleu"]))
score = json.load(open(f"{d}/test2016.score.json"))
log = re.sub(r"\x1b\[[0-9;]*m", "", open(f"{d}/translate.log").read())
beam_tps = re.findall(r'tokens_per_s="?([0-9.]+)', log)[-1]
tps = statistics.median(float(r["train_tokens_per_s"]) for r in rows)
print(f'{v},{budget},{rows[-1]["step"]},{float(best["valid_ppl"]):.2f},{float(best["valid_bleu"]):.2f},'
      f'{score["bleu"]:.2f},{score["chrf"]:.2f},{tps:.0f},{beam_tps},{datetime.date.today()},"{machine}"')
PY
done
python3 - "$csv" > "$out/results.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| mechanism | budget | steps | valid ppl | valid BLEU (greedy) | test2016 BLEU (beam 5) | chrF | train tok/s | beam-5 tok/s | date |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f'| {r["variant"]} | {r["budget"]} | {r["steps"]} | {r["best_valid_ppl"]} | {r["best_valid_bleu"]} | {r["test_bleu"]} | {r["test_chrf"]} | {r["train_tokens_per_s"]} | {r["beam5_tokens_per_s"]} | {r["date"]} |')
PY
cat "$out/results.md"
