#!/usr/bin/env bash
# The main job: install libtorch (once), build tolk, train the quickstart model on the shipped
# Multi30k German->English (at most 6 minutes of training), translate test2016 with beam 5 and
# print its BLEU and chrF. Output goes to runs/quickstart/. Translation runs two search workers
# (`--workers 2`, the fastest setting measured, with output identical to one; README "Speed").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup-libtorch.sh
cargo build --release
rm -rf runs/quickstart
./target/release/tolk train configs/quickstart.toml
gzip -dc data/multi30k/test2016.de.gz > runs/quickstart/test2016.de
gzip -dc data/multi30k/test2016.en.gz > runs/quickstart/test2016.ref.en
./target/release/tolk translate --model runs/quickstart --beam 5 --workers 2 \
  --input runs/quickstart/test2016.de > runs/quickstart/test2016.hyp.en
./target/release/tolk score --hyp runs/quickstart/test2016.hyp.en --ref runs/quickstart/test2016.ref.en
