"""Regex (Python ``re`` syntax) -> byte-level NFA.

Parsing is the standard library's own regex parser, so the accepted syntax and the meaning of classes such as
``\\w`` are exactly Python's. Constructs with no regular-language meaning for a whole-lexeme match (lookaround,
backreferences, word boundaries, inner anchors) raise UnsupportedFeatureError.
"""

from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict, deque
from heapq import heappop, heappush

try:  # Python >= 3.11
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from .. import _native
from .._errors import GrammarError, LimitExceededError, UnsupportedFeatureError
from . import _charset as cs
from . import _nfa_py

# the DFA row of a set of NFA states is computed in C; the twin is the oracle (tests switch this global)
_nfa_kernels = _native.pick("_nfa", _nfa_py, "the lexer's DFA rows")

__all__ = ["NFA", "check_regex", "parse_regex", "remember_parse"]

MAX_REPEAT = C.MAXREPEAT
# Counted repetitions with more copies than this keep one copy of their body and make the others on demand
# (``maxLength: 32767`` would otherwise be ~1.6M NFA states and ~11 s of compile before the first mask).
VIRTUAL_MIN_COPIES = 64
MAX_VIRTUAL_COPIES = 1 << 31
MAX_EXPANDED_COPIES = 100_000
_VBASE = 1 << 40  # ids from here on are virtual: (repetition, copy, body state)
# plain ints: "&" on re.RegexFlag members goes through enum machinery (a tenth of compile time)
_IGNORECASE, _DOTALL, _ASCII = int(re.IGNORECASE), int(re.DOTALL), int(re.ASCII)
_INF = 1 << 30
_CLASS_SETS: dict[tuple, tuple] = {}  # (class items, flags) -> normalised ranges, shared by all grammars
# pattern -> [edge rows, epsilon rows, live] numbered from 0 (start 0, final 1): the terminals every schema has (a
# string body, a number, whitespace) are built and checked for an empty language once per process, then pasted
# with shifted ids (a fifth of the cost)
_FRAGMENTS: dict = {}  # regex text, or ("automaton", key) -> a terminal's rows
_FRAGMENT_MIN_STATES = 16  # a key literal compiles about as fast as it pastes
_FRAGMENT_MAX_STATES = 4096
_FRAGMENT_BUDGET = 200_000  # states kept in all (~40 MB at worst); past it the cache starts over
_fragment_states = 0
_SEEN: set[int] = set()  # hashes of patterns built once
_SEEN_LIMIT = 100_000
_UTF8_SEQS: dict[tuple, tuple] = {}  # code point ranges -> their UTF-8 byte-range sequences, shared likewise
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


# Regex texts whose parse is already known: producers that render a regex from their own structure (the JSON
# Schema compiler) leave the equivalent parse here, so the NFA skips re-parsing text it was just given. The
# schema compiler's terminals are up to ~100 KB of text and parsing them was a third of compile time. Keyed by
# the exact text, so a hit is the same language whoever asks; bounded (a miss just parses again).
_KNOWN_PARSES: "OrderedDict[str, list]" = OrderedDict()
_KNOWN_CHARS_LIMIT = 2 << 20
_known_chars = 0
_known_lock = threading.Lock()


def remember_parse(pattern: str, items: list) -> None:
    """Record that ``pattern`` parses (no flags) to ``items``, a list of ``re._parser`` ``(op, arg)`` pairs."""
    global _known_chars
    with _known_lock:
        if pattern in _KNOWN_PARSES:
            _KNOWN_PARSES.move_to_end(pattern)
            return
        _KNOWN_PARSES[pattern] = items
        _known_chars += len(pattern)
        while _known_chars > _KNOWN_CHARS_LIMIT and len(_KNOWN_PARSES) > 1:
            old, _ = _KNOWN_PARSES.popitem(last=False)
            _known_chars -= len(old)


def _known_parse(pattern: str) -> list | None:
    """The remembered parse of ``pattern``, taken out: it bridges one schema compile to its regex compile, and
    kept items (lists the collector tracks) would lengthen every later full collection."""
    global _known_chars
    with _known_lock:
        items = _KNOWN_PARSES.pop(pattern, None)
        if items is not None:
            _known_chars -= len(pattern)
        return items


def _has_big_repeat(items) -> bool:
    """True if a repetition inside ``items`` would itself be made virtual (virtual copies do not nest)."""
    stack = [items]
    while stack:
        for op, av in stack.pop():
            if op in (C.MAX_REPEAT, C.MIN_REPEAT):
                lo, hi, sub = av
                if (lo if hi == MAX_REPEAT else hi) > VIRTUAL_MIN_COPIES:
                    return True
                stack.append(list(sub))
            elif op is C.BRANCH:
                stack.extend(list(alt) for alt in av[1])
            elif op is C.SUBPATTERN:
                stack.append(list(av[3]))
    return False


def check_regex(pattern: str, where: str = "regex") -> None:
    """Raise GrammarError / UnsupportedFeatureError if ``pattern`` cannot be a terminal."""
    nfa = NFA(max_states=2_000_000)
    nfa.add_terminal(pattern, where)


class _Rep:
    """A counted repetition ``body{lo,hi}`` from ``entry`` to ``exit``, kept as one template copy of the body.

    The template is the regular states ``b0 .. b0+k-1`` (entered at ``bs``, left at ``be``), reachable from
    nowhere; copy ``i`` of template state ``x`` is the virtual id ``base + i*k + (x - b0)``.
    """

    __slots__ = ("base", "b0", "k", "bs", "be", "lo", "hi", "entry", "exit", "dloc", "passable")

    def __init__(self, base, b0, k, bs, be, lo, hi, entry, exit_):
        self.base, self.b0, self.k, self.bs, self.be = base, b0, k, bs, be
        self.lo, self.hi, self.entry, self.exit = lo, hi, entry, exit_
        self.dloc = None  # fewest bytes from each template state to ``be`` (computed with the distances)
        self.passable = None  # whether the body has any word (computed by live_mask)


class _Rows:
    """A view of per-state rows of the NFA (byte edges, epsilon edges, owner, distance): regular ids index
    ``rows``, virtual ids are computed by ``virtual``. The NFA's own code and the kernels read ``rows``
    directly (the virtual-id check was a tenth of building a schema's lexer)."""

    __slots__ = ("rows", "virtual")

    def __init__(self, rows, virtual):
        self.rows, self.virtual = rows, virtual

    def __getitem__(self, x):
        if x < _VBASE:
            return self.rows[x]
        return self.virtual(x)

    def __len__(self) -> int:
        return len(self.rows)


class NFA:
    """A byte-level Thompson NFA holding all terminals of a grammar.

    State ``s`` has byte edges ``edges[s] = [(lo, hi, target), ...]`` and epsilon edges ``eps[s]``.
    Terminal ``i`` starts at ``starts[i]`` and accepts in ``finals[i]``. Ids from ``_VBASE`` on are copies of
    a large counted repetition's body, made on demand (``edges``/``eps``/``owner`` index them like the
    others); :meth:`closure`, :meth:`distances` and :meth:`live_mask` never enumerate them.
    """

    def __init__(self, max_states: int = 1_000_000):
        # rows are lists while a terminal is built, then tuples; the row lists become tuples in freeze(), so
        # the collector stops traversing them (an NFA of 200k states added ~15 ms to every full collection, and
        # those pauses landed inside masks)
        self._e: list | tuple = []  # byte edges (lo, hi, target) of each regular state
        self._p: list | tuple = []  # epsilon targets of each regular state
        self._o = array("q")  # terminal index of each state (-1 while building)
        self.edges = _Rows(self._e, self._v_edges)
        self.eps = _Rows(self._p, self._v_eps)
        self.owner = _Rows(self._o, lambda x: self._o[self._locate(x)[2]])
        self.starts: list[int] = []
        self.finals: list[int] = []
        self._frag_of: dict[int, list] = {}  # terminal index -> its _FRAGMENTS entry (built or pasted)
        self.max_states = max_states
        self._reps: list[_Rep] = []
        self._rep_bases: list[int] = []
        self._vnext = _VBASE
        self._closure_memo: dict[int, tuple[int, ...]] = {}
        self._final_set: frozenset[int] = frozenset()
        self._dist = None

    def freeze(self) -> None:
        """Done adding terminals for now: store the row lists as tuples (see ``__init__``)."""
        if type(self._e) is list:
            self._e, self._p = tuple(self._e), tuple(self._p)
            self.edges.rows, self.eps.rows = self._e, self._p

    def _thaw(self) -> None:
        if type(self._e) is tuple:
            self._e, self._p = list(self._e), list(self._p)
            self.edges.rows, self.eps.rows = self._e, self._p

    def _check_room(self, n: int) -> None:
        if len(self._e) + n > self.max_states:
            raise LimitExceededError("lexer NFA states", f"more than {self.max_states} regex states; "
                                     "simplify counted repetitions or large character classes")

    def _new(self) -> int:
        self._check_room(1)
        self._e.append([])
        self._p.append([])
        self._o.append(-1)
        return len(self._e) - 1

    # -- virtual copies of repetition bodies --
    def _locate(self, v: int) -> tuple[_Rep, int, int]:
        r = self._reps[bisect_right(self._rep_bases, v) - 1]
        i, j = divmod(v - r.base, r.k)
        return r, i, r.b0 + j

    def _v_edges(self, v: int) -> list:
        r, i, x = self._locate(v)
        shift = r.base + i * r.k - r.b0
        return [(lo, hi, y + shift) for lo, hi, y in self._e[x]]

    def _v_eps(self, v: int) -> list:
        r, i, x = self._locate(v)
        shift = r.base + i * r.k - r.b0
        out = [y + shift for y in self._p[x]]
        if x == r.be:
            if i + 1 < r.hi:
                out.append(r.base + (i + 1) * r.k + r.bs - r.b0)
            if i + 1 >= r.lo:
                out.append(r.exit)
        return out

    def _virtual_repeat(self, sub, lo: int, hi: int, s: int, e: int, fl: int, where: str) -> None:
        b0 = len(self._e)
        bs, be = self._new(), self._new()
        self._compile(sub, bs, be, fl, where)  # its own work stack: the template is b0 .. len-1
        k = len(self._e) - b0
        r = _Rep(self._vnext, b0, k, bs, be, lo, hi, s, e)
        self._vnext += hi * k
        self._reps.append(r)
        self._rep_bases.append(r.base)
        self._p[s].append(r.base + bs - b0)
        if lo == 0:
            self._p[s].append(e)

    # -- the surface an automaton terminal builds itself with (see grammar.Terminal) --
    def new_state(self) -> int:
        return self._new()

    def add_edge(self, x: int, lo: int, hi: int, y: int) -> None:
        """A byte edge ``x -[lo..hi]-> y``."""
        if not 0 <= lo <= hi <= 255:
            raise ValueError(f"edge byte range {lo}..{hi} outside 0..255")
        self._e[x].append((lo, hi, y))

    def add_eps(self, x: int, y: int) -> None:
        self._p[x].append(y)

    def add_items(self, items, x: int, y: int, where: str) -> None:
        """The NFA of a parsed regex (``re._parser`` items, no flags) from ``x`` to ``y``."""
        self._compile(list(items), x, y, 0, where)

    def add_terminal(self, pattern, where: str) -> int:
        """Compile ``pattern`` (regex text, or an automaton: see :class:`~tokensieve.grammar.Terminal`) as the
        next terminal; returns its index."""
        self._thaw()
        first = len(self._e)
        idx = len(self.starts)
        text = isinstance(pattern, str)
        fkey = pattern if text else ("automaton", pattern.key)
        frag = _FRAGMENTS.get(fkey)
        if frag is not None:
            s, e = self._paste(frag, idx)
            self._frag_of[idx] = frag
        elif not text:
            s, e = self._new(), self._new()
            n_reps = len(self._reps)
            pattern.emit(self, s, e)
        else:
            items = _known_parse(pattern)
            if items is not None:
                items, flags = list(items), 0
            else:
                tree = parse_regex(pattern, where)
                items, flags = list(tree), int(tree.state.flags)
            # anchors at the very edges are no-ops for a whole-lexeme match
            while items and items[0][0] is C.AT and items[0][1] in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
                items.pop(0)
            while items and items[-1][0] is C.AT and items[-1][1] in (C.AT_END, C.AT_END_STRING):
                items.pop()
            s, e = self._new(), self._new()
            n_reps = len(self._reps)
            self._compile(items, s, e, flags, where)
        if frag is None:
            # rows become tuples of ints: the collector stops tracking them, so a big NFA does not lengthen
            # every full collection (those pauses landed inside masks)
            rows_e, rows_p, owner = self._e, self._p, self._o
            for st in range(first, len(rows_e)):
                owner[st] = idx
                rows_e[st] = tuple(rows_e[st])
                rows_p[st] = tuple(rows_p[st])
            if len(self._reps) == n_reps and _FRAGMENT_MIN_STATES <= len(self._e) - first <= _FRAGMENT_MAX_STATES:
                # kept from its second build on: most of a schema's terminals occur in no other schema
                h = hash(fkey)
                if h in _SEEN:
                    self._frag_of[idx] = self._remember(fkey, first)
                else:
                    if len(_SEEN) >= _SEEN_LIMIT:
                        _SEEN.clear()
                    _SEEN.add(h)
        self.starts.append(s)
        self.finals.append(e)
        self._final_set = frozenset(self.finals)
        self._closure_memo.clear()
        self._dist = None
        return idx

    def _remember(self, fkey, first: int) -> list:
        """Keep the rows of the terminal just built from state ``first`` on, numbered from 0; the entry's third
        item is the terminal's liveness once :meth:`live_mask` has computed it."""
        edges = tuple(tuple((lo, hi, y - first) for lo, hi, y in self._e[x]) for x in range(first, len(self._e)))
        eps = tuple(tuple(y - first for y in self._p[x]) for x in range(first, len(self._p)))
        global _fragment_states
        if _fragment_states + len(edges) > _FRAGMENT_BUDGET:
            _FRAGMENTS.clear()
            _fragment_states = 0
        entry = _FRAGMENTS[fkey] = [edges, eps, None]
        _fragment_states += len(edges)
        return entry

    def _paste(self, frag, idx: int) -> tuple[int, int]:
        """Append a remembered terminal's rows shifted to the next free ids; returns its start and final."""
        edges, eps, _live = frag
        self._check_room(len(edges))
        base = len(self._e)
        self._e.extend(tuple((lo, hi, y + base) for lo, hi, y in row) for row in edges)
        self._p.extend(tuple(y + base for y in row) for row in eps)
        self._o.extend([idx] * len(edges))
        return base, base + 1

    # -- queries (shared by the masking lexer and the infill checker) --
    def closure(self, s: int) -> tuple[int, ...]:
        """States reachable from ``s`` by epsilon edges that consume a byte or accept (memoised).

        A tuple of ints, not a frozenset: the collector stops tracking such tuples, and a big grammar memoises
        tens of thousands of closures that every full collection would otherwise traverse (the 40-150 ms
        masks of the MaskBench tail were such collections)."""
        c = self._closure_memo.get(s)
        if c is None:
            c = self._closure_memo[s] = _nfa_kernels.closure(s, self._p, self._e, self._v_eps, self._v_edges,
                                                             self._final_set, _VBASE)
        return c

    def moves(self, states) -> list[tuple[int, int, frozenset[int]]]:
        """Where ``states`` go on each byte: ``(lo, hi, closed target set)`` for the byte intervals the edges'
        bounds cut out (both lexers' DFA rows; a string-body state is a handful of intervals, not ~250 bytes).
        Bytes with no move are left out."""
        return _nfa_kernels.moves(states, self._e, self._v_edges, self._closure_memo, self.closure, _VBASE)

    def live_mask(self) -> int:
        """Bitmask of terminals whose language is non-empty (a search that steps over repetitions whole)."""
        live = 0
        for i, s in enumerate(self.starts):
            frag = self._frag_of.get(i)
            ok = frag[2] if frag is not None else None
            if ok is None:
                ok = self._reaches(s, self.finals[i])
                if frag is not None:
                    frag[2] = ok
            if ok:
                live |= 1 << i
        return live

    def _reaches(self, s: int, goal: int) -> bool:
        seen, stack = {s}, [s]
        while stack:
            x = stack.pop()
            if x == goal:
                return True
            nxt = list(self._p[x])
            nxt.extend(y for _lo, _hi, y in self._e[x])
            for y in nxt:
                if y >= _VBASE:
                    r = self._locate(y)[0]
                    if r.passable is None:  # templates hold no virtual ids: one level deep
                        r.passable = self._reaches(r.bs, r.be)
                    if not r.passable:
                        continue
                    y = r.exit
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        return False

    def distances(self) -> list[int]:
        """Fewest bytes from each state to its terminal's final state (``1 << 30`` if none); virtual ids too.

        Dial's shortest paths on the reverse graph of the regular states, where a repetition counts as one
        edge ``entry -> exit`` weighing its fewest bytes; a copy's distance is then arithmetic.
        """
        if self._dist is not None:
            return self._dist
        n = len(self._e)
        rows_e, rows_p = self._e, self._p
        rev_eps: list[list[int]] = [[] for _ in range(n)]
        rev_byte: list[list[int]] = [[] for _ in range(n)]
        # reverse edges with their weights: epsilon 0, byte 1, a whole repetition its fewest bytes
        rev: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for x in range(n):
            for y in rows_p[x]:
                if y < _VBASE:
                    rev_eps[y].append(x)
                    rev[y].append((x, 0))
            for _lo, _hi, y in rows_e[x]:
                rev_byte[y].append(x)  # template edges stay inside the template: never virtual
                rev[y].append((x, 1))
        for r in self._reps:
            r.dloc = self._template_distances(r, rev_eps, rev_byte)
            m = r.dloc[r.bs - r.b0]
            if m < _INF:
                rev[r.exit].append((r.entry, max(r.lo, 1) * m))
        d = [_INF] * n
        buckets: dict[int, list[int]] = {0: list(self.finals)}
        heap = [0]
        for f in self.finals:
            d[f] = 0
        while heap:
            dist = heappop(heap)
            bucket = buckets.pop(dist)
            while bucket:
                y = bucket.pop()
                if d[y] != dist:
                    continue
                for x, w in rev[y]:
                    nd = dist + w
                    if nd < d[x]:
                        d[x] = nd
                        if w == 0:
                            bucket.append(x)
                        else:
                            if nd not in buckets:
                                buckets[nd] = []
                                heappush(heap, nd)
                            buckets[nd].append(x)
        # an array: the collector does not traverse it
        self._dist = _Rows(array("q", d), self._v_distance)
        return self._dist

    def _v_distance(self, v: int) -> int:
        r, i, x = self._locate(v)
        a, m, tail = r.dloc[x - r.b0], r.dloc[r.bs - r.b0], self._dist.rows[r.exit]
        if a >= _INF or tail >= _INF:
            return _INF
        return a + max(0, r.lo - (i + 1)) * m + tail

    @staticmethod
    def _template_distances(r: _Rep, rev_eps, rev_byte) -> list[int]:
        """0-1 BFS from a template's end, inside the template."""
        d = [_INF] * r.k
        d[r.be - r.b0] = 0
        dq = deque([r.be])
        while dq:
            y = dq.popleft()
            dy = d[y - r.b0]
            for x in rev_eps[y]:
                if r.b0 <= x < r.b0 + r.k and dy < d[x - r.b0]:
                    d[x - r.b0] = dy
                    dq.appendleft(x)
            for x in rev_byte[y]:
                if r.b0 <= x < r.b0 + r.k and dy + 1 < d[x - r.b0]:
                    d[x - r.b0] = dy + 1
                    dq.append(x)
        return d

    # -- compilation: an explicit work stack, so nesting depth never reaches Python's recursion limit --
    def _compile(self, items, start: int, end: int, flags: int, where: str) -> None:
        work = [("seq", items, start, end, flags)]
        while work:
            kind, node, s, e, fl = work.pop()
            if kind == "seq":
                items = node
                if not items:
                    self._p[s].append(e)
                    continue
                cur = s
                last = len(items) - 1
                plain = not fl & _IGNORECASE
                for k, item in enumerate(items):
                    nxt = e if k == last else self._new()
                    if plain and item[0] is C.LITERAL and item[1] < 0x80:
                        # an ASCII literal is one edge (most of a schema's bytes: keys, enums, punctuation)
                        self._e[cur].append((item[1], item[1], nxt))
                    else:
                        work.append(("item", item, cur, nxt, fl))
                    cur = nxt
                continue
            op, av = node
            if op is C.LITERAL:
                self._charset(self._literal_set(av, fl), s, e, fl)
            elif op is C.NOT_LITERAL:
                self._charset(cs.negate(self._literal_set(av, fl)), s, e, fl)
            elif op is C.ANY:
                if fl & _DOTALL:
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
        copies = lo if hi == MAX_REPEAT else hi
        if copies > VIRTUAL_MIN_COPIES and not _has_big_repeat(sub):
            # copies cost nothing until visited; the DFA state bound limits what a walk materialises
            if copies > MAX_VIRTUAL_COPIES:
                raise LimitExceededError("regex repetition", f"count above {MAX_VIRTUAL_COPIES} in {where}")
            if hi != MAX_REPEAT:
                self._virtual_repeat(sub, lo, hi, s, e, fl, where)
                return
            cur = self._new()
            self._virtual_repeat(sub, lo, lo, s, cur, fl, where)
            lo = 0
        else:
            if copies > MAX_EXPANDED_COPIES:  # nested large repetitions: the outer one is expanded
                raise LimitExceededError("regex repetition", f"count above {MAX_EXPANDED_COPIES} around another "
                                         f"large repetition in {where}")
            cur = s
        for _ in range(lo):
            nxt = self._new()
            work.append(("seq", sub, cur, nxt, fl))
            cur = nxt
        if hi == MAX_REPEAT:
            loop = self._new()
            self._p[cur].append(loop)
            body_end = self._new()
            work.append(("seq", sub, loop, body_end, fl))
            self._p[body_end].append(loop)
            self._p[loop].append(e)
        else:
            for _ in range(hi - lo):
                nxt = self._new()
                self._p[cur].append(e)
                work.append(("seq", sub, cur, nxt, fl))
                cur = nxt
            self._p[cur].append(e)

    @staticmethod
    def _literal_set(cp: int, fl: int) -> cs.Ranges:
        r = ((cp, cp),)
        return cs.ignore_case(r) if fl & _IGNORECASE else r

    def _class_set(self, items, fl: int, where: str) -> cs.Ranges:
        # the same few classes (a JSON string's characters, digits, hex) recur in every terminal of a schema:
        # normalising each occurrence was an eighth of compile time
        key = (tuple(items), fl)
        out = _CLASS_SETS.get(key)
        if out is None:
            out = self._class_set_uncached(items, fl, where)
            if len(_CLASS_SETS) >= 4096:
                _CLASS_SETS.clear()
            _CLASS_SETS[key] = out
        return out

    def _class_set_uncached(self, items, fl: int, where: str) -> cs.Ranges:
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
                base = _ASCII_CATEGORY[name] if fl & _ASCII else cs.unicode_class(name)
                ranges.extend(cs.negate(cs.normalize(base)) if neg else base)
            else:
                raise UnsupportedFeatureError(f"class item {op}", f"in {where}")
        out = cs.normalize(ranges)
        if fl & _IGNORECASE:
            out = cs.ignore_case(out)
        return cs.negate(out) if negated else out

    def _charset(self, ranges: cs.Ranges, s: int, e: int, fl: int) -> None:
        seqs = _UTF8_SEQS.get(ranges)
        if seqs is None:
            seqs = tuple(tuple(seq) for lo, hi in cs.drop_surrogates(ranges) for seq in cs.utf8_sequences(lo, hi))
            if len(_UTF8_SEQS) >= 4096:
                _UTF8_SEQS.clear()
            _UTF8_SEQS[ranges] = seqs
        # share states between sequences with equal leading byte ranges (a small trie), so big classes
        # such as \w stay compact
        trie: dict[tuple, int] = {}
        for seq in seqs:
            cur = s
            for k, (lo, hi) in enumerate(seq):
                if k == len(seq) - 1:
                    self._e[cur].append((lo, hi, e))
                else:
                    key = (cur, lo, hi)
                    nxt = trie.get(key)
                    if nxt is None:
                        nxt = self._new()
                        trie[key] = nxt
                        self._e[cur].append((lo, hi, nxt))
                    cur = nxt
