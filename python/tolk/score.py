"""BLEU and chrF exactly as sacreBLEU 2.x computes them with its defaults, and sacreBLEU's
paired bootstrap resampling (Koehn 2004) to compare systems.

>>> from tolk import score
>>> round(score.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]).score, 2)
100.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Union

from . import _native

#: sacreBLEU's ``BLEUScore``: ``score``, ``counts``, ``totals``, ``precisions``, ``bp``,
#: ``sys_len``, ``ref_len``, ``signature``; ``str()`` is sacreBLEU's ``format()``.
BLEUScore = _native.BLEUScore
#: sacreBLEU's ``CHRFScore``: ``score``, ``name``, ``signature``.
CHRFScore = _native.CHRFScore

References = Union[Sequence[str], Sequence[Sequence[str]]]


def _streams(refs: References) -> list[list[str]]:
    """Reference streams from one stream (a list of str) or several (sacreBLEU's form)."""
    if isinstance(refs, str):
        raise TypeError("refs must be a list of reference lines, not one str")
    refs = list(refs)
    if refs and all(isinstance(r, str) for r in refs):
        return [refs]
    return [list(stream) for stream in refs]


def bleu(hyps: Sequence[str], refs: References) -> BLEUScore:
    """Corpus BLEU, equal to ``sacrebleu.corpus_bleu(hyps, [refs])``.

    Args:
        hyps: the hypotheses, one line each (detokenised text).
        refs: the references: one line per hypothesis, or several such streams
            (``refs[k][i]`` the k-th reference of line i), as sacreBLEU takes them.

    Raises:
        tolk.InputError: a reference stream of another length than ``hyps``.
    """
    return _native.bleu(list(hyps), _streams(refs))


def chrf(hyps: Sequence[str], refs: References) -> CHRFScore:
    """Corpus chrF (chrF2), equal to ``sacrebleu.corpus_chrf(hyps, [refs])``; ``refs`` as in
    :func:`bleu`."""
    return _native.chrf(list(hyps), _streams(refs))


@dataclass(frozen=True)
class PairedResult:
    """One system's result of the paired bootstrap.

    Attributes:
        score: its corpus score.
        p_value: p-value of its difference to the baseline (``None`` for the baseline).
        mean: mean score over the resamples.
        ci: half-width of the 95 % confidence interval around the mean.
    """

    score: float
    p_value: Optional[float]
    mean: float
    ci: float


@dataclass(frozen=True)
class PairedBootstrap:
    """BLEU and chrF results of each system, the baseline first, in ``names`` order."""

    names: list[str]
    bleu: list[PairedResult]
    chrf: list[PairedResult]


def paired_bootstrap(
    baseline: Sequence[str],
    systems: Union[Sequence[Sequence[str]], Mapping[str, Sequence[str]]],
    refs: Sequence[str],
) -> PairedBootstrap:
    """sacreBLEU's ``--paired-bs`` for BLEU and chrF (1,000 resamples, seed 12345): the same
    numbers as ``sacrebleu REF -i BASELINE SYS... --paired-bs -m bleu chrf``.

    Args:
        baseline: the baseline system's lines.
        systems: the other systems' lines, as a list or a dict name → lines.
        refs: one reference line per line.

    Raises:
        tolk.InputError: no system, or a system of another length than ``refs``.
    """
    if isinstance(systems, Mapping):
        names = ["baseline", *systems.keys()]
        outputs = [list(s) for s in systems.values()]
    else:
        outputs = [list(s) for s in systems]
        names = ["baseline", *(f"system {i + 1}" for i in range(len(outputs)))]
    b, c = _native.paired_bootstrap([list(baseline), *outputs], list(refs))
    return PairedBootstrap(
        names=names,
        bleu=[PairedResult(*r) for r in b],
        chrf=[PairedResult(*r) for r in c],
    )


__all__ = ["bleu", "chrf", "paired_bootstrap", "BLEUScore", "CHRFScore", "PairedResult", "PairedBootstrap"]
