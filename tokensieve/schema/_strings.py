"""JSON string values: decoded-string languages and their rendering as regexes over raw JSON text.

All string constraints (length, ``pattern``, ``format``, ``const``, property names) are languages over the
*decoded* string (code points, lone surrogates excluded). Only when a terminal is emitted is each character
class mapped to the JSON spellings of its characters that the grammar accepts:

* the raw character, for everything except ``"``, ``\\`` and the controls U+0000..U+001F;
* the short escapes ``\\" \\\\ \\/ \\b \\f \\n \\r \\t``;
* ``\\uXXXX`` (hex digits in either case) for a BMP character that is *not* printable ASCII (controls, DEL and
  everything from U+0080), and a ``\\uD8xx\\uDCxx`` surrogate pair for a character above U+FFFF.

Policy: printable ASCII is always written raw (``\\u0041`` for ``A`` is rejected, as are lone-surrogate escapes
such as ``"\\ud800"``, which do not encode Unicode text); every other character keeps all its spellings, so
``json.dumps`` output is accepted with or without ``ensure_ascii``. Each spelling of a decoded character counts
as one character for ``minLength``/``maxLength``, and every decoded character is writable.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from ..automata._regex import C, parse_regex, remember_parse
from . import _automata as A
from ._lang import Lang

__all__ = ["SIGMA", "ALL_STRINGS", "string_lang", "json_string_regex", "StringAutomaton", "length_lang",
           "restrict_length", "unit_regex"]

SIGMA = A.lit(A.UNIVERSE)
SIGMA_STAR = A.star(SIGMA)
ALL_STRINGS = Lang(ast=SIGMA_STAR, is_all=True)

_RAW_OK = A.cs_diff(A.cs_inter(A.UNIVERSE, ((0x20, A.MAX_CP),)), A.cs_chars('"\\'))
_SHORT = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_BMP = ((0, 0xD7FF), (0xE000, 0xFFFF))
_U_ESCAPABLE = A.cs_diff(_BMP, ((0x20, 0x7E),))
_ASTRAL = ((0x10000, A.MAX_CP),)


def string_lang(ast) -> Lang:
    """A Lang of decoded strings from an anchor-free AST."""
    return Lang(ast=ast, universe=ALL_STRINGS)


def length_lang(lo: int, hi: int | None) -> Lang:
    if lo == 0 and hi is None:
        return ALL_STRINGS
    return string_lang(A.rep(SIGMA, lo, hi))


# ---------------------------------------------------------------------------------------------- hex digits
def _hex_chars(values) -> tuple:
    rs = []
    for v in values:
        if v < 10:
            rs.append((0x30 + v, 0x30 + v))
        else:
            rs.append((0x61 + v - 10, 0x61 + v - 10))
            rs.append((0x41 + v - 10, 0x41 + v - 10))
    return A.cs_norm(rs)


_ANY_HEX = _hex_chars(range(16))


@lru_cache(maxsize=4096)
def _hex_ast(ranges: tuple, width: int):
    """AST over hex-digit text (either case) of the ``width``-digit numbers in ``ranges``."""
    if width == 0:
        return A.EPS
    unit = 16 ** (width - 1)
    groups: dict[tuple, list[int]] = {}
    for d in range(16):
        lo_d, hi_d = d * unit, (d + 1) * unit - 1
        sub = tuple((max(lo, lo_d) - lo_d, min(hi, hi_d) - lo_d) for lo, hi in ranges if lo <= hi_d and hi >= lo_d)
        if sub:
            groups.setdefault(sub, []).append(d)
    alts = []
    for sub, ds in groups.items():
        head = A.lit(_hex_chars(ds))
        if sub == ((0, unit - 1),):
            tail = A.rep(A.lit(_ANY_HEX), width - 1, width - 1)
        else:
            tail = _hex_ast(sub, width - 1)
        alts.append(A.cat(head, tail))
    return A.alt(*alts)


def _hex_regex(ranges: tuple) -> str:
    # rendered at concatenation level: it always follows a literal "\\u"
    return A.to_regex(_hex_ast(tuple(ranges), 4), A.plain_set, 1)


# ---------------------------------------------------------------------------------------------- units
@lru_cache(maxsize=8192)
def unit_regex(charset: tuple) -> tuple[str, int]:
    """Regex (and precedence level) for every JSON spelling of one character of ``charset``."""
    parts = []
    raw = A.cs_inter(charset, _RAW_OK)
    if raw:
        parts.append(A.render_class(raw))
    shorts = sorted(v for k, v in _SHORT.items() if A.cs_contains(charset, ord(k)))
    if shorts:
        parts.append("\\\\" + A.render_class(A.cs_chars("".join(shorts))))
    bmp = A.cs_inter(charset, _U_ESCAPABLE)
    if bmp:
        parts.append("\\\\u" + (_hex_regex(bmp)))
    astral = A.cs_inter(charset, _ASTRAL)
    if astral:
        by_low: dict[tuple, list] = {}
        for lo, hi in astral:
            a, b = lo - 0x10000, hi - 0x10000
            for h in range(a >> 10, (b >> 10) + 1):
                llo = a & 0x3FF if h == a >> 10 else 0
                lhi = b & 0x3FF if h == b >> 10 else 0x3FF
                by_low.setdefault((llo, lhi), []).append(h)
        merged: dict[tuple, list] = {}
        for (llo, lhi), highs in by_low.items():
            merged.setdefault(tuple(A.cs_norm((h, h) for h in highs)), []).append((llo, lhi))
        for highs, lows in merged.items():
            hs = tuple((0xD800 + x, 0xD800 + y) for x, y in highs)
            ls = tuple((0xDC00 + x, 0xDC00 + y) for x, y in A.cs_norm(lows))
            parts.append("\\\\u" + (_hex_regex(hs)) + "\\\\u" + (_hex_regex(ls)))
    if not parts:
        raise ValueError("empty character set")
    if len(parts) == 1:
        # a raw class or single character is an atom; escape sequences are concatenations
        return parts[0], (3 if raw else 1)
    return "|".join(parts), 0


def json_string_regex(lang_or_ast) -> str:
    """The terminal regex (quotes included) for a decoded-string language; its parse is left with the regex
    compiler (:func:`tokensieve.automata._regex.remember_parse`), so compiling the terminal skips re-parsing."""
    ast = lang_or_ast.ast() if isinstance(lang_or_ast, Lang) else lang_or_ast
    if ast == A.EMPTY:
        raise ValueError("empty string language has no regex")
    text = '"' + A.to_regex(ast, unit_regex, 1) + '"'
    remember_parse(text, [_QUOTE] + A.to_items(ast, unit_items) + [_QUOTE])
    return text


_QUOTE = (C.LITERAL, 0x22)
# characters spelled only raw, as one ASCII byte: their DFA edges become byte edges (trie edges of key names)
_PLAIN_ASCII = A.cs_diff(((0x20, 0x7E),), A.cs_chars('"\\/'))


class StringAutomaton:
    """The JSON string terminal (quotes included) of a decoded-string DFA, for :class:`~tokensieve.grammar.
    Terminal`: the lexers build its byte NFA from the DFA directly, and the regex text is rendered only if asked
    for. Key languages such as "any name but these 40 and not ^x-" come out of products as DFAs; writing them
    as a regex (state elimination) and compiling that back took up to 300 ms a terminal.

    The NFA has one state per DFA state; an edge group ``C -> q`` is the spellings of :func:`unit_regex` (raw,
    short and ``\\u`` escapes) built once per ``(C, q)`` and entered by an epsilon edge from every state that
    has it, except characters spelled only as one ASCII byte, which are byte edges.
    """

    __slots__ = ("dfa", "key", "n_edges")

    def __init__(self, dfa: "A.DFA"):
        d = dfa.minimize()
        if d.is_empty():
            raise ValueError("empty string language has no terminal")
        self.dfa = d
        self.n_edges = sum(len(row) for row in d.trans)
        self.key = hashlib.sha256(repr((d.trans, d.accept)).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<JSON string automaton of {len(self.dfa.trans)} states, {self.n_edges} edges>"

    def regex(self) -> str:
        return json_string_regex(A.dfa_to_ast(self.dfa))

    def emit(self, nfa, start: int, end: int) -> None:
        d = self.dfa
        ids = [nfa.new_state() for _ in range(len(d.trans))]
        nfa.add_edge(start, 0x22, 0x22, ids[0])
        entries: dict[tuple, int] = {}
        for p, row in enumerate(d.trans):
            if d.accept[p]:
                nfa.add_edge(ids[p], 0x22, 0x22, end)
            by_target: dict[int, list] = {}
            for lo, hi, q in row:
                by_target.setdefault(q, []).append((lo, hi))
            for q, ranges in by_target.items():
                cset = A.cs_norm(ranges)
                plain = A.cs_inter(cset, _PLAIN_ASCII)
                if plain:
                    for lo, hi in plain:
                        nfa.add_edge(ids[p], lo, hi, ids[q])
                    cset = A.cs_diff(cset, plain)
                    if not cset:
                        continue
                entry = entries.get((cset, q))
                if entry is None:
                    entry = entries[(cset, q)] = nfa.new_state()
                    nfa.add_items(unit_items(cset), entry, ids[q], "a JSON string automaton")
                nfa.add_eps(ids[p], entry)


@lru_cache(maxsize=8192)
def unit_items(charset: tuple) -> list:
    """``re._parser`` items of :func:`unit_regex` (small texts, parsed once per character set)."""
    return list(parse_regex(unit_regex(charset)[0], "a JSON string unit"))


# ---------------------------------------------------------------------------------------------- lengths
def restrict_length(ast, lo: int, hi: int | None):
    """An AST for ``L(ast) ∩ {s : lo <= len(s) <= hi}`` when it can be written structurally, else None.

    Handles the shapes real schemas use (``C{a,b}``, ``prefix C* suffix``, alternations of those) without
    building a product automaton.
    """
    a, b = A.length_range(ast)
    if a >= lo and (hi is None or (b is not None and b <= hi)):
        return ast
    if (b is not None and b < lo) or (hi is not None and a > hi):
        return A.EMPTY
    t = ast[0]
    if t == "r" and A.length_range(ast[1]) == (1, 1):
        new_lo = max(ast[2], lo)
        new_hi = hi if ast[3] is None else (ast[3] if hi is None else min(ast[3], hi))
        return A.rep(ast[1], new_lo, new_hi)
    if t == "a":
        parts = []
        for x in ast[1]:
            r = restrict_length(x, lo, hi)
            if r is None:
                return None
            parts.append(r)
        return A.alt(*parts)
    if t == "c":
        items = list(ast[1])
        ranges = [A.length_range(x) for x in items]
        var = [i for i, (p, q) in enumerate(ranges) if p != q]
        if len(var) > 1:
            # distribute over a bounded alternation of fixed-length branches: (a|bc)X* -> aX* | bcX*
            for i in var:
                x = items[i]
                if x[0] == "a" and len(x[1]) <= 16 and all(A.length_range(y)[0] == A.length_range(y)[1]
                                                           for y in x[1]):
                    parts = []
                    for y in x[1]:
                        r = restrict_length(A.cat(*items[:i], y, *items[i + 1:]), lo, hi)
                        if r is None:
                            return None
                        parts.append(r)
                    return A.alt(*parts)
            return None
        fixed = sum(p for i, (p, q) in enumerate(ranges) if i != var[0])
        i = var[0]
        r = restrict_length(items[i], max(0, lo - fixed), None if hi is None else hi - fixed)
        if r is None:
            return None
        items[i] = r
        return A.cat(*items)
    return None
