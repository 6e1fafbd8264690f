"""Per-grammar tables for the infill checker, cached by grammar fingerprint."""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict

from .._errors import GrammarError
from ..automata import EarleyTables
from ..grammar import Grammar
from ..grammar._reduce import reduce_grammar
from ._lexing import ByteDFA

__all__ = ["Compiled", "compiled_for"]

_CACHE: "OrderedDict[str, Compiled]" = OrderedDict()
_LOCK = threading.Lock()


class Compiled:
    """A reduced grammar with Earley tables, the byte DFA of its terminals and shortest derivations."""

    def __init__(self, grammar: Grammar, *, max_lexer_states: int = 100_000):
        g = reduce_grammar(grammar)
        dfa = ByteDFA([t.source for t in g.terminals], [t.name for t in g.terminals], max_states=max_lexer_states)
        dead = [i for i in range(len(g.terminals)) if not dfa.live >> i & 1]
        if dead:  # a terminal with an empty language makes its rules unproductive
            bad = {-1 - i for i in dead}
            g = reduce_grammar(Grammar(g.terminals, g.nonterminals,
                                       tuple(r for r in g.rules if not bad.intersection(r.body)), g.start,
                                       tuple(t for t in g.ignore if t not in dead), g.source))
            dfa = ByteDFA([t.source for t in g.terminals], [t.name for t in g.terminals],
                          max_states=max_lexer_states)
        self.grammar = g
        self.dfa = dfa
        self.tables = EarleyTables(g)
        self.ignore_mask = 0
        for t in g.ignore:
            self.ignore_mask |= 1 << t
        self.lock = threading.RLock()
        self._words: list[bytes] | None = None
        self._nt_plan: list[tuple[int, ...]] | None = None

    # ---- shortest derivations, for the parts of a witness that lie wholly inside a hole ----
    def _plan(self) -> None:
        """Knuth's algorithm: the byte-shortest rule of every nonterminal, in a well-founded order."""
        g = self.grammar
        words = [self.dfa.shortest_word(t) for t in range(len(g.terminals))]
        n_nt = len(g.nonterminals)
        inf = 1 << 62
        cost = [inf] * n_nt
        plan: list[tuple[int, ...] | None] = [None] * n_nt
        done = [False] * n_nt
        uses: list[list[int]] = [[] for _ in range(n_nt)]
        missing = []
        base = []
        for i, r in enumerate(g.rules):
            nts = [s for s in r.body if s >= 0]
            missing.append(len(nts))
            for s in nts:
                uses[s].append(i)
            base.append(sum(len(words[-1 - s]) for s in r.body if s < 0))
        heap: list[tuple[int, int, int]] = []
        for i, r in enumerate(g.rules):
            if missing[i] == 0:
                heapq.heappush(heap, (base[i], i, r.lhs))
        while heap:
            c, i, lhs = heapq.heappop(heap)
            if done[lhs]:
                continue
            done[lhs] = True
            cost[lhs] = c
            plan[lhs] = g.rules[i].body
            for j in uses[lhs]:
                missing[j] -= 1
                base[j] += c
                if missing[j] == 0 and not done[g.rules[j].lhs]:
                    heapq.heappush(heap, (base[j], j, g.rules[j].lhs))
        if not all(done):  # pragma: no cover - reduce_grammar guarantees productivity
            raise GrammarError("unproductive nonterminal after reduction")
        self._words = words
        self._nt_plan = plan  # type: ignore[assignment]
        self._nt_cost = cost

    def sym_len(self, symbol: int) -> int:
        """Bytes in the shortest word of ``symbol``."""
        if self._words is None:
            self._plan()
        return len(self._words[-1 - symbol]) if symbol < 0 else self._nt_cost[symbol]

    def shortest_bytes(self, symbol: int) -> bytes:
        """A byte-shortest word derived from ``symbol`` (terminal code or nonterminal), lexemes concatenated."""
        if self._words is None:
            self._plan()
        words, plan = self._words, self._nt_plan
        out = bytearray()
        stack = [symbol]
        while stack:
            s = stack.pop()
            if s < 0:
                out += words[-1 - s]
            else:
                stack.extend(reversed(plan[s]))
        return bytes(out)


def compiled_for(grammar: Grammar) -> Compiled:
    """The cached :class:`Compiled` of ``grammar`` (by content fingerprint)."""
    if not isinstance(grammar, Grammar):
        raise TypeError(f"expected a tokensieve.Grammar (e.g. Grammar.from_lark(text)), got {type(grammar).__name__}")
    key = grammar.fingerprint()
    with _LOCK:
        c = _CACHE.get(key)
        if c is not None:
            _CACHE.move_to_end(key)
            return c
    c = Compiled(grammar)
    with _LOCK:
        _CACHE[key] = c
        while len(_CACHE) > 32:
            _CACHE.popitem(last=False)
    return c
