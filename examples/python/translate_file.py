"""Translate a file (plain or .gz), one sentence per line, with a trained tolk model.

    python examples/python/translate_file.py runs/quickstart data/multi30k/test2016.de.gz out.en

The output is what `tolk translate --model MODEL --input IN` writes, line for line.
"""

import argparse
import gzip
import time

import tolk


def read_lines(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--beam", type=int, default=None, help="beam size (default: the model's)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    translator = tolk.Translator(args.model, workers=args.workers)
    lines = read_lines(args.input)
    started = time.perf_counter()
    translations = translator.translate(lines, beam_size=args.beam)
    seconds = time.perf_counter() - started
    with open(args.output, "w", encoding="utf-8") as f:
        for t in translations:
            f.write(t.text + "\n")
    print(f"{len(lines)} lines in {seconds:.1f} s -> {args.output}")


if __name__ == "__main__":
    main()
