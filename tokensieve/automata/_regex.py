"""Regex (Python ``re`` syntax) -> byte-level NFA.

Parsing is the standard library's own regex parser, so the accepted syntax and the meaning of classes such as
``\\w`` are exactly Python's. Constructs with no regular-language meaning for a whole-lexeme match (lookaround,
backreferences, word boundaries, inner anchors) raise UnsupportedFeatureError.
"""

from __future__ import annotations

import re

try:  # Python >= 3.11
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from .._errors import GrammarError, LimitExceededError, UnsupportedFeatureError
from . import _charset as cs

__all__ = ["NFA", "check_regex", "parse_regex"]

MAX_REPEAT = C.MAXREPEAT
_POSSESSIVE = getattr(C, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(C, "ATOMIC_GROUP", None)

_CATEGORY = {
    C.CATEGORY_DIGIT: (r"\d", False),
    C.CATEGORY_NOT_DIGIT: (r"\d", True),
    C.CATEGORY_SPACE: (r"\s", False),
    C.CATEGORY_NOT_SPACE: (r"\s", True),
    C.CATEGORY_WORD: (r"\w", False),
    C.CATEGORY_NOT_WORD: (r"\w", True),
}
_ASCII_CATEGORY = {
    r"\d": ((0x30, 0x39),),
    r"\s": ((0x09, 0x0D), (0x20, 0x20)),
    r"\w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
}


def parse_regex(pattern: str, where: str = "regex"):
    """Parse with Python's own parser; malformed input -> GrammarError naming ``where``."""
    if not isinstance(pattern, str):
        raise GrammarError(f"regex must be str, got {type(pattern).__name__}", symbol=where)
    try:
        return sre_parse.parse(pattern, 0)
    except re.error as e:
        raise GrammarError(f"invalid regex {pattern!r}: {e}", symbol=where) from None
    except RecursionError:
        raise LimitExceededError("regex nesting", f"regex for {where} is nested too deeply") from None


def check_regex(pattern: str, where: str = "regex") -> None:
    """Raise GrammarError / UnsupportedFeatureError if ``pattern`` cannot be a terminal."""
    nfa = NFA(max_states=2_000_000)
    nfa.add_terminal(pattern, where)


class NFA:
    """A byte-level Thompson NFA holding all terminals of a grammar.

    State ``s`` has byte edges ``edges[s] = [(lo, hi, target), ...]`` and epsilon edges ``eps[s]``.
    Terminal ``i`` starts at ``starts[i]`` and accepts in ``finals[i]``.
    """

    def __init__(self, max_states: int = 1_000_000):
        self.edges: list[list[tuple[int, int, int]]] = []
        self.eps: list[list[int]] = []
        self.owner: list[int] = []  # terminal index of each state (-1 while building)
        self.starts: list[int] = []
        self.finals: list[int] = []
        self.max_states = max_states
        self._class_cache: dict[tuple, list[list[tuple[int, int]]]] = {}

    def _new(self) -> int:
        if len(self.edges) >= self.max_states:
            raise LimitExceededError("lexer NFA states", f"more than {self.max_states} regex states; "
                                     "simplify counted repetitions or large character classes")
        self.edges.append([])
        self.eps.append([])
        self.owner.append(-1)
        return len(self.edges) - 1

    def add_terminal(self, pattern: str, where: str) -> int:
        """Compile ``pattern`` as the next terminal; returns its index."""
        tree = parse_regex(pattern, where)
        items = list(tree)
        # anchors at the very edges are no-ops for a whole-lexeme match
        while items and items[0][0] is C.AT and items[0][1] in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
            items.pop(0)
        while items and items[-1][0] is C.AT and items[-1][1] in (C.AT_END, C.AT_END_STRING):
            items.pop()
        first = len(self.edges)
        s, e = self._new(), self._new()
        self._compile(items, s, e, tree.state.flags, where)
        idx = len(self.starts)
        for st in range(first, len(self.edges)):
            self.owner[st] = idx
        self.starts.append(s)
        self.finals.append(e)
        return idx

    # -- compilation: an explicit work stack, so nesting depth never reaches Python's recursion limit --
    def _compile(self, items, start: int, end: int, flags: int, where: str) -> None:
        work = [("seq", items, start, end, flags)]
        while work:
            kind, node, s, e, fl = work.pop()
            if kind == "seq":
                items = node
                if not items:
                    self.eps[s].append(e)
                    continue
                cur = s
                for k, item in enumerate(items):
                    nxt = e if k == len(items) - 1 else self._new()
                    work.append(("item", item, cur, nxt, fl))
                    cur = nxt
                continue
            op, av = node
            if op is C.LITERAL:
                self._charset(self._literal_set(av, fl), s, e, fl)
            elif op is C.NOT_LITERAL:
                self._charset(cs.negate(self._literal_set(av, fl)), s, e, fl)
            elif op is C.ANY:
                if fl & re.DOTALL:
                    self._charset(cs.ANY_CHAR, s, e, fl)
                else:
                    self._charset(cs.drop_surrogates(cs.negate(((10, 10),))), s, e, fl)
            elif op is C.IN:
                self._charset(self._class_set(av, fl, where), s, e, fl)
            elif op is C.BRANCH:
                for alt in av[1]:
                    work.append(("seq", list(alt), s, e, fl))
            elif op is C.SUBPATTERN:
                _group, add, dele, sub = av
                work.append(("seq", list(sub), s, e, (fl | add) & ~dele))
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) or (_POSSESSIVE is not None and op is _POSSESSIVE):
                if _POSSESSIVE is not None and op is _POSSESSIVE:
                    raise UnsupportedFeatureError("possessive quantifier", f"in {where}")
                lo, hi, sub = av
                self._repeat(list(sub), lo, hi, s, e, fl, where, work)
            elif _ATOMIC is not None and op is _ATOMIC:
                raise UnsupportedFeatureError("atomic group", f"in {where}")
            elif op is C.AT:
                raise UnsupportedFeatureError("anchor", f"{av} inside {where} (a terminal always matches whole)")
            elif op in (C.ASSERT, C.ASSERT_NOT):
                raise UnsupportedFeatureError("lookaround", f"in {where}")
            elif op in (C.GROUPREF, C.GROUPREF_EXISTS):
                raise UnsupportedFeatureError("backreference", f"in {where}")
            else:
                raise UnsupportedFeatureError(str(op), f"in {where}")

    def _repeat(self, sub, lo, hi, s, e, fl, where, work) -> None:
        if hi != MAX_REPEAT and hi > 100_000 or lo > 100_000:
            raise LimitExceededError("regex repetition", f"count above 100000 in {where}")
        cur = s
        for _ in range(lo):
            nxt = self._new()
            work.append(("seq", sub, cur, nxt, fl))
            cur = nxt
        if hi == MAX_REPEAT:
            loop = self._new()
            self.eps[cur].append(loop)
            body_end = self._new()
            work.append(("seq", sub, loop, body_end, fl))
            self.eps[body_end].append(loop)
            self.eps[loop].append(e)
        else:
            for _ in range(hi - lo):
                nxt = self._new()
                self.eps[cur].append(e)
                work.append(("seq", sub, cur, nxt, fl))
                cur = nxt
            self.eps[cur].append(e)

    @staticmethod
    def _literal_set(cp: int, fl: int) -> cs.Ranges:
        r = ((cp, cp),)
        return cs.ignore_case(r) if fl & re.IGNORECASE else r

    def _class_set(self, items, fl: int, where: str) -> cs.Ranges:
        negated = False
        ranges: list = []
        for op, av in items:
            if op is C.NEGATE:
                negated = True
            elif op is C.LITERAL:
                ranges.append((av, av))
            elif op is C.RANGE:
                ranges.append(av)
            elif op is C.CATEGORY:
                if av not in _CATEGORY:
                    raise UnsupportedFeatureError(f"class category {av}", f"in {where}")
                name, neg = _CATEGORY[av]
                base = _ASCII_CATEGORY[name] if fl & re.ASCII else cs.unicode_class(name)
                ranges.extend(cs.negate(cs.normalize(base)) if neg else base)
            else:
                raise UnsupportedFeatureError(f"class item {op}", f"in {where}")
        out = cs.normalize(ranges)
        if fl & re.IGNORECASE:
            out = cs.ignore_case(out)
        return cs.negate(out) if negated else out

    def _charset(self, ranges: cs.Ranges, s: int, e: int, fl: int) -> None:
        ranges = cs.drop_surrogates(ranges)
        seqs = self._class_cache.get(ranges)
        if seqs is None:
            seqs = [seq for lo, hi in ranges for seq in cs.utf8_sequences(lo, hi)]
            self._class_cache[ranges] = seqs
        # share states between sequences with equal leading byte ranges (a small trie), so big classes
        # such as \w stay compact
        trie: dict[tuple, int] = {}
        for seq in seqs:
            cur = s
            for k, (lo, hi) in enumerate(seq):
                if k == len(seq) - 1:
                    self.edges[cur].append((lo, hi, e))
                else:
                    key = (cur, lo, hi)
                    nxt = trie.get(key)
                    if nxt is None:
                        nxt = self._new()
                        trie[key] = nxt
                        self.edges[cur].append((lo, hi, nxt))
                    cur = nxt
