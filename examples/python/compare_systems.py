"""Score two systems' outputs against references and test the difference with paired
bootstrap resampling (sacreBLEU's --paired-bs: 1,000 resamples, seed 12345).

    python examples/python/compare_systems.py reference.en baseline.en system.en
"""

import argparse

from tolk import score


def read(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("baseline")
    ap.add_argument("systems", nargs="+")
    args = ap.parse_args()

    refs = read(args.reference)
    baseline = read(args.baseline)
    systems = {path: read(path) for path in args.systems}
    for name, hyps in {args.baseline: baseline, **systems}.items():
        print(f"{name}: {score.bleu(hyps, refs)}  {score.chrf(hyps, refs)}")
    result = score.paired_bootstrap(baseline, systems, refs)
    print(f"\n{'system':<30} {'BLEU (μ ± 95% CI)':>24} {'p':>8} {'chrF2 (μ ± 95% CI)':>24} {'p':>8}")
    for name, b, c in zip([args.baseline, *systems], result.bleu, result.chrf):
        bp = "" if b.p_value is None else f"{b.p_value:.4f}"
        cp = "" if c.p_value is None else f"{c.p_value:.4f}"
        print(
            f"{name:<30} {b.score:6.2f} ({b.mean:.2f} ± {b.ci:.2f}) {bp:>8}"
            f" {c.score:6.2f} ({c.mean:.2f} ± {c.ci:.2f}) {cp:>8}"
        )


if __name__ == "__main__":
    main()
