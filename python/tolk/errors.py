"""The exceptions tolk raises, one class per kind of failure of the library (``tolk::error``).

Each message is the library's, naming the file and line as the ``tolk`` command does. The
classes refine Python's built-ins where one fits, so ``except ValueError`` and ``except
OSError`` catch tolk's input and file errors too.
"""


class Error(Exception):
    """Any error raised by tolk."""


class InputError(Error, ValueError):
    """Bad input from the caller: an unreadable line, a setting out of range, a bad config key."""


class ModelError(Error):
    """A model directory or checkpoint that cannot be read, is damaged, or does not fit its config."""


class IOError(Error, OSError):  # noqa: A001 - the library's kind, also an OSError
    """Reading or writing a file failed."""


class DivergedError(Error):
    """Training cannot go on: the loss became NaN or infinite."""


class DistributedError(Error):
    """Data-parallel training cannot go on: a collective failed."""


class InternalError(Error):
    """An invariant of tolk did not hold: a bug, not the caller's fault."""


__all__ = [
    "Error",
    "InputError",
    "ModelError",
    "IOError",
    "DivergedError",
    "DistributedError",
    "InternalError",
]
