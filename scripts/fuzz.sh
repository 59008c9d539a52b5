#!/usr/bin/env bash
# Fuzzes tolk's readers with cargo fuzz (libFuzzer, nightly toolchain, AddressSanitizer).
#   scripts/fuzz.sh [RUNS] [MAX_SECONDS] [TARGET ...]
# Each target runs until RUNS executions (default 1,000,000) or MAX_SECONDS (default 1800),
# whichever comes first, starting from the seeds `fuzz/src/bin/seeds.rs` writes; two targets
# at a time. Writes fuzz/results.tsv (target, executions, seconds, crashes, corpus size) and
# keeps crash inputs in fuzz/artifacts/TARGET/. Results are recorded in docs/robustness.md.
# Needs: rustup nightly, `cargo install cargo-fuzz`, scripts/setup-libtorch.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
runs=${1:-1000000}
secs=${2:-1800}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(translate_input checkpoint corpus config score tokenizer)
cargo +nightly fuzz build -O
bin=target/x86_64-unknown-linux-gnu/release
export LD_LIBRARY_PATH="$PWD/../.libtorch/lib" OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0
rm -rf seeds && "$bin/seeds" seeds
fuzz_one() {
    local t=$1
    mkdir -p "corpus/$t" "artifacts/$t" logs
    cp -n seeds/$t/* "corpus/$t/"
    local start=$SECONDS rc=0
    "$bin/$t" "corpus/$t" -runs="$runs" -max_total_time="$secs" -rss_limit_mb=4096 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 > "logs/$t.log" 2>&1 || rc=$?
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*$' || echo 0)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$execs" "$((SECONDS - start))" \
        "$(find "artifacts/$t" -type f | wc -l)" "$(ls "corpus/$t" | wc -l)" "$rc" >> results.tsv
}
printf 'target\texecutions\tseconds\tcrash_files\tcorpus_files\texit_code\n' > results.tsv
running=0
for t in "${targets[@]}"; do
    if (( running == 2 )); then wait -n || true; running=1; fi
    fuzz_one "$t" &
    running=$((running + 1))
done
wait
column -t results.tsv
