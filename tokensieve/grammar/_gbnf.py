"""GBNF front-end (llama.cpp grammar syntax) -> grammar IR.

GBNF has no lexer: it constrains characters. To keep that meaning under a greedy lexer, every terminal emitted
here matches exactly one character (a literal becomes a sequence of one-character terminals; a class or ``.`` is
one terminal), so lexing can never merge or split what the grammar separates.

Accepted syntax is llama.cpp's, slightly relaxed: a rule body may continue on any following line that does not
itself start a rule (``name ::=``), rule names may contain ``_``, escapes of ASCII punctuation are literal, and
``{,n}`` means ``{0,n}``. Token references (``<...>``) are not supported. A rule defined twice is an error (llama.cpp
keeps the last definition silently).
"""

from __future__ import annotations

import json
import re

from .._errors import GrammarError, LimitExceededError, UnsupportedFeatureError
from ._ir import Grammar, GrammarBuilder
from ._reduce import reduce_grammar

__all__ = ["grammar_from_gbnf"]

# Total symbols that counted repetitions ({m,n}) may add to the grammar: far above any sensible grammar,
# low enough that an absurd bound fails fast instead of exhausting memory.
MAX_REPETITION_EXPANSION = 200_000

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<define>::=)
  | (?P<name>[A-Za-z0-9_-]+)
  | (?P<lit>"(?:[^"\\\n]|\\[^\n])*")
  | (?P<cls>\[(?:[^\]\\\n]|\\[^\n])*\])
  | (?P<punct>[()|*+?.])
  | (?P<rep>\{[^}\n]*\})
""", re.VERBOSE)
_REP = re.compile(r"\{\s*(\d*)\s*(?:(,)\s*(\d*)\s*)?\}")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}
_NAMED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class _Tok:
    __slots__ = ("kind", "value", "line", "bol")

    def __init__(self, kind: str, value, line: int, bol: bool):
        self.kind, self.value, self.line, self.bol = kind, value, line, bol


def _decode(body: str, line: int, what: str) -> list[tuple[str, bool]]:
    """Characters of a literal/class body as (char, was_escaped); GrammarError on a bad escape."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append((c, False))
            i += 1
            continue
        e = body[i + 1]  # the token regex guarantees a character after a backslash
        if e in _SIMPLE_ESCAPES:
            out.append((_SIMPLE_ESCAPES[e], True))
            i += 2
        elif e in _HEX_LEN:
            k = _HEX_LEN[e]
            digits = body[i + 2:i + 2 + k]
            if len(digits) != k or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise GrammarError(f"bad escape \\{e}{digits} in {what}: expected {k} hex digits", line=line)
            cp = int(digits, 16)
            if cp > 0x10FFFF:
                raise GrammarError(f"code point U+{cp:X} out of range in {what}", line=line)
            out.append((chr(cp), True))
            i += 2 + k
        elif e.isascii() and e.isprintable() and e not in _NAMED:
            out.append((e, True))
            i += 2
        else:
            raise GrammarError(f"unknown escape \\{e} in {what}", line=line)
    return out


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, line, bol, n = 0, 1, True, len(text)
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            c = text[pos]
            if c == '"':
                raise GrammarError("unterminated literal", line=line)
            if c == "[":
                raise GrammarError("unterminated character class", line=line)
            if c == "{":
                raise GrammarError("unterminated repetition bounds '{'", line=line)
            if c == "<":
                raise UnsupportedFeatureError("GBNF token reference", "'<...>' tokens cannot be matched as text",
                                              path=f"line {line}")
            raise GrammarError(f"unexpected character {c!r}", line=line)
        kind = m.lastgroup
        pos = m.end()
        if kind == "nl":
            line += 1
            bol = True
            continue
        if kind in ("ws", "comment"):
            continue
        s = m.group()
        if kind == "lit":
            value = [c for c, _ in _decode(s[1:-1], line, "literal")]
            for c in value:
                if 0xD800 <= ord(c) <= 0xDFFF:
                    raise GrammarError(f"surrogate code point U+{ord(c):X} in literal", line=line)
        elif kind == "cls":
            value = _parse_class(s, line)
        elif kind == "rep":
            value = _parse_rep(s, line)
        elif kind == "punct":
            kind, value = s, None
        else:
            value = s
        toks.append(_Tok(kind, value, line, bol))
        bol = False
    return toks


def _parse_class(s: str, line: int) -> tuple[bool, list[tuple[int, int]]]:
    """``[...]`` -> (negated, sorted merged code point ranges)."""
    body = s[1:-1]
    negated = body.startswith("^")
    chars = _decode(body[1:] if negated else body, line, "character class")
    ranges: list[tuple[int, int]] = []
    i = 0
    while i < len(chars):
        lo = ord(chars[i][0])
        if i + 2 < len(chars) and chars[i + 1] == ("-", False):
            hi = ord(chars[i + 2][0])
            if hi < lo:
                raise GrammarError(f"bad character range {chars[i][0]!r}-{chars[i + 2][0]!r} in {s}", line=line)
            ranges.append((lo, hi))
            i += 3
        else:
            ranges.append((lo, lo))
            i += 1
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return negated, merged


def _parse_rep(s: str, line: int) -> tuple[int, int | None]:
    m = _REP.fullmatch(s)
    if m is None or (not m.group(1) and not m.group(2)):
        raise GrammarError(f"bad repetition bounds {s}: expected {{m}}, {{m,}} or {{m,n}}", line=line)
    lo = int(m.group(1)) if m.group(1) else 0
    if not m.group(2):
        return lo, lo
    hi = int(m.group(3)) if m.group(3) else None
    if hi is not None and hi < lo:
        raise GrammarError(f"bad repetition bounds {s}: maximum below minimum", line=line)
    return lo, hi


def _rx_char(cp: int) -> str:
    """One code point as a regex atom that is also valid inside a class."""
    c = chr(cp)
    if c in _NAMED:
        return c
    if 0x20 <= cp < 0x7F:
        return "\\" + c
    if cp >= 0x80 and c.isprintable():
        return c
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


class _Frame:
    """A rule body or parenthesised group being parsed: its alternatives and where its last item starts."""

    __slots__ = ("alts", "last", "line")

    def __init__(self, line: int):
        self.alts: list[list[int]] = [[]]
        self.last: int | None = None
        self.line = line


class _Compiler:
    def __init__(self) -> None:
        self.b = GrammarBuilder()
        self.checked: dict[str, int] = {}
        self.rule_lines: dict[str, int] = {}
        self.refs: dict[str, int] = {}
        self.never: int | None = None
        self.budget = MAX_REPETITION_EXPANSION
        self.chars: dict[str, int] = {}
        self.fresh_count: dict[str, int] = {}

    def fresh(self, owner: str) -> int:
        # '.' cannot occur in a GBNF name, so these never collide with user rules
        k = self.fresh_count[owner] = self.fresh_count.get(owner, 0) + 1
        return self.b.nonterminal(f"{owner}.{k}")

    def terminal(self, regex: str, name: str) -> int:
        code = self.checked.get(regex)
        if code is None:
            from ..automata._regex import check_regex

            check_regex(regex, f"GBNF terminal {name}")
            code = self.checked[regex] = self.b.terminal(regex, name)
        return code

    def char(self, c: str) -> int:
        code = self.chars.get(c)
        if code is None:
            code = self.chars[c] = self.terminal(_rx_char(ord(c)), json.dumps(c, ensure_ascii=False))
        return code

    def char_class(self, negated: bool, ranges: list[tuple[int, int]]) -> int:
        if not ranges:
            if negated:
                return self.terminal("(?s:.)", ".")
            if self.never is None:  # matches nothing: an undefined nonterminal, removed with its users
                self.never = self.b.nonterminal("[]")
            return self.never
        if not negated and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
            return self.char(chr(ranges[0][0]))
        parts = "".join(_rx_char(lo) if lo == hi else f"{_rx_char(lo)}-{_rx_char(hi)}" for lo, hi in ranges)
        regex = f"[{'^' if negated else ''}{parts}]"
        return self.terminal(regex, regex)

    def group(self, owner: str, alts: list[list[int]]) -> int:
        nt = self.fresh(owner)
        for alt in alts:
            self.b.rule(nt, alt)
        return nt

    def repeat(self, owner: str, item: list[int], lo: int, hi: int | None, line: int) -> list[int]:
        """Symbols for ``item`` (non-empty) repeated lo..hi times (hi None: unbounded)."""
        cost = lo + (hi - lo if hi is not None else 1)
        if cost > self.budget:
            raise LimitExceededError("GBNF repetition", f"counted repetitions expand to more than "
                                     f"{MAX_REPETITION_EXPANSION} symbols (line {line}, rule {owner!r})")
        self.budget -= cost
        x = item[0] if len(item) == 1 else self.group(owner, [item])
        out = [x] * lo
        b = self.b
        if hi is None:
            star = self.fresh(owner)
            b.rule(star, [star, x])  # left recursion: cheapest shape for an Earley parser
            b.rule(star, [])
            out.append(star)
        elif hi > lo:
            opt = self.fresh(owner)
            b.rule(opt, [x])
            b.rule(opt, [])
            for _ in range(hi - lo - 1):
                outer = self.fresh(owner)
                b.rule(outer, [x, opt])
                b.rule(outer, [])
                opt = outer
            out.append(opt)
        return out

    def postfix(self, owner: str, frame: _Frame, op: str, bounds, line: int) -> None:
        if frame.last is None:
            raise GrammarError(f"repetition operator {op!r} without an operand", line=line, symbol=owner)
        seq = frame.alts[-1]
        item = seq[frame.last:]
        if not item:  # an empty literal or group repeated is still empty
            return
        del seq[frame.last:]
        if op == "+":
            x = item[0] if len(item) == 1 else self.group(owner, [item])
            plus = self.fresh(owner)
            self.b.rule(plus, [plus, x])
            self.b.rule(plus, [x])
            seq.append(plus)
            return
        lo, hi = {"*": (0, None), "?": (0, 1)}.get(op, bounds)
        seq.extend(self.repeat(owner, item, lo, hi, line))

    def compile(self, toks: list[_Tok], start: str) -> Grammar:
        b = self.b
        i, n = 0, len(toks)
        while i < n:
            tok = toks[i]
            if tok.kind != "name":
                raise GrammarError("expected a rule definition 'name ::= ...'", line=tok.line)
            if i + 1 >= n or toks[i + 1].kind != "define":
                raise GrammarError(f"missing '::=' after rule name {tok.value!r}", line=tok.line, symbol=tok.value)
            owner = tok.value
            if owner in self.rule_lines:
                raise GrammarError(f"rule {owner!r} defined more than once (first on line "
                                   f"{self.rule_lines[owner]})", line=tok.line, symbol=owner)
            self.rule_lines[owner] = tok.line
            lhs = b.nonterminal(owner)
            i += 2
            stack = [_Frame(tok.line)]
            while i < n:
                tok = toks[i]
                kind = tok.kind
                if kind == "name" and i + 1 < n and toks[i + 1].kind == "define":
                    if not tok.bol:
                        raise GrammarError(f"rule definition {tok.value!r} must start a new line",
                                           line=tok.line, symbol=tok.value)
                    break
                i += 1
                frame = stack[-1]
                seq = frame.alts[-1]
                if kind == "name":
                    frame.last = len(seq)
                    self.refs.setdefault(tok.value, tok.line)
                    seq.append(b.nonterminal(tok.value))
                elif kind == "lit":
                    frame.last = len(seq)
                    seq.extend(self.char(c) for c in tok.value)
                elif kind == "cls":
                    frame.last = len(seq)
                    seq.append(self.char_class(*tok.value))
                elif kind == ".":
                    frame.last = len(seq)
                    seq.append(self.terminal("(?s:.)", "."))
                elif kind == "(":
                    stack.append(_Frame(tok.line))
                elif kind == ")":
                    if len(stack) == 1:
                        raise GrammarError("unmatched ')'", line=tok.line, symbol=owner)
                    inner = stack.pop()
                    parent = stack[-1]
                    pseq = parent.alts[-1]
                    parent.last = len(pseq)
                    if len(inner.alts) == 1:  # a plain group: splice it, the postfix logic sees one item
                        pseq.extend(inner.alts[0])
                    else:
                        pseq.append(self.group(owner, inner.alts))
                elif kind == "|":
                    frame.alts.append([])
                    frame.last = None
                elif kind in ("*", "+", "?", "rep"):
                    self.postfix(owner, frame, "{}" if kind == "rep" else kind, tok.value, tok.line)
                elif kind == "define":
                    raise GrammarError("unexpected '::='", line=tok.line, symbol=owner)
                else:  # pragma: no cover - the tokenizer emits no other kinds
                    raise GrammarError(f"unexpected token {kind!r}", line=tok.line, symbol=owner)
            if len(stack) > 1:
                raise GrammarError("unclosed '('", line=stack[-1].line, symbol=owner)
            for alt in stack[0].alts:
                b.rule(lhs, alt)

        for name, line in self.refs.items():
            if name not in self.rule_lines:
                raise GrammarError(f"undefined rule {name!r}", line=line, symbol=name)
        if start not in self.rule_lines:
            raise GrammarError(f"start rule {start!r} is not defined", symbol=start)
        return reduce_grammar(b.build(b.nonterminal(start), source="gbnf"))


def grammar_from_gbnf(text: str, start: str = "root") -> Grammar:
    """Compile llama.cpp GBNF ``text`` with start rule ``start`` into the IR (reduced).

    Raises:
        GrammarError: syntax errors, undefined or doubly defined rules, bad escapes, classes or repetition
            bounds, an unknown start rule, an empty language (with line and rule).
        UnsupportedFeatureError: token references ``<...>``.
        LimitExceededError: counted repetitions expanding beyond ``MAX_REPETITION_EXPANSION`` symbols.
    """
    if not isinstance(text, str):
        raise GrammarError(f"GBNF grammar must be str, got {type(text).__name__}")
    return _Compiler().compile(_tokenize(text), start)
