"""Automaton terminals (JSON string languages built into the lexer straight from their DFA) against the regex
text the same language renders to: equal byte languages, decided exactly by walking both lexers' DFAs in step."""

from __future__ import annotations

import pickle
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.automata._lexer import Lexer
from tokensieve.grammar import Terminal
from tokensieve.grammar._ir import GrammarBuilder
from tokensieve.schema import _automata as A
from tokensieve.schema._strings import ALL_STRINGS, StringAutomaton, string_lang

# raw-only ASCII, the characters with short escapes, controls, BMP and astral characters
ALPHA = ["a", "b", "/", '"', "\\", "\n", "\x7f", "é", "\u2028", "\U0001F600"]
DEAD = 0


def equivalent(x: Lexer, y: Lexer, limit: int = 50_000) -> bool:
    """Whether two one-terminal lexers accept the same byte strings (product walk over their DFAs)."""
    start = (x.start_state(1), y.start_state(1))
    seen, todo = {start}, deque([start])
    while todo:
        a, b = todo.popleft()
        if bool(a and x.accepting[a]) != bool(b and y.accepting[b]):
            return False
        ra = x.row(a) if a else None
        rb = y.row(b) if b else None
        for byte in range(256):
            nxt = (int(ra[byte]) if a else DEAD, int(rb[byte]) if b else DEAD)
            if nxt != (DEAD, DEAD) and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
        assert len(seen) < limit
    return True


def check(lang) -> StringAutomaton:
    auto = StringAutomaton(lang.dfa())
    assert equivalent(Lexer([auto]), Lexer([auto.regex()]))
    return auto


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.text(alphabet=ALPHA, max_size=3), max_size=5),
       extra=st.sampled_from(["none", "prefix", "class", "length"]))
def test_automaton_terminal_is_the_language_of_its_regex(names, extra):
    lang = ALL_STRINGS - string_lang(A.alt(*(A.string(n) for n in names))) if names else ALL_STRINGS
    if extra == "prefix":  # "not these names, and not starting with x-"
        lang = lang - string_lang(A.cat(A.string("x-"), A.star(A.lit(A.UNIVERSE))))
    elif extra == "class":  # a pattern over a class that cuts through every spelling kind
        cls = A.cs_norm([(0x22, 0x22), (0x5C, 0x5C), (0x0A, 0x0A), (0xE9, 0xE9), (0x1F600, 0x1F600)])
        lang = lang & string_lang(A.rep(A.lit(cls), 1, 4))
    elif extra == "length":
        lang = lang & string_lang(A.rep(A.lit(A.UNIVERSE), 0, 2))
    if lang.is_empty():
        with pytest.raises(ValueError):
            StringAutomaton(lang.dfa())
        return
    check(lang)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}, "é/": {}}, "additionalProperties": {"type": "integer"}},
    {"type": "object", "patternProperties": {"^x-": {"type": "boolean"}}, "properties": {"name": {}},
     "additionalProperties": {"type": "null"}},
], ids=["names", "names-and-pattern"])
def test_schema_key_languages_become_automata(schema):
    g = ts.Grammar.from_json_schema(schema)
    autos = [t for t in g.terminals if t.automaton is not None]
    assert autos, "the other-keys language should come out of a product as an automaton"
    for t in autos:
        assert equivalent(Lexer([t.source]), Lexer([t.regex]))
        assert t.regex.startswith('"') and t.key.startswith("\0automaton:")
    assert "automaton" not in g.to_text() and g.fingerprint() == ts.Grammar.from_json_schema(schema).fingerprint()
    again = pickle.loads(pickle.dumps(g))
    assert again.terminals == g.terminals and again.fingerprint() == g.fingerprint()
    m = ts.Matcher(ts.compile(g, ts.Vocabulary([bytes([b]) for b in range(256)] + [None], eos_token_ids=256)))
    doc = '{"name": 1, "\\u00e9/": null, "x-y": true, "zz": null}' if "patternProperties" in schema else \
        '{"a": "s", "\\u00e9\\/": 1, "b\\n": 2}'
    assert m.accept_bytes(doc.encode()) and m.is_accepting(), doc
    bads = ('{"x-y": null}', '{"zz": 1}') if "patternProperties" in schema else \
        ('{"zz": null}', '{"a": 1}', '{"\\u0061": "s"}')  # wrong values; "a" escaped is not a spelling we accept
    for bad in bads:
        m = ts.Matcher(m.compiled)
        assert not (m.accept_bytes(bad.encode()) and m.is_accepting()), bad


def test_terminal_is_immutable_and_deduplicated_by_content():
    lang = ALL_STRINGS - string_lang(A.string("a"))
    auto, again = StringAutomaton(lang.dfa()), StringAutomaton((ALL_STRINGS - string_lang(A.string("a"))).dfa())
    assert auto.key == again.key
    b = GrammarBuilder()
    assert b.terminal(auto, "K1") == b.terminal(again)  # same language: one terminal
    assert b.terminal('"a"') != b.terminal(auto)
    t = Terminal("K", automaton=auto)
    assert t == Terminal("K", automaton=again) and hash(t) == hash(Terminal("K", automaton=again))
    assert t != Terminal("K", '"a"')
    with pytest.raises(AttributeError):
        t.name = "other"
    with pytest.raises(ValueError):
        Terminal("K")
    with pytest.raises(ValueError):
        Terminal("K", '"a"', auto)
