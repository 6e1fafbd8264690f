"""The vocabulary as the masking layer sees it: token id -> the exact bytes that token emits.

Grammars work on bytes, so every tokenizer family is reduced to one table: byte-level BPE (GPT-2
byte-to-unicode alphabet), SentencePiece (``▁`` for space, ``<0xNN>`` byte fallback), tiktoken (raw bytes).
Special/control tokens have no bytes (``None``) and never match grammar text; EOS ids are special and the
matcher allows them only when the document is complete. Nothing here imports torch or transformers: the
tokenizer objects are duck-typed.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from .._errors import VocabularyError

__all__ = ["Vocabulary"]

# Bumped whenever the fingerprint's byte layout changes, so stale on-disk caches keyed by it never match.
_FINGERPRINT_VERSION = b"tokensieve.vocabulary.v1"

_SP_SPACE = "\u2581"  # SentencePiece's visible space "▁"
_SP_BYTE_RE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
# Sentinel that can never encode to latin-1: marks characters outside the byte-level alphabet.
_NOT_A_BYTE = "\uffff"


def _gpt2_unicode_to_byte() -> dict[str, int]:
    """GPT-2's byte-to-unicode table, inverted: printable latin-1 maps to itself, the rest to U+0100..."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    table = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + extra)] = b
            extra += 1
    return table


_UNICODE_TO_BYTE = _gpt2_unicode_to_byte()
# str.translate table: alphabet char -> latin-1 char of its byte; latin-1 chars outside the alphabet -> a char
# that fails .encode("latin-1"), so one translate + encode decodes a whole token and flags foreign characters.
_BYTE_LEVEL_TRANSLATE = {ord(c): chr(b) for c, b in _UNICODE_TO_BYTE.items()}
for _cp in range(256):
    _BYTE_LEVEL_TRANSLATE.setdefault(_cp, _NOT_A_BYTE)
del _cp


def _byte_level_bytes(token: str) -> bytes:
    try:
        return token.translate(_BYTE_LEVEL_TRANSLATE).encode("latin-1")
    except UnicodeEncodeError:
        # Mirrors the `tokenizers` ByteLevel decoder: a token with a character outside the alphabet is
        # emitted as its UTF-8 text.
        return token.encode("utf-8")


def _sentencepiece_bytes(token: str) -> bytes:
    m = _SP_BYTE_RE.fullmatch(token)
    if m is not None:
        return bytes((int(m.group(1), 16),))
    return token.replace(_SP_SPACE, " ").encode("utf-8")


def _as_id(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise VocabularyError(f"{what} must be an integer token id, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise VocabularyError(f"{what} must be an integer token id, got {value!r}") from None


def _as_ids(value: Any, what: str) -> list[int]:
    """Accept one id or an iterable of ids (generation configs use both shapes)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        raise VocabularyError(f"{what} must be token ids, got {value!r}")
    if isinstance(value, Iterable):
        return [_as_id(v, what) for v in value]
    return [_as_id(value, what)]


def _as_size(size: Any, n_tokens: int, source: str) -> int:
    if size is None:
        return n_tokens
    size = _as_id(size, "size")
    if size < n_tokens:
        raise VocabularyError(
            f"size={size} is smaller than the {n_tokens} token ids of the {source}; the model's vocabulary "
            "(logit rows) must cover every tokenizer id"
        )
    return size


class Vocabulary:
    """Token id -> exact bytes, plus the ids that end a document.

    Attributes:
        size: number of logit rows of the model (``>= len(token_bytes)``); ids ``>= len(token_bytes)`` are
            padding and never allowed.
        token_bytes: bytes per tokenizer id; ``None`` for special/control/empty tokens and id holes.
        eos_token_ids: ids allowed exactly when the document is complete.
        special_token_ids: ids whose ``token_bytes`` is ``None``.
        fingerprint: hex sha256 over ``size``, ``token_bytes`` and the EOS ids; a cache key.

    Instances are immutable; equality and hashing go by ``fingerprint``.
    """

    __slots__ = ("size", "token_bytes", "eos_token_ids", "special_token_ids", "fingerprint")

    size: int
    token_bytes: tuple[bytes | None, ...]
    eos_token_ids: frozenset[int]
    special_token_ids: frozenset[int]
    fingerprint: str

    def __init__(
        self,
        token_bytes: Sequence[bytes | None],
        *,
        eos_token_ids: Iterable[int] | int = (),
        size: int | None = None,
    ):
        """Build from already-decoded token bytes; prefer the ``from_*`` constructors.

        Parameters:
            token_bytes: bytes per id, ``None`` for tokens that never match text.
            eos_token_ids: ids that end a document; forced special.
            size: model vocabulary size (logit rows), default ``len(token_bytes)``.

        Raises:
            VocabularyError: on a non-bytes entry, an EOS id out of range, or ``size`` too small.
        """
        table: list[bytes | None] = []
        for i, tok in enumerate(token_bytes):
            if tok is None:
                table.append(None)
            elif isinstance(tok, bytes):
                table.append(tok or None)
            elif isinstance(tok, (bytearray, memoryview)):
                table.append(bytes(tok) or None)
            else:
                raise VocabularyError(f"token {i} must be bytes or None, got {type(tok).__name__} {tok!r:.60}")
        if not table:
            raise VocabularyError("the vocabulary has no tokens")
        n = len(table)
        eos = frozenset(_as_ids(eos_token_ids, "eos_token_ids"))
        for e in sorted(eos):
            if not 0 <= e < n:
                raise VocabularyError(f"EOS token id {e} is outside the tokenizer's ids 0..{n - 1}")
            table[e] = None
        self._set(
            size=_as_size(size, n, "vocabulary"),
            token_bytes=tuple(table),
            eos_token_ids=eos,
            special_token_ids=frozenset(i for i, t in enumerate(table) if t is None),
        )

    def _set(self, *, size, token_bytes, eos_token_ids, special_token_ids):
        set_ = object.__setattr__
        set_(self, "size", size)
        set_(self, "token_bytes", token_bytes)
        set_(self, "eos_token_ids", eos_token_ids)
        set_(self, "special_token_ids", special_token_ids)
        set_(self, "fingerprint", _fingerprint(size, token_bytes, eos_token_ids))

    def __setattr__(self, name, value):
        # The fingerprint keys compiled-grammar caches; mutating a vocabulary would poison them.
        raise AttributeError(f"Vocabulary is immutable (cannot set {name!r})")

    # ----------------------------------------------------------------------------------- constructors

    @classmethod
    def from_tokens(
        cls,
        tokens: Sequence[bytes | str | None],
        *,
        eos_token_ids: Iterable[int] | int = (),
        size: int | None = None,
    ) -> Vocabulary:
        """Vocabulary from a list indexed by token id.

        Parameters:
            tokens: per id, the token's bytes; ``str`` is UTF-8 encoded; ``None`` or empty = special.
            eos_token_ids: ids that end a document (made special).
            size: model vocabulary size, default ``len(tokens)``.

        Raises:
            VocabularyError: non-bytes/str entry, EOS id out of range, ``size < len(tokens)``.
        """
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
            raise VocabularyError(f"tokens must be a sequence of bytes/str/None, got {type(tokens).__name__}")
        converted: list[Any] = [t.encode("utf-8") if isinstance(t, str) else t for t in tokens]
        return cls(converted, eos_token_ids=eos_token_ids, size=size)

    @classmethod
    def from_huggingface(
        cls,
        tokenizer: Any,
        *,
        size: int | None = None,
        eos_token_ids: Iterable[int] | int | None = None,
    ) -> Vocabulary:
        """Vocabulary from a transformers ``PreTrainedTokenizer(Fast)``.

        Token text is turned into bytes by the tokenizer's own scheme: byte-level BPE (GPT-2 alphabet),
        SentencePiece (``▁`` = space, ``<0xNN>`` = one byte), else ``convert_tokens_to_string``. Special
        tokens and added tokens marked special get ``None``; other added tokens are their literal text.

        Parameters:
            tokenizer: the tokenizer.
            size: model vocabulary size (``config.vocab_size``, may exceed the tokenizer: padding);
                default ``len(tokenizer)``.
            eos_token_ids: ids that end a document, one id or several (e.g.
                ``model.generation_config.eos_token_id``); replaces the default ``tokenizer.eos_token_id``.

        Raises:
            VocabularyError: not a tokenizer, ``size`` too small, EOS id out of range.
        """
        for attr in ("convert_ids_to_tokens", "get_vocab"):
            if not callable(getattr(tokenizer, attr, None)):
                raise VocabularyError(
                    f"expected a transformers PreTrainedTokenizer(Fast), got {type(tokenizer).__name__} "
                    f"(no {attr}())"
                )
        vocab = tokenizer.get_vocab()
        if not vocab:
            raise VocabularyError("the tokenizer has an empty vocabulary")
        n = max(max(vocab.values()) + 1, len(tokenizer))
        # id -> token string from the id side, so ids sharing a string (rare duplicates) are not lost.
        tokens = [None] * n
        for text, i in vocab.items():
            tokens[i] = text
        missing = [i for i, t in enumerate(tokens) if t is None]
        if missing:
            for i, t in zip(missing, tokenizer.convert_ids_to_tokens(missing)):
                tokens[i] = t

        special: set[int] = set()
        for i in getattr(tokenizer, "all_special_ids", None) or ():
            if i is not None:
                special.add(_as_id(i, "special token id"))
        literal: dict[int, str] = {}
        for i, added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
            if getattr(added, "special", False):
                special.add(int(i))
            else:
                # Added tokens are matched as literal text before the model sees the input.
                literal[int(i)] = getattr(added, "content", None) or str(added)

        if eos_token_ids is None:
            eos_token_ids = _as_ids(getattr(tokenizer, "eos_token_id", None), "tokenizer.eos_token_id")
        eos = _as_ids(eos_token_ids, "eos_token_ids")

        scheme = _detect_scheme(tokenizer, vocab)
        if scheme == "byte_level":
            convert = _byte_level_bytes
        elif scheme == "sentencepiece":
            convert = _sentencepiece_bytes
        else:

            def convert(tok: str) -> bytes:
                return tokenizer.convert_tokens_to_string([tok]).encode("utf-8")

        table: list[bytes | None] = []
        for i, tok in enumerate(tokens):
            if tok is None or i in special:
                table.append(None)
            elif i in literal:
                table.append(literal[i].encode("utf-8"))
            else:
                table.append(convert(tok))
        return cls(table, eos_token_ids=eos, size=_as_size(size, n, "tokenizer"))

    @classmethod
    def from_tiktoken(
        cls,
        encoding: Any,
        *,
        size: int | None = None,
        eos_token_ids: Iterable[int] | int | None = None,
    ) -> Vocabulary:
        """Vocabulary from a ``tiktoken.Encoding``.

        Parameters:
            encoding: the encoding (e.g. ``tiktoken.get_encoding("cl100k_base")``).
            size: model vocabulary size, default ``encoding.n_vocab``.
            eos_token_ids: ids that end a document; default the ``<|endoftext|>`` id when present.

        Raises:
            VocabularyError: not an encoding, ``size`` too small, EOS id out of range.
        """
        n = getattr(encoding, "n_vocab", None)
        if not isinstance(n, int) or not callable(getattr(encoding, "decode_single_token_bytes", None)):
            raise VocabularyError(f"expected a tiktoken.Encoding, got {type(encoding).__name__}")
        specials = _tiktoken_specials(encoding)
        table: list[bytes | None] = [None] * n
        ranks = getattr(encoding, "_mergeable_ranks", None)
        if isinstance(ranks, dict):
            # Same data as decode_single_token_bytes, without 100k Python->Rust calls.
            for tok, i in ranks.items():
                if 0 <= i < n:
                    table[i] = tok
        else:
            for i in range(n):
                try:
                    table[i] = encoding.decode_single_token_bytes(i)
                except KeyError:  # a hole in the id space
                    pass
        for i in specials.values():
            if 0 <= i < n:
                table[i] = None
        if eos_token_ids is None:
            eot = specials.get("<|endoftext|>")
            eos_token_ids = () if eot is None else (eot,)
        return cls(table, eos_token_ids=eos_token_ids, size=_as_size(size, n, "encoding"))

    # ----------------------------------------------------------------------------------- queries

    def decode(self, ids: Iterable[int]) -> bytes:
        """Concatenated bytes of ``ids``.

        Raises:
            VocabularyError: an id out of range, a padding id, or a special token (no bytes).
        """
        out = []
        table = self.token_bytes
        for raw in ids:
            i = _as_id(raw, "token id")
            if not 0 <= i < self.size:
                raise VocabularyError(f"token id {i} is outside the vocabulary (size {self.size})")
            tok = table[i] if i < len(table) else None
            if tok is None:
                kind = "a padding id" if i >= len(table) else "a special token"
                raise VocabularyError(f"token id {i} is {kind} and has no bytes")
            out.append(tok)
        return b"".join(out)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        eos = sorted(self.eos_token_ids)
        return (
            f"Vocabulary(size={self.size}, tokens={len(self.token_bytes)}, eos={eos}, "
            f"special={len(self.special_token_ids)}, fingerprint={self.fingerprint[:12]})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __reduce__(self):
        return (_rebuild, (self.token_bytes, tuple(sorted(self.eos_token_ids)), self.size))


def _rebuild(token_bytes, eos_token_ids, size):
    return Vocabulary(token_bytes, eos_token_ids=eos_token_ids, size=size)


def _fingerprint(size: int, token_bytes: tuple[bytes | None, ...], eos: frozenset[int]) -> str:
    # Lengths (-1 = None) then the concatenated bytes: unambiguous and two C-speed updates.
    lengths = array("q", [-1 if t is None else len(t) for t in token_bytes])
    if sys.byteorder == "big":
        lengths.byteswap()
    h = hashlib.sha256(_FINGERPRINT_VERSION)
    h.update(json.dumps([size, len(token_bytes), sorted(eos)]).encode())
    h.update(lengths.tobytes())
    h.update(b"".join(t for t in token_bytes if t is not None))
    return h.hexdigest()


def _tiktoken_specials(encoding: Any) -> dict[str, int]:
    specials = getattr(encoding, "_special_tokens", None)
    if isinstance(specials, dict):
        return {str(k): int(v) for k, v in specials.items()}
    out = {}
    for text in getattr(encoding, "special_tokens_set", None) or ():
        try:
            out[text] = int(encoding.encode_single_token(text))
        except (KeyError, ValueError, TypeError):
            pass
    return out


def _component_types(component: Any) -> set[str]:
    """Types named anywhere in a `tokenizers` decoder/normalizer/pre-tokenizer, plus Replace patterns."""
    if component is None:
        return set()
    try:
        state = json.loads(component.__getstate__())
    except Exception:  # an exotic/custom component: no signal from it
        return set()
    found: set[str] = set()
    stack = [state]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, str):
                found.add(kind)
                if kind == "Replace":
                    pattern = node.get("pattern")
                    pattern = pattern.get("String") if isinstance(pattern, dict) else pattern
                    content = node.get("content")
                    if _SP_SPACE in (pattern, content):
                        found.add("Replace▁")
                if kind == "Prepend" and node.get("prepend") == _SP_SPACE:
                    found.add("Replace▁")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


_SP_TYPES = {"Metaspace", "ByteFallback", "Replace▁"}


def _detect_scheme(tokenizer: Any, vocab: dict[str, int]) -> str:
    """``"byte_level"``, ``"sentencepiece"`` or ``"fallback"``: how token text maps to bytes."""
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is not None:
        # The decoder defines token -> text, so it outranks the input-side components.
        decoder = _component_types(getattr(backend, "decoder", None))
        if "ByteLevel" in decoder:
            return "byte_level"
        if decoder & _SP_TYPES:
            return "sentencepiece"
        inputs = _component_types(getattr(backend, "pre_tokenizer", None))
        inputs |= _component_types(getattr(backend, "normalizer", None))
        if "ByteLevel" in inputs:
            return "byte_level"
        if inputs & _SP_TYPES:
            return "sentencepiece"
    # Slow (Python) tokenizers.
    if getattr(tokenizer, "byte_decoder", None) is not None:
        return "byte_level"
    if getattr(tokenizer, "sp_model", None) is not None:
        return "sentencepiece"
    if all(f"<0x{b:02X}>" in vocab for b in range(256)):
        return "sentencepiece"
    return "fallback"
