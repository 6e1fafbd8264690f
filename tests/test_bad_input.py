"""Acceptance 4 of the core engine: bad input gives a typed error or a bounded-time answer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import tokensieve as ts

JSON_LARK = (Path(__file__).parent / "data" / "grammars" / "json.lark").read_text()


def byte_vocab():
    return ts.Vocabulary.from_tokens([bytes([i]) for i in range(256)] + [b"[[[[", b"]]]]", None],
                                     eos_token_ids=[258])


@pytest.mark.parametrize("text,kind", [
    ('start: "a" b\n', ts.GrammarError),                       # undefined rule
    ("start: (\n", ts.GrammarError),                           # syntax error
    ('start: "a"\nstart: "b"\n', ts.GrammarError),            # duplicate rule
    ("start: A\nA: /a(?=b)/\n", ts.UnsupportedFeatureError),   # lookahead terminal
    ("start: A\nA: /[/\n", ts.GrammarError),                   # malformed regex
], ids=["undefined-rule", "syntax", "duplicate", "lookahead", "bad-regex"])
def test_malformed_lark(text, kind):
    with pytest.raises(kind):
        ts.compile(ts.Grammar.from_lark(text), byte_vocab())


def test_lark_error_names_line():
    with pytest.raises(ts.GrammarError) as e:
        ts.Grammar.from_lark('start: a\na: "x"\nb: c\n')
    assert e.value.line is not None or "line" in str(e.value)


def test_unknown_start_rule():
    with pytest.raises(ts.GrammarError, match="nosuch"):
        ts.Grammar.from_lark('start: "a"\n', start="nosuch")


@pytest.mark.parametrize("text", ['start: a\na: a "x"\n', 'start: start\n', 'start: a b\na: b\nb: a\n'],
                         ids=["left-rec-only", "self-loop", "mutual"])
def test_empty_language(text):
    with pytest.raises(ts.GrammarError, match="empty language"):
        ts.compile(ts.Grammar.from_lark(text), byte_vocab())


def test_malformed_gbnf_and_regex():
    with pytest.raises(ts.GrammarError):
        ts.Grammar.from_gbnf('root ::= "a\n')
    with pytest.raises(ts.GrammarError):
        ts.Grammar.from_regex("(a")
    with pytest.raises(ts.UnsupportedFeatureError):
        ts.Grammar.from_regex(r"(a)\1")


def test_deep_nesting_is_iterative(impl):
    depth = 10_000
    m = ts.Matcher(ts.compile(ts.Grammar.from_lark(JSON_LARK), byte_vocab()))
    limit = sys.getrecursionlimit()
    assert m.accept_bytes(b"[" * depth)
    allowed = m.allowed_token_ids()
    assert ord("]") in allowed and 257 in allowed  # "]]]]" too
    assert m.accept_bytes(b"]" * (depth - 1)) and not m.is_accepting()
    assert m.accept_bytes(b"]") and m.is_accepting()
    assert not m.accept_bytes(b"]")
    assert sys.getrecursionlimit() == limit


def test_one_megabyte_grammar():
    n = 20_000
    lines = ["start: " + " | ".join(f"r{i}" for i in range(0, n, 97))]
    lines += [f'r{i}: "k{i}" r{i + 1}' if i + 1 < n else f'r{i}: "end"' for i in range(n)]
    text = "\n".join(lines) + "\n"
    assert len(text) > 300_000
    text = text + "\n".join(f"// padding comment {i} " + "x" * 40 for i in range(12_000))
    assert len(text) > 1_000_000
    g = ts.Grammar.from_lark(text)
    m = ts.Matcher(ts.compile(g, byte_vocab()))
    assert m.accept_bytes(b"k19982k19983") and m.allowed_token_ids() == [ord("k")]


def test_catastrophic_regex_shape_is_linear(impl):
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex(r"(a|aa)*(a+)+b"), byte_vocab()))
    assert m.accept_bytes(b"a" * 20_000)
    assert not m.accept_bytes(b"c")
    assert m.accept_bytes(b"b") and m.is_accepting()


def test_earley_item_limit():
    # exponentially ambiguous grammar: items grow with the input; the limit stops it with a clear error
    g = ts.Grammar.from_lark('start: s\ns: s s | s s s | "a"\n')
    m = ts.Matcher(ts.compile(g, byte_vocab(), max_items_per_row=500))
    with pytest.raises(ts.LimitExceededError, match="Earley items"):
        for _ in range(400):
            m.accept_bytes(b"a")


def test_lexer_state_limit():
    g = ts.Grammar.from_regex(r"[ab]*a[ab]{16}")
    m = ts.Matcher(ts.compile(g, byte_vocab(), max_lexer_states=300))
    import random

    rnd = random.Random(0)
    with pytest.raises(ts.LimitExceededError, match="lexer states"):
        for _ in range(2000):
            m.accept_bytes(rnd.choice([b"a", b"b"]))
