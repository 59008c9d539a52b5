"""Fixtures of the Python package's tests: a tiny model trained once per session with
``tolk.train`` on the first lines of the shipped Multi30k, the ``tolk`` binary to compare with,
and the test2016 source lines."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

import tolk

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "multi30k"


def read_gz(path: Path, n: int | None = None) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines if n is None else lines[:n]


@dataclass
class TinyModel:
    dir: Path
    config: Path
    rows: list
    summary: tolk.TrainSummary


def write_config(root: Path, name: str, max_steps: int, extra: str = "") -> Path:
    """A tiny model on 3,000 Multi30k pairs, one thread, validated every 20 updates."""
    for split, n in (("train", 3000), ("val", 100)):
        for lang in ("de", "en"):
            out = root / f"{split}.{lang}"
            if not out.exists():
                out.write_text("\n".join(read_gz(DATA / f"{split}.{lang}.gz", n)) + "\n")
    config = root / f"{name}.toml"
    config.write_text(
        f"""
[data]
train_src = "{root / 'train.de'}"
train_tgt = "{root / 'train.en'}"
valid_src = "{root / 'val.de'}"
valid_tgt = "{root / 'val.en'}"

[subword]
joint = true
vocab_size = 400

[model]
src_embed_dim = 32
tgt_embed_dim = 32
encoder_hidden = 32
decoder_hidden = 48
attention_dim = 32
output_dim = 32

[training]
model_dir = "{root / name}"
batch_tokens = 1500
max_steps = {max_steps}
validate_every = 20
threads = 1
keep_checkpoints = 3
{extra}
"""
    )
    return config


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> TinyModel:
    root = tmp_path_factory.mktemp("tiny")
    config = write_config(root, "model", max_steps=160)
    rows: list = []
    summary = tolk.train(config, on_validation=rows.append)
    return TinyModel(dir=root / "model", config=config, rows=rows, summary=summary)


@pytest.fixture(scope="session")
def tolk_bin() -> Path:
    """The CLI built by ``cargo test --release`` / ``cargo build --release`` (or $TOLK_BIN)."""
    path = Path(os.environ.get("TOLK_BIN", REPO / "target" / "release" / "tolk"))
    assert path.is_file(), f"{path} not found: run `cargo build --release` first (or set TOLK_BIN)"
    return path


@pytest.fixture(scope="session")
def test2016() -> list[str]:
    return read_gz(DATA / "test2016.de.gz")


def cli_env() -> dict:
    return {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RUST_LOG": "warn"}
