"""tolk.score against the sacrebleu package on the shipped fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sacrebleu

import tolk
from tolk import score

from conftest import REPO

METRICS = REPO / "tests" / "fixtures" / "metrics"
SIGNIFICANCE = REPO / "tests" / "fixtures" / "significance"


def lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return out


def fixtures():
    expected = json.loads((METRICS / "expected.json").read_text())
    return sorted(expected["fixtures"].items())


@pytest.mark.parametrize("name,fixture", fixtures(), ids=[n for n, _ in fixtures()])
def test_bleu_and_chrf_equal_sacrebleu(name, fixture):
    hyps = lines(METRICS / fixture["hyp"])
    refs = [lines(METRICS / r) for r in fixture["refs"]]
    ours, theirs = score.bleu(hyps, refs), sacrebleu.corpus_bleu(hyps, refs)
    assert ours.score == theirs.score
    assert ours.counts == list(theirs.counts) and ours.totals == list(theirs.totals)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert str(ours) == theirs.format()
    ours_c, theirs_c = score.chrf(hyps, refs), sacrebleu.corpus_chrf(hyps, refs)
    assert ours_c.score == theirs_c.score
    assert str(ours_c) == theirs_c.format()


def test_one_stream_may_be_given_as_a_plain_list():
    hyps = lines(METRICS / "perturbed.hyp")
    refs = lines(METRICS / "perturbed.ref")
    assert score.bleu(hyps, refs).score == sacrebleu.corpus_bleu(hyps, [refs]).score
    assert score.bleu(hyps, refs).signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a")


def test_paired_bootstrap_equals_sacrebleu():
    expected = json.loads((SIGNIFICANCE / "expected.json").read_text())
    refs = lines(SIGNIFICANCE / "val400.ref")
    names = [s["name"] for s in expected["systems"]]
    outputs = {n: lines(SIGNIFICANCE / f"{n}.hyp") for n in names}
    result = score.paired_bootstrap(outputs[names[0]], {n: outputs[n] for n in names[1:]}, refs)
    assert result.names == ["baseline", *names[1:]]
    for system, b, c in zip(expected["systems"], result.bleu, result.chrf):
        for got, want in ((b, system["BLEU"]), (c, system["chrF2"])):
            assert got.score == pytest.approx(want["score"], abs=1e-9)
            assert got.p_value == want["p_value"]
            assert got.mean == pytest.approx(want["mean"], abs=1e-6)
            assert got.ci == pytest.approx(want["ci"], abs=1e-6)


def test_mismatched_lengths_raise_input_error():
    with pytest.raises(tolk.InputError, match="reference stream 0 has 1 lines but there are 2"):
        score.bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="system 1 has 1 lines"):
        score.paired_bootstrap(["a", "b"], [["a"]], ["a", "b"])
