"""Earley parser over terminals, consulted only at lexeme boundaries.

General CFGs: ambiguous, left- and right-recursive, epsilon rules (Aycock-Horspool nullable handling).
A parse state is a stack of immutable :class:`Row` objects, one per lexeme; a row's items refer to earlier rows
by stack index, so a row is valid exactly while the rows below it are the ones it was built on. Rows are
persistent (shared by forks) and cache their successors per scanned terminal set, which is how repeated
lexemes in the trie walk reuse work.
"""

from __future__ import annotations

import heapq
import itertools

from .. import _native
from .._errors import LimitExceededError
from . import _earley_py as python_kernels
from ._earley_py import COMPLETE, ORIGIN, items as _items

__all__ = ["EarleyTables", "Row", "kernels", "python_kernels"]

# the closure of a set (predict/complete) runs in C; the twin is the oracle (tests switch this global)
kernels = _native.pick("_earley", python_kernels, "the Earley parser")


def _nullable(rules: list, n_nt: int) -> list[bool]:
    """Which nonterminals derive the empty string, by a worklist over "missing" counts: linear in the grammar
    (a fixed-point sweep was quadratic in the nesting depth, a fifth of compile time on deep schemas). Lexemes
    are never empty, so a rule with a terminal never makes its left side nullable."""
    nullable = [False] * n_nt
    missing = [0] * len(rules)
    users: list[list[int]] = [[] for _ in range(n_nt)]
    queue: list[int] = []
    for i, (lhs, body) in enumerate(rules):
        if any(s < 0 for s in body):
            continue
        missing[i] = len(body)
        for s in body:
            users[s].append(i)
        if not body and not nullable[lhs]:
            nullable[lhs] = True
            queue.append(lhs)
    while queue:
        for i in users[queue.pop()]:
            missing[i] -= 1
            lhs = rules[i][0]
            if missing[i] == 0 and not nullable[lhs]:
                nullable[lhs] = True
                queue.append(lhs)
    return nullable


def _shortest_derivations(rules: list, n_nt: int, term_len: list[int]) -> list[int]:
    """Fewest bytes each nonterminal derives (``1 << 30`` if none): Knuth's generalisation of Dijkstra, a rule
    fires once all its nonterminals are settled, so the cost is near-linear where a fixed-point sweep was
    quadratic in the nesting depth."""
    inf = 1 << 30
    nt_len = [inf] * n_nt
    done = [False] * n_nt
    missing = [0] * len(rules)
    partial = [0] * len(rules)
    users: list[list[int]] = [[] for _ in range(n_nt)]
    heap: list[tuple[int, int]] = []
    for i, (lhs, body) in enumerate(rules):
        c = 0
        for s in body:
            if s < 0:
                c += term_len[-1 - s]
            else:
                missing[i] += 1
                users[s].append(i)
        partial[i] = c
        if not missing[i]:
            heapq.heappush(heap, (min(c, inf), lhs))
    while heap:
        c, n = heapq.heappop(heap)
        if done[n]:
            continue
        done[n] = True
        nt_len[n] = c
        for i in users[n]:
            partial[i] += c
            missing[i] -= 1
            if not missing[i]:
                lhs = rules[i][0]
                if not done[lhs]:
                    heapq.heappush(heap, (min(partial[i], inf), lhs))
    return nt_len


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
        self.nullable = _nullable(rules, n_nt + 1)
        self.initial_dr = self.rule_start[len(rules) - 1]
        self._prepared: dict = {}  # kernel module -> its view of these tables

    # ---- shortest completions (token budgets) ----
    def set_terminal_lengths(self, term_len: list[int]) -> None:
        """Give the fewest bytes of each terminal; derives the same for nonterminals and rule suffixes."""
        inf = 1 << 30
        self.term_len = term_len
        g = self.grammar
        rules = [(r.lhs, r.body) for r in g.rules] + [(self.aug, (g.start,))]
        self.nt_len = nt_len = _shortest_derivations(rules, len(g.nonterminals) + 1, term_len)
        # after[dr]: fewest bytes of the body after the symbol at the dot
        after = [0] * len(self.next_sym)
        for r, (lhs, body) in enumerate(rules):
            base, acc = self.rule_start[r], 0
            for dot in range(len(body) - 1, -1, -1):
                after[base + dot] = acc
                s = body[dot]
                acc = min(inf, acc + (term_len[-1 - s] if s < 0 else nt_len[s]))
        self.after = after

    def completion_costs(self, rows: list["Row"]) -> None:
        """Fill ``row.wait_cost`` (fewest bytes to finish the document after each awaited symbol) bottom-up."""
        inf = 1 << 30
        k0 = len(rows)
        while k0 > 0 and rows[k0 - 1].wait_cost is None:
            k0 -= 1
        lhs_of, after, aug = self.lhs, self.after, self.aug
        for k in range(k0, len(rows)):
            row = rows[k]
            w: dict[int, int] = {}
            changed = True
            while changed:
                changed = False
                for sym, packed in row.waiting.items():
                    best = w.get(sym, inf)
                    for p in _items(packed):
                        dr, org = p >> 32, p & ORIGIN
                        lhs = lhs_of[dr]
                        if lhs == aug:
                            g = 0
                        elif org == k:
                            g = w.get(lhs, inf)
                        else:
                            g = rows[org].wait_cost.get(lhs, inf)
                        c = after[dr] + g
                        if c < best:
                            best = c
                    if best < w.get(sym, inf):
                        w[sym] = best
                        changed = True
            row.wait_cost = w
            cost = 0 if row.accepting else inf
            for sym, c in w.items():
                if sym < 0:
                    cost = min(cost, self.term_len[-1 - sym] + c)
            row.cost = cost

    def initial_row(self) -> "Row":
        return self._close([self.initial_dr << 32], 0, [])

    def scan(self, rows: list["Row"], terminal_mask: int) -> "Row | None":
        """The row after the top row scans a lexeme matching the terminals in ``terminal_mask``."""
        kern = kernels
        seeds = kern.scan_seeds(rows[-1].waiting, terminal_mask)
        if not seeds:
            return None
        return self._close(seeds, len(rows), rows)

    def _close(self, seeds, k: int, rows) -> "Row":
        kern = kernels
        prep = self._prepared.get(kern)
        if prep is None:
            prep = self._prepared[kern] = kern.prepare(self)
        r = kern.close(prep, seeds, k, rows)
        if r is None:
            raise LimitExceededError("Earley items", f"more than {self.max_items} items in one row")
        waiting, n_items, accepting, allowed = r
        return Row(waiting, allowed, accepting, n_items)


class Row:
    """One Earley chart row: items (packed ``dr << 32 | origin``) grouped by the symbol they wait for, one
    ``bytes`` of native uint64 per symbol (read with ``_earley_py.items``; untracked by the collector)."""

    __slots__ = ("waiting", "allowed", "accepting", "n_items", "scan_cache", "start_state", "serial",
                 "wait_cost", "cost", "cost_table", "__weakref__")
    _serials = itertools.count()

    def __init__(self, waiting, allowed: int, accepting: bool, n_items: int):
        self.serial = next(Row._serials)  # identifies the whole stack below it too: rows are persistent
        self.waiting = waiting
        self.allowed = allowed  # bitmask of terminals that may come next
        self.accepting = accepting  # the input so far is a complete document
        self.n_items = n_items
        # terminal set -> weak reference to the successor row (rows live as long as a parse stack holds them,
        # so the cache never keeps a whole history of explored rows alive)
        self.scan_cache: dict = {}
        self.start_state = -1  # lexer start state for this row, filled by the engine
        self.wait_cost: dict[int, int] | None = None  # see EarleyTables.completion_costs
        self.cost = -1
        self.cost_table = None  # lexer state -> fewest bytes to finish, filled on demand by the engine
