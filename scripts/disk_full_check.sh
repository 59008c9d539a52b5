#!/usr/bin/env bash
# Disk full during a checkpoint write: trains a tiny model into a 2 MB tmpfs (needs root to
# mount) until a checkpoint no longer fits, then checks that the run stopped with a clear
# error, that the last complete checkpoint still loads, and that `--resume` continues from it
# once there is room again. Recorded in docs/robustness.md.
#   scripts/disk_full_check.sh [TOLK_BINARY]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tolk=${1:-target/release/tolk}
work=$(mktemp -d)
mnt="$work/tiny"
mkdir -p "$mnt"
mount -t tmpfs -o size=2m tmpfs "$mnt"
trap 'umount "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import random, sys
de = "ein mann frau hund läuft auf der straße im park spielt ball".split()
en = "a man woman dog runs on the street in park plays ball".split()
r = random.Random(1)
for name, n in (("train", 300), ("valid", 20)):
    with open(f"{sys.argv[1]}/{name}.de", "w") as s, open(f"{sys.argv[1]}/{name}.en", "w") as t:
        for _ in range(n):
            idx = [r.randrange(len(de)) for _ in range(r.randrange(3, 8))]
            s.write(" ".join(de[i] for i in idx) + "\n")
            t.write(" ".join(en[i] for i in idx) + "\n")
PY
cat > "$work/tiny.toml" <<TOML
[data]
train_src = "train.de"
train_tgt = "train.en"
valid_src = "valid.de"
valid_tgt = "valid.en"
[subword]
vocab_size = 60
min_frequency = 1
[model]
src_embed_dim = 32
tgt_embed_dim = 32
encoder_hidden = 32
decoder_hidden = 32
attention_dim = 32
output_dim = 32
[training]
model_dir = "tiny/model"
max_steps = 60
validate_every = 20
checkpoint_every = 5
keep_checkpoints = 10
threads = 1
TOML
export OMP_WAIT_POLICY=PASSIVE RUST_LOG=warn
set +e
"$tolk" train "$work/tiny.toml" 2> "$work/err.log"
rc=$?
set -e
echo "--- tolk train exit code $rc; its error:"
grep -A6 "^Error" "$work/err.log" | grep -v "^$"
df -h "$mnt" | tail -1
echo "--- what is on disk:"
ls "$mnt/model" | tr "\n" " "; echo; grep -o '"step": [0-9]*' "$mnt/model/last/state.json"
echo "--- the last complete checkpoint loads and translates:"
echo "ein mann läuft" | "$tolk" translate --model "$mnt/model" --checkpoint last --beam 2
echo "--- with room again (keep_checkpoints = 1, older step-N/ removed), --resume finishes:"
rm -rf "$mnt"/model/step-*
"$tolk" train "$work/tiny.toml" --resume --set training.keep_checkpoints=1
grep -o '"step": [0-9]*' "$mnt/model/last/state.json"
