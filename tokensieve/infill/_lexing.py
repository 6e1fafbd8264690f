"""A lazily determinised byte DFA over the grammar's terminal NFA, with the "any bytes" closure holes need.

A DFA state is a set of NFA states (of any terminals). Unlike the masking lexer, the infill checker lexes
non-deterministically: a lexeme may end wherever some terminal accepts, so a state only reports *which*
terminals accept; the caller decides where lexemes end.
"""

from __future__ import annotations

from collections import deque

from .._errors import LimitExceededError
from ..automata import NFA

__all__ = ["ByteDFA", "DEAD"]

DEAD = 0


class ByteDFA:
    """Subset construction on demand over an :class:`~tokensieve.automata.NFA` holding every terminal.

    ``acc[s]`` is the bitmask of terminals whose final state is in state ``s``. ``reach(s)`` is the state
    after any byte string (zero or more bytes): what a hole of unknown content does to a lexeme in progress.
    """

    def __init__(self, regexes, names, *, max_states: int = 100_000):
        if not 0 < max_states < 1 << 24:
            raise ValueError("max_states must be in 1 .. 2**24 - 1")
        self.nfa = NFA(max_states=2_000_000)
        for rx, name in zip(regexes, names):
            self.nfa.add_terminal(rx, name)
        self.nfa.freeze()
        self.n_terminals = len(regexes)
        self.max_states = max_states
        self._final_owner = {f: i for i, f in enumerate(self.nfa.finals)}
        self.sets: list[frozenset[int]] = [frozenset()]
        self.acc: list[int] = [0]
        self.rows: list[list[int] | None] = [[DEAD] * 256]
        self._index: dict[frozenset[int], int] = {frozenset(): DEAD}
        self._start: dict[int, int] = {}
        self._reach: dict[int, int] = {DEAD: DEAD}
        self.live = self.nfa.live_mask()

    def _closure(self, s: int) -> tuple[int, ...]:
        return self.nfa.closure(s)

    def _intern(self, nfa_set: frozenset[int]) -> int:
        sid = self._index.get(nfa_set)
        if sid is not None:
            return sid
        sid = len(self.sets)
        if sid >= self.max_states:
            raise LimitExceededError("infill lexer states", f"more than {self.max_states} DFA states")
        self._index[nfa_set] = sid
        self.sets.append(nfa_set)
        acc = 0
        for x in nfa_set:
            t = self._final_owner.get(x)
            if t is not None:
                acc |= 1 << t
        self.acc.append(acc)
        self.rows.append(None)
        return sid

    def start(self, mask: int) -> int:
        """The state before the first byte of a lexeme of any terminal in ``mask``.

        It never accepts: terminals never match the empty string.
        """
        sid = self._start.get(mask)
        if sid is None:
            members: set[int] = set()
            m, i = mask & self.live, 0
            while m:
                if m & 1:
                    members.update(self._closure(self.nfa.starts[i]))
                m >>= 1
                i += 1
            sid = self._intern(frozenset(members))
            self._start[mask] = sid
        return sid

    def row(self, s: int) -> list[int]:
        """All 256 successors of state ``s``."""
        r = self.rows[s]
        if r is not None:
            return r
        r = [DEAD] * 256
        for lo, hi, targets in self.nfa.moves(self.sets[s]):
            r[lo: hi + 1] = [self._intern(targets)] * (hi + 1 - lo)
        self.rows[s] = r
        return r

    def step(self, s: int, b: int) -> int:
        r = self.rows[s]
        if r is None:
            r = self.row(s)
        return r[b]

    def reach(self, s: int) -> int:
        """The state after zero or more arbitrary bytes from ``s`` (closure under every byte edge)."""
        sid = self._reach.get(s)
        if sid is None:
            eps, edges = self.nfa.eps, self.nfa.edges
            seen = set(self.sets[s])
            stack = list(seen)
            while stack:
                x = stack.pop()
                for y in eps[x]:
                    if y not in seen:
                        seen.add(y)
                        stack.append(y)
                for _lo, _hi, y in edges[x]:
                    if y not in seen:
                        seen.add(y)
                        stack.append(y)
            sid = self._intern(frozenset(x for x in seen if edges[x] or x in self._final_owner))
            self._reach[s] = sid
            self._reach[sid] = sid
        return sid

    def successors(self, s: int, lo: int = 0, hi: int = 255) -> dict[int, int]:
        """Distinct live successors of ``s`` over bytes ``lo..hi``: successor state -> one byte reaching it."""
        r = self.row(s)
        out: dict[int, int] = {}
        for b in range(lo, hi + 1):
            t = r[b]
            if t != DEAD and t not in out:
                out[t] = b
        return out

    def shortest_word(self, terminal: int) -> bytes:
        """A shortest non-empty lexeme of ``terminal`` (BFS over this DFA restricted to that terminal)."""
        start = self.start(1 << terminal)
        bit = 1 << terminal
        parent: dict[int, tuple[int, int]] = {start: (-1, -1)}
        queue = deque([start])
        while queue:
            s = queue.popleft()
            for t, b in self.successors(s).items():
                if t in parent:
                    continue
                parent[t] = (s, b)
                if self.acc[t] & bit:
                    out = bytearray()
                    while t != start:
                        t, b = parent[t]
                        out.append(b)
                    return bytes(reversed(out))
                queue.append(t)
        raise LimitExceededError("terminal language", f"terminal {terminal} has no lexeme")  # pragma: no cover
