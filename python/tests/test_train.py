"""tolk.train in this process: rows, resumable stops, overrides, averaging."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import pytest

import tolk

from conftest import REPO, write_config


def test_validation_rows_reach_the_callback_as_metrics_csv_has_them(tiny_model):
    assert [r.step for r in tiny_model.rows] == list(range(20, 161, 20))
    assert all(isinstance(r, tolk.MetricsRow) for r in tiny_model.rows)
    with open(tiny_model.dir / "metrics.csv", newline="") as f:
        logged = list(csv.DictReader(f))
    assert [int(r["step"]) for r in logged] == list(range(20, 161, 20))
    for row, rec in zip(tiny_model.rows, logged):
        assert f"{row.valid_bleu:.2f}" == rec["valid_bleu"]
    assert tiny_model.summary.steps == 160 and not tiny_model.summary.stopped_on_request
    assert tiny_model.summary.best_valid_bleu == max(r.valid_bleu for r in tiny_model.rows)


def test_ctrl_c_stops_with_a_resumable_last(tmp_path):
    """SIGINT during training: KeyboardInterrupt after last/ is saved; resume finishes."""
    config = write_config(tmp_path, "stopped", max_steps=200)
    script = textwrap.dedent(
        f"""
        import json, os, signal, sys
        sys.path.insert(0, {str(REPO / 'python' / 'tests')!r})
        import tolk
        def on_row(row):
            os.kill(os.getpid(), signal.SIGINT)
        try:
            tolk.train({str(config)!r}, on_validation=on_row)
        except KeyboardInterrupt:
            print("interrupted")
        state = json.load(open({str(tmp_path / 'stopped' / 'last' / 'state.json')!r}))
        print(state["step"])
        summary = tolk.train({str(config)!r}, overrides={{"training.max_steps": 60}}, resume=True)
        print(summary.steps, summary.stopped_on_request)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    printed = out.stdout.split()
    assert printed[0] == "interrupted"
    assert 20 <= int(printed[1]) < 200  # stopped soon after the first validation
    assert printed[2:] == ["60", "False"]


def test_overrides_are_config_keys_and_bad_ones_raise_input_error(tmp_path):
    config = write_config(tmp_path, "bad", max_steps=1)
    with pytest.raises(tolk.InputError, match="no_such_key"):
        tolk.train(config, overrides={"training.no_such_key": 1})
    with pytest.raises(tolk.InputError):
        tolk.train(config, resume=True, overwrite=True)
    assert tolk.train(config).steps == 1
    with pytest.raises(tolk.InputError, match="already holds"):
        tolk.train(config)
    assert tolk.train(config, overwrite=True).steps == 1


def test_a_missing_corpus_raises_io_error_naming_it(tmp_path):
    config = write_config(tmp_path, "nodata", max_steps=1)
    with pytest.raises(tolk.IOError, match="missing.de"):
        tolk.train(config, overrides={"data.train_src": str(tmp_path / "missing.de")})


def test_average_of_the_last_checkpoints_translates(tiny_model, tmp_path):
    out = tmp_path / "avg"
    dirs = tolk.average(tiny_model.dir, out, last=2)
    assert [d.name for d in dirs] == ["step-140", "step-160"]
    translations = tolk.Translator(out, threads=1).translate(["Ein Hund läuft.", "Zwei Männer."])
    assert len(translations) == 2 and all(t.score < 0 for t in translations)
    with pytest.raises(tolk.InputError, match="4 step checkpoints asked for"):
        tolk.average(tiny_model.dir, tmp_path / "avg2", last=4)
    state = json.loads((out / "best" / "state.json").read_text())
    assert len(state["averaged_from"]) == 2


def test_subword_model_round_trips(tiny_model):
    sm = tolk.SubwordModel.from_model_dir(tiny_model.dir, "source")
    text = "Ein Mann fährt Fahrrad."
    ids = sm.encode(text)
    assert sm.decode(ids) == text
    assert [sm.id_to_piece(i) for i in ids] == sm.pieces(text)
    assert len(sm) == sm.vocab_size <= 400
    assert sm.encode_batch([text, text]) == [ids, ids]
    same = tolk.SubwordModel(str(tiny_model.dir / "tokenizer.json"))
    assert same.encode(text) == ids
    with pytest.raises(tolk.InputError, match="side"):
        tolk.SubwordModel.from_model_dir(tiny_model.dir, "middle")
