"""The schema compiler's DFA algebra (minimize, product) against brute-force membership and a textbook
Moore minimisation, on random partial DFAs over a few code points with interval edges."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve.schema import _automata as A

ALPHABET = "abcd"  # code points 97..100; edges are intervals over them
WORDS = [""] + ["".join(w) for k in range(1, 6) for w in itertools.product(ALPHABET + "z", repeat=k)]


@st.composite
def dfas(draw, max_states=9):
    n = draw(st.integers(1, max_states))
    trans = []
    for _ in range(n):
        cuts = sorted(draw(st.sets(st.integers(97, 101), max_size=4)) | {97, 101})
        row = []
        for lo, nxt in zip(cuts, cuts[1:]):
            t = draw(st.integers(-1, n - 1))  # -1: no edge on this interval
            if t >= 0:
                row.append((lo, nxt - 1, t))
        trans.append(tuple(row))
    accept = [draw(st.booleans()) for _ in range(n)]
    return A.DFA(trans, accept)


def moore_size(d: A.DFA) -> int:
    """States of the minimal DFA, by Moore's rounds over single code points (the reference)."""
    d = d.trim()
    n = len(d.trans)

    def step(s, c):
        for lo, hi, t in d.trans[s]:
            if lo <= c <= hi:
                return t
        return -1

    block = [int(a) for a in d.accept]
    while True:
        sigs = {}
        new = [sigs.setdefault((block[s],) + tuple(block[step(s, c)] if step(s, c) >= 0 else -1
                                                    for c in range(97, 101)), len(sigs)) for s in range(n)]
        if len(sigs) == len(set(block)):
            return len(sigs) if any(d.accept) else 1
        block = new


@settings(max_examples=300, deadline=None)
@given(dfas())
def test_minimize_keeps_the_language_and_is_minimal(d):
    m = d.minimize()
    assert [m.matches(w) for w in WORDS] == [d.matches(w) for w in WORDS]
    assert len(m) == moore_size(d)
    assert m.minimize().trans == m.trans  # minimal automata are a fixpoint, numbered from the start state


def test_minimize_length_bounded_chain():
    # strings of 0..200 "a"s: 201 states that Moore's rounds separated one per round
    d = A.dfa_from_nfa(A.nfa_from_ast(A.rep(A.char("a"), 0, 200)))
    assert len(d) == 201
    doubled = A.DFA([((97, 97, s + 1),) if s < 401 else () for s in range(402)], [s % 2 == 0 for s in range(402)])
    # even lengths up to 400: states 0..400 are all distinct; 401 cannot reach acceptance and is trimmed
    assert len(doubled.minimize()) == 401


@pytest.mark.parametrize("op", ["and", "or", "diff"])
@settings(max_examples=150, deadline=None)
@given(a=dfas(max_states=6), b=dfas(max_states=6))
def test_product_matches_brute_force(op, a, b):
    p = A.product(a, b, op)
    for w in WORDS:
        x, y = a.matches(w), b.matches(w)
        want = x and y if op == "and" else (x or y) if op == "or" else (x and not y)
        assert p.matches(w) == want, w


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_overlay_cuts_like_the_generic_segmenter(data):
    def row():
        cuts = sorted(data.draw(st.sets(st.integers(0, 30), max_size=8)))
        out = []
        for lo, nxt in zip(cuts, cuts[1:]):
            if data.draw(st.booleans()):
                out.append((lo, nxt - 1, data.draw(st.integers(0, 3))))
        return tuple(out)

    ra, rb = row(), row()
    both = data.draw(st.booleans())
    got = A._overlay(ra, rb, both)
    # per code point, the pair of targets, from the generic segmenter
    items = [(lo, hi, ("a", t)) for lo, hi, t in ra] + [(lo, hi, ("b", t)) for lo, hi, t in rb]
    want = {}
    for lo, hi, payload in A._segments(items):
        ta = next((t for s, t in payload if s == "a"), -1)
        tb = next((t for s, t in payload if s == "b"), -1)
        if both and (ta < 0 or tb < 0):
            continue
        for c in range(lo, hi + 1):
            want[c] = (ta, tb)
    flat = {c: (ta, tb) for lo, hi, ta, tb in got for c in range(lo, hi + 1)}
    assert flat == want
    assert all(x[1] < y[0] for x, y in zip(got, got[1:]))  # sorted, disjoint pieces
