"""ECMA-262 ``pattern`` translation: semantics, unanchored search, unsupported constructs, Python translation."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve import SchemaError, UnsupportedFeatureError
from tokensieve.schema import grammar_from_json_schema, validate
from tokensieve.schema._regex_ecma import pattern_lang, to_python_regex
from tokensieve.schema._strings import json_string_regex

from .test_schema_support import Recognizer

CASES = [
    # (pattern, string, matches) -- ECMA semantics, unanchored unless ^/$
    ("abc", "xxabcxx", True), ("abc", "ab", False), ("^abc", "abcx", True), ("^abc", "xabc", False),
    ("abc$", "xabc", True), ("abc$", "abc\n", False), ("^abc$", "abc", True), ("^a|b$", "ab", True),
    ("^a|b$", "xax", False), ("^a|b$", "ax", True), ("^a|b$", "xb", True), ("(^a)|(b$)", "ba", False),
    (r"^\d+$", "0123", True), (r"^\d+$", "\u0660", False), (r"^\w+$", "a_Z9", True), (r"^\w$", "\u00e9", False),
    (r"^\s$", "\u00a0", True), (r"^\s$", "\ufeff", True), (r"^\s$", "\u2028", True), (r"^\S$", " ", False),
    ("^.$", "\n", False), ("^.$", "\r", False), ("^.$", "\u2028", False), ("^.$", "\U0001F600", True),
    ("^[^]$", "\n", True), ("^[]$", "a", False), (r"^\cC$", "\x03", True), (r"^\t$", "\t", True),
    (r"^\x41\u0042\u{43}$", "ABC", True), (r"^[a-c-e]+$", "a-e", True), (r"^[\d-z]+$", "1-z", True),
    (r"^\p{L}+$", "\u00e9t\u00e9", True), (r"^\p{Letter}$", "1", False), (r"^\P{L}$", "1", True),
    (r"^\p{digit}+$", "\u09ea\u09e8", True), (r"^\p{Nd}$", "a", False),
    ("^\U0001F432*$", "\U0001F432\U0001F432", True), ("^\U0001F432*$", "\U0001F409", False),
    ("^\\ud83d\\udc32$", "\U0001F432", True),
    ("a{2}", "aa", True), ("^a{2}$", "aaa", False), ("^a{2,}$", "aaaa", True), ("^a{1,2}$", "aaa", False),
    ("^x{,2}$", "x{,2}", True), ("^a{$", "a{", True), ("]", "]", True), ("^a+?$", "aaa", True),
    ("^(?:ab)+$", "abab", True), ("^(?<name>ab)c$", "abc", True), (r"^\/\.$", "/.", True),
    (r"^\_$", "_", True), (r"^[\b]$", "\b", True), (r"^\0$", "\x00", True),
]


@pytest.mark.parametrize("pattern,text,ok", CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_pattern_language(pattern, text, ok):
    assert pattern_lang(pattern).matches(text) is ok
    # validate() evaluates the same pattern through its Python translation
    assert (re.search(to_python_regex(pattern), text) is not None) is ok


@pytest.mark.parametrize("pattern,text,ok", CASES[:24], ids=[f"{i}" for i in range(24)])
def test_pattern_through_the_grammar(pattern, text, ok):
    """The terminal over raw JSON text agrees, whether the text escapes non-ASCII or not."""
    grammar = grammar_from_json_schema({"type": "string", "pattern": pattern})
    rec = Recognizer(grammar)
    assert rec.accepts(json.dumps(text)) is ok
    assert rec.accepts(json.dumps(text, ensure_ascii=False)) is ok


@pytest.mark.parametrize("pattern,what", [
    ("(?=a)", "lookahead"), ("(?!a)b", "lookahead"), ("(?<=a)b", "lookbehind"), ("(?<!a)b", "lookbehind"),
    (r"(a)\1", "backreference"), (r"(?<n>a)\k<n>", "backreference"), (r"\bfoo", "word boundary"),
    (r"a\B", "word boundary"), (r"\p{Script=Greek}", "Unicode property"),
])
def test_unsupported_constructs_name_pattern_and_pointer(pattern, what):
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema({"properties": {"x": {"pattern": pattern}}})
    assert e.value.feature == "pattern"
    assert e.value.path == "/properties/x/pattern"
    assert what in str(e.value)


@pytest.mark.parametrize("pattern", ["(", "a)", "[a", "*a", "a**", "[z-a]", "^*", r"\u{110000}", "a{2,1}"])
def test_malformed_patterns_are_schema_errors(pattern):
    with pytest.raises(SchemaError) as e:
        grammar_from_json_schema({"pattern": pattern})
    assert e.value.path == "/pattern"


def test_pattern_properties_pointer_escapes_slashes():
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema({"patternProperties": {"a/(?=b)": True}})
    assert e.value.path == "/patternProperties/a~1(?=b)"


ascii_text = st.text(alphabet="ab1 _-.\n", max_size=6)
simple_patterns = st.lists(st.sampled_from(["a", "b", "1", "[ab]", "[^a]", ".", "\\d", "\\w", "\\s", "a*", "b+",
                                            "(?:ab|1)", "[a-b]?", "^", "$"]), min_size=1, max_size=5).map("".join)


@settings(max_examples=150, deadline=None)
@given(pattern=simple_patterns, texts=st.lists(ascii_text, min_size=1, max_size=6))
def test_agrees_with_python_re_on_ascii(pattern, texts):
    """On ASCII text without trailing newlines, ECMA and Python search semantics coincide."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return
    lang = pattern_lang(pattern)
    rx = None if lang.is_empty() else re.compile(json_string_regex(lang))
    for t in texts:
        if t.endswith("\n"):
            continue  # Python's $ also matches before a final newline
        expected = compiled.search(t) is not None
        assert lang.matches(t) is expected
        assert (rx is not None and rx.fullmatch(json.dumps(t)) is not None) is expected


def test_validate_uses_ecma_semantics():
    assert validate("abc\n", {"pattern": "^abc$"})  # Python's $ would match here
    assert not validate("abc", {"pattern": "^abc$"})
    assert validate("\u0660", {"pattern": r"^\d$"})
    assert not validate({"l'\u00e9cole": 1}, {"patternProperties": {r"\p{Letter}cole": True},
                                               "additionalProperties": False})
