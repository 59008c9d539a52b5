"""Python's Translator.translate against the tolk binary on Multi30k test2016 (1,000 lines):
the overhead of the Python layer (issue 30). Not a test: run by hand, figures in
bench/python_translate.tsv and bench/results.md.

    target/python-venv/bin/python bench/python_translate.py --model runs/quickstart

For each setting (beam 1 and 5; workers 1 and 2) and repeat, in alternation:
  - binary: `tolk translate --model M --input test2016.de.gz --beam B --workers W`, its own
    "translated ... seconds=" log line (translation only, no process start or model load), and
    the command's wall time;
  - Python: `Translator(M, workers=W).translate(lines, beam_size=B)` timed with perf_counter,
    plus the Translator's load time.
Outputs are checked equal. The median of the repeats is reported; the ratio Python/binary of
translation seconds is the overhead.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import platform
import re
import statistics
import subprocess
import time
from pathlib import Path

import tolk

REPO = Path(__file__).resolve().parents[1]
TEST = REPO / "data" / "multi30k" / "test2016.de.gz"


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def run_binary(tolk_bin: str, model: str, beam: int, workers: int) -> tuple[float, float, str]:
    env = {**os.environ, "RUST_LOG": "info", "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [tolk_bin, "translate", "--model", model, "--input", str(TEST), "--beam", str(beam),
           "--workers", str(workers)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - t0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out.stderr)
    seconds = float(re.search(r'translated .*?seconds="?([0-9.]+)', plain).group(1))
    return seconds, wall, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(REPO / "runs" / "quickstart"))
    ap.add_argument("--tolk", default=str(REPO / "target" / "release" / "tolk"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tsv", default=str(REPO / "bench" / "python_translate.tsv"))
    args = ap.parse_args()

    with gzip.open(TEST, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    cpu, today = cpu_model(), datetime.date.today().isoformat()
    rows = []
    for beam in (1, 5):
        for workers in (1, 2):
            load_t0 = time.perf_counter()
            translator = tolk.Translator(args.model, workers=workers)
            load = time.perf_counter() - load_t0
            translator.translate(lines[:50], beam_size=beam)  # warm-up, as the binary's first chunk
            py, cli, cli_wall = [], [], []
            for _ in range(args.repeats):
                seconds, wall, text = run_binary(args.tolk, args.model, beam, workers)
                cli.append(seconds)
                cli_wall.append(wall)
                t0 = time.perf_counter()
                out = translator.translate(lines, beam_size=beam)
                py.append(time.perf_counter() - t0)
                assert "".join(t.text + "\n" for t in out) == text, "outputs differ"
            row = {
                "date": today, "cpu": cpu, "commit": commit, "model": Path(args.model).name,
                "beam": beam, "workers": workers,
                "binary_translate_s": statistics.median(cli),
                "binary_wall_s": statistics.median(cli_wall),
                "python_translate_s": statistics.median(py),
                "python_load_s": load,
            }
            row["python_over_binary"] = row["python_translate_s"] / row["binary_translate_s"]
            rows.append(row)
            print("\t".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()), flush=True)
    new = not Path(args.tsv).exists()
    with open(args.tsv, "a", encoding="utf-8") as f:
        if new:
            f.write("\t".join(rows[0].keys()) + "\n")
        for row in rows:
            f.write("\t".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()) + "\n")


if __name__ == "__main__":
    main()
