"""Acceptance 1: the checker agrees with the brute-force oracle on random canvases.

For every canvas: if the checker says "completable", its witness must be a member (oracle) and fill the
canvas (regex over the parts, byte budgets included); if it says "not completable", the oracle's exhaustive
search (holes unrolled to ``BOUND`` characters, byte-budgeted holes to their budget) must find nothing; and
whenever the oracle finds a filling, the checker must say "completable". When every hole is budgeted within
the bound the oracle is exact, so the two answers must be equal.

The CI run uses a few hundred canvases; ``-m slow`` runs 10,000 (2,500 per grammar) and prints the figures.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tokensieve.infill import Hole, check
from tests.test_infill_oracle import GRAMMARS, grammar, oracle, pattern_regex, random_canvas, schema_grammar

BOUND = 4


def _fills_match(parts, v) -> bool:
    """The verdict's fills, put back into the parts, give its witness."""
    it = iter(v.fills)
    data = b"".join(next(it) if isinstance(p, Hole) else (p.encode() if isinstance(p, str) else p) for p in parts)
    return data == v.text.encode("utf-8")


def compare(name: str, n: int, seed: int) -> Counter:
    g, orc = grammar(name), oracle(name)
    rng = random.Random(seed)
    stats: Counter = Counter()
    for _ in range(n):
        parts = random_canvas(name, rng)
        v = check(g, parts)
        holes = [p for p in parts if isinstance(p, Hole)]
        exact_oracle = all(h.max_tokens is not None and h.max_tokens <= BOUND for h in holes)
        found = orc.completable(parts, BOUND)
        ctx = f"{name}: {parts!r} -> {v}"
        assert v.exact, ctx  # byte budgets are always decided exactly at these sizes
        if v.completable:
            assert max(map(ord, v.text), default=0) <= 0xFF, ctx  # the oracle judges Latin-1 text only
            assert orc.member(v.text), f"witness {v.text!r} is not a member; {ctx}"
            assert pattern_regex(parts).fullmatch(v.text.encode("utf-8")), f"witness does not fill; {ctx}"
            assert _fills_match(parts, v), ctx
            if exact_oracle:
                assert found, f"oracle finds no filling within the budgets; {ctx}"
            stats["yes, oracle agrees" if found else "yes, certified by witness beyond bound"] += 1
        else:
            assert not found, f"oracle found a filling; {ctx}"
            stats["no, oracle agrees"] += 1
        stats["holes=%d" % len(holes)] += 1
        stats["budgeted holes"] += sum(h.max_tokens is not None for h in holes)
    return stats


# small vocabularies with multi-byte tokens, for token budgets the oracle can unroll
VOCABS = {
    "brackets": ["(", ")", "[", "]", "()", "))", "[]", "]]"],
    "arith": ["1", "2", "a", "+", "*", "(", ")", "12", "a(", "))", " "],
    "json": ["{", "}", "[", "]", '"', ",", ":", "1", "a", '"}', "]}", '":', "null", " "],
    "schema": ["{", "}", '"', '"id"', '"name"', ":", ",", "1", "a", '"}', " ", "[", "]", '"tags"'],
}


def _spellable(data: bytes, vocab, k: int) -> bool:
    """Independent check that ``data`` is a concatenation of at most ``k`` tokens of ``vocab``."""
    toks = [t.encode() for t in vocab]
    best = {0: 0}
    for i in range(1, len(data) + 1):
        c = [best[i - len(t)] + 1 for t in toks if i - len(t) in best and data[i - len(t):i] == t]
        if c:
            best[i] = min(c)
    return best.get(len(data), k + 1) <= k


def compare_vocab(name: str, n: int, seed: int) -> Counter:
    """Canvases whose holes all hold at most k tokens of a small vocabulary: the oracle is exact."""
    g, orc = grammar(name), oracle(name)
    rng = random.Random(seed)
    stats: Counter = Counter()
    for _ in range(n):
        parts = [Hole(max_tokens=rng.randint(0, 3), vocab=VOCABS[name]) if isinstance(p, Hole) else p
                 for p in random_canvas(name, rng)]
        v = check(g, parts)
        found = orc.completable(parts, BOUND)
        ctx = f"{name}: {parts!r} -> {v}"
        assert v.exact, ctx
        assert v.completable == found, ctx
        if v.completable:
            assert orc.member(v.text), ctx
            assert _fills_match(parts, v), ctx
            holes = [p for p in parts if isinstance(p, Hole)]
            for h, f in zip(holes, v.fills):
                assert _spellable(f, h.vocab, h.max_tokens), (ctx, f)
        stats["yes" if v.completable else "no"] += 1
    return stats


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
def test_agreement_with_token_budgets(name):
    stats = compare_vocab(name, 40, seed=99)
    assert stats["yes"] > 5 and stats["no"] > 5, stats


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
def test_agreement_with_brute_force(name):
    stats = compare(name, 120, seed=1234)
    # a test that only ever sees one answer would prove little
    assert stats["no, oracle agrees"] > 5, stats
    assert stats["yes, oracle agrees"] > 5, stats


@pytest.mark.slow
def test_agreement_with_brute_force_10k():
    total: Counter = Counter()
    per = 2500
    for k, name in enumerate(GRAMMARS):
        s = compare(name, per, seed=9000 + k)
        print(f"\n{name}: {dict(sorted(s.items()))}")
        total.update(s)
        sv = compare_vocab(name, 250, seed=7000 + k)
        print(f"{name} token budgets (mock vocabulary, oracle exact): {dict(sv)}")
    print(f"\nschema grammar source: {schema_grammar()[1]}")
    print(f"TOTAL canvases: {per * len(GRAMMARS)}; {dict(sorted(total.items()))}")
    assert sum(v for k, v in total.items() if k.startswith(("yes", "no"))) == per * len(GRAMMARS)
