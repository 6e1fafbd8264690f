"""Why two engines' masks differ: deviation classes proved per token, and an independent oracle.

A token allowed by one engine only, after a prefix ``P`` of a valid instance, is put in a class by what it does
to the JSON text (read by :class:`JsonLexer`, a byte-level JSON prefix reader independent of both engines):

* ``whitespace``: it holds whitespace between JSON tokens and, without that whitespace, the other engine allows
  it (RFC 8259 §2 allows whitespace around every structural character, so this is layout policy, never an error).
* ``string-del``: a raw U+007F inside a string, allowed by tokensieve only (RFC 8259 §7 leaves it unescaped;
  llguidance's JSON string regex excludes ``\\x7F``).
* ``string-escape``: an escape inside a string: ``\\u`` escapes of printable ASCII are llguidance's only
  (tokensieve writes them raw, a documented departure); optional escapes such as ``\\/`` in a string under a
  ``pattern`` are tokensieve's only (llguidance writes pattern strings without them).
* ``number-exponent``: an ``e``/``E`` inside a number: llguidance's only where tokensieve writes numbers without
  an exponent (its documented departure); tokensieve's only in integers (llguidance's integer regex has none,
  while ``1e2`` is an integer from draft 6 on).
* ``negative-zero``: a ``-`` starting a number, allowed by tokensieve only (``-0`` and ``-0.0`` equal 0, so they
  meet a ``minimum`` of 0; llguidance's ranges with a non-negative lower bound have no sign).
* ``integer-fraction``: a ``.`` inside a number that the instance writes as an integer, allowed by tokensieve only
  (``1.0`` is an integer from draft 6 on; llguidance's integer regex has no fraction).
* ``pattern-space``: U+FEFF or U+0085 inside a string: ECMA-262's ``\\s`` (the JSON Schema ``pattern`` dialect,
  tokensieve's) has U+FEFF and lacks U+0085; Unicode White_Space (llguidance's Rust regex) is the reverse.
* ``trailing-zero``: zeros at the end of a number's fraction (``599.990``, ``2.0``), allowed by tokensieve only
  (llguidance's ``multipleOf`` and range numbers have no redundant trailing zeros; the value is the same).
* ``format``: inside a string that a ``format`` keyword checks (each engine has its own format regexes).
* ``forced-token`` (llguidance with forcing on): where the grammar forces bytes llguidance allows only the
  canonical token of them.
* ``eos``: EOS allowed by one engine only.
* ``other``: none of the above: unexplained until the oracle says who is right.

Three classes are proved by the oracle's witness (:func:`refine`), for tokens no rule above explains:
``draft-semantics`` (the witness is valid under the schema's declared draft and invalid under 2020-12, or the
reverse: llguidance applies 2020-12 to every draft, e.g. it intersects ``$ref`` siblings in draft 7), ``property-
order`` (the token writes a key the schema names: both engines fix key order, differently for merged schemas) and
``number-exponent`` (tokensieve's valid witness writes that number with an exponent, which llguidance's bounded
numbers never have).

The oracle (:meth:`Oracle.judge`) looks for a valid document that continues ``P + token``: the instance itself
when ``P + token`` is a prefix of it, the instance with the token spliced in, else a few guided random completions
by the engine that allows the token, each graded by ``json.loads`` and jsonschema (the schema's draft, every format
jsonschema knows, ``pattern`` with ECMA-262 meaning). ``valid`` proves the allowing engine right; ``invalid``
(every completion rejected) means the allowing engine let an invalid document through and is wrong somewhere on
that path; ``unknown`` is no completion found in the budget.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CLASSES", "DOCUMENTED", "JsonLexer", "LexState", "Oracle", "TokenFacts", "classify", "instance_strings",
           "mask_ids", "property_names", "refine"]

#: Every class; the documented ones are in :data:`DOCUMENTED`, keyed by the side that allows the token.
CLASSES = ("whitespace", "string-del", "string-escape", "pattern-space", "number-exponent", "negative-zero",
           "integer-fraction", "trailing-zero", "format", "forced-token", "draft-semantics", "property-order", "eos",
           "other")

#: ``(class, side allowing the token) -> (who deviates, why)``: differences by design, explained in advance.
DOCUMENTED = {
    ("whitespace", "tokensieve"): ("layout", "whitespace policy (RFC 8259 allows whitespace between tokens)"),
    ("whitespace", "llguidance"): ("layout", "whitespace policy (RFC 8259 allows whitespace between tokens)"),
    ("string-del", "tokensieve"): ("llguidance", "llguidance's JSON string regex excludes raw U+007F; RFC 8259 "
                                                 "allows it unescaped"),
    ("string-escape", "llguidance"): ("tokensieve", "tokensieve writes printable ASCII raw, never as \\u escape"),
    ("string-escape", "tokensieve"): ("llguidance", "llguidance's default escapes lack \\/ and \\u of printable "
                                                    "characters, and pattern strings take no optional escape"),
    ("pattern-space", "tokensieve"): ("llguidance", "Rust regex \\s lacks U+FEFF, which ECMA-262 \\s has"),
    ("pattern-space", "llguidance"): ("llguidance", "Rust regex \\s has U+0085, which ECMA-262 \\s lacks"),
    ("number-exponent", "llguidance"): ("tokensieve", "tokensieve writes numbers without an exponent"),
    ("number-exponent", "tokensieve"): ("llguidance", "llguidance's integers have no exponent; 1e2 is an "
                                                      "integer from draft 6 on"),
    ("negative-zero", "tokensieve"): ("llguidance", "llguidance's non-negative ranges exclude -0, which equals 0"),
    ("integer-fraction", "tokensieve"): ("llguidance", "llguidance's integers have no fraction; 1.0 is an "
                                                       "integer from draft 6 on"),
    ("trailing-zero", "tokensieve"): ("llguidance", "llguidance's multipleOf/range numbers have no redundant "
                                                    "trailing zeros (599.990 = 599.99)"),
    ("draft-semantics", "tokensieve"): ("llguidance", "llguidance applies 2020-12 semantics to every draft"),
    ("draft-semantics", "llguidance"): ("llguidance", "llguidance applies 2020-12 semantics to every draft"),
    ("property-order", "tokensieve"): ("both", "both fix key order; merged schemas are ordered differently"),
    ("property-order", "llguidance"): ("both", "both fix key order; merged schemas are ordered differently"),
    ("format", "tokensieve"): ("both", "format regexes differ by design"),
    ("format", "llguidance"): ("both", "format regexes differ by design"),
    ("forced-token", "tokensieve"): ("llguidance", "llguidance allows only the canonical token of forced bytes"),
}

_WS = frozenset(b" \t\n\r")
_NUM = frozenset(b"0123456789+-.eE")
_LIT = frozenset(b"abcdefghijklmnopqrstuvwxyz")

# lexer modes
_S, _STR, _ESC, _HEX, _NUMBER, _LITERAL, _BAD = range(7)


@dataclass(frozen=True)
class LexState:
    """Where a JSON prefix stands: ``mode``, container ``stack`` (``k``/``v`` object expecting a key/value,
    ``a`` array), whether the open string is a key, hex digits left in a ``\\u`` escape, and the byte offset
    where the open string or number began."""

    mode: int = _S
    stack: tuple = ()
    key: bool = False
    hexleft: int = 0
    start: int = -1

    @property
    def in_number(self) -> bool:
        return self.mode == _NUMBER


class JsonLexer:
    """A byte-level reader of JSON prefixes that reports, per byte, what it is.

    Only the lexical level is checked (a structurally wrong prefix still lexes); that is all the classes need.
    """

    @staticmethod
    def step(st: LexState, b: int, pos: int) -> tuple[LexState, str]:
        """``(next state, event)`` for byte ``b`` at offset ``pos``; events: ``ws`` (whitespace between tokens),
        ``punct``, ``open`` (a string's opening quote), ``close``, ``char`` (string content), ``esc`` /
        ``hex`` (escape letter / its hex digits), ``num``, ``lit``, ``bad``."""
        m = st.mode
        if m == _STR:
            if b == 0x22:
                return LexState(_S, st.stack), "close"
            if b == 0x5C:
                return LexState(_ESC, st.stack, st.key, 0, st.start), "char"
            return (st, "char") if b >= 0x20 else (LexState(_BAD), "bad")
        if m == _ESC:
            if b == 0x75:
                return LexState(_HEX, st.stack, st.key, 4, st.start), "esc"
            if b in b'"\\/bfnrt':
                return LexState(_STR, st.stack, st.key, 0, st.start), "esc"
            return LexState(_BAD), "bad"
        if m == _HEX:
            if b in b"0123456789abcdefABCDEF":
                left = st.hexleft - 1
                return LexState(_HEX if left else _STR, st.stack, st.key, left, st.start), "hex"
            return LexState(_BAD), "bad"
        if m == _NUMBER:
            if b in _NUM:
                return st, "num"
            st = LexState(_S, st.stack)
        elif m == _LITERAL:
            if b in _LIT:
                return st, "lit"
            st = LexState(_S, st.stack)
        elif m == _BAD:
            return st, "bad"
        stack = st.stack
        if b in _WS:
            return st, "ws"
        if b == 0x22:
            return LexState(_STR, stack, bool(stack) and stack[-1] == "k", 0, pos), "open"
        if b == 0x7B:
            return LexState(_S, stack + ("k",)), "punct"
        if b == 0x5B:
            return LexState(_S, stack + ("a",)), "punct"
        if b in b"}]":
            return LexState(_S, stack[:-1]), "punct"
        if b == 0x3A:
            return LexState(_S, stack[:-1] + ("v",) if stack else stack), "punct"
        if b == 0x2C:
            return LexState(_S, stack[:-1] + ("k",) if stack and stack[-1] == "v" else stack), "punct"
        if b in b"-0123456789":
            return LexState(_NUMBER, stack, False, 0, pos), "num"
        if b in _LIT:
            return LexState(_LITERAL, stack, False, 0, pos), "lit"
        return LexState(_BAD), "bad"

    @classmethod
    def feed(cls, st: LexState, data: bytes, pos: int) -> LexState:
        """The state after ``data`` starting at offset ``pos``."""
        for i, b in enumerate(data):
            st, _ = cls.step(st, b, pos + i)
        return st


@dataclass
class TokenFacts:
    """What a token's bytes do after a prefix: whitespace offsets, whether removing it could glue two scalars,
    and the string/number events it contains."""

    ws: list = field(default_factory=list)
    glue: bool = False
    del_in_string: bool = False
    odd_space: bool = False  # U+FEFF / U+0085 (or the start of one) inside a string
    u_escape: bool = False
    other_escape: bool = False
    exponent: bool = False
    dot: bool = False
    minus_start: bool = False  # the token starts a number with '-'
    number_tail: bytes = b""  # the token's bytes that continue the number open before it
    in_string_at: int = -1  # offset where the string the token writes into (or opens) began
    string_is_key: bool = False
    bad: bool = False

    @classmethod
    def of(cls, st: LexState, data: bytes, pos: int, before: bytes = b"") -> "TokenFacts":
        """The facts of token bytes ``data`` read from state ``st`` at offset ``pos``; ``before``, the bytes
        just before it (a character split across tokens)."""
        f = cls()
        if st.mode == _NUMBER:
            n = 0
            while n < len(data) and data[n] in _NUM:
                n += 1
            f.number_tail = data[:n]
        if st.mode == _STR and before and _odd_space(before[-2:] + data, len(before[-2:])):
            f.odd_space = True
        if st.mode in (_STR, _ESC, _HEX):
            f.in_string_at, f.string_is_key = st.start, st.key
        scalar_ended_by_ws = False
        for i, b in enumerate(data):
            mode = st.mode
            st, ev = JsonLexer.step(st, b, pos + i)
            if ev == "ws":
                f.ws.append(i)
                scalar_ended_by_ws |= mode in (_NUMBER, _LITERAL)
                continue
            if ev in ("num", "lit", "open") and scalar_ended_by_ws and mode == _S:
                f.glue = True
            scalar_ended_by_ws = False
            if ev == "open" and f.in_string_at < 0:
                f.in_string_at, f.string_is_key = st.start, st.key
            elif ev == "char" and b == 0x7F:
                f.del_in_string = True
            elif ev == "char" and b in (0xEF, 0xC2) and _odd_space(data[i:], 0):
                f.odd_space = True
            elif ev == "char" and b == 0x5C:  # the escape letter may come in the next token
                f.other_escape = True
            elif ev == "esc":
                f.u_escape |= b == 0x75
                f.other_escape |= b != 0x75
            elif ev == "num":
                f.minus_start |= b == 0x2D and mode == _S
                f.exponent |= b in b"eE"
                f.dot |= b == 0x2E
            elif ev == "bad":
                f.bad = True
                break
        return f

    @property
    def in_key(self) -> bool:
        return self.in_string_at >= 0 and self.string_is_key

    def without_ws(self, data: bytes) -> bytes:
        """``data`` without its whitespace between JSON tokens."""
        drop = set(self.ws)
        return bytes(b for i, b in enumerate(data) if i not in drop)


def _odd_space(text: bytes, start: int) -> bool:
    """Whether U+FEFF or U+0085 (or the start of one, when ``text`` ends inside it) begins at some offset
    ``<= start`` of ``text`` and reaches past ``start`` (the token's first byte)."""
    for i in range(start + 1):
        rest = text[i:]
        for seq in (b"\xef\xbb\xbf", b"\xc2\x85"):
            n = min(len(seq), len(rest))
            if n > start - i and rest[:n] == seq[:n]:
                return True
    return False


def instance_strings(text: bytes) -> dict[int, tuple[int, bool]]:
    """Strings of a JSON text: opening-quote offset -> (closing-quote offset, is key)."""
    out, st, start = {}, LexState(), -1
    for i, b in enumerate(text):
        st, ev = JsonLexer.step(st, b, i)
        if ev == "open":
            start = i
            out[i] = (-1, st.key)
        elif ev == "close":
            out[start] = (i, out[start][1])
    return out


def mask_ids(row: np.ndarray, size: int) -> np.ndarray:
    """Token ids whose bit is set in one bitmask row (bit ``t % 32`` of word ``t // 32``)."""
    return np.flatnonzero(np.unpackbits(row.view(np.uint8), bitorder="little")[:size])


def classify(side: str, facts: TokenFacts, *, format_at: str | None, int_number: bool,
             other_allows_stripped, data: bytes = b"", forced: bytes | None = None,
             number_so_far: bytes = b"") -> str:
    """The class of a token allowed by ``side`` only (see the module doc).

    Parameters: ``format_at``, the format checked on the string the token writes into, if any; ``int_number``,
    whether the instance writes the number being extended as an integer; ``other_allows_stripped()``, a probe:
    does the other engine allow the token without its whitespace here (called only for tokens holding some);
    ``forced``, the bytes llguidance forces here (with forcing on), ``data`` the token's bytes and
    ``number_so_far`` the number the prefix ends in (empty when it ends elsewhere).
    """
    if forced and side == "tokensieve" and data and (forced.startswith(data) or data.startswith(forced)):
        return "forced-token"
    if facts.bad:
        return "other"
    if facts.ws and not facts.glue and other_allows_stripped():
        return "whitespace"
    if facts.in_string_at >= 0 and format_at is not None and not facts.string_is_key:
        return "format"
    if facts.odd_space:
        return "pattern-space"
    if facts.del_in_string and side == "tokensieve":
        return "string-del"
    if facts.u_escape or facts.other_escape:
        return "string-escape"
    if facts.exponent:
        return "number-exponent"
    if facts.minus_start and side == "tokensieve":
        return "negative-zero"
    if facts.dot and side == "tokensieve" and int_number:
        return "integer-fraction"
    whole = number_so_far + facts.number_tail
    if side == "tokensieve" and number_so_far and not facts.number_tail.strip(b"0") and b"." in whole \
            and not any(c in whole for c in b"eE") and whole.endswith(b"0"):
        return "trailing-zero"
    return "other"


def property_names(schema: Any) -> set[str]:
    """Every name a ``properties`` map or a ``required`` list of ``schema`` mentions (explicit stack)."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(k for k in props if isinstance(k, str))
            req = node.get("required")
            if isinstance(req, list):
                names.update(k for k in req if isinstance(k, str))
            stack.extend(v for k, v in node.items() if k not in _DATA)
        elif isinstance(node, list):
            stack.extend(node)
    return names


def refine(side: str, facts: TokenFacts, number_start: int, res: dict, oracle: "Oracle",
           names: set[str]) -> str | None:
    """A class proved by the oracle's witness ``res["document"]`` for a token no rule explains, or None.

    Parameters: ``number_start``, the offset of the number the token continues or starts (-1 if none); ``names``,
    the schema's property names (:func:`property_names`).
    """
    doc, verdict = res.get("document"), res["verdict"]
    if doc is None or verdict not in ("valid", "invalid"):
        return None
    if oracle.declared_draft_differs:
        in_2020 = oracle.grade(doc, dialect_2020=True)[0]
        if (side == "tokensieve" and verdict == "valid" and in_2020 is False) or \
                (side == "llguidance" and verdict == "invalid" and in_2020 is True):
            return "draft-semantics"
    if verdict != "valid":
        return None
    if facts.in_key:
        start = facts.in_string_at
        end = doc.find(b'"', start + 1)
        while end > 0 and doc[end - 1] == 0x5C:
            end = doc.find(b'"', end + 1)
        try:
            key = json.loads(doc[start:end + 1].decode("utf-8")) if end > 0 else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            key = None
        if key in names:
            return "property-order"
    if side == "tokensieve" and number_start >= 0:
        end = number_start
        while end < len(doc) and doc[end] in _NUM:
            end += 1
        if any(c in doc[number_start:end] for c in b"eE"):
            return "number-exponent"
    return None


# ------------------------------------------------------------------------------------------- oracle

# ECMA-262 WhiteSpace and LineTerminator: what \s means in a JSON Schema pattern (Python's \s differs: it lacks
# U+FEFF and has U+001C..U+001F and U+0085)
_ECMA_WS = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_OUT = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]", "s": f"[{_ECMA_WS}]",
        "S": f"[^{_ECMA_WS}]"}
_IN = {"d": "0-9", "w": "A-Za-z0-9_", "s": _ECMA_WS}
_PATTERNS: dict[str, Any] = {}


def ecma_regex(pattern: str):
    """A Python ``re`` pattern with ECMA-262 meaning for ``pattern`` (``\\d \\w \\s``, ``.``, ``$``,
    ``[]``, ``[^]``, named groups), or None for what it cannot translate (``\\D \\W \\S`` inside a class)."""
    import re

    if pattern in _PATTERNS:
        return _PATTERNS[pattern]
    out, i, n, in_class = [], 0, len(pattern), False
    ok = True
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if in_class and e in "DWS":
                ok = False
                break
            if e in _IN and in_class:
                out.append(_IN[e])
            elif e in _OUT and not in_class:
                out.append(_OUT[e])
            elif e == "k" and pattern.startswith("<", i + 2) and ">" in pattern[i + 3:]:
                j = pattern.index(">", i + 3)
                out.append(f"(?P={pattern[i + 3:j]})")
                i = j + 1
                continue
            elif e == "/":
                out.append("/")
            else:
                out.append(c + e)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "[":
                c = "\\["  # literal in ECMA, a nested-set warning in Python
            out.append(c)
        elif c == "[":
            if pattern.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            if pattern.startswith("[^]", i):
                out.append("[\\s\\S]")
                i += 3
                continue
            in_class = True
            out.append(c)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
        elif c == ".":
            out.append("[^\\n\\r\\u2028\\u2029]")
        elif c == "$":
            out.append("(?!.|\\n)")  # the end only; Python's $ also matches before a final newline
        elif c == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(c)
        i += 1
    rx = None
    if ok:
        try:
            rx = re.compile("".join(out), re.ASCII)
        except re.error:
            rx = None
    _PATTERNS[pattern] = rx
    return rx


def _search(pattern: str, text: str) -> bool:
    import re

    rx = ecma_regex(pattern)
    return bool(rx.search(text)) if rx is not None else bool(re.search(pattern, text))


def _ecma_keywords() -> dict:
    """jsonschema keyword implementations that match patterns with ECMA-262 semantics (``pattern``,
    ``patternProperties``, ``additionalProperties``); the rest of jsonschema stays as it is."""
    from jsonschema.exceptions import ValidationError

    def pattern(validator, patrn, instance, schema):
        if validator.is_type(instance, "string") and not _search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(validator, pp, instance, schema):
        if validator.is_type(instance, "object"):
            for patrn, sub in pp.items():
                for k, v in instance.items():
                    if _search(patrn, k):
                        yield from validator.descend(v, sub, path=k, schema_path=patrn)

    def additional_properties(validator, ap, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        props, pats = schema.get("properties", {}), list(schema.get("patternProperties", {}))
        extras = [k for k in instance if k not in props and not any(_search(p, k) for p in pats)]
        if validator.is_type(ap, "object"):
            for k in extras:
                yield from validator.descend(instance[k], ap, path=k)
        elif ap is False and extras:
            yield ValidationError(f"additional properties are not allowed ({', '.join(map(repr, extras))})")

    return {"pattern": pattern, "patternProperties": pattern_properties,
            "additionalProperties": additional_properties}


def _groups(token_bytes: list) -> np.ndarray:
    """Each token's group for guided completions (see :data:`_GROUP_WEIGHTS`)."""
    g = np.empty(len(token_bytes), dtype=np.int8)
    for i, t in enumerate(token_bytes):
        if not t:
            g[i] = 5
        elif any(c in _WS for c in t):
            g[i] = 4
        elif len(t) == 1:
            g[i] = 0 if t[0] in b'"}]' else 1 if t[0] == 0x2C else 2
        else:
            g[i] = 3
    return g


# closers (" } ]), comma, other single bytes, longer tokens, whitespace, none (specials): a walk that mostly
# closes what is open ends its strings, numbers, arrays and objects within a few dozen tokens
_GROUP_WEIGHTS = np.array([0.6, 0.1, 0.2, 0.1, 1e-4, 0.0])


class Oracle:
    """Grades documents with jsonschema (the schema's ``$schema`` draft, 2020-12 otherwise, every format the
    installed jsonschema knows) and finds completions of a prefix with an engine's own masks."""

    def __init__(self, schema: Any, token_bytes: list, eos: list[int]):
        import jsonschema
        from jsonschema.validators import validator_for

        # ``$schema`` in a subschema that is not a resource root is not allowed (2020-12 §8.1.1); jsonschema
        # switches dialect there, both engines keep the root's: the oracle keeps the root's too
        schema, self.ignored_schema_keywords = _strip_inner_dialects(schema)
        self.schema = schema
        self.token_bytes = token_bytes
        self.eos = set(eos)
        self.groups = _groups(token_bytes)
        for e in eos:
            self.groups[e] = 5
        self.error: str | None = None
        try:
            base = validator_for(schema, default=jsonschema.Draft202012Validator)
            cls = jsonschema.validators.extend(base, _ecma_keywords())
            self.validator = cls(schema, format_checker=base.FORMAT_CHECKER)
            self.declared_draft_differs = base is not jsonschema.Draft202012Validator
            v2020 = jsonschema.validators.extend(jsonschema.Draft202012Validator, _ecma_keywords())
            self.validator_2020 = v2020(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            self.known_formats = set(base.FORMAT_CHECKER.checkers)
            self._cls = cls
        except Exception as e:  # noqa: BLE001 - a schema jsonschema cannot load: the oracle abstains
            self.validator, self.known_formats, self._cls = None, set(), None
            self.declared_draft_differs, self.validator_2020 = False, None
            self.error = f"{type(e).__name__}: {e}"[:300]

    def grade(self, text: bytes, dialect_2020: bool = False) -> tuple[bool | None, str | None]:
        """``(valid, reason)`` of a complete document (under 2020-12 whatever the schema declares, with
        ``dialect_2020``); ``None`` when jsonschema itself fails."""
        try:
            value = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            return False, f"not JSON: {getattr(e, 'msg', None) or e}"
        validator = self.validator_2020 if dialect_2020 else self.validator
        if validator is None:
            return None, self.error
        try:
            import jsonschema

            err = jsonschema.exceptions.best_match(validator.iter_errors(value))
        except Exception as e:  # noqa: BLE001 - bad regex, unresolvable $ref: no verdict
            return None, f"validator error: {type(e).__name__}: {e}"[:300]
        if err is None:
            return True, None
        where = "/".join(str(p) for p in err.absolute_path)
        return False, f"at /{where}: {err.message[:200]}"

    def formats_of(self, value: Any) -> dict[str, str]:
        """String value -> the format some ``format`` keyword checks it against, while validating ``value``."""
        if self._cls is None:
            return {}
        import jsonschema

        seen: dict[str, str] = {}
        orig = self._cls.VALIDATORS.get("format")

        def record(validator, fmt, instance, schema):
            if isinstance(instance, str):
                seen.setdefault(instance, fmt)
            if orig is not None:
                yield from orig(validator, fmt, instance, schema)

        try:
            cls = jsonschema.validators.extend(self._cls, {"format": record})
            for _ in cls(self.schema).iter_errors(value):
                pass
        except Exception:  # noqa: BLE001 - formats are a hint for classes; none found is a safe answer
            return seen
        return seen

    def complete(self, probe, rng: np.random.Generator, *, max_steps: int = 4000, deadline: float) -> bytes | None:
        """Bytes that finish the document from ``probe`` (an engine matcher: ``fill``/``accept``) at its masks'
        word, or None when the walk runs out of steps or time."""
        bm = np.zeros((1, (len(self.token_bytes) + 31) // 32), dtype=np.int32)
        out = bytearray()
        for _ in range(max_steps):
            if time.perf_counter() > deadline:
                return None
            probe.fill(bm)
            ids = mask_ids(bm[0], len(self.token_bytes))
            if any((int(bm[0, e >> 5]) >> (e & 31)) & 1 for e in self.eos):
                return bytes(out)
            groups = self.groups[ids]
            present = np.bincount(groups, minlength=6) > 0
            w = _GROUP_WEIGHTS * present
            if w.sum() <= 0:
                return None
            g = rng.choice(6, p=w / w.sum())
            t = int(rng.choice(ids[groups == g]))
            if not probe.accept(t):
                return None
            out += self.token_bytes[t]
        return None

    def judge(self, prefix: bytes, token: bytes, instance: bytes, probes, *, tries: int = 3, seed: int = 0,
              budget_s: float = 2.0, splices: int = 8) -> dict:
        """Is there a valid document starting with ``prefix + token`` (``prefix`` a prefix of ``instance``)?

        Candidates, cheapest first: the instance itself; the instance with ``token`` put in at the end of
        ``prefix``, replacing 0..``splices`` of its next bytes or followed again by up to ``splices`` of the
        bytes before it; ``tries`` guided completions by ``probes()`` (a
        fresh matcher of the engine that allows the token, already past it, or None).

        Returns ``{"verdict": "valid"|"invalid"|"unknown", "witness": text, "source"/"reason": ..., "document":
        the witness's bytes}``.
        """
        doc = prefix + token
        if instance.startswith(doc):
            return {"verdict": "valid", "witness": _show(instance), "source": "instance", "document": instance}
        for k in [*range(splices + 1), *range(-1, -min(splices, len(prefix)) - 1, -1)]:
            # k > 0: the token replaces the instance's next k bytes; k < 0: the instance's last -k bytes before
            # the token come again after it (a string that must contain a pattern somewhere)
            cand = doc + instance[len(prefix) + k:]
            if self.grade(cand)[0]:
                how = f"{k} bytes replaced" if k >= 0 else f"{-k} bytes repeated"
                return {"verdict": "valid", "witness": _show(cand), "source": f"instance, {how}", "document": cand}
        prefix = doc
        deadline = time.perf_counter() + budget_s
        rng = np.random.default_rng(seed)
        reasons = []
        first_invalid = None
        for _ in range(tries):
            if probes is None or time.perf_counter() > deadline:
                break
            probe = probes()
            if probe is None:
                break
            tail = self.complete(probe, rng, deadline=deadline)
            if tail is None:
                continue
            doc = prefix + tail
            ok, why = self.grade(doc)
            if ok:
                return {"verdict": "valid", "witness": _show(doc), "source": "completion", "document": doc}
            if ok is None:
                return {"verdict": "unknown", "reason": why}
            reasons.append(why)
            first_invalid = first_invalid or doc
        if first_invalid is not None:
            return {"verdict": "invalid", "witness": _show(first_invalid), "reason": reasons[0],
                    "document": first_invalid, "completions": len(reasons)}
        return {"verdict": "unknown", "reason": "no completion within the budget"}


_NAME_MAPS = frozenset(("properties", "patternProperties", "definitions", "$defs", "dependentSchemas",
                        "dependencies"))
_DATA = frozenset(("enum", "const", "default", "examples", "example"))


def _strip_inner_dialects(schema: Any) -> tuple[Any, int]:
    """A copy of ``schema`` without ``$schema`` in subschemas lacking ``$id``/``id``, and how many were dropped."""
    if not isinstance(schema, dict):
        return schema, 0
    root = dict(schema)
    dropped = 0
    stack = [(root, False)]  # (node, is a name -> subschema map)

    def visit(child: dict) -> dict:
        nonlocal dropped
        child = dict(child)
        if "$schema" in child and "$id" not in child and "id" not in child:
            del child["$schema"]
            dropped += 1
        return child

    while stack:
        node, is_map = stack.pop()
        for k, v in list(node.items()):
            if not is_map and k in _DATA:
                continue
            if isinstance(v, dict):
                child_is_map = not is_map and k in _NAME_MAPS
                node[k] = v = dict(v) if child_is_map else visit(v)
                stack.append((v, child_is_map))
            elif isinstance(v, list) and not is_map:
                node[k] = v = [visit(x) if isinstance(x, dict) else x for x in v]
                stack.extend((x, False) for x in v if isinstance(x, dict))
    return root, dropped


def _show(data: bytes, limit: int = 600) -> str:
    text = data.decode("utf-8", "backslashreplace")
    return text if len(text) <= limit else text[: limit // 2] + " … " + text[-limit // 2:]
