"""Earley parsing of a byte automaton with holes: the emptiness check of ``L(G) ∩ C(x)``.

The terminal-level automaton of ``C(x)`` is never built. Its states are the graph nodes where a lexeme may
start (boundaries); its transitions are found by running the terminal DFA forward from each live boundary over
the graph (through holes by the DFA's "any bytes" closure), and every accepting position is an edge labelled
by the accepting terminals (non-deterministic lexing: a lexeme may end wherever its terminal accepts).
Ignored terminals and the graph's epsilon edges copy the boundary's Earley set forward.

Earley sets live on nodes; items are ``dotted_rule << SH | origin_node``, so advancing the dot is ``+ ADV``.
Edges only go forward, so one pass in node order is exact, except at a hub: inside an unbounded hole every
symbol can be derived, so an item there advances over any symbol (and its predictions over theirs), a local
fixpoint instead of the self-loop. This is the top-down filtered form of the Bar-Hillel construction: items
``(A -> α . β, origin p)`` at node ``q`` say ``α`` derives some word on a path from ``p`` to ``q``.
"""

from __future__ import annotations

import heapq
import time

from .._errors import LimitExceededError
from ..automata._earley import COMPLETE
from ._lexing import DEAD

__all__ = ["Chart", "SH", "ADV", "CheckTimeout"]

SH = 22
ADV = 1 << SH
ORG = ADV - 1
_KEY = 1 << 24  # (node, lexer state) packed as node * _KEY + state: ints, not tuples, in the hot loop


class CheckTimeout(Exception):
    """Internal: the deadline passed (callers answer "reject")."""


class NodeSet:
    """The Earley items of one node, indexed by the symbol they wait for; back-pointers and costs if kept."""

    __slots__ = ("items", "waiting", "bp", "cost", "allowed")

    def __init__(self, bps: bool):
        self.items: set[int] = set()
        self.waiting: dict[int, list[int]] = {}
        self.bp: dict[int, tuple] | None = {} if bps else None
        self.cost: dict[int, int] | None = {} if bps else None
        self.allowed = 0


class Chart:
    """One emptiness check over ``graph``; may reuse the node sets of an earlier chart below ``start``.

    Parameters: ``comp`` (Compiled grammar), ``graph``, ``bps`` (keep back-pointers for a witness),
    ``deadline`` (``time.monotonic()`` value or None), ``max_items`` (LimitExceededError beyond it),
    ``base``/``start``: an earlier chart whose graph equals this one on nodes ``< start``.
    """

    def __init__(self, comp, graph, *, bps: bool = False, deadline: float | None = None,
                 max_items: int = 2_000_000, base: "Chart | None" = None, start: int = 0):
        if graph.n >= ADV:
            raise LimitExceededError("canvas size", f"more than {ADV - 1} automaton nodes")
        self.comp = comp
        self.graph = graph
        self.bps = bps
        self.deadline = deadline
        self.max_items = max_items
        self.sets: list[NodeSet | None] = [None] * graph.n
        self.sim_max: list[int] = [-1] * graph.n
        self.pending: dict[int, list[tuple[int, int, int]]] = {}
        self.n_items = 0
        self._work = 0
        self.accepted: bool | None = None
        self.start = 0
        self._eps_live_max = -1  # furthest epsilon target of a live node: the scan may not stop before it
        if base is not None and start > 0:
            if bps and not base.bps:
                raise ValueError("base chart has no back-pointers")
            start = min(start, base.graph.n, graph.n)
            self.sets[:start] = base.sets[:start]
            self.sim_max[:start] = base.sim_max[:start]
            self.n_items = sum(len(S.items) for S in self.sets[:start] if S is not None)
            self.start = start
            for s in range(start):
                if base.sets[s] is not None and graph.eps[s]:
                    self._eps_live_max = max(self._eps_live_max, max(graph.eps[s]))
            # lexemes from reused boundaries that ran into the changed part are lexed again
            for s in range(start):
                if base.sets[s] is not None and base.sim_max[s] >= start:
                    self._lex_from(s, only_from=start)

    # ---- main loop ----
    def run(self) -> bool:
        g = self.graph
        tab = self.comp.tables
        sets, pending = self.sets, self.pending
        eps_in, hubs = g.eps_in, g.hub
        node = self._node_ranked if self.bps else self._node_fast
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise CheckTimeout()
        for q in range(self.start, g.n):
            seeds = pending.pop(q, None)
            preds = [p for p in eps_in[q] if sets[p] is not None]
            if q != 0 and not seeds and not preds:
                if not pending and self._eps_live_max < q:
                    break  # nothing live can reach the rest of the canvas
                continue
            self._tick(len(seeds) if seeds else 1)
            S = node(q, seeds or (), preds, hubs[q] >= 0)
            if not S.items:
                continue
            self.n_items += len(S.items)
            if self.n_items > self.max_items:
                raise LimitExceededError("Earley items", f"more than {self.max_items} items in one check")
            allowed = 0
            for sym in S.waiting:
                if sym < 0:
                    allowed |= 1 << (-1 - sym)
            S.allowed = allowed
            sets[q] = S
            if g.eps[q]:
                self._eps_live_max = max(self._eps_live_max, max(g.eps[q]))
            self._lex_from(q)
        fs = sets[g.final]
        self.accepted = fs is not None and (tab.accept_dr << SH) in fs.items
        return self.accepted

    @staticmethod
    def _first_bit(mask: int) -> int:
        return (mask & -mask).bit_length() - 1

    def _node_fast(self, q: int, seeds, preds, hub: bool) -> NodeSet:
        """The Earley set of node ``q`` (no back-pointers): copies, scans, then a LIFO closure."""
        tab = self.comp.tables
        next_sym, lhs_of, predict, nullable = tab.next_sym, tab.lhs, tab.predict, tab.nullable
        sets = self.sets
        S = NodeSet(False)
        items, waiting = S.items, S.waiting
        work: list[int] = []
        if q == 0:
            it = tab.initial_dr << SH
            items.add(it)
            work.append(it)
        copies = list(preds)
        for p, tmask, imask in seeds:
            Sp = sets[p]
            if imask:
                copies.append(p)
            t = 0
            while tmask:
                if tmask & 1:
                    lst = Sp.waiting.get(-1 - t)
                    if lst:
                        for pit in lst:
                            it = pit + ADV
                            if it not in items:
                                items.add(it)
                                work.append(it)
                tmask >>= 1
                t += 1
        for p in copies:
            if hub:  # the hub rule must see copied items too
                for it in sets[p].items:
                    if it not in items:
                        items.add(it)
                        work.append(it)
                continue
            # a closed set stays closed when copied across an epsilon edge: no closure work needed
            for it in sets[p].items:
                if it not in items:
                    items.add(it)
                    sym = next_sym[it >> SH]
                    if sym != COMPLETE:
                        lst = waiting.get(sym)
                        if lst is None:
                            waiting[sym] = [it]
                        else:
                            lst.append(it)
        while work:
            it = work.pop()
            dr = it >> SH
            sym = next_sym[dr]
            if sym == COMPLETE:
                org = it & ORG
                if org == q:
                    continue  # empty (or hub-internal) derivation: covered by the advances below
                lst = sets[org].waiting.get(lhs_of[dr])
                if lst:
                    for pit in lst:
                        nit = pit + ADV
                        if nit not in items:
                            items.add(nit)
                            work.append(nit)
                continue
            lst = waiting.get(sym)
            if lst is None:
                waiting[sym] = [it]
            else:
                lst.append(it)
            if sym >= 0:
                for pdr in predict[sym]:
                    nit = (pdr << SH) | q
                    if nit not in items:
                        items.add(nit)
                        work.append(nit)
                if nullable[sym] and not hub:
                    nit = it + ADV
                    if nit not in items:
                        items.add(nit)
                        work.append(nit)
            if hub:  # inside an unbounded hole any symbol can be derived
                nit = it + ADV
                if nit not in items:
                    items.add(nit)
                    work.append(nit)
        return S

    def _node_ranked(self, q: int, seeds, preds, hub: bool) -> NodeSet:
        """The Earley set of node ``q`` with back-pointers, closed in order of hole bytes (Knuth's algorithm).

        An item's cost is the bytes its derivation puts inside unbounded holes (by shortest words), so the
        first back-pointer kept for each item is a cheapest one and witnesses come out short.
        """
        tab = self.comp.tables
        next_sym, lhs_of, predict, nullable = tab.next_sym, tab.lhs, tab.predict, tab.nullable
        sym_len = self.comp.sym_len
        sets = self.sets
        S = NodeSet(True)
        items, waiting, bp, cost = S.items, S.waiting, S.bp, S.cost
        heap: list[tuple[int, int, int]] = []
        seq = 0
        done: set[int] = set()

        def offer(nit: int, nc: int, how: tuple) -> None:
            nonlocal seq
            if nit in done or nc >= cost.get(nit, 1 << 62):
                return
            cost[nit] = nc
            bp[nit] = how
            items.add(nit)
            seq += 1
            heapq.heappush(heap, (nc, seq, nit))

        if q == 0:
            offer(tab.initial_dr << SH, 0, ("init",))
        copies = [(p, -1) for p in preds]
        for p, tmask, imask in seeds:
            Sp = sets[p]
            if imask:
                copies.append((p, self._first_bit(imask)))
            t = 0
            while tmask:
                if tmask & 1:
                    for pit in Sp.waiting.get(-1 - t, ()):
                        offer(pit + ADV, Sp.cost[pit], ("scan", p, pit, t))
                tmask >>= 1
                t += 1
        for p, t in copies:
            Sp = sets[p]
            pc = Sp.cost
            if hub:  # the hub rule must see copied items too
                for it in Sp.items:
                    offer(it, pc[it], ("copy", p, t))
                continue
            # a closed set stays closed across an epsilon edge: copy without closure work
            for it in Sp.items:
                if it in done or it in items:
                    continue
                done.add(it)
                items.add(it)
                cost[it] = pc[it]
                bp[it] = ("copy", p, t)
                sym = next_sym[it >> SH]
                if sym != COMPLETE:
                    lst = waiting.get(sym)
                    if lst is None:
                        waiting[sym] = [it]
                    else:
                        lst.append(it)
        while heap:
            c, _, it = heapq.heappop(heap)
            if it in done:
                continue
            done.add(it)
            dr = it >> SH
            sym = next_sym[dr]
            if sym == COMPLETE:
                org = it & ORG
                if org == q:
                    continue
                So = sets[org]
                for pit in So.waiting.get(lhs_of[dr], ()):
                    offer(pit + ADV, c + So.cost[pit], ("comp", org, pit, it))
                continue
            lst = waiting.get(sym)
            if lst is None:
                waiting[sym] = [it]
            else:
                lst.append(it)
            if sym >= 0:
                for pdr in predict[sym]:
                    offer((pdr << SH) | q, 0, ("pred",))
                if nullable[sym] and not hub:
                    offer(it + ADV, c, ("null", it))
            if hub:
                offer(it + ADV, c + sym_len(sym), ("hub", it, sym))
        return S

    def _tick(self, n: int) -> None:
        self._work += n
        if self._work >= 512:
            self._work = 0
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise CheckTimeout()

    # ---- lexing: all lexemes that start at boundary p ----
    def _lex_from(self, p: int, only_from: int = 0) -> None:
        S = self.sets[p]
        comp, g = self.comp, self.graph
        dfa = comp.dfa
        ignore = comp.ignore_mask
        mask = S.allowed | ignore
        if not mask:
            self.sim_max[p] = p
            return
        acc, hubs, out, eps, rows = dfa.acc, g.hub, g.out, g.eps, dfa.rows
        d0 = dfa.start(mask)
        if hubs[p] >= 0:
            d0 = dfa.reach(d0)
        K = _KEY
        seen = {p * K + d0}
        stack = [p * K + d0]
        emit: dict[int, int] = {}
        maxn = p
        steps = 0
        while stack:
            n, d = divmod(stack.pop(), K)
            while True:
                steps += 1
                row = rows[d]
                if row is None:
                    row = dfa.row(d)
                edges = out[n]
                if len(edges) == 1 and not eps[n]:
                    lo, hi, t, tag = edges[0]
                    if lo == hi and tag < 0 and hubs[t] < 0:
                        # a plain byte of known text: its node has no other way in, so no bookkeeping
                        d = row[lo]
                        if d == DEAD:
                            break
                        n = t
                        a = acc[d] & mask
                        if a:
                            emit[t] = emit.get(t, 0) | a
                        if t > maxn:
                            maxn = t
                        continue
                for lo, hi, t, _tag in edges:
                    if lo == hi:
                        d2 = row[lo]
                        if d2 == DEAD:
                            continue
                        succ = (d2,)
                    else:
                        succ = set(row[lo:hi + 1])
                        succ.discard(DEAD)
                    for d2 in succ:
                        if hubs[t] >= 0:
                            d2 = dfa.reach(d2)
                        a = acc[d2] & mask
                        if a:
                            emit[t] = emit.get(t, 0) | a
                        key = t * K + d2
                        if key not in seen:
                            seen.add(key)
                            stack.append(key)
                            if t > maxn:
                                maxn = t
                for t in eps[n]:
                    d2 = dfa.reach(d) if hubs[t] >= 0 else d
                    if d2 != d:
                        a = acc[d2] & mask
                        if a:
                            emit[t] = emit.get(t, 0) | a
                    key = t * K + d2
                    if key not in seen:
                        seen.add(key)
                        stack.append(key)
                        if t > maxn:
                            maxn = t
                break
        self._tick(steps)
        self.sim_max[p] = maxn
        allowed = S.allowed
        pending = self.pending
        for t, a in emit.items():
            if t < only_from:
                continue
            entry = (p, a & allowed, a & ignore)
            lst = pending.get(t)
            if lst is None:
                pending[t] = [entry]
            else:
                lst.append(entry)
