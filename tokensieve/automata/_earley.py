"""Earley parser over terminals, consulted only at lexeme boundaries.

General CFGs: ambiguous, left- and right-recursive, epsilon rules (Aycock-Horspool nullable handling).
A parse state is a stack of immutable :class:`Row` objects, one per lexeme; a row's items refer to earlier rows
by stack index, so a row is valid exactly while the rows below it are the ones it was built on. Rows are
persistent (shared by forks) and cache their successors per scanned terminal set, which is how repeated
lexemes in the trie walk reuse work.
"""

from __future__ import annotations

import itertools

from .._errors import LimitExceededError

__all__ = ["EarleyTables", "Row"]

COMPLETE = 1 << 60  # "next symbol" of a dotted rule whose dot is at the end


class EarleyTables:
    """Grammar tables: dotted rules as ints, predictions per nonterminal, nullable set."""

    def __init__(self, grammar, *, max_items_per_row: int = 50_000):
        self.grammar = grammar
        self.max_items = max_items_per_row
        n_nt = len(grammar.nonterminals)
        self.aug = n_nt  # augmented start symbol S' -> start
        rules = [(r.lhs, r.body) for r in grammar.rules] + [(self.aug, (grammar.start,))]
        self.next_sym: list[int] = []
        self.lhs: list[int] = []
        self.rule_start: list[int] = []
        for lhs, body in rules:
            self.rule_start.append(len(self.next_sym))
            for dot in range(len(body) + 1):
                self.next_sym.append(body[dot] if dot < len(body) else COMPLETE)
                self.lhs.append(lhs)
        self.accept_dr = len(self.next_sym) - 1  # S' -> start .
        self.predict: list[list[int]] = [[] for _ in range(n_nt + 1)]
        for r, (lhs, _body) in enumerate(rules):
            self.predict[lhs].append(self.rule_start[r])
        # nullable nonterminals, to a fixed point (no recursion)
        nullable = [False] * (n_nt + 1)
        changed = True
        while changed:
            changed = False
            for lhs, body in rules:
                if not nullable[lhs] and all(s >= 0 and nullable[s] for s in body):
                    nullable[lhs] = True
                    changed = True
        self.nullable = nullable
        self.initial_dr = self.rule_start[len(rules) - 1]

    def initial_row(self) -> "Row":
        return self._close([(self.initial_dr, 0)], 0, [])

    def scan(self, rows: list["Row"], terminal_mask: int) -> "Row | None":
        """The row after the top row scans a lexeme matching the terminals in ``terminal_mask``."""
        top = rows[-1]
        seeds = []
        m, t = terminal_mask, 0
        while m:
            if m & 1:
                for dr, org in top.waiting.get(-1 - t, ()):
                    seeds.append((dr + 1, org))
            m >>= 1
            t += 1
        if not seeds:
            return None
        return self._close(seeds, len(rows), rows)

    def _close(self, seeds, k: int, rows) -> "Row":
        next_sym, lhs_of, predict, nullable = self.next_sym, self.lhs, self.predict, self.nullable
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
                    continue  # empty derivation inside this row: covered by the nullable advance below
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
            if len(items) > self.max_items:
                raise LimitExceededError("Earley items", f"more than {self.max_items} items in one row")
        allowed = 0
        for sym in waiting:
            if sym < 0:
                allowed |= 1 << (-1 - sym)
        accepting = (self.accept_dr, 0) in seen
        return Row(waiting, allowed, accepting, len(items))


class Row:
    """One Earley chart row: items grouped by the symbol they wait for."""

    __slots__ = ("waiting", "allowed", "accepting", "n_items", "scan_cache", "start_state", "serial")
    _serials = itertools.count()

    def __init__(self, waiting, allowed: int, accepting: bool, n_items: int):
        self.serial = next(Row._serials)  # identifies the whole stack below it too: rows are persistent
        self.waiting = waiting
        self.allowed = allowed  # bitmask of terminals that may come next
        self.accepting = accepting  # the input so far is a complete document
        self.n_items = n_items
        self.scan_cache: dict[int, Row | None] = {}
        self.start_state = -1  # lexer start state for this row, filled by the engine
