"""A witness completion from a chart's back-pointers: the bytes of one word in ``L(G) ∩ C(x)``.

The derivation is unfolded with an explicit stack (nesting depth is user-controlled). Lexemes that touch a
hole get their bytes from a shortest path of the terminal's DFA over the graph; symbols derived wholly inside
an unbounded hole get a byte-shortest derivation. Every byte is tagged with the region it was read in
(-1 = known text), which splits the witness into the hole fillers.
"""

from __future__ import annotations

from collections import deque

from ._chart import ORG, SH, Chart
from ._lexing import DEAD

__all__ = ["witness_fills"]


def _lexeme(chart: Chart, p: int, q: int, t: int) -> list[tuple[int, int]]:
    """Bytes (with region tags) of a lexeme of terminal ``t`` read on a graph path from ``p`` to ``q``."""
    g, dfa = chart.graph, chart.comp.dfa
    bit = 1 << t
    d0 = dfa.start(bit)
    start = (p, d0)
    parent: dict[tuple[int, int], tuple[tuple[int, int], int, int] | None] = {start: None}
    queue = deque([start])
    goal = None
    while queue:
        key = queue.popleft()
        n, d = key
        if n == q and dfa.acc[d] & bit:
            goal = key
            break
        moves: list[tuple[int, int, int, int]] = []  # (node, state, byte, tag)
        if g.hub[n] >= 0:
            for d2, b in dfa.successors(d).items():
                moves.append((n, d2, b, g.hub[n]))
        for lo, hi, tgt, tag in g.out[n]:
            if tgt > q:
                continue
            for d2, b in dfa.successors(d, lo, hi).items():
                moves.append((tgt, d2, b, tag))
        for tgt in g.eps[n]:
            if tgt <= q:
                moves.append((tgt, d, -1, -1))
        for n2, d2, b, tag in moves:
            k2 = (n2, d2)
            if d2 != DEAD and k2 not in parent:
                parent[k2] = (key, b, tag)
                queue.append(k2)
    if goal is None:  # pragma: no cover - the chart only records edges the DFA can walk
        raise AssertionError(f"no lexeme path for terminal {t} from node {p} to {q}")
    out: list[tuple[int, int]] = []
    key = goal
    while parent[key] is not None:
        key, b, tag = parent[key]
        if b >= 0:
            out.append((b, tag))
    out.reverse()
    return out


def witness_fills(chart: Chart, n_regions: int) -> list[bytes]:
    """The bytes each hole region holds in the accepted word; requires a chart run with ``bps=True``.

    Parts of the derivation that span known text only are skipped: their bytes are the text itself.
    """
    comp, g = chart.comp, chart.graph
    sets = chart.sets
    fills = [bytearray() for _ in range(n_regions)]
    stack: list[tuple] = [("I", g.final, comp.tables.accept_dr << SH)]
    while stack:
        task = stack.pop()
        kind = task[0]
        if kind == "I":
            _, q, it = task
            if g.hole_free(it & ORG, q):
                continue
            bp = sets[q].bp[it]
            how = bp[0]
            if how == "scan":
                _, p, pit, t = bp
                stack.append(("L", p, q, t))
                stack.append(("I", p, pit))
            elif how == "copy":
                _, p, t = bp
                if t >= 0:
                    stack.append(("L", p, q, t))
                stack.append(("I", p, it))
            elif how == "comp":
                _, o, wit, cit = bp
                stack.append(("I", q, cit))
                stack.append(("I", o, wit))
            elif how == "null":
                stack.append(("I", q, bp[1]))
            elif how == "hub":
                _, pit, sym = bp
                stack.append(("X", q, sym))
                stack.append(("I", q, pit))
            # "init" / "pred": an item that has read nothing yet
        elif kind == "L":
            _, p, q, t = task
            if g.hole_free(p, q):
                continue
            for b, tag in _lexeme(chart, p, q, t):
                if tag >= 0:
                    fills[tag].append(b)
        else:  # "X": a symbol derived wholly inside the hole at hub q
            _, q, sym = task
            fills[g.hub[q]] += comp.shortest_bytes(sym)
    return [bytes(f) for f in fills]
