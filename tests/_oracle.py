"""Independent oracles for mask tests: a character-level Earley recognizer with no lexer.

Terminals are expanded into character rules (the CFG semantics of a grammar whose terminal words form a prefix
code, where greedy lexing and CFG lexing coincide), ``%ignore`` words may appear between lexemes and at both ends.
Viable prefix = the chart is non-empty (the grammar is reduced); complete = the start item is done.
"""

from __future__ import annotations

import itertools


class CharEarley:
    def __init__(self, rules, start, terminal_words, ignore_words=()):
        """``rules``: list of (lhs, body) with body items ('n', name) or ('t', index)."""
        self.rules = []
        chars = set()

        def add(lhs, body):
            self.rules.append((lhs, tuple(body)))

        for lhs, body in rules:
            add(("N", lhs), [("N", x) if k == "n" else ("N", ("T", x)) for k, x in body])
        for ti, words in enumerate(terminal_words):
            if isinstance(words, tuple):  # ("loop", open, body_chars, close): open [body]* close
                _k, op, body_chars, close = words
                loop = ("N", ("L", ti))
                add(("N", ("T", ti)), [("N", "WS"), ("c", op), loop, ("c", close)])
                add(loop, [])
                for ch in body_chars:
                    add(loop, [loop, ("c", ch)])
                continue
            for w in words:
                add(("N", ("T", ti)), [("N", "WS")] + [("c", ch) for ch in w])
        add(("N", "WS"), [])
        for w in ignore_words:
            add(("N", "WS"), [("N", "WS")] + [("c", ch) for ch in w])
        add(("N", "S'"), [("N", start), ("N", "WS")])
        self.start = ("N", "S'")
        nullable = set()
        changed = True
        while changed:
            changed = False
            for lhs, body in self.rules:
                if lhs not in nullable and all(s in nullable for s in body):
                    nullable.add(lhs)
                    changed = True
        self.nullable = nullable

    def _closure(self, items, k, chart):
        items = list(items)
        seen = set(items)
        i = 0
        while i < len(items):
            r, dot, org = items[i]
            i += 1
            lhs, body = self.rules[r]
            if dot == len(body):
                if org == k:
                    continue
                for pr, pdot, porg in chart[org]:
                    pb = self.rules[pr][1]
                    if pdot < len(pb) and pb[pdot] == lhs:
                        it = (pr, pdot + 1, porg)
                        if it not in seen:
                            seen.add(it)
                            items.append(it)
                continue
            sym = body[dot]
            if sym[0] == "N":
                for r2, (l2, _b) in enumerate(self.rules):
                    if l2 == sym:
                        it = (r2, 0, k)
                        if it not in seen:
                            seen.add(it)
                            items.append(it)
                if sym in self.nullable:
                    it = (r, dot + 1, org)
                    if it not in seen:
                        seen.add(it)
                        items.append(it)
        return seen

    def run(self, text: str):
        chart = []
        init = [(r, 0, 0) for r, (l, _b) in enumerate(self.rules) if l == self.start]
        chart.append(self._closure(init, 0, chart))
        for k, ch in enumerate(text, start=1):
            seeds = []
            for r, dot, org in chart[-1]:
                body = self.rules[r][1]
                if dot < len(body) and body[dot] == ("c", ch):
                    seeds.append((r, dot + 1, org))
            if not seeds:
                return None
            chart.append(self._closure(seeds, k, chart))
        return chart

    def viable(self, text: str) -> bool:
        return self.run(text) is not None

    def complete(self, text: str) -> bool:
        chart = self.run(text)
        if chart is None:
            return False
        return any(self.rules[r][0] == self.start and dot == len(self.rules[r][1]) and org == 0
                   for r, dot, org in chart[-1])


def all_strings(alphabet: str, max_len: int):
    for n in range(1, max_len + 1):
        for t in itertools.product(alphabet, repeat=n):
            yield "".join(t)
