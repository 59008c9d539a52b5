#!/usr/bin/env python3
"""Synthetic large parallel corpus for scale benchmarks (issue 29, bench/data_scale.sh).

Each output pair is two random pairs of the shipped Tatoeba English-French training data
(data/tatoeba-en-fr/train.{en,fr}.gz, 156,977 pairs) joined with one space: the two English
sentences on the English side, the same two French sentences, in the same order, on the French
side. Indices are drawn with random.Random(SEED), so the output is a function of PAIRS and SEED.

    python3 scripts/scale_corpus.py PAIRS OUT_PREFIX [--seed 1]

writes OUT_PREFIX.en and OUT_PREFIX.fr (plain UTF-8, one pair per line; each is written as
OUT_PREFIX.LANG.partial and renamed when complete, so a finished file is never a truncated one).
PAIRS is a count with an optional k/M suffix: 160000, 0.16M, 1M, 16M. Only the input pairs are
kept in memory; the output is written in chunks of 262,144 pairs (16M pairs, 1.0 GB English and
1.2 GB French, took 24 s and 240 MB peak RSS on a 2-core AMD EPYC; 1M pairs 1.7 s).

FOR BENCHMARKS ONLY: the generated pairs repeat Tatoeba sentences over and over (and so overlap
the dev split's vocabulary and style, and every Tatoeba sentence many times); never evaluate on
them, and never report a model trained on them as a translation result.

Data licence: Tatoeba via manythings.org/anki, CC BY 2.0. Anything that redistributes this data,
these generated files, or a model trained on them must credit "www.manythings.org/anki and
tatoeba.org" (data/README.md, data/tatoeba-en-fr/_about.txt).
"""
import argparse
import decimal
import gzip
import os
import random
import sys
import time
from operator import itemgetter

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tatoeba-en-fr")
LANGS = ("en", "fr")
CHUNK = 1 << 18  # output pairs per write: ~40 MB per side at a time


def parse_pairs(text):
    """'160000', '1M', '0.16M', '2k' -> int; a whole, positive number of pairs."""
    t = text.strip().replace("_", "")
    scale = {"k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6}.get(t[-1:], 1)
    if scale != 1:
        t = t[:-1]
    try:
        n = decimal.Decimal(t) * scale
    except decimal.InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a pair count: {text!r}") from None
    if not n.is_finite() or n != n.to_integral_value() or n < 1:
        raise argparse.ArgumentTypeError(f"not a whole positive pair count: {text!r}")
    return int(n)


def read_lines(path):
    with gzip.open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines[0].decode("utf-8")  # cheap sanity check; the shipped files are UTF-8 throughout
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", type=parse_pairs, help="number of output pairs: 160000, 0.16M, 1M, 16M")
    ap.add_argument("out_prefix", help="writes OUT_PREFIX.en and OUT_PREFIX.fr")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.monotonic()

    sides = [read_lines(os.path.join(DATA, f"train.{lang}.gz")) for lang in LANGS]
    n = len(sides[0])
    if any(len(s) != n for s in sides):
        sys.exit(f"scale_corpus: {DATA}: train files differ in line count")
    # First sentence of a pair with its joining space, second with its newline: an output line
    # is then firsts[i] + seconds[j], concatenated in C by bytes.join.
    firsts = [[s + b" " for s in side] for side in sides]
    seconds = [[s + b"\n" for s in side] for side in sides]
    del sides

    rng = random.Random(args.seed)
    population = range(n)
    paths = [f"{args.out_prefix}.{lang}" for lang in LANGS]
    files = [open(p + ".partial", "wb", buffering=1 << 22) for p in paths]
    written = [0] * len(LANGS)
    left = args.pairs
    while left:
        k = min(left, CHUNK)
        # 2k draws, consumed in order: pair p uses draws 2p and 2p+1, whatever CHUNK is.
        idx = rng.choices(population, k=2 * k)
        first, second = idx[0::2], idx[1::2]
        for s, f in enumerate(files):
            parts = [None] * (2 * k)
            # itemgetter of one index returns the item, not a 1-tuple.
            parts[0::2] = itemgetter(*first)(firsts[s]) if k > 1 else [firsts[s][first[0]]]
            parts[1::2] = itemgetter(*second)(seconds[s]) if k > 1 else [seconds[s][second[0]]]
            buf = b"".join(parts)
            f.write(buf)
            written[s] += len(buf)
        left -= k
    for f in files:
        f.close()
    for p in paths:
        os.replace(p + ".partial", p)
    sizes = ", ".join(f"{p}: {b:,} bytes" for p, b in zip(paths, written))
    print(f"scale_corpus: {args.pairs:,} pairs (seed {args.seed}) in {time.monotonic() - t0:.1f} s; "
          f"{sizes}", file=sys.stderr)


if __name__ == "__main__":
    main()
