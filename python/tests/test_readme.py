"""README's Python section runs as written, with the tiny model standing in for the quickstart
model and its config for configs/quickstart.toml (so it trains for seconds, not a minute)."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import DATA, REPO, read_gz


def readme_python_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "README's Python section has one python block"
    return blocks[0]


def test_readme_python_section_runs(tiny_model, tmp_path):
    code = readme_python_block()
    assert '"runs/quickstart"' in code and '"configs/quickstart.toml"' in code
    code = code.replace('"runs/quickstart"', repr(str(tiny_model.dir)))
    code = code.replace('"configs/quickstart.toml"', repr(str(tiny_model.config)))
    code = code.replace('"training.max_minutes": 1', '"training.max_minutes": 0.05, "training.max_steps": 30')
    (tmp_path / "input.de").write_text("\n".join(read_gz(DATA / "test2016.de.gz", 100)) + "\n")
    (tmp_path / "reference.en").write_text("\n".join(read_gz(DATA / "test2016.en.gz", 100)) + "\n")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert "BLEU = " in out.stdout and "nrefs:1|case:mixed|eff:no|tok:13a" in out.stdout
    assert (tmp_path / "runs" / "py" / "last").is_dir()
