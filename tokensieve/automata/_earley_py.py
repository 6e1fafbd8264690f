"""Pure-Python twin of ``tokensieve.cext._earley``: same function names, same semantics.

An item ``(dotted rule, origin)`` is packed as ``dr << 32 | origin``. ``prepare(tables)`` makes what ``close``
reads from an :class:`~tokensieve.automata.EarleyTables` (``next_sym``, ``lhs``, ``predict``, ``nullable``,
``accept_dr``, ``max_items``); ``close(prep, seeds, k, rows)`` builds the Earley set at position ``k`` from the
packed ``seeds``, predicting and completing against ``rows`` (earlier sets, each with ``waiting``: symbol ->
``bytes`` holding the packed items waiting for it as native uint64, in the order they were found; read them with
:func:`items`). Returns ``(waiting,
n_items, accepting, allowed)`` (``allowed``: bitmask of the terminals waited for), or None when the set would
hold more than ``max_items`` items. ``scan_seeds(waiting, terminal_mask)``: the packed seeds of the set after
a lexeme of the terminals in ``terminal_mask``.
"""

from __future__ import annotations

from array import array

__all__ = ["prepare", "close", "scan_seeds", "items", "COMPLETE", "ORIGIN"]

COMPLETE = 1 << 60  # "next symbol" of a dotted rule whose dot is at the end
ORIGIN = (1 << 32) - 1  # the origin's bits in a packed item


def items(packed: bytes):
    """The packed items of one ``waiting`` list, as ints."""
    return memoryview(packed).cast("Q")


def scan_seeds(waiting, terminal_mask: int) -> array:
    """The items advanced over a lexeme of the terminals in ``terminal_mask`` (a bitmask), from a set's
    ``waiting``: in the set's symbol order."""
    seeds = array("Q")
    for sym, packed in waiting.items():
        if sym < 0 and terminal_mask >> (-1 - sym) & 1:
            seeds.extend(p + (1 << 32) for p in items(packed))
    return seeds


def prepare(tables):
    return tables


def close(prep, seeds, k: int, rows):
    next_sym, lhs_of, predict, nullable = prep.next_sym, prep.lhs, prep.predict, prep.nullable
    max_items = prep.max_items
    found: list[int] = []
    seen: set[int] = set()
    waiting: dict[int, array] = {}
    for it in seeds:
        if it not in seen:
            seen.add(it)
            found.append(it)
    i = 0
    while i < len(found):
        it = found[i]
        i += 1
        dr, org = it >> 32, it & ORIGIN
        sym = next_sym[dr]
        if sym == COMPLETE:
            if org == k:
                continue  # empty derivation inside this set: covered by the nullable advance below
            for p in items(rows[org].waiting.get(lhs_of[dr], b"")):
                nxt = p + (1 << 32)
                if nxt not in seen:
                    seen.add(nxt)
                    found.append(nxt)
            continue
        lst = waiting.get(sym)
        if lst is None:
            lst = waiting[sym] = array("Q")
        lst.append(it)
        if sym >= 0:
            for pdr in predict[sym]:
                nxt = pdr << 32 | k
                if nxt not in seen:
                    seen.add(nxt)
                    found.append(nxt)
            if nullable[sym]:
                nxt = it + (1 << 32)
                if nxt not in seen:
                    seen.add(nxt)
                    found.append(nxt)
        if len(found) > max_items:
            return None
    allowed = 0
    for sym in waiting:
        if sym < 0:
            allowed |= 1 << (-1 - sym)
    return {s: a.tobytes() for s, a in waiting.items()}, len(found), (prep.accept_dr << 32) in seen, allowed
