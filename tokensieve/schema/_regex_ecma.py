"""ECMA-262 regular expressions (JSON Schema ``pattern``) -> code-point ASTs, and the ``pattern`` language.

Semantics follow ECMA-262 with the ``u`` flag (code points, ``\\u{...}``, ``\\p{...}``) plus the Annex B
leniencies real schemas rely on (a ``{`` that starts no quantifier and a lone ``]`` are literals; unknown
identity escapes such as ``\\_`` stand for the character). ``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``,
``\\s`` is the ECMA white-space + line-terminator set, ``.`` excludes the four line terminators, ``^``/``$``
match only at the ends of the input (no ``m`` flag). Lookaround, backreferences and word boundaries have no
regular-language meaning here and raise UnsupportedFeatureError.

A ``pattern`` is unanchored: its language is every string *containing* a match.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from .._errors import LimitExceededError, SchemaError, UnsupportedFeatureError
from . import _automata as A
from ._lang import Lang
from ._strings import ALL_STRINGS, SIGMA_STAR, string_lang

__all__ = ["parse_ecma", "pattern_lang", "to_python_regex", "MAX_PATTERN_DEPTH", "MAX_REPEAT"]

MAX_PATTERN_DEPTH = 48
MAX_REPEAT = 10_000

_DIGIT = ((0x30, 0x39),)
_WORD = A.cs_norm([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE = A.cs_norm([(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
                    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)])
_LINE_TERMINATORS = A.cs_norm([(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)])
_DOT = A.cs_diff(A.UNIVERSE, _LINE_TERMINATORS)
_SYNTAX = set("^$\\.*+?()[]{}|/")
_CONTROL = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}

# General_Category names and aliases (PropertyValueAliases.txt), matched case-insensitively without "_"/" ".
_GC_ALIASES = {
    "L": ["letter"], "LC": ["casedletter"], "Lu": ["uppercaseletter"], "Ll": ["lowercaseletter"],
    "Lt": ["titlecaseletter"], "Lm": ["modifierletter"], "Lo": ["otherletter"],
    "M": ["mark", "combiningmark"], "Mn": ["nonspacingmark"], "Mc": ["spacingmark"], "Me": ["enclosingmark"],
    "N": ["number"], "Nd": ["decimalnumber", "digit"], "Nl": ["letternumber"], "No": ["othernumber"],
    "P": ["punctuation", "punct"], "Pc": ["connectorpunctuation"], "Pd": ["dashpunctuation"],
    "Ps": ["openpunctuation"], "Pe": ["closepunctuation"], "Pi": ["initialpunctuation"],
    "Pf": ["finalpunctuation"], "Po": ["otherpunctuation"],
    "S": ["symbol"], "Sm": ["mathsymbol"], "Sc": ["currencysymbol"], "Sk": ["modifiersymbol"],
    "So": ["othersymbol"], "Z": ["separator"], "Zs": ["spaceseparator"], "Zl": ["lineseparator"],
    "Zp": ["paragraphseparator"], "C": ["other"], "Cc": ["control", "cntrl"], "Cf": ["format"],
    "Cs": ["surrogate"], "Co": ["privateuse"], "Cn": ["unassigned"],
}
_GC_LOOKUP = {}
for _k, _vs in _GC_ALIASES.items():
    _GC_LOOKUP[_k.lower()] = _k
    for _v in _vs:
        _GC_LOOKUP[_v] = _k


@lru_cache(maxsize=None)
def _category_table() -> dict[str, tuple]:
    ranges: dict[str, list] = {}
    prev_cat, start = None, 0
    for cp in range(A.MAX_CP + 2):
        cat = unicodedata.category(chr(cp)) if cp <= A.MAX_CP else None
        if cat != prev_cat:
            if prev_cat is not None:
                ranges.setdefault(prev_cat, []).append((start, cp - 1))
            prev_cat, start = cat, cp
    return {k: A.cs_norm(v) for k, v in ranges.items()}


def _gc_set(name: str) -> tuple:
    table = _category_table()
    if len(name) == 1:
        return A.cs_norm(r for k, v in table.items() if k[0] == name for r in v)
    if name == "LC":
        return A.cs_norm(table.get("Lu", ()) + table.get("Ll", ()) + table.get("Lt", ()))
    return table.get(name, ())


def _property_set(body: str, where: str) -> tuple:
    name, _, value = body.partition("=")
    if value:
        if name not in ("General_Category", "gc"):
            raise UnsupportedFeatureError("pattern", f"Unicode property {body!r} (only General_Category)",
                                          path=where)
        name = value
    key = name.replace("_", "").replace(" ", "").lower()
    if key in ("any",):
        return ((0, A.MAX_CP),)
    if key == "ascii":
        return ((0, 0x7F),)
    gc = _GC_LOOKUP.get(key)
    if gc is None:
        raise UnsupportedFeatureError("pattern", f"Unicode property \\p{{{body}}}", path=where)
    return _gc_set(gc)


class _Parser:
    def __init__(self, src: str, where: str):
        # fold UTF-16 surrogate pairs written as two \\u escapes or two raw code units into one code point
        self.s = src
        self.i = 0
        self.where = where
        self.depth = 0

    def error(self, msg: str):
        return SchemaError(f"invalid regular expression {self.s!r}: {msg} at offset {self.i}", path=self.where)

    def unsupported(self, what: str):
        return UnsupportedFeatureError("pattern", f"{what} in regular expression {self.s!r} has no "
                                       "regular-language equivalent", path=self.where)

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def parse(self):
        node = self.disjunction()
        if self.i < len(self.s):
            raise self.error("unbalanced ')'")
        return node

    def disjunction(self):
        alts = [self.alternative()]
        while self.peek() == "|":
            self.i += 1
            alts.append(self.alternative())
        return A.alt(*alts) if len(alts) > 1 else alts[0]

    def alternative(self):
        items = []
        while self.i < len(self.s) and self.peek() not in "|)":
            items.append(self.term())
        if any(x == A.EMPTY for x in items):
            return A.EMPTY
        # keep anchors as items (cat would drop nothing else)
        return A.cat(*items) if items else A.EPS

    def term(self):
        c = self.peek()
        if c == "^":
            self.i += 1
            self._no_quantifier()
            return A.BOL
        if c == "$":
            self.i += 1
            self._no_quantifier()
            return A.EOL
        if c == "\\" and self.peek(1) in ("b", "B"):
            raise self.unsupported("a word boundary \\" + self.peek(1))
        if c == "(" and self.peek(1) == "?" and self.peek(2) in ("=", "!"):
            raise self.unsupported("a lookahead")
        if c == "(" and self.peek(1) == "?" and self.peek(2) == "<" and self.peek(3) in ("=", "!"):
            raise self.unsupported("a lookbehind")
        atom = self.atom()
        return self.quantifier(atom)

    def _no_quantifier(self):
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and self._brace_quantifier(peek=True)):
            raise self.error("nothing to repeat")

    def _brace_quantifier(self, peek: bool = False):
        j = self.i + 1
        s = self.s
        k = j
        while k < len(s) and s[k].isdigit() and s[k].isascii():
            k += 1
        if k == j:
            return None
        lo = int(s[j:k])
        hi = lo
        if k < len(s) and s[k] == ",":
            k += 1
            m = k
            while k < len(s) and s[k].isdigit() and s[k].isascii():
                k += 1
            hi = int(s[m:k]) if k > m else None
        if k >= len(s) or s[k] != "}":
            return None
        if not peek:
            self.i = k + 1
        return lo, hi

    def quantifier(self, atom):
        c = self.peek()
        if c == "*":
            self.i += 1
            lo, hi = 0, None
        elif c == "+":
            self.i += 1
            lo, hi = 1, None
        elif c == "?":
            self.i += 1
            lo, hi = 0, 1
        elif c == "{":
            q = self._brace_quantifier()
            if q is None:
                return atom
            lo, hi = q
            if hi is not None and hi < lo:
                raise self.error("numbers out of order in {} quantifier")
            if lo > MAX_REPEAT or (hi is not None and hi > MAX_REPEAT):
                raise LimitExceededError("pattern repetition", f"a counted repetition above {MAX_REPEAT} in "
                                         f"{self.where}")
        else:
            return atom
        if self.peek() == "?":  # lazy: same language
            self.i += 1
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and self._brace_quantifier(peek=True)):
            raise self.error("nothing to repeat")
        return A.rep(atom, lo, hi)

    def atom(self):
        c = self.peek()
        if c == "":
            raise self.error("unexpected end")
        if c == "(":
            self.i += 1
            if self.peek() == "?":
                if self.peek(1) == ":":
                    self.i += 2
                elif self.peek(1) == "<":
                    end = self.s.find(">", self.i)
                    if end < 0:
                        raise self.error("unterminated group name")
                    self.i = end + 1
                else:
                    raise self.error("invalid group")
            self.depth += 1
            if self.depth > MAX_PATTERN_DEPTH:
                raise LimitExceededError("pattern nesting", f"groups nested deeper than {MAX_PATTERN_DEPTH} in "
                                         f"{self.where}")
            node = self.disjunction()
            self.depth -= 1
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            return node
        if c == ")":
            raise self.error("unbalanced ')'")
        if c in "*+?":
            raise self.error("nothing to repeat")
        if c == "{" and self._brace_quantifier(peek=True):
            raise self.error("nothing to repeat")
        if c == ".":
            self.i += 1
            return A.lit(_DOT)
        if c == "[":
            return A.lit(self.char_class())
        if c == "\\":
            return A.lit(self.escape(in_class=False))
        self.i += 1
        return A.lit(self._cp_set(self._combine(ord(c))))

    def _combine(self, cp: int) -> int:
        """Join a raw high surrogate with a following raw low surrogate."""
        if 0xD800 <= cp <= 0xDBFF and self.i < len(self.s) and 0xDC00 <= ord(self.s[self.i]) <= 0xDFFF:
            lo = ord(self.s[self.i])
            self.i += 1
            return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
        return cp

    @staticmethod
    def _cp_set(cp: int) -> tuple:
        # a lone surrogate can never match text in our universe
        return A.cs_inter(((cp, cp),), A.UNIVERSE)

    def _hex(self, n: int) -> int | None:
        t = self.s[self.i:self.i + n]
        if len(t) == n and all(ch in "0123456789abcdefABCDEF" for ch in t):
            self.i += n
            return int(t, 16)
        return None

    def escape(self, in_class: bool) -> tuple:
        """Parse an escape at ``\\``; returns a charset."""
        self.i += 1
        c = self.peek()
        if c == "":
            raise self.error("\\ at end of pattern")
        self.i += 1
        if c == "d":
            return _DIGIT
        if c == "D":
            return A.cs_complement(_DIGIT)
        if c == "w":
            return _WORD
        if c == "W":
            return A.cs_complement(_WORD)
        if c == "s":
            return _SPACE
        if c == "S":
            return A.cs_complement(_SPACE)
        if c in _CONTROL:
            return ((_CONTROL[c],) * 2,)
        if c == "b" and in_class:
            return ((8, 8),)
        if c == "c":
            letter = self.peek()
            if letter.isascii() and letter.isalpha():
                self.i += 1
                v = ord(letter) % 32
                return ((v, v),)
            self.i -= 1  # Annex B: "\c" not followed by a letter is a literal backslash
            return ((0x5C, 0x5C),)
        if c == "0" and not self.peek().isdigit():
            return ((0, 0),)
        if c.isdigit():
            raise self.unsupported("a backreference \\" + c)
        if c == "k" and self.peek() == "<":
            raise self.unsupported("a named backreference")
        if c == "x":
            v = self._hex(2)
            if v is None:
                return ((ord("x"),) * 2,)
            return ((v, v),)
        if c == "u":
            if self.peek() == "{":
                end = self.s.find("}", self.i)
                body = self.s[self.i + 1:end] if end > 0 else ""
                if not body or not all(ch in "0123456789abcdefABCDEF" for ch in body) or int(body, 16) > A.MAX_CP:
                    raise self.error("invalid \\u{...} escape")
                self.i = end + 1
                return self._cp_set(int(body, 16))
            v = self._hex(4)
            if v is None:
                return ((ord("u"),) * 2,)
            if 0xD800 <= v <= 0xDBFF and self.s[self.i:self.i + 2] == "\\u":
                save = self.i
                self.i += 2
                lo = self._hex(4)
                if lo is not None and 0xDC00 <= lo <= 0xDFFF:
                    return self._cp_set(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00))
                self.i = save
            return self._cp_set(v)
        if c in ("p", "P"):
            if self.peek() != "{":
                return ((ord(c),) * 2,)
            end = self.s.find("}", self.i)
            if end < 0:
                raise self.error("unterminated \\p{")
            body = self.s[self.i + 1:end]
            self.i = end + 1
            cs = A.cs_inter(_property_set(body, self.where), A.UNIVERSE)
            return cs if c == "p" else A.cs_complement(cs)
        # identity escape (syntax characters, and Annex B's any other character)
        return self._cp_set(self._combine(ord(c)))

    def char_class(self) -> tuple:
        self.i += 1
        negate = False
        if self.peek() == "^":
            negate = True
            self.i += 1
        ranges: list = []
        while True:
            c = self.peek()
            if c == "":
                raise self.error("unterminated character class")
            if c == "]":
                self.i += 1
                break
            lo_set = self._class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                hi_set = self._class_atom()
                if len(lo_set) == 1 and lo_set[0][0] == lo_set[0][1] and len(hi_set) == 1 \
                        and hi_set[0][0] == hi_set[0][1]:
                    a, b = lo_set[0][0], hi_set[0][0]
                    if a > b:
                        raise self.error("range out of order in character class")
                    ranges.append((a, b))
                else:  # Annex B: a class escape in a range makes '-' literal
                    ranges.extend(lo_set)
                    ranges.append((0x2D, 0x2D))
                    ranges.extend(hi_set)
            else:
                ranges.extend(lo_set)
        cs = A.cs_inter(A.cs_norm(ranges), A.UNIVERSE)
        return A.cs_complement(cs) if negate else cs

    def _class_atom(self) -> tuple:
        c = self.peek()
        if c == "\\":
            if self.peek(1) == "-":
                self.i += 2
                return ((0x2D, 0x2D),)
            return self.escape(in_class=True)
        self.i += 1
        cp = self._combine(ord(c))
        return ((cp, cp),)


def parse_ecma(pattern: str, where: str = ""):
    """AST of an ECMA-262 pattern (anchors kept as BOL/EOL)."""
    if not isinstance(pattern, str):
        raise SchemaError(f"pattern must be a string, got {type(pattern).__name__}", path=where)
    return _Parser(pattern, where).parse()


def _strip_edges(items):
    bol = eol = False
    while items and items[0] == A.BOL:
        bol = True
        items = items[1:]
    while items and items[-1] == A.EOL:
        eol = True
        items = items[:-1]
    return bol, eol, items


@lru_cache(maxsize=1024)
def _pattern_lang_cached(pattern: str, where: str) -> Lang:
    ast = parse_ecma(pattern, where)
    if not A.has_anchor(ast):
        if ast == A.EMPTY:
            return string_lang(A.EMPTY)
        # an unanchored pattern that matches the empty string matches every string
        return ALL_STRINGS if A.nullable(ast) else string_lang(A.cat(SIGMA_STAR, ast, SIGMA_STAR))
    # fast path: anchors only at the edges of top-level alternatives
    alts = ast[1] if ast[0] == "a" else (ast,)
    pieces = []
    for alt in alts:
        items = alt[1] if alt[0] == "c" else (alt,)
        bol, eol, body = _strip_edges(tuple(items))
        body_ast = A.cat(*body)
        if A.has_anchor(body_ast):
            pieces = None
            break
        pieces.append(A.cat(A.EPS if bol else SIGMA_STAR, body_ast, A.EPS if eol else SIGMA_STAR))
    if pieces is not None:
        return string_lang(A.alt(*pieces))
    return Lang(dfa=A.dfa_from_nfa(A.nfa_from_ast(ast), search=True), universe=ALL_STRINGS)


def pattern_lang(pattern: str, where: str = "") -> Lang:
    """The language of strings containing a match of ``pattern`` (the JSON Schema ``pattern`` semantics)."""
    return _pattern_lang_cached(pattern, where)


def to_python_regex(pattern: str) -> str:
    """A Python ``re`` pattern with the same ``re.search`` behaviour as the ECMA pattern (used by ``validate``).

    Anchors become ``\\A``/``\\Z``; classes are spelled out so Python's Unicode ``\\d``/``\\w`` never apply.
    """
    ast = parse_ecma(pattern, "pattern")
    pieces: list[str] = []
    # reuse the AST printer, rendering anchors through a marker character set
    marker_bol, marker_eol = ((0x110000, 0x110000),), ((0x110001, 0x110001),)

    def swap(node):
        stack = [node]
        out: dict[int, object] = {}
        order = []
        while stack:
            x = stack.pop()
            order.append(x)
            if x[0] in ("c", "a"):
                stack.extend(x[1])
            elif x[0] == "r":
                stack.append(x[1])
        for x in reversed(order):
            t = x[0]
            if t == "^":
                out[id(x)] = ("s", marker_bol)
            elif t == "$":
                out[id(x)] = ("s", marker_eol)
            elif t in ("c", "a"):
                out[id(x)] = (t, tuple(out[id(c)] for c in x[1]))
            elif t == "r":
                out[id(x)] = ("r", out[id(x[1])], x[2], x[3])
            else:
                out[id(x)] = x
        return out[id(node)]

    def render(cs):
        if cs == marker_bol:
            return "\\A", 3
        if cs == marker_eol:
            return "\\Z", 3
        return A.plain_set(cs)

    if ast == A.EMPTY:
        return "[^\\s\\S]"
    pieces.append(A.to_regex(swap(ast), render))
    return "".join(pieces)
