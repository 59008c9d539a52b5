"""tolk and torch in one process: either import order, one libtorch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import {first}, {second}
import torch, tolk
x = torch.ones(3, 3) @ torch.ones(3, 3)
assert float(x.sum()) == 27.0
assert round(tolk.score.bleu(["a b c d"], ["a b c d"]).score, 6) == 100.0
maps = open("/proc/self/maps").read()
libs = {{l.split()[-1] for l in maps.splitlines() if l.endswith("libtorch_cpu.so")}}
print(len(libs), torch.__version__)
"""


@pytest.mark.parametrize("first,second", [("torch", "tolk"), ("tolk", "torch")])
def test_either_import_order_shares_one_libtorch(first, second):
    script = textwrap.dedent(SCRIPT.format(first=first, second=second))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    count, version = out.stdout.split()
    assert count == "1", f"libtorch_cpu.so mapped from {count} paths"
    assert version.startswith("2.11.0")
