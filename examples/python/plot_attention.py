"""Plot the attention matrix of one translation with matplotlib (Bahdanau et al. 2015, Fig. 3).

    python examples/python/plot_attention.py runs/quickstart "Ein Hund rennt durch den Schnee." attention.png
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import tolk  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("sentence")
    ap.add_argument("output", help="image file (.png, .svg, .pdf)")
    args = ap.parse_args()

    translator = tolk.Translator(args.model)
    best = translator.translate([args.sentence], return_attention=True)[0].best
    alpha = best.attention  # numpy float32 [tgt_len, src_len]; each row sums to 1
    rows = best.tokens + ["</s>"] * (alpha.shape[0] - len(best.tokens))

    fig, ax = plt.subplots(figsize=(0.5 * alpha.shape[1] + 2, 0.5 * alpha.shape[0] + 1.5))
    ax.imshow(alpha, cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(alpha.shape[1]), best.source_tokens, rotation=90)
    ax.set_yticks(range(alpha.shape[0]), rows)
    ax.set_xlabel("source subwords")
    ax.set_ylabel("output subwords")
    ax.set_title(best.text, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"{best.text}\n{alpha.shape[0]}x{alpha.shape[1]} attention matrix -> {args.output}")


if __name__ == "__main__":
    main()
