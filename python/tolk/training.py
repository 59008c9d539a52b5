"""Training in this process: :func:`train`, :class:`MetricsRow`, :class:`TrainSummary`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class MetricsRow:
    """One validation, as ``metrics.csv`` records it.

    Attributes:
        step: updates done.
        epoch: epoch (0-based).
        train_loss: mean label-smoothed training loss per target token since the last row (nats).
        valid_loss: validation negative log-likelihood per target token (nats).
        valid_ppl: ``exp(valid_loss)``.
        valid_bleu: greedy validation BLEU (sacreBLEU defaults).
        valid_chrf: greedy validation chrF.
        learning_rate: the learning rate at this step.
        elapsed_s: training wall time so far (seconds, all sessions of the run).
        target_tokens: target tokens seen so far.
        train_tokens_per_s: training throughput since the last row (target tokens per second).
    """

    step: int
    epoch: int
    train_loss: float
    valid_loss: float
    valid_ppl: float
    valid_bleu: float
    valid_chrf: float
    learning_rate: float
    elapsed_s: float
    target_tokens: int
    train_tokens_per_s: float


@dataclass(frozen=True)
class TrainSummary:
    """What a finished (or stopped) run reports.

    Attributes:
        steps: updates done in total (including those before a resume).
        last_loss: label-smoothed cross entropy per target token of the last update.
        best_valid_bleu: best validation BLEU, if any validation ran.
        elapsed_seconds: training wall time (all sessions of the run).
        target_tokens: target tokens seen.
        stopped_on_request: whether the run was stopped (Ctrl-C, or the callback raised)
            before its budget ended it; ``last/`` holds it, ``resume=True`` continues.
    """

    steps: int
    last_loss: float
    best_valid_bleu: Optional[float]
    elapsed_seconds: float
    target_tokens: int
    stopped_on_request: bool


def _toml_value(value: Any) -> str:
    """A Python value as the TOML value of a ``--set section.key=value`` override."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot use {type(value).__name__} as a config value")


def train(
    config_path: PathLike,
    overrides: Optional[Mapping[str, Any]] = None,
    resume: bool = False,
    overwrite: bool = False,
    on_validation: Optional[Callable[[MetricsRow], None]] = None,
) -> TrainSummary:
    """Train the model of a TOML config in this process, as ``tolk train`` does.

    The trainer runs on a thread of its own with the GIL released; this call waits for it.
    Each validation row goes to ``on_validation`` (on the calling thread) after it is written
    to ``metrics.csv``. Ctrl-C (or an exception raised by ``on_validation``) stops the run
    after its current update with ``last/`` saved, then is raised here; ``resume=True``
    continues the run from there.

    Args:
        config_path: the experiment config (see ``configs/reference.toml``).
        overrides: config keys to override, e.g. ``{"training.max_steps": 100,
            "model.attention": "dot"}`` (``tolk train --set``).
        resume: continue the run saved in the config's ``model_dir/last``.
        overwrite: delete an earlier run in ``model_dir`` and train from scratch (without it,
            a ``model_dir`` holding a checkpoint is refused).
        on_validation: called with each :class:`MetricsRow`.

    Raises:
        tolk.InputError: a bad config, data file or line (naming it), a refused start.
        tolk.ModelError: a damaged ``last/`` or prepared corpus.
        tolk.IOError: a file that cannot be read or written.
        tolk.DivergedError: the loss became NaN or infinite.
        KeyboardInterrupt: Ctrl-C, after ``last/`` was saved.
    """
    sets = [f"{k}={_toml_value(v)}" for k, v in (overrides or {}).items()]
    callback = None
    if on_validation is not None:

        def callback(row: tuple) -> None:
            on_validation(MetricsRow(*row))

    summary = _native.train(
        os.fspath(config_path),
        overrides=sets,
        resume=resume,
        overwrite=overwrite,
        on_validation=callback,
    )
    return TrainSummary(*summary)
