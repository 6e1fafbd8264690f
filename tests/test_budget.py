"""Token budgets: shortest-completion costs are exact, and budgeted masks always let the document finish."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.masking._engine import _Stepper

from .test_mask_oracle import TOKEN_ALPHA, build, random_grammar, reduced

JSON_LARK = (Path(__file__).parent / "data" / "grammars" / "json.lark").read_text()


def shortest_completion(m: ts.Matcher, alphabet: bytes, bound: int) -> int | None:
    """Breadth-first search over byte continuations (states deduplicated by parse stack and lexer state)."""
    frontier, seen = [m], set()
    for depth in range(bound + 1):
        nxt = []
        for x in frontier:
            if x.is_accepting():
                return depth
            key = (tuple(r.serial for r in x._rows), x._state)
            if key in seen:
                continue
            seen.add(key)
            for b in alphabet:
                y = x.fork()
                if y.accept_bytes(bytes([b])):
                    nxt.append(y)
        frontier = nxt
    return None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(g=random_grammar(), data=st.data())
def test_cost_is_the_shortest_completion(impl, g, data):
    terms, n_nt, rules, ignore = g
    productive, _ = reduced(n_nt, rules, terms)
    assume(0 in productive)
    vocab = ts.Vocabulary.from_tokens([c for c in TOKEN_ALPHA] + [None], eos_token_ids=[len(TOKEN_ALPHA)])
    m = ts.Matcher(ts.compile(build(terms, n_nt, rules, ignore), vocab), max_tokens=100)
    for _ in range(6):
        st_ = _Stepper(m.compiled, list(m._rows))
        cost = st_.cost(m._state)
        expected = shortest_completion(m, TOKEN_ALPHA.encode(), 9)
        if expected is not None:
            assert cost == expected
        else:
            assert cost > 9
        allowed = [t for t in m.allowed_token_ids() if t < len(TOKEN_ALPHA)]
        if not allowed:
            break
        assert m.accept_token(data.draw(st.sampled_from(allowed)))


@pytest.mark.parametrize("budget", [1, 2, 5, 12, 30], ids=lambda b: f"B{b}")
def test_budgeted_random_walks_always_finish(impl, budget):
    toks = [bytes([i]) for i in range(32, 127)] + [b"[", b"[[", b'{"', b'": ', b", ", b"true", b"  ", b"\n"]
    vocab = ts.Vocabulary.from_tokens(toks + [None], eos_token_ids=[len(toks)])
    cg = ts.compile(ts.Grammar.from_lark(JSON_LARK), vocab)
    rnd = random.Random(budget)
    openers = {i for i, t in enumerate(toks) if t[:1] in (b"[", b"{", b'"')}
    for _walk in range(15):
        m = ts.Matcher(cg, max_tokens=budget)
        for _step in range(budget):
            allowed = [t for t in m.allowed_token_ids() if t != len(toks)]
            if not allowed:
                break
            # favour tokens that open structures: the worst case for finishing in time
            pick = [t for t in allowed if t in openers] or allowed
            assert m.accept_token(rnd.choice(pick if rnd.random() < 0.7 else allowed))
        assert m.is_accepting(), bytes(b for t in () for b in t)
        assert m.tokens_left() >= 0


def test_budget_too_small_keeps_the_closest_tokens(impl):
    # the shortest document needs 6 bytes; with 2 tokens the mask still offers progress, never nothing
    vocab = ts.Vocabulary.from_tokens([bytes([i]) for i in range(256)] + [None], eos_token_ids=[256])
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex("abcdef|abcdefgh"), vocab), max_tokens=2)
    assert m.allowed_token_ids() == [ord("a")]


def test_budget_counts_and_rollback():
    vocab = ts.Vocabulary.from_tokens([bytes([i]) for i in range(256)] + [None], eos_token_ids=[256])
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex("a+b"), vocab), max_tokens=3)
    assert m.tokens_left() == 3 and set(m.allowed_token_ids()) == {ord("a"), ord("b")} - {ord("b")}
    assert m.accept_token(ord("a")) and m.tokens_left() == 2
    assert set(m.allowed_token_ids()) == {ord("a"), ord("b")}
    assert m.accept_token(ord("a")) and m.allowed_token_ids() == [ord("b")]
    m.rollback(2)
    assert m.tokens_left() == 3
    with pytest.raises(ValueError):
        ts.Matcher(m.compiled, max_tokens=0)


@st.composite
def _rule_sets(draw):
    """Random rule lists over a few nonterminals (>= 0) and terminals (< 0), with empty and repeated bodies."""
    n_nt = draw(st.integers(1, 6))
    sym = st.one_of(st.integers(0, n_nt - 1), st.integers(-3, -1))
    rules = draw(st.lists(st.tuples(st.integers(0, n_nt - 1), st.lists(sym, max_size=4).map(tuple)),
                          min_size=1, max_size=12))
    term_len = draw(st.lists(st.one_of(st.integers(1, 5), st.just(1 << 30)), min_size=3, max_size=3))
    return n_nt, rules, term_len


@given(_rule_sets())
@settings(max_examples=300, deadline=None)
def test_shortest_derivations_match_the_fixed_point(case):
    """The worklist (Knuth) lengths equal the naive Bellman-Ford fixed point they replaced."""
    from tokensieve.automata._earley import _shortest_derivations

    n_nt, rules, term_len = case
    inf = 1 << 30
    want = [inf] * n_nt
    changed = True
    while changed:
        changed = False
        for lhs, body in rules:
            c = sum(term_len[-1 - s] if s < 0 else want[s] for s in body)
            if c < want[lhs]:
                want[lhs] = min(c, inf)
                changed = True
    assert _shortest_derivations(rules, n_nt, term_len) == want


@given(_rule_sets())
@settings(max_examples=300, deadline=None)
def test_nullable_matches_the_fixed_point(case):
    from tokensieve.automata._earley import _nullable

    n_nt, rules, _ = case
    want = [False] * n_nt
    changed = True
    while changed:
        changed = False
        for lhs, body in rules:
            if not want[lhs] and all(s >= 0 and want[s] for s in body):
                want[lhs] = changed = True
    assert _nullable(rules, n_nt) == want
