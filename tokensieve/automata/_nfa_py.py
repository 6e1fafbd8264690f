"""Pure-Python twin of ``tokensieve.cext._nfa``: same function, same semantics.

``moves(states, edges, virtual, closures, closure, vbase)``: where the NFA states ``states`` go on each byte, as
``(lo, hi, closed target set)`` for the byte intervals that the edges' bounds cut out, in byte order; bytes with
no move are left out. ``edges[x]`` holds state ``x``'s ``(lo, hi, target)`` edges for ``x < vbase`` (a list or a
tuple, read directly), ``virtual(x)`` those of a virtual id; ``closures`` memoises ``closure(y)`` (a tuple of states).

``closure(s, eps, edges, veps, vedges, finals, vbase)``: the states reachable from ``s`` by epsilon edges that have
a byte edge or are in ``finals``, as a tuple in no particular order; ``eps``/``edges`` rows as above, ``veps`` /
``vedges`` those of virtual ids.

``fill_row(moves, state_of, intern, row)``: writes a DFA row into ``row`` (256 int32): 0 (dead) where ``moves`` has
no interval, else the id of the interval's target set, ``state_of[targets]`` if known, else ``intern(targets)``.
"""

from __future__ import annotations

__all__ = ["closure", "fill_row", "moves"]


def _check_rows(rows, what: str) -> None:
    if type(rows) is not tuple and type(rows) is not list:
        raise TypeError(f"{what} must be a tuple or list, got {type(rows).__name__}")


def fill_row(moves, state_of, intern, row):
    row[:] = 0
    for lo, hi, targets in moves:
        sid = state_of.get(targets)
        row[lo: hi + 1] = sid if sid is not None else intern(targets)


def closure(s, eps, edges, veps, vedges, finals, vbase):
    _check_rows(eps, "eps")
    _check_rows(edges, "edges")
    seen, stack = {s}, [s]
    while stack:
        x = stack.pop()
        for y in (eps[x] if x < vbase else veps(x)):
            if y not in seen:
                seen.add(y)
                stack.append(y)
    return tuple(x for x in seen if (edges[x] if x < vbase else vedges(x)) or x in finals)


def moves(states, edges, virtual, closures, closure, vbase):
    _check_rows(edges, "edges")
    out = [e for x in states for e in (edges[x] if x < vbase else virtual(x))]
    if not out:
        return []
    cuts = sorted({lo for lo, _, _ in out} | {hi + 1 for _, hi, _ in out})
    slot = {c: k for k, c in enumerate(cuts)}
    targets: list[set | None] = [None] * len(cuts)
    for lo, hi, y in out:
        for k in range(slot[lo], slot[hi + 1]):
            bk = targets[k]
            if bk is None:
                targets[k] = bk = set()
            bk.add(y)
    memo: dict[frozenset, frozenset[int]] = {}
    result = []
    for k, bk in enumerate(targets):
        if bk:
            key = frozenset(bk)
            cl = memo.get(key)
            if cl is None:
                c: set[int] = set()
                for y in bk:
                    cy = closures.get(y)
                    c.update(cy if cy is not None else closure(y))
                cl = memo[key] = frozenset(c)
            result.append((cuts[k], cuts[k + 1] - 1, cl))
    return result
