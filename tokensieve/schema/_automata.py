"""Regular languages over code-point intervals: regex ASTs, NFAs, DFAs, boolean operations and regex output.

The JSON Schema compiler reasons about decoded strings and number texts as regular languages, so that
``pattern`` + ``maxLength`` + ``format`` + ``not`` combine exactly. Every algorithm here is iterative (no Python
recursion on the size of user input) and bounded by :data:`MAX_DFA_STATES` / :data:`MAX_REGEX_NODES`.

AST nodes are tuples: ``EMPTY`` (no string), ``EPS`` (the empty string), ``("s", charset)``, ``("c", items)``
(concatenation), ``("a", items)`` (alternation), ``("r", node, lo, hi)`` (repetition, ``hi=None`` unbounded) and
the anchors ``BOL``/``EOL`` (only inside translated ECMA patterns, removed before any DFA work).
A charset is a sorted tuple of disjoint, non-adjacent inclusive ``(lo, hi)`` code-point ranges.
"""

from __future__ import annotations

from .._errors import LimitExceededError
from ..automata import _charset
from ..automata._regex import C as _C

cs_norm = _charset.normalize  # sort and merge ranges
cs_contains = _charset.contains

MAX_DFA_STATES = 20_000
MAX_NFA_STATES = 400_000
MAX_REGEX_NODES = 60_000

EMPTY = ("0",)
EPS = ("e",)
BOL = ("^",)
EOL = ("$",)

MAX_CP = 0x10FFFF
# Decoded JSON strings never hold lone surrogates in our universe (they are not valid Unicode text).
UNIVERSE = ((0, 0xD7FF), (0xE000, MAX_CP))


# ---------------------------------------------------------------------------------------------- charsets
def cs_chars(text: str) -> tuple:
    return cs_norm((ord(c), ord(c)) for c in text)


def cs_union(a: tuple, b: tuple) -> tuple:
    return cs_norm(a + b)


def cs_inter(a: tuple, b: tuple) -> tuple:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def cs_diff(a: tuple, b: tuple) -> tuple:
    return cs_inter(a, cs_complement(b, ((0, MAX_CP),)))


def cs_complement(a: tuple, universe: tuple = UNIVERSE) -> tuple:
    return cs_inter(_charset.negate(a), universe)


# ---------------------------------------------------------------------------------------------- AST
def lit(charset: tuple):
    return ("s", charset) if charset else EMPTY


def char(c: str):
    return ("s", ((ord(c), ord(c)),))


def string(text: str):
    return cat(*(char(c) for c in text))


def _as_rep(x):
    return (x[1], x[2], x[3]) if x[0] == "r" else (x, 1, 1)


def _push_cat(flat: list, it) -> None:
    """Append to a concatenation, merging ``x x{a,b}`` into ``x{a+1,b+1}`` (state elimination on counted
    chains yields these, and merging keeps the output flat instead of nested ``x(x(x)?)?``)."""
    if flat:
        p_item, p_lo, p_hi = _as_rep(flat[-1])
        q_item, q_lo, q_hi = _as_rep(it)
        if p_item == q_item and (flat[-1][0] == "r" or it[0] == "r"):
            flat[-1] = rep(p_item, p_lo + q_lo, None if p_hi is None or q_hi is None else p_hi + q_hi)
            return
    flat.append(it)


def cat(*items):
    flat: list = []
    for it in items:
        if it is EMPTY or it == EMPTY:
            return EMPTY
        if it == EPS:
            continue
        for x in (it[1] if it[0] == "c" else (it,)):
            _push_cat(flat, x)
    flat = [x for x in flat if x != EPS]
    if not flat:
        return EPS
    if len(flat) == 1:
        return flat[0]
    return ("c", tuple(flat))


def alt(*items):
    flat, seen, sets, has_eps = [], set(), None, False
    for it in items:
        stack = [it]
        while stack:
            x = stack.pop()
            if x == EMPTY:
                continue
            if x[0] == "a":
                stack.extend(reversed(x[1]))
            elif x == EPS:
                has_eps = True
            elif x[0] == "s":
                if sets is None:
                    sets = len(flat)
                    flat.append(x)
                else:
                    flat[sets] = ("s", cs_union(flat[sets][1], x[1]))
            elif x not in seen:
                seen.add(x)
                flat.append(x)
    if not flat:
        return EPS if has_eps else EMPTY
    body = flat[0] if len(flat) == 1 else ("a", tuple(flat))
    if has_eps and not nullable(body):
        return rep(body, 0, 1)
    return body


def rep(x, lo: int, hi):
    if hi is not None and hi < lo:
        return EMPTY
    if x == EMPTY:
        return EPS if lo == 0 else EMPTY
    if x == EPS or hi == 0:
        return EPS
    if lo == 1 and hi == 1:
        return x
    if x[0] == "r" and x[2] == 0 and x[3] is None and lo <= 1 and hi is None:
        return x  # (x*)* = (x*)+ = x*
    if x[0] == "r" and x[2] == 0 and x[3] == 1 and lo == 0 and hi == 1:
        return x
    if x[0] == "r" and x[2] == 0 and x[3] is None and lo == 0 and hi == 1:
        return x
    if x[0] == "r" and x[2] == 1 and x[3] is None and lo == 0 and hi in (1, None):
        return ("r", x[1], 0, None)
    if x[0] == "r" and x[2] <= 1 and lo == 0 and hi == 1:
        return ("r", x[1], 0, x[3])  # (y{0|1,m})? = y{0,m}
    return ("r", x, lo, hi)


def opt(x):
    return rep(x, 0, 1)


def star(x):
    return rep(x, 0, None)


def _fold(x, leaf, node_value):
    """Post-order evaluation over an AST without recursion: ``leaf(node)`` for nodes without children (``e``,
    ``^``, ``$``, ``0``, ``s``), ``node_value(node, child_values)`` for ``r``, ``c`` and ``a``."""
    memo: dict[int, object] = {}
    stack = [(x, False)]
    while stack:
        node, done = stack.pop()
        k = id(node)
        if k in memo:
            continue
        t = node[0]
        if t in ("e", "^", "$", "0", "s"):
            memo[k] = leaf(node)
            continue
        kids = node[1] if t in ("c", "a") else (node[1],)
        if done:
            memo[k] = node_value(node, [memo[id(c)] for c in kids])
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in kids)
    return memo[id(x)]


def nullable(x) -> bool:
    """Whether the empty string is in the language."""
    def value(node, vals):
        t = node[0]
        if t == "r":
            return node[2] == 0 or vals[0]
        return all(vals) if t == "c" else any(vals)

    return _fold(x, lambda node: node[0] in ("e", "^", "$"), value)


def has_anchor(x) -> bool:
    stack = [x]
    while stack:
        node = stack.pop()
        t = node[0]
        if t in ("^", "$"):
            return True
        if t in ("c", "a"):
            stack.extend(node[1])
        elif t == "r":
            stack.append(node[1])
    return False


def length_range(x) -> tuple[int, int | None]:
    """(min, max) length of strings in the language (max None = unbounded); EMPTY gives (0, 0)."""
    def value(node, vals):
        t = node[0]
        if t == "r":
            a, b = vals[0]
            hi = None if (node[3] is None and b != 0) or b is None else b * (node[3] if node[3] is not None else 0)
            return (a * node[2], hi)
        if t == "c":
            lo, hi = 0, 0
            for a, b in vals:
                lo += a
                hi = None if hi is None or b is None else hi + b
            return (lo, hi)
        vals = [v for c, v in zip(node[1], vals) if c != EMPTY]
        lo = min(v[0] for v in vals)
        hi = None if any(v[1] is None for v in vals) else max(v[1] for v in vals)
        return (lo, hi)

    return _fold(x, lambda node: (1, 1) if node[0] == "s" else (0, 0), value)


# ---------------------------------------------------------------------------------------------- NFA
class NFA:
    """Thompson NFA: ``edges[s] = [(lo, hi, t)]``, ``eps[s] = [t]``; anchors as tagged epsilon edges."""

    __slots__ = ("edges", "eps", "bol", "eol", "start", "final")

    def __init__(self):
        self.edges: list[list] = []
        self.eps: list[list] = []
        self.bol: list[list] = []
        self.eol: list[list] = []
        self.start = self.final = 0

    def new(self) -> int:
        if len(self.edges) >= MAX_NFA_STATES:
            raise LimitExceededError("regex automaton size", f"more than {MAX_NFA_STATES} NFA states "
                                     "(large counted repetitions)")
        self.edges.append([])
        self.eps.append([])
        self.bol.append([])
        self.eol.append([])
        return len(self.edges) - 1


def nfa_from_ast(x) -> NFA:
    nfa = NFA()
    s, e = nfa.new(), nfa.new()
    nfa.start, nfa.final = s, e
    work = [(x, s, e)]
    while work:
        node, a, b = work.pop()
        t = node[0]
        if t == "s":
            for lo, hi in node[1]:
                nfa.edges[a].append((lo, hi, b))
        elif t == "e":
            nfa.eps[a].append(b)
        elif t == "^":
            nfa.bol[a].append(b)
        elif t == "$":
            nfa.eol[a].append(b)
        elif t == "0":
            pass
        elif t == "c":
            cur = a
            items = node[1]
            for i, it in enumerate(items):
                nxt = b if i == len(items) - 1 else nfa.new()
                work.append((it, cur, nxt))
                cur = nxt
        elif t == "a":
            for it in node[1]:
                m1, m2 = nfa.new(), nfa.new()
                nfa.eps[a].append(m1)
                nfa.eps[m2].append(b)
                work.append((it, m1, m2))
        else:  # repetition
            sub, lo, hi = node[1], node[2], node[3]
            cur = a
            for _ in range(lo):
                nxt = nfa.new()
                work.append((sub, cur, nxt))
                cur = nxt
            if hi is None:
                m1, m2 = nfa.new(), nfa.new()
                nfa.eps[cur].append(m1)
                nfa.eps[m1].append(b)
                nfa.eps[m2].append(m1)
                work.append((sub, m1, m2))
            else:
                for _ in range(hi - lo):
                    nfa.eps[cur].append(b)
                    nxt = nfa.new()
                    work.append((sub, cur, nxt))
                    cur = nxt
                nfa.eps[cur].append(b)
    return nfa


# ---------------------------------------------------------------------------------------------- DFA
def _segments(items):
    """Split ``[(lo, hi, payload)]`` into elementary segments ``[(lo, hi, frozenset(payloads))]``, merging
    adjacent segments with the same payload set."""
    if not items:
        return []
    events: dict[int, list] = {}
    for lo, hi, p in items:
        events.setdefault(lo, []).append((1, p))
        events.setdefault(hi + 1, []).append((-1, p))
    points = sorted(events)
    active: dict = {}
    out: list = []
    for k, pt in enumerate(points):
        for d, p in events[pt]:
            c = active.get(p, 0) + d
            if c:
                active[p] = c
            else:
                active.pop(p, None)
        if active and k + 1 < len(points):
            hi = points[k + 1] - 1
            key = frozenset(active)
            if out and out[-1][2] == key and out[-1][1] == pt - 1:
                out[-1] = (out[-1][0], hi, key)
            else:
                out.append((pt, hi, key))
    return out


class DFA:
    """A partial DFA (missing transitions go to an implicit dead state); state 0 is the start.

    ``trans[s]`` is a tuple of ``(lo, hi, target)`` sorted by ``lo``; ``accept[s]`` a bool.
    """

    __slots__ = ("trans", "accept", "minimal")

    def __init__(self, trans, accept, minimal: bool = False):
        self.trans = trans
        self.accept = accept
        self.minimal = minimal  # made by minimize(): minimizing again returns it as it is

    def __len__(self) -> int:
        return len(self.trans)

    @staticmethod
    def empty() -> "DFA":
        return DFA([()], [False])

    # ---- queries ----
    def is_empty(self) -> bool:
        return not any(self.accept[s] for s in self._reachable())

    def _reachable(self) -> list[int]:
        seen, stack = {0}, [0]
        while stack:
            s = stack.pop()
            for _, _, t in self.trans[s]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return sorted(seen)

    def matches(self, text: str) -> bool:
        s = 0
        for ch in text:
            c = ord(ch)
            for lo, hi, t in self.trans[s]:
                if lo <= c <= hi:
                    s = t
                    break
                if lo > c:
                    return False
            else:
                return False
        return self.accept[s]

    # ---- transformations ----
    def trim(self) -> "DFA":
        """Drop unreachable states and states that cannot reach acceptance; renumber from 0."""
        reach = self._reachable()
        rev: dict[int, list[int]] = {}
        for s in reach:
            for _, _, t in self.trans[s]:
                rev.setdefault(t, []).append(s)
        live = {s for s in reach if self.accept[s]}
        stack = list(live)
        while stack:
            t = stack.pop()
            for s in rev.get(t, ()):
                if s not in live:
                    live.add(s)
                    stack.append(s)
        if 0 not in live:
            return DFA.empty()
        order = [s for s in reach if s in live]
        idx = {s: i for i, s in enumerate(order)}
        trans = [tuple((lo, hi, idx[t]) for lo, hi, t in self.trans[s] if t in idx) for s in order]
        return DFA(trans, [self.accept[s] for s in order])

    def minimize(self) -> "DFA":
        """The minimal DFA of the same language (trimmed, start state 0).

        Partition refinement from {accepting, rejecting}: a state's signature is its transitions with targets
        replaced by their blocks. Only the predecessors of states that changed block are re-signed, and a
        splitting block keeps its largest part's id, so a state moves O(log n) times: Moore's rounds re-signed
        every state and took n rounds on a length-bounded chain (maxLength 255: 60 ms a call, 1.2 s a schema).
        """
        if self.minimal:
            return self
        d = self.trim()
        trans = d.trans
        n = len(trans)
        preds: list[list[int]] = [[] for _ in range(n)]
        for s in range(n):
            last = -1
            for _, _, t in trans[s]:
                if t != last:
                    preds[t].append(s)
                    last = t
        block = [1 if a else 0 for a in d.accept]
        members: dict[int, set] = {}
        for s in range(n):
            members.setdefault(block[s], set()).add(s)
        block_sig: dict[int, tuple] = {}  # the signature shared by a block's members that were not re-signed
        next_id = 2
        dirty = set(range(n))
        while dirty:
            # sign every dirty state against the partition as it was before this round's splits
            by_block: dict[int, dict[tuple, list[int]]] = {}
            for s in dirty:
                merged: list = []
                for lo, hi, t in trans[s]:
                    b = block[t]
                    if merged and merged[-1][2] == b and merged[-1][1] == lo - 1:
                        merged[-1] = (merged[-1][0], hi, b)
                    else:
                        merged.append((lo, hi, b))
                by_block.setdefault(block[s], {}).setdefault(tuple(merged), []).append(s)
            moved: list[int] = []
            for b, groups in by_block.items():
                mem = members[b]
                old = block_sig.get(b)
                rest = len(mem) - sum(len(g) for g in groups.values())
                sizes = {sig: len(g) for sig, g in groups.items()}
                if rest:
                    sizes[old] = sizes.get(old, 0) + rest
                if len(sizes) == 1:
                    block_sig[b] = next(iter(sizes))
                    continue
                keep = max(sizes, key=sizes.__getitem__)
                block_sig[b] = keep
                for sig in sizes:
                    if sig == keep:
                        continue
                    if sig == old and rest:  # the members that were not re-signed, plus any that re-signed alike
                        resigned = {s for g in groups.values() for s in g}
                        part = [s for s in mem if s not in resigned]
                        part.extend(groups.get(old, ()))
                    else:
                        part = groups[sig]
                    nb = next_id
                    next_id += 1
                    block_sig[nb] = sig
                    new_mem = members[nb] = set(part)
                    mem -= new_mem
                    for s in part:
                        block[s] = nb
                    moved.extend(part)
            dirty = {p for s in moved for p in preds[s]}
        # renumber so that the start block is 0
        order: dict[int, int] = {}
        stack = [0]
        order[block[0]] = 0
        rep_of: dict[int, int] = {block[0]: 0}
        while stack:
            s = stack.pop()
            for _, _, t in d.trans[s]:
                b = block[t]
                if b not in order:
                    order[b] = len(order)
                    rep_of[b] = t
                    stack.append(t)
        trans: list = [None] * len(order)
        accept = [False] * len(order)
        for b, s in rep_of.items():
            merged = []
            for lo, hi, t in d.trans[s]:
                tb = order[block[t]]
                if merged and merged[-1][2] == tb and merged[-1][1] == lo - 1:
                    merged[-1] = (merged[-1][0], hi, tb)
                else:
                    merged.append((lo, hi, tb))
            trans[order[b]] = tuple(merged)
            accept[order[b]] = d.accept[s]
        return DFA(trans, accept, minimal=True)

    def complete(self, universe: tuple) -> "DFA":
        """Add a sink so every code point of ``universe`` has a transition from every state."""
        trans = [list(t) for t in self.trans]
        accept = list(self.accept)
        sink = len(trans)
        trans.append([(lo, hi, sink) for lo, hi in universe])
        accept.append(False)
        for s in range(sink):
            have = cs_norm((lo, hi) for lo, hi, _ in trans[s])
            gaps = cs_diff(universe, have)
            if gaps:
                trans[s] = sorted(trans[s] + [(lo, hi, sink) for lo, hi in gaps])
        return DFA([tuple(t) for t in trans], accept)

    def complement(self, universe: tuple) -> "DFA":
        full = self.complete(universe)
        return DFA(full.trans, [not a for a in full.accept]).minimize()


def _check_states(n: int) -> None:
    if n > MAX_DFA_STATES:
        raise LimitExceededError("regular language size", f"more than {MAX_DFA_STATES} automaton states "
                                 "(combining pattern/format/length/number constraints)")


def dfa_from_nfa(nfa: NFA, search: bool = False, universe: tuple = UNIVERSE) -> DFA:
    """Subset construction. With ``search``, the language is that of strings containing a match (ECMA
    ``pattern`` semantics): anchors are honoured (``^`` only before any character, ``$`` only after the last)."""
    n = len(nfa.edges)
    if search:
        # product with flags: configuration = q*4 + consumed*2 + ended; extra states for the Σ* loops
        pre, post = n, n + 1

        def closure(states):
            out = set(states)
            stack = list(states)
            while stack:
                c = stack.pop()
                q, consumed, ended = c >> 2, (c >> 1) & 1, c & 1
                nxt = []
                if q == pre:
                    nxt.append(nfa.start << 2 | consumed << 1 | ended)
                elif q < n:
                    for t in nfa.eps[q]:
                        nxt.append(t << 2 | consumed << 1 | ended)
                    if not consumed:
                        for t in nfa.bol[q]:
                            nxt.append(t << 2 | consumed << 1 | ended)
                    for t in nfa.eol[q]:
                        nxt.append(t << 2 | consumed << 1 | 1)
                    if q == nfa.final:
                        nxt.append(post << 2 | consumed << 1 | ended)
                for y in nxt:
                    if y not in out:
                        out.add(y)
                        stack.append(y)
            return frozenset(out)

        def moves(states):
            items = []
            for c in states:
                q, ended = c >> 2, c & 1
                if ended:
                    continue
                if q == pre or q == post:
                    for lo, hi in universe:
                        items.append((lo, hi, q << 2 | 2))
                elif q < n:
                    for lo, hi, t in nfa.edges[q]:
                        items.append((lo, hi, t << 2 | 2))
            return items

        def accepting(states):
            return any(c >> 2 == post for c in states)

        start = closure([pre << 2])
    else:
        def closure(states):
            out = set(states)
            stack = list(states)
            while stack:
                q = stack.pop()
                for t in nfa.eps[q]:
                    if t not in out:
                        out.add(t)
                        stack.append(t)
            return frozenset(out)

        def moves(states):
            items = []
            for q in states:
                items.extend(nfa.edges[q])
            return items

        def accepting(states):
            return nfa.final in states

        start = closure([nfa.start])
    ids = {start: 0}
    sets = [start]
    trans: list = []
    accept: list = []
    memo: dict = {}
    i = 0
    while i < len(sets):
        cur = sets[i]
        i += 1
        accept.append(accepting(cur))
        row = []
        for lo, hi, targets in _segments(moves(cur)):
            tgt = memo.get(targets)
            if tgt is None:
                tgt = memo[targets] = closure(targets)
            j = ids.get(tgt)
            if j is None:
                j = ids[tgt] = len(sets)
                sets.append(tgt)
                _check_states(len(sets))
            if row and row[-1][2] == j and row[-1][1] == lo - 1:
                row[-1] = (row[-1][0], hi, j)
            else:
                row.append((lo, hi, j))
        trans.append(tuple(row))
    return DFA(trans, accept).minimize()


def _overlay(ra, rb, both: bool) -> list:
    """Two sorted rows of disjoint ``(lo, hi, target)`` cut into ``(lo, hi, target_a, target_b)`` pieces (-1 where
    a row has no edge), by one merge pass; with ``both``, only pieces where both rows have an edge."""
    out = []
    i = j = 0
    na, nb = len(ra), len(rb)
    pos = 0
    while i < na or j < nb:
        if i < na and ra[i][1] < pos:
            i += 1
            continue
        if j < nb and rb[j][1] < pos:
            j += 1
            continue
        a_lo = max(ra[i][0], pos) if i < na else None
        b_lo = max(rb[j][0], pos) if j < nb else None
        if b_lo is None or (a_lo is not None and a_lo < b_lo):  # only a covers [a_lo, ...)
            hi = ra[i][1] if b_lo is None else min(ra[i][1], b_lo - 1)
            if not both:
                out.append((a_lo, hi, ra[i][2], -1))
            pos = hi + 1
        elif a_lo is None or b_lo < a_lo:
            hi = rb[j][1] if a_lo is None else min(rb[j][1], a_lo - 1)
            if not both:
                out.append((b_lo, hi, -1, rb[j][2]))
            pos = hi + 1
        else:
            hi = min(ra[i][1], rb[j][1])
            out.append((a_lo, hi, ra[i][2], rb[j][2]))
            pos = hi + 1
    return out


def product(a: DFA, b: DFA, op: str) -> DFA:
    """``op`` in {"and", "or", "diff"} on partial DFAs (missing = dead)."""
    ids = {(0, 0): 0}
    pairs = [(0, 0)]
    trans: list = []
    accept: list = []
    i = 0
    while i < len(pairs):
        p, q = pairs[i]
        i += 1
        ap = p >= 0 and a.accept[p]
        bq = q >= 0 and b.accept[q]
        accept.append(ap and bq if op == "and" else (ap or bq) if op == "or" else (ap and not bq))
        row = []
        for lo, hi, tp, tq in _overlay(a.trans[p] if p >= 0 else (), b.trans[q] if q >= 0 else (),
                                       op == "and"):
            if op == "diff" and tp < 0:
                continue
            key = (tp, tq)
            j = ids.get(key)
            if j is None:
                j = ids[key] = len(pairs)
                pairs.append(key)
                _check_states(len(pairs))
            if row and row[-1][2] == j and row[-1][1] == lo - 1:
                row[-1] = (row[-1][0], hi, j)
            else:
                row.append((lo, hi, j))
        trans.append(tuple(row))
    return DFA(trans, accept).minimize()


def dfa_from_strings(strings) -> DFA:
    """A trie automaton for a finite set of strings."""
    trans: list[dict] = [{}]
    accept = [False]
    for s in strings:
        cur = 0
        for ch in s:
            c = ord(ch)
            nxt = trans[cur].get(c)
            if nxt is None:
                nxt = len(trans)
                trans[cur][c] = nxt
                trans.append({})
                accept.append(False)
                _check_states(len(trans))
            cur = nxt
        accept[cur] = True
    return DFA([tuple((c, c, t) for c, t in sorted(d.items())) for d in trans], accept).minimize()


# ---------------------------------------------------------------------------------------------- DFA -> AST
def _loop_sink(d: DFA):
    """An accepting state whose every transition is a self-loop and that several states enter (the shape a
    complement produces: "anything from here on")."""
    indeg: dict[int, int] = {}
    for s in range(len(d.trans)):
        for _, _, t in d.trans[s]:
            if t != s:
                indeg[t] = indeg.get(t, 0) + 1
    best = None
    for u in range(len(d.trans)):
        if d.accept[u] and d.trans[u] and all(t == u for _, _, t in d.trans[u]) and indeg.get(u, 0) >= 3:
            if best is None or indeg[u] > indeg[best]:
                best = u
    return best


def dfa_to_ast(d: DFA):
    """DFA -> AST by state elimination; raises LimitExceededError when the expression grows past
    MAX_REGEX_NODES. A "loop sink" u (accepting, only self-loops on D) is factored out first:
    L = L(without u) | (prefixes that step into u) D*, which keeps complements from repeating D* per state."""
    d = d.minimize()
    if d.is_empty():
        return EMPTY
    u = _loop_sink(d)
    if u is None or u == 0:
        return _eliminate(d)
    loop = cs_norm((lo, hi) for lo, hi, _ in d.trans[u])
    groups: dict[tuple, list[int]] = {}
    for s in range(len(d.trans)):
        if s != u:
            into = cs_norm((lo, hi) for lo, hi, t in d.trans[s] if t == u)
            if into:
                groups.setdefault(into, []).append(s)
    base_trans = [tuple((lo, hi, t) for lo, hi, t in row if t != u) if s != u else () for s, row in
                  enumerate(d.trans)]
    without = DFA(base_trans, [a and s != u for s, a in enumerate(d.accept)])
    parts = [] if without.is_empty() else [_eliminate(without)]
    for into, states in groups.items():
        reach = DFA(base_trans, [s in states for s in range(len(d.trans))])
        parts.append(cat(_eliminate(reach), lit(into), star(lit(loop))))
    return alt(*parts)


def _eliminate(d: DFA):
    """Plain state elimination, cheapest state (fewest in x out edges) first, via a lazily updated heap.
    Expression sizes are tracked as upper bounds so the limit check stays O(1) per edge."""
    import heapq

    d = d.minimize()
    if d.is_empty():
        return EMPTY
    n = len(d.trans)
    S, F = n, n + 1
    out: dict[int, dict[int, object]] = {s: {} for s in range(n + 2)}
    inn: dict[int, set] = {s: set() for s in range(n + 2)}
    size: dict[tuple, int] = {}
    work = [0]

    def add(p, q, x, sz):
        # total work is bounded too: large intermediate expressions make every later step slow
        work[0] += sz
        if work[0] > 8 * MAX_REGEX_NODES:
            raise LimitExceededError("regex size", "converting a combined string/number constraint to a regular "
                                     "expression takes too much work")
        old = out[p].get(q)
        if old is None:
            out[p][q] = x
        else:
            out[p][q] = alt(old, x)
            sz += size[(p, q)] + 1
        inn[q].add(p)
        if sz > MAX_REGEX_NODES:
            raise LimitExceededError("regex size", "the regular expression for a combined string/number "
                                     "constraint is too large")
        size[(p, q)] = sz

    for s in range(n):
        by_t: dict[int, list] = {}
        for lo, hi, t in d.trans[s]:
            by_t.setdefault(t, []).append((lo, hi))
        for t, rs in by_t.items():
            add(s, t, lit(cs_norm(rs)), 1)
        if d.accept[s]:
            add(s, F, EPS, 1)
    add(S, 0, EPS, 1)

    def cost(k):
        ins = len(inn[k]) - (1 if k in inn[k] else 0)
        outs = len(out[k]) - (1 if k in out[k] else 0)
        # ties: states far from the start first (minimize numbers states breadth-first), which turns counted
        # chains into nested optionals that cat() merges into x{m,n} instead of a sum of prefixes
        return (ins * outs, ins + outs, -k)

    heap = [(cost(k), k) for k in range(n)]
    heapq.heapify(heap)
    done = set()
    while heap:
        c, k = heapq.heappop(heap)
        if k in done:
            continue
        now = cost(k)
        if now != c:
            heapq.heappush(heap, (now, k))
            continue
        done.add(k)
        loop = out[k].pop(k, None)
        loop_sz = size.pop((k, k), 0)
        inn[k].discard(k)
        mid = star(loop) if loop is not None else EPS
        ins = [(p, out[p][k], size.pop((p, k))) for p in inn[k] if p != k]
        outs = [(q, x, size.pop((k, q))) for q, x in out[k].items()]
        for p, _, _ in ins:
            del out[p][k]
        for q, _, _ in outs:
            inn[q].discard(k)
        for p, rp, sp in ins:
            for q, rq, sq in outs:
                add(p, q, cat(rp, mid, rq), sp + loop_sz + sq + 2)
        out[k] = {}
        inn[k] = set()
    return out[S].get(F, EMPTY)


# ---------------------------------------------------------------------------------------------- AST -> text
_ALT, _CAT, _REP, _ATOM = 0, 1, 2, 3


def _quant(lo: int, hi) -> str:
    if hi is None:
        return "*" if lo == 0 else "+" if lo == 1 else "{%d,}" % lo
    if lo == 0 and hi == 1:
        return "?"
    if lo == hi:
        return "{%d}" % lo
    return "{%d,%d}" % (lo, hi)


def to_regex(x, render_set, need: int = 0) -> str:
    """Python ``re`` text for an AST; ``render_set(charset) -> (text, level)`` renders character sets
    (level 0 = an alternation that needs a group, 3 = an atom)."""
    if x == EMPTY:
        raise ValueError("cannot render the empty language")
    pieces: list[str] = []
    cache: dict = {}
    stack: list = [(x, need)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        node, need = item
        t = node[0]
        if t == "s":
            r = cache.get(node[1])
            if r is None:
                r = cache[node[1]] = render_set(node[1])
            text, level = r
            pieces.append(text if level >= need else "(?:" + text + ")")
            continue
        if t == "e":
            pieces.append("(?:)" if need > _CAT else "")
            continue
        if t in ("^", "$", "0"):
            raise ValueError("anchors/empty cannot be rendered inside a terminal")
        own = _ALT if t == "a" else _CAT if t == "c" else _REP
        if own < need:
            stack.append(")")
        if t == "a":
            for i, c in enumerate(reversed(node[1])):
                if i:
                    stack.append("|")
                stack.append((c, _CAT))
        elif t == "c":
            for c in reversed(node[1]):
                stack.append((c, _REP))
        else:
            stack.append(_quant(node[2], node[3]))
            stack.append((node[1], _ATOM))
        if own < need:
            stack.append("(?:")
    return "".join(pieces)


def to_items(x, set_items) -> list:
    """The ``re._parser`` items of the regex that :func:`to_regex` renders for ``x`` (same language, no text
    round trip); ``set_items(charset)`` gives a character set's items.

    Iterative pre-order: a node appends to its list when popped, and a concatenation pushes its children in
    reverse onto the same list, so they land in order before the next sibling is popped.
    """
    if x == EMPTY:
        raise ValueError("cannot render the empty language")
    root: list = []
    stack: list = [(x, root)]
    while stack:
        node, out = stack.pop()
        t = node[0]
        if t == "s":
            out.extend(set_items(node[1]))
        elif t == "c":
            for child in reversed(node[1]):
                stack.append((child, out))
        elif t == "a":
            alts: list = [[] for _ in node[1]]
            out.append((_C.BRANCH, (None, alts)))
            stack.extend(zip(node[1], alts))
        elif t == "r":
            body: list = []
            out.append((_C.MAX_REPEAT, (node[2], _C.MAXREPEAT if node[3] is None else node[3], body)))
            stack.append((node[1], body))
        elif t != "e":
            raise ValueError("anchors/empty cannot be rendered inside a terminal")
    return root


def plain_items(charset: tuple) -> list:
    """``re._parser`` items for a character set, as :func:`plain_set` renders it."""
    if len(charset) == 1 and charset[0][0] == charset[0][1]:
        return [(_C.LITERAL, charset[0][0])]
    return [(_C.IN, [(_C.LITERAL, lo) if lo == hi else (_C.RANGE, (lo, hi)) for lo, hi in charset])]


_CLASS_SPECIAL = set("\\]^-[")


def render_cp(c: int, in_class: bool) -> str:
    ch = chr(c)
    if 0x21 <= c <= 0x7E:
        if in_class:
            return "\\" + ch if ch in _CLASS_SPECIAL else ch
        return "\\" + ch if ch in ".^$*+?{}[]\\|()" else ch
    if c == 0x20:
        return " "
    if c <= 0xFF:
        return "\\x%02x" % c
    if c <= 0xFFFF:
        return "\\u%04x" % c
    return "\\U%08x" % c


def render_class(charset: tuple) -> str:
    """A character class (or a single escaped character) for ``charset``."""
    if len(charset) == 1 and charset[0][0] == charset[0][1]:
        return render_cp(charset[0][0], False)
    parts = []
    for lo, hi in charset:
        if lo == hi:
            parts.append(render_cp(lo, True))
        elif hi == lo + 1:
            parts.append(render_cp(lo, True) + render_cp(hi, True))
        else:
            parts.append(render_cp(lo, True) + "-" + render_cp(hi, True))
    return "[" + "".join(parts) + "]"


def plain_set(charset: tuple):
    return render_class(charset), _ATOM
