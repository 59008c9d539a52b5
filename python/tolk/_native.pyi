"""Type stubs of the extension module ``tolk._native`` (python/src/); use the wrappers in
``tolk`` (translator.py, training.py, score.py, models.py), which carry the full docs."""

from typing import Callable, Optional

import numpy
import numpy.typing

__version__: str

# (text, score, tokens, attention float32 [tgt_len, src_len], source_tokens, alignment)
_RawHypothesis = tuple[
    str,
    float,
    list[str],
    Optional[numpy.typing.NDArray[numpy.float32]],
    Optional[list[str]],
    Optional[list[tuple[int, int]]],
]

class Translator:
    def __init__(
        self,
        model_dirs: list[str],
        checkpoint: Optional[str] = None,
        device: str = "cpu",
        threads: Optional[int] = None,
        workers: int = 1,
        precision: Optional[str] = None,
        shortlist: Optional[bool] = None,
        fused_kernels: Optional[bool] = None,
    ) -> None: ...
    @property
    def source_language(self) -> str: ...
    @property
    def defaults(self) -> tuple[int, float, float, int, bool, str]: ...
    def translate(
        self,
        texts: list[str],
        beam_size: Optional[int] = None,
        n_best: int = 1,
        length_penalty: Optional[float] = None,
        max_len_ratio: Optional[float] = None,
        max_input_subwords: Optional[int] = None,
        split_sentences: bool = False,
        return_attention: bool = False,
        return_alignment: bool = False,
        replace_unk: bool = False,
    ) -> list[tuple[list[_RawHypothesis], Optional[list[list[_RawHypothesis]]], bool]]: ...

class SubwordModel:
    def __init__(self, path: str) -> None: ...
    @staticmethod
    def from_model_dir(model_dir: str, side: str = "source") -> "SubwordModel": ...
    def encode(self, text: str) -> list[int]: ...
    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...
    def pieces(self, text: str) -> list[str]: ...
    def decode(self, ids: list[int]) -> str: ...
    def id_to_piece(self, id: int) -> Optional[str]: ...
    def piece_to_id(self, piece: str) -> Optional[int]: ...
    @property
    def vocab_size(self) -> int: ...
    def __len__(self) -> int: ...

class BLEUScore:
    score: float
    counts: list[int]
    totals: list[int]
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int
    ratio: float
    signature: str
    def format(self, signature: bool = False) -> str: ...
    def __float__(self) -> float: ...

class CHRFScore:
    score: float
    name: str
    signature: str
    def format(self, signature: bool = False) -> str: ...
    def __float__(self) -> float: ...

def bleu(hyps: list[str], refs: list[list[str]]) -> BLEUScore: ...
def chrf(hyps: list[str], refs: list[list[str]]) -> CHRFScore: ...
def paired_bootstrap(
    outputs: list[list[str]], refs: list[str]
) -> tuple[
    list[tuple[float, Optional[float], float, float]],
    list[tuple[float, Optional[float], float, float]],
]: ...
def train(
    config_path: str,
    overrides: list[str] = ...,
    resume: bool = False,
    overwrite: bool = False,
    on_validation: Optional[Callable[[tuple], None]] = None,
) -> tuple[int, float, Optional[float], float, int, bool]: ...
def average(
    model_dir: str, out: str, last: Optional[int] = None, checkpoints: list[str] = ...
) -> list[str]: ...
