#!/usr/bin/env bash
# Builds a long-sentence probe set from a line-aligned test set (issue 13, Bahdanau et al. 2015
# Figure 2 on a corpus of short sentences): for k = 1..K, every non-overlapping run of k
# consecutive lines joined with a space, sources and references alike (a shorter tail is left
# out), all k in one file, k = 1 first. Pair it with models trained with data.concat_pairs = K,
# so that length generalisation is not what it measures; score with `tolk score --by-length`.
#
#   scripts/join_test_set.sh K SRC REF OUT_PREFIX   # writes OUT_PREFIX.src and OUT_PREFIX.ref
# SRC and REF may be gzipped.
set -euo pipefail
[ $# -eq 4 ] || { sed -n 2,9p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
k_max=$1 src=$2 ref=$3 out=$4
read_file() { case "$1" in *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac; }
join_k() {
  awk -v K="$k_max" '{ line[NR] = $0 } END {
    for (k = 1; k <= K; k++)
      for (s = 1; s + k - 1 <= NR; s += k) {
        j = line[s]; for (i = s + 1; i < s + k; i++) j = j " " line[i]; print j
      }
  }'
}
read_file "$src" | join_k > "$out.src"
read_file "$ref" | join_k > "$out.ref"
[ "$(wc -l < "$out.src")" -eq "$(wc -l < "$out.ref")" ] || { echo "line counts differ" >&2; exit 1; }
echo "wrote $out.src and $out.ref ($(wc -l < "$out.src") lines, k = 1..$k_max)" >&2
