"""Model directories: checkpoint averaging and the subword models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]

#: A BPE model (Hugging Face ``tokenizers``): ``encode`` / ``pieces`` / ``decode``.
#: ``SubwordModel(path)`` loads a tokenizer file; ``SubwordModel.from_model_dir(dir, side)``
#: the source or target model of a model directory, checked against its checksums.
SubwordModel = _native.SubwordModel


def average(
    model_dir: PathLike,
    out: PathLike,
    last: Optional[int] = None,
    checkpoints: Sequence[str] = (),
) -> list[Path]:
    """Average checkpoint weights of one run into the new model directory ``out``.

    Takes the newest ``last`` ``step-N/`` checkpoints (kept with ``training.keep_checkpoints``)
    or the named ``checkpoints`` (``"best"``, ``"last"``, ``"step-4000"``), as ``tolk average``
    does; ``Translator(out)`` then reads its ``best/``. Returns the checkpoints averaged.

    Raises :class:`tolk.InputError` (both or neither of ``last`` / ``checkpoints``, too few
    step checkpoints, ``out`` not empty) or :class:`tolk.ModelError` (a damaged checkpoint).
    """
    dirs = _native.average(
        os.fspath(model_dir), os.fspath(out), last=last, checkpoints=list(checkpoints)
    )
    return [Path(d) for d in dirs]
