"""String values over raw JSON text: escapes, lengths counted in decoded code points, the escape policy."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve.schema import _automata as A
from tokensieve.schema import grammar_from_json_schema
from tokensieve.schema._strings import SIGMA, json_string_regex

from .test_schema_support import Recognizer

ANY = re.compile(json_string_regex(A.star(SIGMA)))
unicode_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(text=unicode_text, ensure_ascii=st.booleans())
def test_every_json_dumps_spelling_is_accepted(text, ensure_ascii):
    assert ANY.fullmatch(json.dumps(text, ensure_ascii=ensure_ascii))


@settings(max_examples=200, deadline=None)
@given(text=unicode_text, lo=st.integers(0, 6), span=st.integers(0, 6))
def test_length_counts_decoded_code_points(text, lo, span):
    """``"\\n"``, ``"\\u00e9"`` and a surrogate pair each count as one character."""
    rx = re.compile(json_string_regex(A.rep(SIGMA, lo, lo + span)))
    expected = lo <= len(text) <= lo + span
    for spelling in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        assert (rx.fullmatch(spelling) is not None) is expected


@pytest.mark.parametrize("text,ok", [
    ('"\\ud800"', False),          # a lone surrogate escape is not Unicode text
    ('"\\udc00\\ud800"', False),   # reversed pair
    ('"\\ud83d\\ude00"', True),    # a proper pair
    ('"\\u00E9"', True),           # either hex case
    ('"\\u0041"', False),          # policy: printable ASCII is written raw
    ('"\\/"', True),
    ('"\\x41"', False), ('"\\u12"', False), ('"a\nb"', False), ('"\t"', False), ('"\\t"', True),
    ('"\\u0009"', True), ('"\\u007f"', True), ('"\x7f"', True), ("'a'", False), ('"a', False),
])
def test_escape_policy(text, ok):
    assert (ANY.fullmatch(text) is not None) is ok


@pytest.mark.parametrize("schema,text,ok", [
    ({"maxLength": 2}, '"\\u00e9\\n"', True),
    ({"maxLength": 1}, '"\\ud83d\\udca9"', True),
    ({"minLength": 2}, '"\\ud83d\\udca9"', False),
    ({"const": "\u00e9"}, '"\\u00e9"', True),
    ({"const": "\u00e9"}, '"\u00e9"', True),
    ({"const": "a\"b"}, '"a\\"b"', True),
    ({"enum": ["x/y"]}, '"x\\/y"', True),
    ({"pattern": "^\\n$"}, '"\\u000a"', True),
    ({"pattern": "^\\n$"}, '"\\n"', True),
], ids=lambda x: json.dumps(x) if not isinstance(x, bool) else str(x))
def test_string_constraints_see_decoded_text(schema, text, ok):
    assert Recognizer(grammar_from_json_schema({"type": "string", **schema})).accepts(text) is ok


def test_property_keys_use_the_same_decoding():
    schema = {"type": "object", "properties": {"\u00e9": {"type": "integer"}}, "additionalProperties": False}
    rec = Recognizer(grammar_from_json_schema(schema))
    assert rec.accepts('{"\\u00e9": 1}') and rec.accepts('{"\u00e9": 1}')
    assert not rec.accepts('{"e": 1}')


def test_additional_keys_cannot_spell_a_named_key_differently():
    schema = {"properties": {"a/b": {"type": "integer"}}, "additionalProperties": {"type": "string"}}
    rec = Recognizer(grammar_from_json_schema(schema))
    assert rec.accepts('{"a/b": 1}') and rec.accepts('{"a\\/b": 1}')
    assert not rec.accepts('{"a\\/b": "x"}')  # would be the named key with a wrong value
    assert rec.accepts('{"c": "x"}') and not rec.accepts('{"c": 1}')


# ---------------------------------------------------------------------------------------- key complements

@settings(max_examples=150, deadline=None)
@given(names=st.sets(st.text(alphabet="ab~", max_size=4), min_size=1, max_size=6),
       probes=st.lists(st.text(alphabet="ab~\"é", max_size=5), max_size=25))
def test_names_complement_is_exact(names, probes):
    # additionalProperties keys: every string except the named ones (printable-ASCII names: the trie-factored
    # regex; probes also hold characters no name has)
    from tokensieve.automata import DEAD, Lexer
    from tokensieve.schema._compile import _names_complement
    from tokensieve.schema._strings import json_string_regex

    lexer = Lexer([json_string_regex(_names_complement(names))])
    prefixes = {n[:k] for n in names for k in range(len(n) + 1)}
    for s in list(names) + probes + sorted(prefixes) + [n + "a" for n in names]:
        state = lexer.start_state(1)
        for b in json.dumps(s).encode():
            state = lexer.step(state, b)
            if state == DEAD:
                break
        accepted = state != DEAD and bool(lexer.accepting[state] & 1)
        assert accepted == (s not in names), (sorted(names), s)
