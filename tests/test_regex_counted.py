"""Large counted repetitions keep one body and make copies on demand: same language, same distances.

The oracle is the same regex compiled with every copy expanded (``VIRTUAL_MIN_COPIES`` raised out of reach) and
Python's ``re``; thresholds are lowered so that small counts exercise the virtual path.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve.automata import DEAD, Lexer
from tokensieve.automata import _regex as R

PATTERNS = ["(ab|c){3,7}", "a(b{2,5}c)*d{3,}", "(x|yz){0,9}q", "[ab]{5}", "(a{1,3}){3,5}", "(é|ez){4,6}",
            "(?:a|bc){2,}x", "(a?){4}b", "(?:(?:ab){2}|c){3,4}", "z{0,0}a{3}"]


@lru_cache(maxsize=None)
def _lexer(pattern: str, virtual: bool) -> Lexer:
    with mock.patch.object(R, "VIRTUAL_MIN_COPIES", 1 if virtual else 10**9):
        return Lexer([pattern])


def _walk(lx: Lexer, text: bytes):
    """Yields (accepting, distances) after each byte; stops at the dead state."""
    s = lx.start_state(1)
    yield bool(lx.accepting[s] & 1), lx.terminal_distances(s)
    for b in text:
        s = lx.step(s, b)
        if s == DEAD:
            yield None, None
            return
        yield bool(lx.accepting[s] & 1), lx.terminal_distances(s)


@pytest.mark.parametrize("pattern", PATTERNS, ids=str)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_virtual_copies_match_expanded(pattern, data):
    virt, full = _lexer(pattern, True), _lexer(pattern, False)
    assert virt.nfa._reps and not full.nfa._reps
    alphabet = sorted(set(re.sub(r"[^a-zé]", "", pattern)))
    text = data.draw(st.text(st.sampled_from(alphabet), max_size=16))
    assert list(_walk(virt, text.encode())) == list(_walk(full, text.encode()))
    s = virt.start_state(1)
    for b in text.encode():
        s = virt.step(s, b)
        if s == DEAD:
            break
    ok = s != DEAD and bool(virt.accepting[s] & 1)
    assert ok == bool(re.fullmatch(pattern, text))
    assert virt.min_length(0) == full.min_length(0)
    assert virt.live_terminals == full.live_terminals


def test_string_with_huge_max_length_builds_small_and_fast():
    # maxLength 32767 on a JSON string: once ~1.6M NFA states and ~11 s before the first mask
    t0 = time.perf_counter()
    lx = Lexer(['"(?:[^"\\\\\\x00-\\x1f]|\\\\["\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,32767}"'])
    assert time.perf_counter() - t0 < 1.0
    assert len(lx.nfa.edges) < 100

    def lexes(n: int) -> bool:
        s = lx.start_state(1)
        for b in b'"' + b"a" * n + b'"':
            s = lx.step(s, b)
            if s == DEAD:
                return False
        return bool(lx.accepting[s] & 1)

    assert lexes(0) and lexes(2000)
    s = lx.start_state(1)
    for b in b'"ab':
        s = lx.step(s, b)
    assert lx.terminal_distances(s) == {0: 1}


def test_upper_bound_is_exact_at_the_virtual_threshold():
    n = R.VIRTUAL_MIN_COPIES + 1
    lx = Lexer([f"a{{2,{n}}}"])
    assert lx.nfa._reps
    for k in range(n + 3):
        s = lx.start_state(1)
        for _ in range(k):
            s = lx.step(s, ord("a"))
        assert (s != DEAD and bool(lx.accepting[s] & 1)) == (2 <= k <= n), k


def test_empty_body_language_is_dead():
    lx = Lexer(["(?:[^\\x00-\\U0010ffff]){100}", "b"])
    assert lx.live_terminals == 0b10
