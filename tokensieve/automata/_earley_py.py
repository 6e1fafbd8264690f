"""Pure-Python twin of ``tokensieve.cext._earley``: same function names, same semantics.

``prepare(tables)`` makes what ``close`` reads from an :class:`~tokensieve.automata.EarleyTables` (``next_sym``,
``lhs``, ``predict``, ``nullable``, ``accept_dr``, ``max_items``); ``close(prep, seeds, k, rows)`` builds the
Earley set at position ``k`` from the ``seeds`` items (``(dotted rule, origin)`` pairs), predicting and
completing against ``rows`` (earlier sets, each with ``waiting``: symbol -> items waiting for it). Returns
``(waiting, n_items, accepting)``, or None when the set would hold more than ``max_items`` items.
"""

from __future__ import annotations

__all__ = ["prepare", "close", "COMPLETE"]

COMPLETE = 1 << 60  # "next symbol" of a dotted rule whose dot is at the end


def prepare(tables):
    return tables


def close(prep, seeds, k: int, rows):
    next_sym, lhs_of, predict, nullable = prep.next_sym, prep.lhs, prep.predict, prep.nullable
    max_items = prep.max_items
    items: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    waiting: dict[int, list[tuple[int, int]]] = {}
    for it in seeds:
        if it not in seen:
            seen.add(it)
            items.append(it)
    i = 0
    while i < len(items):
        dr, org = items[i]
        i += 1
        sym = next_sym[dr]
        if sym == COMPLETE:
            if org == k:
                continue  # empty derivation inside this set: covered by the nullable advance below
            for pdr, porg in rows[org].waiting.get(lhs_of[dr], ()):
                it = (pdr + 1, porg)
                if it not in seen:
                    seen.add(it)
                    items.append(it)
            continue
        waiting.setdefault(sym, []).append((dr, org))
        if sym >= 0:
            for pdr in predict[sym]:
                it = (pdr, k)
                if it not in seen:
                    seen.add(it)
                    items.append(it)
            if nullable[sym]:
                it = (dr + 1, org)
                if it not in seen:
                    seen.add(it)
                    items.append(it)
        if len(items) > max_items:
            return None
    return waiting, len(items), (prep.accept_dr, 0) in seen
