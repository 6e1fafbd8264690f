"""The Cython DFA-row kernel against its pure-Python twin, on every DFA state the lexers reach and on random
sets of NFA states (regular and virtual ids, Unicode classes, case folding, counted repetitions)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve.automata import _nfa_py, _regex
from tokensieve.automata._regex import NFA

pytestmark = pytest.mark.skipif(_regex._nfa_kernels is _nfa_py,
                                reason="Cython extension not built: nothing to compare the twin with")

PATTERNS = {
    "json_string": r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"',
    "bounded": r'"[^"\\]{2,120}"',  # counted repetition over 64 copies: virtual ids
    "keys": r'"(?:name|nickname|age|agent)"|"[a-z]{1,3}"',
    "unicode": r"[\w\u00e9\u4e00-\u9fff]+\s?\d{1,3}",
    "folded": r"(?i:true|false|nu?ll)",
    "number": r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?",
    "any": r"(?s:.{0,70})x",
}


def _nfa(frozen: bool = True):
    nfa = NFA()
    for name, rx in PATTERNS.items():
        nfa.add_terminal(rx, name)
    if frozen:
        nfa.freeze()
        assert type(nfa.edges.rows) is tuple and type(nfa.eps.rows) is tuple
    return nfa


def _args(nfa, states):
    return states, nfa.edges.rows, nfa.edges.virtual, nfa._closure_memo, nfa.closure, _regex._VBASE


@pytest.mark.parametrize("frozen", [False, True], ids=["list-rows", "tuple-rows"])
def test_kernel_equals_twin_on_every_reached_state(frozen):
    nfa = _nfa(frozen)
    start = frozenset(x for s in nfa.starts for x in nfa.closure(s))
    seen, todo, n = {start}, [start], 0
    while todo and n < 3000:
        cur = todo.pop()
        n += 1
        want = _nfa_py.moves(*_args(nfa, cur))
        assert _regex._nfa_kernels.moves(*_args(nfa, cur)) == want
        for _lo, _hi, nxt in want:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert n > 200


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_kernel_equals_twin_on_random_state_sets(data):
    nfa = _nfa()
    regular = data.draw(st.sets(st.integers(0, len(nfa.edges) - 1), max_size=12))
    rep = nfa._reps[0]
    virtual = data.draw(st.sets(st.integers(rep.base, rep.base + rep.hi * rep.k - 1), max_size=4))
    states = frozenset(regular | virtual)
    assert _regex._nfa_kernels.moves(*_args(nfa, states)) == _nfa_py.moves(*_args(nfa, states))


def test_bad_rows_are_errors_not_crashes():
    nfa = _nfa()
    with pytest.raises(IndexError):
        _regex._nfa_kernels.moves(frozenset([len(nfa.edges) + 5]), *_args(nfa, None)[1:])
    with pytest.raises(TypeError):
        _regex._nfa_kernels.moves(frozenset([0]), nfa.edges, *_args(nfa, None)[2:])  # the view, not its rows
    with pytest.raises(TypeError):
        _nfa_py.moves(frozenset([0]), nfa.edges, *_args(nfa, None)[2:])


def _closure_args(nfa, s):
    return s, nfa.eps.rows, nfa.edges.rows, nfa.eps.virtual, nfa.edges.virtual, nfa._final_set, _regex._VBASE


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_closure_kernel_equals_twin(data):
    nfa = _nfa()
    rep = nfa._reps[0]
    s = data.draw(st.one_of(st.integers(0, len(nfa.edges) - 1),
                            st.integers(rep.base, rep.base + rep.hi * rep.k - 1)))
    got = _regex._nfa_kernels.closure(*_closure_args(nfa, s))
    want = _nfa_py.closure(*_closure_args(nfa, s))
    assert sorted(got) == sorted(want) and len(set(got)) == len(got)


@pytest.mark.parametrize("frozen", [False, True], ids=["list-rows", "tuple-rows"])
def test_closure_of_every_state_and_errors(frozen):
    nfa = _nfa(frozen)
    for s in range(len(nfa.edges)):
        assert set(_regex._nfa_kernels.closure(*_closure_args(nfa, s))) == set(_nfa_py.closure(*_closure_args(nfa, s)))
    assert set(nfa.closure(nfa.finals[0])) == {nfa.finals[0]}  # a final state without byte edges stays
    with pytest.raises(IndexError):
        _regex._nfa_kernels.closure(*_closure_args(nfa, len(nfa.edges) + 5))


def test_fill_row_kernel_equals_twin_on_every_reached_state():
    import numpy as np

    from tokensieve.automata import Lexer

    rows = []
    for kernels in (_regex._nfa_kernels, _nfa_py):
        lexer = Lexer(list(PATTERNS.values()))
        saved = _regex._nfa_kernels
        _regex._nfa_kernels = kernels
        try:
            todo, seen = [lexer.start_state((1 << len(PATTERNS)) - 1)], set()
            while todo and len(seen) < 400:
                s = todo.pop()
                if s in seen:
                    continue
                seen.add(s)
                row = lexer.row(s).copy()
                todo.extend(int(t) for t in np.unique(row) if t > 0)
        finally:
            _regex._nfa_kernels = saved
        rows.append((lexer.trans[: len(lexer.sets) * 256].copy(), [lexer.sets[i] for i in range(len(lexer.sets))]))
    (t_c, sets_c), (t_py, sets_py) = rows
    assert sets_c == sets_py and np.array_equal(t_c, t_py)  # same states, interned in the same order
    with pytest.raises(ValueError):
        _regex._nfa_kernels.fill_row([(3, 300, frozenset({1}))], {}, lambda t: 1, np.zeros(256, dtype=np.int32))


def test_frozen_rows_leave_the_collector_and_thaw_for_more_terminals():
    """Frozen rows are tuples of tuples of ints: the collector stops tracking them (a full collection no longer
    walks every state: those pauses landed inside masks); adding a terminal afterwards still works."""
    import gc

    nfa = _nfa()
    for _ in range(4):  # each pass untracks one more level of nested tuples
        gc.collect()
    assert not gc.is_tracked(nfa.edges.rows) and not gc.is_tracked(nfa.eps.rows)
    n = len(nfa.edges)
    i = nfa.add_terminal("x[0-9]+", "late")
    assert type(nfa.edges.rows) is list and len(nfa.edges) > n
    nfa.freeze()
    states = frozenset(nfa.closure(nfa.starts[i]))
    (lo, hi, nxt), = _regex._nfa_kernels.moves(states, *_args(nfa, None)[1:])
    assert (lo, hi) == (ord("x"), ord("x")) and nfa.finals[i] not in nxt
    assert _regex._nfa_kernels.moves(states, *_args(nfa, None)[1:]) == _nfa_py.moves(states, *_args(nfa, None)[1:])
