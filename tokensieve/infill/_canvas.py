"""A fixed-length token canvas, as a diffusion LLM holds it mid-generation, with incremental checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._errors import LimitExceededError, VocabularyError
from ..grammar import Grammar
from ._chart import Chart
from ._check import Limits, Verdict, decide
from ._compiled import compiled_for
from ._parts import HoleSpec, vocab_info

__all__ = ["Canvas", "Completion"]

_CACHE_SIZE = 64


@dataclass
class Completion:
    """A completed document: its text and a token spelling (``token_ids``, None if the vocabulary cannot
    spell a filler); ``fits`` says whether the spelling fits the canvas slots."""

    text: str
    token_ids: list[int] | None
    fits: bool


class Canvas:
    """``length`` slots, each masked (None) or holding a token id; EOS ends the document.

    "May token ``t`` go at slot ``i``?" is answered by the infill check of the canvas with ``t`` placed
    (:meth:`allows`, or :meth:`allowed` for a batch of candidates). Each check reuses the Earley sets of the
    committed canvas up to the first changed byte, so checks near the end of the text are cheap.

    Semantics: the document is the committed tokens' bytes up to the first EOS; a run of ``k`` masked slots
    is a hole of at most ``k`` tokens of ``vocab`` (``budget=True``; ``exact_slots=True`` requires exactly
    ``k`` for runs followed by a committed token) or of any text (``budget=False``, as in Mündler et al.).
    Placing EOS at slot ``i`` fills every later slot with EOS; a non-EOS token after an EOS is rejected.

    Parameters: ``grammar`` (tokensieve.Grammar), ``vocab`` (tokensieve.Vocabulary), ``length``;
    ``timeout`` per check: a check that runs out of time, or beyond ``limits.max_items``, rejects;
    ``undecided`` and ``limits`` as in :func:`tokensieve.infill.check`.

    Raises: TypeError for arguments of the wrong kind; ValueError for a bad length; LimitExceededError if
    the canvas exceeds ``limits``.
    """

    def __init__(self, grammar: Grammar, vocab, length: int, *, budget: bool = True, exact_slots: bool = False,
                 timeout: float | None = None, undecided: str = "reject", limits: Limits | None = None):
        from ..masking import Vocabulary

        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"vocab must be a tokensieve.Vocabulary, got {type(vocab).__name__}")
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive int, got {length!r}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or timeout <= 0):
            raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
        if undecided not in ("reject", "accept"):
            raise ValueError(f"undecided must be 'reject' or 'accept', got {undecided!r}")
        self.limits = limits if limits is not None else Limits()
        if length > self.limits.max_nodes:
            raise LimitExceededError("canvas size", f"{length} slots exceed max_nodes={self.limits.max_nodes}")
        self.grammar = grammar
        self.vocab = vocab
        self.length = length
        self.budget = budget
        self.exact_slots = exact_slots
        self.timeout = timeout
        self.undecided = undecided
        self._comp = compiled_for(grammar)
        self._info = vocab_info(vocab) if budget else None
        self._eos = frozenset(vocab.eos_token_ids)
        self._slots: list[int | None] = [None] * length
        self._base: Chart | None = None
        self._cache: dict[tuple[int, int], tuple[Verdict, Chart | None]] = {}
        self._ids: dict[bytes, int] | None = None
        self.n_checks = 0

    # ---- state ----
    @property
    def tokens(self) -> list[int | None]:
        """A copy of the slots (None = masked)."""
        return list(self._slots)

    def masked(self) -> list[int]:
        """Masked slots before the first EOS (the ones still to fill)."""
        out = []
        for i, t in enumerate(self._slots):
            if t is not None and t in self._eos:
                break
            if t is None:
                out.append(i)
        return out

    def is_finished(self) -> bool:
        """No masked slot is left before the first EOS."""
        return not self.masked()

    def text(self) -> str:
        """The document of a finished canvas. Raises ValueError while slots are masked."""
        if not self.is_finished():
            raise ValueError("the canvas still has masked slots")
        return self._doc_bytes(self._slots).decode("utf-8", "surrogateescape")

    def token_ids(self) -> list[int]:
        """The committed tokens before the first EOS (masked slots skipped)."""
        out = []
        for t in self._slots:
            if t is not None and t in self._eos:
                break
            if t is not None:
                out.append(t)
        return out

    def _doc_bytes(self, slots) -> bytes:
        tb = self.vocab.token_bytes
        out = bytearray()
        for t in slots:
            if t is None:
                continue
            if t in self._eos:
                break
            out += tb[t]
        return bytes(out)

    # ---- checks ----
    def _proposal(self, pos: int, token: int) -> list[int | None] | None:
        """The slots with ``token`` at ``pos``, or None if that placement is impossible on its face."""
        if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)):
            raise TypeError(f"pos must be an int, got {type(pos).__name__}")
        if not 0 <= pos < self.length:
            raise IndexError(f"slot {pos} is outside the canvas (length {self.length})")
        token = int(token)
        slots = self._slots
        if slots[pos] is not None:
            return None
        if not 0 <= token < self.vocab.size:
            return None
        if token in self._eos:
            if any(t is not None and t not in self._eos for t in slots[pos + 1:]):
                return None
            return slots[:pos] + [token] * (self.length - pos)
        tb = self.vocab.token_bytes
        if token >= len(tb) or tb[token] is None:
            return None
        for t in slots[:pos]:
            if t is not None and t in self._eos:
                return None
        new = list(slots)
        new[pos] = token
        return new

    def _segments(self, slots):
        tb = self.vocab.token_bytes
        segs: list = []
        holes: list[HoleSpec] = []
        run = 0
        text = bytearray()
        end = len(slots)
        for i, t in enumerate(slots):
            if t is not None and t in self._eos:
                end = i
                break
        for i in range(end + 1):
            t = slots[i] if i < end else -1
            if i < end and t is None:
                if text:
                    segs.append(bytes(text))
                    text = bytearray()
                run += 1
                continue
            if run:
                trailing = i == end
                if self.budget:
                    lo = run if (self.exact_slots and not trailing) else 0
                    spec = HoleSpec(lo, run, self._info, len(segs))
                else:
                    spec = HoleSpec(0, None, None, len(segs))
                segs.append(spec)
                holes.append(spec)
                run = 0
            if i < end:
                text += tb[t]
        if text:
            segs.append(bytes(text))
        return segs, holes

    def _check(self, slots, *, witness: bool = False) -> tuple[Verdict, Chart | None]:
        segs, holes = self._segments(slots)
        keep: list[Chart] = []
        self.n_checks += 1
        try:
            v = decide(self._comp, segs, holes, witness=witness, timeout=self.timeout, undecided=self.undecided,
                       limits=self.limits, base=self._base, keep=keep)
        except LimitExceededError:
            # like a timeout: a check that cannot finish within its bounds never accepts
            return Verdict(False, False, "limit"), None
        return v, (keep[0] if keep else None)

    def _ensure_base(self) -> None:
        if self._base is None:
            _v, chart = self._check(self._slots)
            self._base = chart

    def allows(self, pos: int, token: int) -> bool:
        """May ``token`` go at slot ``pos`` (the canvas stays completable)? Occupied slots answer False.

        Raises: IndexError for a slot outside the canvas, TypeError for a non-int slot.
        """
        key = (int(pos), int(token))
        hit = self._cache.get(key)
        if hit is not None:
            return hit[0].completable
        new = self._proposal(pos, token)
        if new is None:
            return False
        self._ensure_base()
        v, chart = self._check(new)
        if len(self._cache) >= _CACHE_SIZE:  # candidates of one step; each holds a chart of its suffix
            del self._cache[next(iter(self._cache))]
        self._cache[key] = (v, chart)
        return v.completable

    def allowed(self, pos: int, candidates: Sequence[int]) -> np.ndarray:
        """``allows(pos, t)`` for each candidate token (e.g. a model's top-k at ``pos``), as a bool array."""
        return np.fromiter((self.allows(pos, t) for t in candidates), dtype=bool, count=len(candidates))

    def commit(self, pos: int, token: int, *, check: bool = True) -> bool:
        """Place ``token`` at ``pos`` if allowed (or unconditionally with ``check=False``); returns whether placed.

        EOS fills every later slot with EOS.
        """
        new = self._proposal(pos, token)
        if new is None:
            return False
        key = (int(pos), int(token))
        if check and not self.allows(pos, token):
            return False
        hit = self._cache.get(key)
        self._slots = new
        self._base = hit[1] if hit is not None else None
        self._cache.clear()
        return True

    def is_completable(self) -> bool:
        """Whether the committed canvas can still be completed."""
        v, chart = self._check(self._slots)
        self._base = chart
        return v.completable

    def completion(self) -> Completion | None:
        """A completion of the committed canvas (None if there is none): text and a token spelling.

        Each hole's filler is spelled with the fewest tokens; ``fits`` is False when a filler needs more
        tokens than its slots (possible with ``budget=False`` or an undecided budget).
        """
        v, _chart = self._check(self._slots, witness=True)
        if not v.completable:
            return None
        segs, holes = self._segments(self._slots)
        if self._ids is None:
            ids: dict[bytes, int] = {}
            for i, b in enumerate(self.vocab.token_bytes):
                if b is not None and b not in ids:
                    ids[b] = i
            self._ids = ids
        info = vocab_info(self.vocab)
        out: list[int] | None = []
        fits = True
        k = 0
        # walk the slots again: committed tokens stay, each hole's filler is spelled in place
        end = len(self._slots)
        for i, t in enumerate(self._slots):
            if t is not None and t in self._eos:
                end = i
                break
        i = 0
        while i < end:
            t = self._slots[i]
            if t is not None:
                if out is not None:
                    out.append(t)
                i += 1
                continue
            j = i
            while j < end and self._slots[j] is None:
                j += 1
            fill = v.fills[k]
            k += 1
            spelled = info.segment(fill) if fill else []
            if spelled is None:
                out, fits = None, False
            else:
                if len(spelled) > j - i:
                    fits = False
                if out is not None:
                    out.extend(self._ids[b] for b in spelled)
            i = j
        try:
            text = v.data.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - the language is UTF-8 text
            raise VocabularyError("the completion is not UTF-8") from None
        return Completion(text, out, fits)
