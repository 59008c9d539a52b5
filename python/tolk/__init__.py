"""tolk: attention-based neural machine translation in Rust on libtorch, from Python.

``import tolk`` loads the same libtorch 2.11.0 that ``import torch`` loads (the extension is
built against it and finds it in the installed ``torch`` package), so both live in one process:

>>> import tolk
>>> translator = tolk.Translator("runs/quickstart")
>>> [t.text for t in translator.translate(["Ein Hund läuft im Schnee."])]  # doctest: +SKIP
['A dog is running in the snow.']

- :class:`Translator`: greedy and beam search, n-best lists, attention matrices as arrays.
- :mod:`tolk.score`: BLEU and chrF equal to sacreBLEU's, paired bootstrap.
- :func:`train`: the trainer in this process, with validation rows as they come; Ctrl-C
  stops it with ``last/`` saved.
- :func:`average`, :class:`SubwordModel`.
- :mod:`tolk.errors`: :class:`InputError`, :class:`ModelError`, :class:`IOError`, ...
"""

import os as _os

# libtorch's OpenMP threads spin-wait by default, which makes every small op wait for a time
# slice when another process holds a core; the tolk binary runs with PASSIVE, and so does this
# package unless the caller chose a policy (read once, when libgomp loads with torch).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch as _torch  # noqa: E402 - first: the extension reuses the libraries it loads

_TORCH = "2.11.0"
if _torch.__version__.split("+")[0] != _TORCH:
    raise ImportError(
        f"tolk is built against libtorch {_TORCH} and needs torch=={_TORCH}; "
        f"this Python has torch {_torch.__version__}"
    )

from . import _native  # noqa: E402
from . import score  # noqa: E402
from .errors import (  # noqa: E402
    DistributedError,
    DivergedError,
    Error,
    InputError,
    InternalError,
    IOError,
    ModelError,
)
from .models import SubwordModel, average  # noqa: E402
from .training import MetricsRow, TrainSummary, train  # noqa: E402
from .translator import Hypothesis, Translation, Translator  # noqa: E402

__version__ = _native.__version__

__all__ = [
    "Translator",
    "Translation",
    "Hypothesis",
    "train",
    "MetricsRow",
    "TrainSummary",
    "average",
    "SubwordModel",
    "score",
    "Error",
    "InputError",
    "ModelError",
    "IOError",
    "DivergedError",
    "DistributedError",
    "InternalError",
]
