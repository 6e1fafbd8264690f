"""The lexer: one lazily built byte-level DFA over the union of all terminals.

A DFA state is a set of NFA states (of any terminals). States are materialised on first visit and stored in a
flat ``int32`` transition table (``trans[state * 256 + byte]``; -1 = not computed yet, 0 = the dead state),
which the Cython trie walk reads directly. Lexing is greedy: a lexeme extends while the DFA state stays alive.
"""

from __future__ import annotations

import numpy as np

from .._errors import LimitExceededError
from . import _regex
from ._regex import NFA

__all__ = ["Lexer", "DEAD"]

DEAD = 0
UNKNOWN = -1


class Lexer:
    """Lazy union DFA over a grammar's terminals.

    Parameters: ``regexes`` (one per terminal, Python ``re`` syntax), ``names`` for messages,
    ``max_states`` bounds the materialised DFA.
    """

    def __init__(self, regexes, names=None, *, max_states: int = 200_000, max_nfa_states: int = 2_000_000):
        names = list(names) if names is not None else [f"T{i}" for i in range(len(regexes))]
        self.nfa = NFA(max_states=max_nfa_states)
        for rx, name in zip(regexes, names):
            self.nfa.add_terminal(rx, name)
        self.nfa.freeze()
        self.n_terminals = len(regexes)
        self.max_states = max_states
        self._state_of: dict[frozenset, int] = {}
        self.sets: list[frozenset] = [frozenset()]  # state 0: dead
        # terminals accepting in each state (bitmask as int), and a flat "is accepting" byte table for C
        self.accepting: list[int] = [0]
        self._cap = 1024  # rows for 1024 states: growing the table copies it, and that landed inside masks
        self.trans = np.full(self._cap * 256, UNKNOWN, dtype=np.int32)
        self.trans[:256] = DEAD
        self.accept_flag = np.zeros(self._cap, dtype=np.uint8)
        self._row = np.zeros(256, dtype=np.int32)  # scratch for expand
        self._start_cache: dict[int, int] = {}
        self._start_states: set[int] = set()
        self._final_owner = {f: i for i, f in enumerate(self.nfa.finals)}
        self.live_terminals = self.nfa.live_mask()

    # ---- construction ----
    def _closure(self, s: int) -> tuple[int, ...]:
        return self.nfa.closure(s)

    def _intern(self, nfa_set: frozenset, marker=None) -> int:
        key = nfa_set if marker is None else (nfa_set, marker)
        sid = self._state_of.get(key)
        if sid is not None:
            return sid
        if not nfa_set:
            return DEAD
        sid = len(self.sets)
        if sid >= self.max_states:
            raise LimitExceededError("lexer states", f"more than {self.max_states} DFA states materialised")
        if sid >= self._cap:
            self._grow()
        self._state_of[key] = sid
        self.sets.append(nfa_set)
        acc = 0
        if marker is None:  # a lexeme of zero bytes never ends, so start states never accept
            for x in nfa_set:
                t = self._final_owner.get(x)
                if t is not None:
                    acc |= 1 << t
        self.accepting.append(acc)
        self.accept_flag[sid] = 1 if acc else 0
        return sid

    def _grow(self) -> None:
        cap = self._cap * 2
        trans = np.full(cap * 256, UNKNOWN, dtype=np.int32)
        trans[: self._cap * 256] = self.trans
        flag = np.zeros(cap, dtype=np.uint8)
        flag[: self._cap] = self.accept_flag
        self.trans, self.accept_flag, self._cap = trans, flag, cap

    # ---- queries ----
    def start_state(self, terminal_mask: int) -> int:
        """The state at the start of a lexeme, for the terminals in ``terminal_mask`` (a bitmask)."""
        sid = self._start_cache.get(terminal_mask)
        if sid is None:
            members = set()
            m, i = terminal_mask & self.live_terminals, 0
            while m:
                if m & 1:
                    members.update(self._closure(self.nfa.starts[i]))
                m >>= 1
                i += 1
            # the marker keeps start states distinct from equal mid-lexeme sets (which may accept)
            sid = self._intern(frozenset(members), marker=terminal_mask) if members else DEAD
            self._start_cache[terminal_mask] = sid
            self._start_states.add(sid)
        return sid

    def expand(self, state: int) -> None:
        """Compute all 256 transitions of ``state``."""
        row = self._row
        _regex._nfa_kernels.fill_row(self.nfa.moves(self.sets[state]), self._state_of, self._intern, row)
        # _intern may have grown the table: index the current one
        self.trans[state * 256: state * 256 + 256] = row

    def row(self, state: int) -> np.ndarray:
        """The 256 transitions of ``state`` (materialised if needed), a view into the table."""
        if self.trans[state * 256] == UNKNOWN:
            self.expand(state)
        return self.trans[state * 256: state * 256 + 256]

    def is_dead_end(self, state: int) -> bool:
        """True if no byte can extend ``state`` (a lexeme here can only end)."""
        return not self.row(state).any()

    def step(self, state: int, byte: int) -> int:
        nxt = self.trans[state * 256 + byte]
        if nxt == UNKNOWN:
            self.expand(state)
            nxt = self.trans[state * 256 + byte]
        return int(nxt)

    @property
    def n_states(self) -> int:
        return len(self.sets)

    # ---- shortest completions (for token budgets) ----
    def _distances(self):
        """Fewest bytes from each NFA state to its terminal's final state."""
        return self.nfa.distances()

    def terminal_distances(self, state: int) -> dict[int, int]:
        """For each terminal alive in ``state``: the fewest bytes that complete a lexeme of it."""
        cache = self.__dict__.setdefault("_tdist", {})
        out = cache.get(state)
        if out is None:
            d, owner = self._distances(), self.nfa.owner
            out = {}
            for x in self.sets[state]:
                t = owner[x]
                if d[x] < out.get(t, 1 << 30):
                    out[t] = d[x]
            if state in self._start_states:  # a lexeme never ends empty: at least one byte
                for t, v in list(out.items()):
                    out[t] = max(v, self.min_length(t))
            cache[state] = out
        return out

    def min_length(self, terminal: int) -> int:
        """Bytes in the shortest non-empty word of ``terminal`` (1 << 30 if none)."""
        ml = self.__dict__.setdefault("_minlen", {})
        v = ml.get(terminal)
        if v is None:
            d = self._distances()
            v = 1 << 30
            for x in self._closure(self.nfa.starts[terminal]):
                for _lo, _hi, y in self.nfa.edges[x]:
                    v = min(v, 1 + d[y])
            ml[terminal] = v
        return v
