"""An independent recognizer for grammar IR (used by the schema tests), and tests of the recognizer itself.

It shares no code with tokensieve's engine or with the schema compiler: terminals are matched with the third-party
``regex`` module (partial matching gives "can this still extend?"), lexing is greedy exactly as the engine
specifies (a lexeme extends while any terminal the parser allows can still extend it, and must then fully match
one), and parsing is a plain Earley recognizer.
"""

from __future__ import annotations

import json

import pytest
import regex

from tokensieve.grammar._ir import Grammar, GrammarBuilder


class Recognizer:
    """Whole-text membership for a :class:`Grammar` under greedy lexing (``greedy=False``: plain language
    membership, any segmentation into lexemes; comparing both exposes terminals unsafe for a greedy lexer)."""

    def __init__(self, grammar: Grammar, greedy: bool = True):
        self.g = grammar
        self.greedy = greedy
        self.rx = [regex.compile(t.regex, regex.V0) for t in grammar.terminals]
        self.by_lhs: dict[int, list[tuple[int, ...]]] = {}
        for r in grammar.rules:
            self.by_lhs.setdefault(r.lhs, []).append(r.body)
        self.nullable: set[int] = set()
        changed = True
        while changed:
            changed = False
            for r in grammar.rules:
                if r.lhs not in self.nullable and all(s >= 0 and s in self.nullable for s in r.body):
                    self.nullable.add(r.lhs)
                    changed = True

    def _closure(self, items: set, chart: list, k: int) -> set:
        """Predict/complete to a fixed point; items are (lhs, body, dot, origin)."""
        agenda = list(items)
        while agenda:
            lhs, body, dot, origin = agenda.pop()
            if dot < len(body):
                s = body[dot]
                if s >= 0:
                    for b in self.by_lhs.get(s, ()):
                        it = (s, b, 0, k)
                        if it not in items:
                            items.add(it)
                            agenda.append(it)
                    if s in self.nullable:
                        it = (lhs, body, dot + 1, origin)
                        if it not in items:
                            items.add(it)
                            agenda.append(it)
            else:
                src = items if origin == k else chart[origin]
                for (l2, b2, d2, o2) in list(src):
                    if d2 < len(b2) and b2[d2] == lhs:
                        it = (l2, b2, d2 + 1, o2)
                        if it not in items:
                            items.add(it)
                            agenda.append(it)
        return items

    def _accepting(self, items: set) -> bool:
        return any(l == self.g.start and d == len(b) and o == 0 for (l, b, d, o) in items)

    def accepts(self, text: str) -> bool:
        if not self.greedy:
            return self._accepts_any_segmentation(text)
        start = {(self.g.start, b, 0, 0) for b in self.by_lhs.get(self.g.start, ())}
        chart = [self._closure(start, [], 0)]
        pos = 0
        while pos < len(text):
            items = chart[-1]
            allowed = {-1 - b[d] for (_, b, d, _) in items if d < len(b) and b[d] < 0}
            if not allowed:
                return False
            alive = set(allowed)
            j = pos
            while j < len(text):
                nxt = {t for t in alive if self.rx[t].fullmatch(text, pos, j + 1, partial=True)}
                if not nxt:
                    break
                alive = nxt
                j += 1
            if j == pos:
                return False
            matched = {t for t in alive if (m := self.rx[t].fullmatch(text, pos, j)) is not None and not m.partial}
            if not matched:
                return False
            k = len(chart)
            new = {(l, b, d + 1, o) for (l, b, d, o) in items if d < len(b) and b[d] < 0 and -1 - b[d] in matched}
            chart.append(self._closure(new, chart, k))
            pos = j
        return self._accepting(chart[-1])


    def _accepts_any_segmentation(self, text: str) -> bool:
        n = len(text)
        chart: list[set] = [set() for _ in range(n + 1)]
        chart[0] = {(self.g.start, b, 0, 0) for b in self.by_lhs.get(self.g.start, ())}
        for k in range(n + 1):
            chart[k] = self._closure(chart[k], chart, k)
            if k == n:
                break
            for t in {-1 - b[d] for (_, b, d, _) in chart[k] if d < len(b) and b[d] < 0}:
                for j in range(k + 1, n + 1):
                    m = self.rx[t].fullmatch(text, k, j, partial=True)
                    if m is None:
                        break
                    if not m.partial:
                        chart[j] |= {(l, b, d + 1, o) for (l, b, d, o) in chart[k]
                                     if d < len(b) and b[d] == -1 - t}
        return self._accepting(chart[n])


def engine_matcher_factory():
    """A ``grammar -> (text -> bool)`` factory backed by tokensieve's engine, or None if unavailable."""
    try:
        import tokensieve as ts

        vocab = ts.Vocabulary.from_tokens([bytes([i]) for i in range(256)])
    except Exception:  # noqa: BLE001 - the engine may be mid-development; the reference recognizer still works
        return None

    def factory(grammar):
        cg = ts.compile(grammar, vocab)

        def accepts(text: str) -> bool:
            m = ts.Matcher(cg)
            return m.accept_bytes(text.encode("utf-8")) and m.is_accepting()

        return accepts

    return factory


def reference_factory(grammar):
    return Recognizer(grammar).accepts


def is_empty_language(grammar: Grammar) -> bool:
    return not any(r.lhs == grammar.start for r in grammar.rules)


# ---------------------------------------------------------------------------------------------- self-tests
def _toy():
    b = GrammarBuilder()
    s, lst, ws = b.nonterminal("start"), b.nonterminal("list"), b.nonterminal("ws")
    num = b.terminal(r"-?[0-9]+", "NUM")
    lb, rb, comma, w = b.terminal(r"\["), b.terminal(r"\]"), b.terminal(","), b.terminal(r"[ ]{1,2}")
    b.rule(ws, [])
    b.rule(ws, [w])
    b.rule(s, [num])
    b.rule(s, [lb, ws, rb])
    b.rule(s, [lb, ws, s, lst, ws, rb])
    b.rule(lst, [])
    b.rule(lst, [ws, comma, ws, s, lst])
    return b.build(s)


@pytest.mark.parametrize("text,ok", [
    ("1", True), ("-12", True), ("[]", True), ("[ ]", True), ("[1, [2,3], []]", True), ("[1 ,2]", True),
    ("[1,]", False), ("[1   ,2]", False), ("", False), ("12x", False), ("[1 2]", False),
], ids=lambda x: json.dumps(x) if isinstance(x, str) else str(x))
def test_recognizer_toy_grammar(text, ok):
    assert Recognizer(_toy()).accepts(text) is ok


def test_recognizer_is_greedy():
    # "abc" is one lexeme for A = /a|abc/ when B = /bc/ may follow; any segmentation would accept "a" "bc"
    b = GrammarBuilder()
    s = b.nonterminal("s")
    a, bb = b.terminal("a|abc"), b.terminal("bc")
    b.rule(s, [a, bb])
    g = b.build(s)
    assert not Recognizer(g).accepts("abc")
    assert Recognizer(g, greedy=False).accepts("abc")


@pytest.mark.parametrize("text,ok", [("[1, [2,3], []]", True), ("[1,]", False), ("[1 2]", False)])
def test_non_greedy_mode_on_toy_grammar(text, ok):
    assert Recognizer(_toy(), greedy=False).accepts(text) is ok
