"""Translation with a trained model: :class:`Translator`, :class:`Translation`,
:class:`Hypothesis`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Literal, Optional, Sequence, Union

from . import _native

if TYPE_CHECKING:  # pragma: no cover
    import numpy
    import torch

PathLike = Union[str, "os.PathLike[str]"]
AttentionFormat = Union[bool, Literal["numpy", "torch"]]


@dataclass
class Hypothesis:
    """One output of search for one source.

    Attributes:
        text: the detokenised translation.
        score: log-probability of the output (nats, ``</s>`` included) over the GNMT length
            penalty ``((5 + |Y|) / 6) ** length_penalty``, ``|Y|`` the output tokens with
            ``</s>``; what beam search ranks by (the ``tolk translate --nbest`` score).
        tokens: the output subword pieces, without ``</s>`` (``▁`` starts a word).
        attention: with ``return_attention``, the attention weights α as a float32 array
            ``[tgt_len, src_len]`` (a ``numpy.ndarray``, or a ``torch.Tensor`` sharing its
            memory with ``return_attention="torch"``): one row per output piece plus ``</s>``
            when it was produced, one column per source piece plus ``</s>``; each row sums to 1.
            The matrix ``tolk translate --alignments`` writes as ``weights``.
        source_tokens: with ``return_attention``, the column labels: source pieces and ``</s>``.
        alignment: with ``return_alignment``, hard alignments (arg-max attention) as Pharaoh
            pairs ``(source index, target index)`` over subwords.
    """

    text: str
    score: float
    tokens: list[str] = field(default_factory=list)
    attention: Optional[Union["numpy.ndarray", "torch.Tensor"]] = None
    source_tokens: Optional[list[str]] = None
    alignment: Optional[list[tuple[int, int]]] = None


@dataclass
class Translation:
    """The answer for one source text: its hypotheses, best first.

    Attributes:
        hypotheses: ``n_best`` hypotheses (1 for greedy search), best first. With
            ``split_sentences`` each joins its sentences' hypotheses in the text's layout
            (scores summed) and carries no tokens or attention: those are per sentence.
        sentences: with ``split_sentences``, each sentence's own hypotheses (with tokens and
            attention), in text order.
        truncated: whether the source (or one of its sentences) was longer than
            ``max_input_subwords`` and cut to it.
    """

    hypotheses: list[Hypothesis]
    sentences: Optional[list[list[Hypothesis]]] = None
    truncated: bool = False

    @property
    def best(self) -> Hypothesis:
        """The best hypothesis."""
        return self.hypotheses[0]

    @property
    def text(self) -> str:
        """The best hypothesis' text."""
        return self.hypotheses[0].text

    @property
    def score(self) -> float:
        """The best hypothesis' score."""
        return self.hypotheses[0].score

    @property
    def attention(self):
        """The best hypothesis' attention matrix ``[tgt_len, src_len]`` (or ``None``)."""
        return self.hypotheses[0].attention


def _hypothesis(raw, fmt: AttentionFormat) -> Hypothesis:
    text, score, tokens, attention, source_tokens, alignment = raw
    if attention is not None and fmt == "torch":
        import torch

        attention = torch.from_numpy(attention)
    return Hypothesis(
        text=text,
        score=score,
        tokens=tokens,
        attention=attention,
        source_tokens=source_tokens,
        alignment=[tuple(p) for p in alignment] if alignment is not None else None,
    )


class Translator:
    """A trained model (or an ensemble of several) loaded for translation.

    Args:
        model_dir: a model directory written by ``tolk train`` (or ``tolk average``), or a
            list of them: an ensemble, one beam search over the mean of the models'
            log-probabilities; they must share their subword vocabularies, and the decoding
            defaults and shortlist come from the first.
        checkpoint: the checkpoint to load by name (``"best"``, ``"last"``, ``"step-4000"``);
            default ``best/``, or ``last/`` when the run has no ``best/`` yet.
        device: ``"cpu"``, ``"cuda"`` (an error where there is none) or ``"auto"``.
        threads: libtorch threads in all (default: all cores), shared out over the workers.
        workers: copies of the model, each translating a share of a call's texts on its own
            thread with ``threads / workers`` libtorch threads (on 2 cores, two 1-thread
            workers measured 1.7-1.9× faster than one 2-thread worker). Calls from several
            Python threads share the copies; each call releases the GIL.
        precision: the vocabulary projection's precision: ``"fp32"``, ``"bf16"``, ``"int8"`` or
            ``"auto"``; default from the model's config.
        shortlist: decode over the model's lexical shortlist; default from its config.
        fused_kernels: search through tolk's fused kernels (``False``: libtorch's reference
            ops); default from the model's config.

    Raises:
        tolk.ModelError: a directory that cannot be loaded (naming the file), or ensemble
            members whose vocabularies differ.
        tolk.InputError: settings out of range.
    """

    def __init__(
        self,
        model_dir: Union[PathLike, Sequence[PathLike]],
        checkpoint: Optional[str] = None,
        device: str = "cpu",
        threads: Optional[int] = None,
        workers: int = 1,
        precision: Optional[str] = None,
        shortlist: Optional[bool] = None,
        fused_kernels: Optional[bool] = None,
    ) -> None:
        if isinstance(model_dir, (str, os.PathLike)):
            dirs = [os.fspath(model_dir)]
        else:
            dirs = [os.fspath(d) for d in model_dir]
        self.model_dirs = dirs
        self._native = _native.Translator(
            dirs,
            checkpoint=checkpoint,
            device=device,
            threads=threads,
            workers=workers,
            precision=precision,
            shortlist=shortlist,
            fused_kernels=fused_kernels,
        )

    @property
    def source_language(self) -> str:
        """The model's source language code (its sentence splitter's rules)."""
        return self._native.source_language

    def translate(
        self,
        texts: Iterable[str],
        beam_size: Optional[int] = None,
        n_best: int = 1,
        length_penalty: Optional[float] = None,
        max_len_ratio: Optional[float] = None,
        max_input_subwords: Optional[int] = None,
        split_sentences: bool = False,
        return_attention: AttentionFormat = False,
        return_alignment: bool = False,
        replace_unk: bool = False,
    ) -> list[Translation]:
        """Translate ``texts`` (one sentence each, or running text with ``split_sentences``).

        Search runs with the GIL released, over length-sorted batches; the answers come back
        in input order, byte for byte what ``tolk translate`` writes with the same settings.

        Args:
            texts: the source texts (a list, a pandas Series, any iterable of str). An empty
                text gives one empty translation without running the model.
            beam_size: beam size K (1 = greedy search); default from the model's config.
            n_best: hypotheses per text, at most ``beam_size``.
            length_penalty: GNMT length-penalty α; default from the model's config.
            max_len_ratio: output limit as a multiple of the source length (+5 tokens).
            max_input_subwords: longest source, in subwords; longer ones are cut to it
                (``Translation.truncated``); 0 = no limit; default from the config (250).
            split_sentences: treat each text as running text: split it into sentences (by the
                model's source language), translate them in one batch and join their
                translations with the text's own spacing and line breaks.
            return_attention: ``True`` or ``"numpy"`` for each hypothesis' attention matrix
                as a ``numpy.ndarray`` ``[tgt_len, src_len]``, ``"torch"`` for a
                ``torch.Tensor`` sharing that array's memory.
            return_alignment: each hypothesis' hard alignment as Pharaoh pairs.
            replace_unk: replace each ``<unk>`` of the output by the source word the
                attention weighted most when it was produced (Luong et al. 2015).

        Raises:
            tolk.InputError: a setting out of range (the same limits as the CLI).
        """
        if isinstance(texts, str):
            raise TypeError("translate takes a list of texts, not one str")
        if return_attention not in (False, True, "numpy", "torch"):
            raise ValueError('return_attention must be a bool, "numpy" or "torch"')
        answers = self._native.translate(
            list(texts),
            beam_size=beam_size,
            n_best=n_best,
            length_penalty=length_penalty,
            max_len_ratio=max_len_ratio,
            max_input_subwords=max_input_subwords,
            split_sentences=split_sentences,
            return_attention=bool(return_attention),
            return_alignment=return_alignment,
            replace_unk=replace_unk,
        )
        out = []
        for hyps, sentences, truncated in answers:
            out.append(
                Translation(
                    hypotheses=[_hypothesis(h, return_attention) for h in hyps],
                    sentences=None
                    if sentences is None
                    else [[_hypothesis(h, return_attention) for h in s] for s in sentences],
                    truncated=truncated,
                )
            )
        return out
