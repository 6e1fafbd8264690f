"""Partial outputs: known text interleaved with :class:`Hole` objects, validated into segments."""

from __future__ import annotations

import codecs
import threading
from collections import OrderedDict
from collections.abc import Sequence

from .._errors import InfillError, VocabularyError
from ._graph import TokenTrie

__all__ = ["Hole", "InfillError", "HoleSpec", "VocabInfo", "parse_parts", "vocab_info"]


class Hole:
    """A gap in a partial output.

    Parameters:
        max_tokens: at most this many tokens fill the hole (None: unbounded, any text, possibly empty).
        vocab: what a token is: a ``tokensieve.Vocabulary`` or a sequence of token strings/bytes. Without it
            a token is one byte, so ``max_tokens`` bounds the filler's length in bytes.
        min_tokens: at least this many tokens (default 0).

    Raises:
        InfillError: negative or inconsistent budgets, a vocabulary without a budget.
    """

    __slots__ = ("max_tokens", "min_tokens", "vocab")

    def __init__(self, max_tokens: int | None = None, *, vocab=None, min_tokens: int = 0):
        for name, v in (("max_tokens", max_tokens), ("min_tokens", min_tokens)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise InfillError(f"Hole {name} must be an int, got {v!r}")
        if max_tokens is not None and max_tokens < 0:
            raise InfillError(f"Hole max_tokens must be >= 0, got {max_tokens}")
        if min_tokens < 0:
            raise InfillError(f"Hole min_tokens must be >= 0, got {min_tokens}")
        if max_tokens is not None and min_tokens > max_tokens:
            raise InfillError(f"Hole min_tokens {min_tokens} exceeds max_tokens {max_tokens}")
        if vocab is not None and max_tokens is None and min_tokens == 0:
            raise InfillError("a Hole vocabulary only matters with a token budget (max_tokens/min_tokens)")
        self.max_tokens = max_tokens
        self.min_tokens = min_tokens
        self.vocab = vocab

    @property
    def bounded(self) -> bool:
        return self.max_tokens is not None or self.min_tokens > 0

    def __repr__(self) -> str:
        args = []
        if self.max_tokens is not None:
            args.append(f"max_tokens={self.max_tokens}")
        if self.min_tokens:
            args.append(f"min_tokens={self.min_tokens}")
        if self.vocab is not None:
            args.append("vocab=...")
        return f"Hole({', '.join(args)})"


class VocabInfo:
    """Token strings of a vocabulary as the budget logic needs them."""

    def __init__(self, tokens):
        self.tokens = frozenset(t for t in tokens if t)
        if not self.tokens:
            raise VocabularyError("a Hole vocabulary needs at least one non-empty token")
        self.lmax = max(len(t) for t in self.tokens)
        self.lmin = min(len(t) for t in self.tokens)
        self.single = sorted(t[0] for t in self.tokens if len(t) == 1)
        self._trie: TokenTrie | None = None
        self._n_internal: int | None = None

    @property
    def trie(self) -> TokenTrie:
        if self._trie is None:
            self._trie = TokenTrie(self.tokens)
        return self._trie

    @property
    def n_internal(self) -> int:
        """Trie nodes with children, without building the trie (prefixes of tokens plus the root)."""
        if self._n_internal is None:
            prefixes = {b""}
            for t in self.tokens:
                for k in range(1, len(t)):
                    prefixes.add(t[:k])
            self._n_internal = len(prefixes)
        return self._n_internal

    def counts(self, data: bytes, cap: int) -> int:
        """Bitmask of the token counts ``<= cap`` that spell ``data`` exactly (bit c = c tokens)."""
        n = len(data)
        full = (1 << (cap + 1)) - 1
        dp = [0] * (n + 1)
        dp[0] = 1
        toks, lmax = self.tokens, self.lmax
        for i in range(1, n + 1):
            acc = 0
            for ln in range(1, min(lmax, i) + 1):
                prev = dp[i - ln]
                if prev and data[i - ln:i] in toks:
                    acc |= prev << 1
            dp[i] = acc & full
        return dp[n]

    def segment(self, data: bytes) -> list[bytes] | None:
        """A fewest-token spelling of ``data`` (None if the tokens cannot spell it)."""
        n = len(data)
        inf = 1 << 30
        best = [inf] * (n + 1)
        back = [0] * (n + 1)
        best[0] = 0
        toks, lmax = self.tokens, self.lmax
        for i in range(1, n + 1):
            for ln in range(1, min(lmax, i) + 1):
                if best[i - ln] + 1 < best[i] and data[i - ln:i] in toks:
                    best[i] = best[i - ln] + 1
                    back[i] = ln
        if best[n] >= inf:
            return None
        out = []
        i = n
        while i > 0:
            out.append(data[i - back[i]:i])
            i -= back[i]
        out.reverse()
        return out


_VOCABS: "OrderedDict[object, VocabInfo]" = OrderedDict()
_VLOCK = threading.Lock()


def vocab_info(vocab) -> VocabInfo | None:
    """VocabInfo for a Hole's ``vocab`` (cached for Vocabulary objects); None for byte budgets."""
    if vocab is None:
        return None
    if isinstance(vocab, VocabInfo):
        return vocab
    from ..masking import Vocabulary

    if isinstance(vocab, Vocabulary):
        key = vocab.fingerprint
        with _VLOCK:
            info = _VOCABS.get(key)
        if info is None:
            info = VocabInfo(t for t in vocab.token_bytes if t)
            with _VLOCK:
                _VOCABS[key] = info
                while len(_VOCABS) > 8:
                    _VOCABS.popitem(last=False)
        return info
    if isinstance(vocab, (str, bytes)) or not isinstance(vocab, Sequence):
        raise VocabularyError(f"a Hole vocabulary must be a tokensieve.Vocabulary or a sequence of tokens, "
                              f"got {type(vocab).__name__}")
    toks = []
    for i, t in enumerate(vocab):
        if isinstance(t, str):
            t = t.encode("utf-8")
        if not isinstance(t, (bytes, bytearray)):
            raise VocabularyError(f"token {i} of a Hole vocabulary must be str or bytes, got {type(t).__name__}")
        toks.append(bytes(t))
    return VocabInfo(toks)


class HoleSpec:
    """A hole as the checker sees it: budget bounds and what one token is."""

    __slots__ = ("lo", "hi", "vocab", "part")

    def __init__(self, lo: int, hi: int | None, vocab: VocabInfo | None, part: int):
        self.lo, self.hi, self.vocab, self.part = lo, hi, vocab, part

    @property
    def bounded(self) -> bool:
        return self.hi is not None or self.lo > 0

    def fits(self, data: bytes) -> bool:
        """Whether ``data`` can fill this hole within its budget."""
        if self.vocab is None:
            return self.lo <= len(data) and (self.hi is None or len(data) <= self.hi)
        cap = self.hi if self.hi is not None else max(self.lo, len(data))
        mask = self.vocab.counts(data, cap)
        return mask >> self.lo != 0


def _utf8_infix_error(data: bytes, hole_before: bool, hole_after: bool) -> str | None:
    """Why ``data`` cannot be a piece of UTF-8 text with holes on the given sides (None if it can)."""
    i = 0
    if hole_before:  # the hole may hold the lead byte of a character split across it
        while i < len(data) and i < 3 and 0x80 <= data[i] <= 0xBF:
            i += 1
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        dec.decode(data[i:], final=not hole_after)
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at byte {i + e.start}: {e.reason}"
    return None


def parse_parts(parts) -> tuple[list, list[HoleSpec]]:
    """Validate ``parts``; returns segments (``bytes`` or ``HoleSpec``) and the hole specs in order.

    Adjacent text parts are joined; holes are kept one by one (adjacent holes stay adjacent).

    Raises:
        TypeError: ``parts`` is not a sequence, or an element is neither text nor Hole.
        InfillError: text that is not UTF-8 (a piece next to a hole may split a character).
    """
    if isinstance(parts, (str, bytes, bytearray)) or not isinstance(parts, Sequence):
        raise TypeError(f"parts must be a list of str/bytes and Hole objects, got {type(parts).__name__}")
    segs: list = []
    holes: list[HoleSpec] = []
    text_part: list[int] = []  # part index where each text segment starts
    for i, p in enumerate(parts):
        if isinstance(p, Hole):
            spec = HoleSpec(p.min_tokens, p.max_tokens, vocab_info(p.vocab), i)
            segs.append(spec)
            holes.append(spec)
            continue
        if isinstance(p, str):
            try:
                data = p.encode("utf-8")
            except UnicodeEncodeError as e:
                raise InfillError(f"text has an unpaired surrogate at character {e.start}", part=i) from None
        elif isinstance(p, (bytes, bytearray, memoryview)):
            data = bytes(p)
        elif p is Hole:
            raise TypeError(f"part {i} is the Hole class; write Hole() for a hole")
        else:
            raise TypeError(f"part {i} must be str, bytes or Hole, got {type(p).__name__}")
        if segs and isinstance(segs[-1], bytes):
            segs[-1] += data
        else:
            segs.append(data)
            text_part.append(i)
    k = 0
    for j, s in enumerate(segs):
        if isinstance(s, bytes):
            before = j > 0
            after = j + 1 < len(segs)
            why = _utf8_infix_error(s, before, after)
            if why is not None:
                raise InfillError(f"text is not UTF-8: {why}", part=text_part[k])
            k += 1
    return segs, holes
