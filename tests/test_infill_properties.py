"""Acceptance 2: properties of the infill check (hypothesis).

No hole = membership; ``s0 □`` = the left-to-right matcher's prefix check; splitting a hole into two adjacent
holes changes nothing; filling a hole with part of a witness keeps the canvas completable, and inserting
anything into a non-completable canvas keeps it non-completable (monotonicity).
"""

from __future__ import annotations

import random
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.infill import Hole, check, is_completable
from tests.test_infill_oracle import ALPHABET, GRAMMARS, Sampler, grammar, oracle

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def members(name: str) -> tuple[str, ...]:
    s = Sampler(grammar(name), ALPHABET[name], random.Random(42))
    out = []
    while len(out) < 150:
        m = s.member(max_depth=5)
        if len(m) <= 30:
            out.append(m)
    return tuple(out)


@st.composite
def texts(draw, name):
    if draw(st.booleans()):
        return draw(st.sampled_from(members(name)))
    return draw(st.text(alphabet=ALPHABET[name], max_size=12))


@st.composite
def canvases(draw, name, budgets=True):
    text = draw(texts(name))
    n = draw(st.integers(0, 3))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), min_size=n, max_size=n)))
    parts, pos = [], 0
    for c in cuts:
        c = max(c, pos)
        span = draw(st.integers(0, min(4, len(text) - c)))
        parts.append(text[pos:c])
        k = draw(st.one_of(st.none(), st.integers(0, 6))) if budgets else None
        parts.append(Hole(max_tokens=k))
        pos = c + span
    parts.append(text[pos:])
    return parts


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
@SETTINGS
@given(data=st.data())
def test_no_hole_is_membership(name, data):
    text = data.draw(texts(name))
    assert is_completable(grammar(name), [text]) == oracle(name).member(text)


@lru_cache(maxsize=None)
def _byte_matcher(name: str):
    vocab = ts.Vocabulary.from_tokens([bytes([b]) for b in range(256)] + [None], eos_token_ids=[256])
    return ts.compile(grammar(name), vocab)


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
@SETTINGS
@given(data=st.data())
def test_trailing_hole_is_the_matchers_prefix_check(name, data):
    """For these grammars the free lexing of the checker and the matcher's greedy lexing agree."""
    text = data.draw(texts(name))
    cut = data.draw(st.integers(0, len(text)))
    prefix = text[:cut]
    m = ts.Matcher(_byte_matcher(name))
    assert is_completable(grammar(name), [prefix, Hole()]) == m.accept_bytes(prefix.encode()), prefix


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
@SETTINGS
@given(data=st.data())
def test_splitting_a_hole_changes_nothing(name, data):
    parts = data.draw(canvases(name))
    holes = [i for i, p in enumerate(parts) if isinstance(p, Hole)]
    if not holes:
        return
    i = data.draw(st.sampled_from(holes))
    h = parts[i]
    if h.max_tokens is None:
        pieces = [Hole(), Hole()] if data.draw(st.booleans()) else [Hole(), "", Hole()]
    else:
        a = data.draw(st.integers(0, h.max_tokens))
        pieces = [Hole(max_tokens=a), Hole(max_tokens=h.max_tokens - a)]
    split = parts[:i] + pieces + parts[i + 1:]
    assert is_completable(grammar(name), split) == is_completable(grammar(name), parts), (parts, split)


@pytest.mark.parametrize("name", GRAMMARS, ids=GRAMMARS)
@SETTINGS
@given(data=st.data())
def test_filling_with_part_of_a_witness_stays_completable(name, data):
    g = grammar(name)
    parts = data.draw(canvases(name))
    v = check(g, parts)
    holes = [i for i, p in enumerate(parts) if isinstance(p, Hole)]
    if not holes:
        return
    j = data.draw(st.integers(0, len(holes) - 1))
    i = holes[j]
    fill = v.fills[j] if v.completable else data.draw(st.text(alphabet=ALPHABET[name], max_size=4)).encode()
    a = data.draw(st.integers(0, len(fill)))
    b = data.draw(st.integers(a, len(fill)))
    h = parts[i]
    if h.max_tokens is None:
        left, right = Hole(), Hole()
    elif v.completable:
        left, right = Hole(max_tokens=a), Hole(max_tokens=h.max_tokens - b)
    else:  # any split of the budget: filling never helps a canvas that cannot be completed
        b = min(b, a + h.max_tokens)
        lo = data.draw(st.integers(0, h.max_tokens))
        left, right = Hole(max_tokens=lo), Hole(max_tokens=max(0, h.max_tokens - lo - (b - a)))
    filled = parts[:i] + [left, fill[a:b], right] + parts[i + 1:]
    assert is_completable(g, filled) == v.completable, (parts, filled, v)
