"""The scripts of examples/python/ run as README shows them."""

from __future__ import annotations

import subprocess
import sys

from conftest import DATA, REPO, read_gz

EXAMPLES = REPO / "examples" / "python"


def run(*args: str) -> str:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_translate_file_plot_attention_and_compare_systems(tiny_model, tmp_path):
    source = tmp_path / "input.de"
    source.write_text("\n".join(read_gz(DATA / "test2016.de.gz", 100)) + "\n")
    reference = tmp_path / "reference.en"
    reference.write_text("\n".join(read_gz(DATA / "test2016.en.gz", 100)) + "\n")
    greedy, beam = tmp_path / "greedy.en", tmp_path / "beam.en"
    run(str(EXAMPLES / "translate_file.py"), str(tiny_model.dir), str(source), str(greedy), "--beam", "1")
    run(str(EXAMPLES / "translate_file.py"), str(tiny_model.dir), str(source), str(beam), "--workers", "2")
    assert len(beam.read_text().splitlines()) == 100

    png = tmp_path / "attention.png"
    run(str(EXAMPLES / "plot_attention.py"), str(tiny_model.dir), "Ein Hund rennt durch den Schnee.", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    table = run(str(EXAMPLES / "compare_systems.py"), str(reference), str(greedy), str(beam))
    assert "BLEU = " in table and "chrF2 = " in table
    assert str(beam) in table.splitlines()[-1]
