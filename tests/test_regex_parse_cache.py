"""The schema compiler hands the regex compiler its terminals' parses (no text round trip): those parses must
mean exactly what the text means. Checked by comparing the lexer DFAs built both ways, state pair by state pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.automata import _regex as R
from tokensieve.automata._lexer import Lexer
from tokensieve.schema import _automata as A
from tokensieve.schema._strings import json_string_regex

SAMPLE = Path(__file__).resolve().parent.parent / "jsonschemabench" / "sample" / "jsonschemabench"


def _lexer(text: str, known: list | None) -> Lexer:
    saved = dict(R._KNOWN_PARSES)
    R._KNOWN_PARSES.clear()
    if known is not None:
        R._KNOWN_PARSES[text] = known
    try:
        return Lexer([text])
    finally:
        R._KNOWN_PARSES.clear()
        R._KNOWN_PARSES.update(saved)


def assert_same_language(text: str, items: list, max_pairs: int = 20_000) -> None:
    """Breadth-first over the product of the two lexer DFAs: every reachable pair agrees on acceptance."""
    a, b = _lexer(text, None), _lexer(text, items)
    start = (a.start_state(1), b.start_state(1))
    seen, frontier = {start}, [start]
    while frontier:
        nxt = []
        for x, y in frontier:
            assert bool(a.accepting[x]) == bool(b.accepting[y]), f"{text[:80]!r}: acceptance differs"
            for byte in range(256):
                p = (a.step(x, byte), b.step(y, byte))
                assert (p[0] == 0) == (p[1] == 0), f"{text[:80]!r}: one side dies on byte {byte}"
                if p[0] and p not in seen:
                    seen.add(p)
                    nxt.append(p)
        frontier = nxt
        assert len(seen) <= max_pairs, "product too large for this test"


def _schema_terminals(schema) -> list[str]:
    R._KNOWN_PARSES.clear()
    g = ts.Grammar.from_json_schema(schema)
    return [t.regex for t in g.terminals]


SCHEMAS = {
    "lengths": {"type": "object", "properties": {"a": {"type": "string", "minLength": 2, "maxLength": 5},
                                                 "b": {"type": "string", "pattern": "^[a-c]+x$", "maxLength": 6}}},
    "formats": {"type": "array", "items": {"anyOf": [{"type": "string", "format": "date"},
                                                     {"type": "string", "format": "ipv4"}]}},
    "not-enum": {"type": "string", "not": {"enum": ["ab", "abc", "\u00e9t\u00e9", "\U0001F600"]}},
    "keys": {"type": "object", "properties": {"x": {"type": "integer"}, "y\"z": {"type": "number"}},
             "additionalProperties": {"type": "boolean"}},
    "numbers": {"type": "object", "properties": {"n": {"type": "integer", "minimum": -17, "maximum": 1234},
                                                 "m": {"type": "number", "exclusiveMinimum": 0.5}}},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS), ids=sorted(SCHEMAS))
def test_remembered_parses_mean_the_text(name):
    terminals = _schema_terminals(SCHEMAS[name])
    checked = 0
    for text in terminals:
        items = R._KNOWN_PARSES.get(text)
        if items is not None:
            assert_same_language(text, items)
            checked += 1
    assert checked, "the schema compiler left no parse to check"


def test_remembered_parses_on_the_committed_sample():
    files = sorted(SAMPLE.glob("*/*.json"))[:6]
    assert files
    for f in files:
        for text in _schema_terminals(json.loads(f.read_text())):
            items = R._KNOWN_PARSES.get(text)
            if items is not None and len(text) < 4000:
                assert_same_language(text, items)


_CHARSETS = st.lists(st.tuples(st.integers(0x20, 0x7F), st.integers(0, 3)), min_size=1, max_size=3).map(
    lambda xs: A.cs_norm((lo, min(lo + w, 0x10FFFF)) for lo, w in xs))


def _asts():
    leaf = st.one_of(_CHARSETS.map(A.lit), st.just(A.EPS), st.sampled_from(["ab", "\u00e9", "\""]).map(A.string))
    return st.recursive(leaf, lambda sub: st.one_of(
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: A.cat(*xs)),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: A.alt(*xs)),
        st.tuples(sub, st.integers(0, 3), st.one_of(st.none(), st.integers(0, 4))).map(
            lambda t: A.rep(t[0], t[1], None if t[2] is None else t[1] + t[2]))), max_leaves=8)


@given(_asts())
@settings(max_examples=150, deadline=None)
def test_to_items_means_to_regex(ast):
    if ast == A.EMPTY:
        return
    assert_same_language(A.to_regex(ast, A.plain_set), A.to_items(ast, A.plain_items))
    R._KNOWN_PARSES.clear()
    text = json_string_regex(ast)  # string units: escapes and raw characters
    assert_same_language(text, R._KNOWN_PARSES[text])
