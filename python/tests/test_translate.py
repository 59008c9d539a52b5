"""Translator against the tolk binary: the same outputs, attention and errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
import torch

import tolk

from conftest import DATA, cli_env


def cli_translate(tolk_bin, model, *args, input=None):
    cmd = [str(tolk_bin), "translate", "--model", str(model), "--threads", "1", *args]
    out = subprocess.run(cmd, input=input, capture_output=True, text=True, env=cli_env(), check=True)
    return out.stdout


def test_beam_outputs_equal_the_cli_on_test2016_byte_for_byte(tiny_model, tolk_bin, test2016):
    translator = tolk.Translator(tiny_model.dir, threads=1)
    got = translator.translate(test2016, beam_size=5)
    want = cli_translate(tolk_bin, tiny_model.dir, "--beam", "5", "--input", str(DATA / "test2016.de.gz"))
    assert "".join(t.text + "\n" for t in got) == want
    assert len(got) == 1000 and all(len(t.hypotheses) == 1 for t in got)


def test_nbest_lists_and_scores_equal_the_cli(tiny_model, tolk_bin, test2016):
    lines = test2016[:40]
    translator = tolk.Translator(tiny_model.dir, threads=1)
    got = translator.translate(lines, beam_size=4, n_best=3, length_penalty=0.6)
    want = cli_translate(
        tolk_bin, tiny_model.dir, "--beam", "4", "--nbest", "3", "--alpha", "0.6",
        input="\n".join(lines) + "\n",
    )
    rows = [
        f"{i} ||| {h.text} ||| {h.score:.4f}\n" for i, t in enumerate(got) for h in t.hypotheses
    ]
    assert "".join(rows) == want
    for t in got:
        assert [h.score for h in t.hypotheses] == sorted((h.score for h in t.hypotheses), reverse=True)


def test_attention_rows_sum_to_one_and_equal_the_cli_alignments(tiny_model, tolk_bin, test2016, tmp_path):
    lines = test2016[:50]
    translator = tolk.Translator(tiny_model.dir, threads=1)
    got = translator.translate(lines, beam_size=5, return_attention=True, return_alignment=True)
    jsonl = tmp_path / "align.jsonl"
    pharaoh = tmp_path / "align.pharaoh"
    cli_translate(
        tolk_bin, tiny_model.dir, "--beam", "5", "--alignments", str(jsonl), "--pharaoh", str(pharaoh),
        input="\n".join(lines) + "\n",
    )
    records = [json.loads(l) for l in jsonl.read_text().splitlines()]
    links = pharaoh.read_text().splitlines()
    assert len(records) == len(got) == len(links)
    for t, rec, link in zip(got, records, links):
        h = t.best
        assert isinstance(h.attention, np.ndarray) and h.attention.dtype == np.float32
        assert h.attention.shape == (len(rec["tgt_tokens"]), len(rec["src_tokens"]))
        np.testing.assert_allclose(h.attention.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(h.attention, np.array(rec["weights"], dtype=np.float32))
        assert h.source_tokens == rec["src_tokens"]
        assert h.tokens == [p for p in rec["tgt_tokens"] if p != "</s>"]
        assert " ".join(f"{i}-{j}" for i, j in h.alignment) == link


def test_split_sentences_equals_the_cli(tiny_model, tolk_bin, test2016):
    paragraphs = [" ".join(test2016[i : i + 3]) for i in range(0, 30, 3)] + ["", "Ein Hund.  Zwei Katzen!"]
    translator = tolk.Translator(tiny_model.dir, threads=1)
    got = translator.translate(paragraphs, split_sentences=True, return_attention=True)
    want = cli_translate(tolk_bin, tiny_model.dir, "--split-sentences", input="\n".join(paragraphs) + "\n")
    assert "".join(t.text + "\n" for t in got) == want
    assert len(got[0].sentences) == 3 and got[0].sentences[0][0].attention is not None
    assert got[-2].text == "" and got[-2].sentences == []


def test_torch_attention_shares_the_arrays_memory(tiny_model, test2016):
    translator = tolk.Translator(tiny_model.dir, threads=1)
    as_numpy = translator.translate(test2016[:5], return_attention="numpy")
    as_torch = translator.translate(test2016[:5], return_attention="torch")
    for a, t in zip(as_numpy, as_torch):
        tensor = t.attention
        assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
        assert torch.equal(tensor, torch.from_numpy(a.attention))
        view = tensor.numpy()
        view[0, 0] = 42.0  # a round trip through numpy writes the tensor's own memory
        assert tensor[0, 0].item() == 42.0


def test_a_damaged_checkpoint_raises_model_error_naming_the_file(tiny_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model.dir, broken, symlinks=True)
    weights = broken / "best" / "model.safetensors"
    weights = weights.resolve()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(tolk.ModelError, match="model.safetensors"):
        tolk.Translator(broken)
    with pytest.raises(tolk.ModelError, match="config.toml"):
        tolk.Translator(tmp_path / "no-such-model")


def test_settings_out_of_range_raise_input_error(tiny_model):
    translator = tolk.Translator(tiny_model.dir, threads=1)
    with pytest.raises(tolk.InputError, match="beam size 0"):
        translator.translate(["Ein Hund."], beam_size=0)
    with pytest.raises(ValueError, match="n-best"):
        translator.translate(["Ein Hund."], beam_size=2, n_best=3)
    with pytest.raises(TypeError):
        translator.translate("Ein Hund.")
    with pytest.raises(tolk.InputError, match="workers"):
        tolk.Translator(tiny_model.dir, workers=0)


def test_an_ensemble_of_one_model_is_that_model(tiny_model, test2016):
    single = tolk.Translator(tiny_model.dir, threads=1).translate(test2016[:30])
    ensemble = tolk.Translator([tiny_model.dir, tiny_model.dir], threads=1).translate(test2016[:30])
    assert [t.text for t in single] == [t.text for t in ensemble]


def test_two_python_threads_translate_in_parallel(tiny_model, test2016):
    """Search releases the GIL: two threads, each with its own 1-thread translator, finish
    faster than the same two calls one after the other."""
    if len(__import__("os").sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 cores")
    lines = test2016[:300]
    translators = [tolk.Translator(tiny_model.dir, threads=1) for _ in range(2)]
    translators[0].translate(lines[:20])  # warm up
    translators[1].translate(lines[:20])

    def run(t, out, k):
        out[k] = [x.text for x in t.translate(lines, beam_size=5)]

    seq: dict = {}
    t0 = time.perf_counter()
    run(translators[0], seq, 0)
    run(translators[1], seq, 1)
    sequential = time.perf_counter() - t0
    par: dict = {}
    threads = [threading.Thread(target=run, args=(t, par, k)) for k, t in enumerate(translators)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    parallel = time.perf_counter() - t0
    assert par == seq
    assert parallel < 0.85 * sequential, f"parallel {parallel:.2f} s vs sequential {sequential:.2f} s"


def test_one_translator_shared_by_threads_gives_the_same_outputs(tiny_model, test2016):
    translator = tolk.Translator(tiny_model.dir, threads=2, workers=2)
    lines = test2016[:60]
    want = [t.text for t in translator.translate(lines)]
    results: dict = {}

    def run(k):
        results[k] = [t.text for t in translator.translate(lines)]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(results[k] == want for k in range(3))
