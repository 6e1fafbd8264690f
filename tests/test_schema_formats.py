"""``format`` languages against the suite's optional format tests and jsonschema's format checker."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve import UnsupportedFeatureError
from tokensieve.schema import grammar_from_json_schema, validate
from tokensieve.schema._formats import FORMATS, RESTRICTED, format_lang

from .test_schema_support import Recognizer

FORMAT_TESTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "json-schema-test-suite" / \
    "tests" / "draft2020-12" / "optional" / "format"

# Valid per the suite but rejected by our documented, smaller languages.
KNOWN_REJECTED = {
    "hostname": lambda s: "xn--" in s.lower(),  # IDNA A-labels are not validated, so they are refused
    "time": lambda s: ":60" in s,  # leap seconds only as 23:59:60 UTC
    "date-time": lambda s: ":60" in s,
}


def _cases(name):
    path = FORMAT_TESTS / f"{name}.json"
    if not path.exists():
        return []
    return [(t["data"], t["valid"], t["description"]) for g in json.loads(path.read_text()) for t in g["tests"]
            if isinstance(t["data"], str)]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_matches_suite(name):
    cases = _cases(name)
    if not cases:
        pytest.skip(f"no optional/format/{name}.json in the suite copy")
    lang = format_lang(name)
    for text, valid, desc in cases:
        got = lang.matches(text)
        if valid and not got and name in KNOWN_REJECTED and KNOWN_REJECTED[name](text):
            continue
        assert got == valid, (name, text, desc)


@pytest.mark.parametrize("name", ["date", "date-time", "time", "email", "ipv4", "ipv6", "uuid", "uri", "duration"])
def test_format_through_grammar(name):
    grammar = grammar_from_json_schema({"type": "string", "format": name})
    rec = Recognizer(grammar)
    for text, valid, desc in _cases(name):
        if valid and name in KNOWN_REJECTED and KNOWN_REJECTED[name](text):
            continue
        assert rec.accepts(json.dumps(text)) == valid, (name, text, desc)


CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
checked = sorted(set(CHECKER.checkers) & set(FORMATS))
sample_text = st.one_of(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.from_regex(r"[0-9a-fA-F:.]{2,20}", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", fullmatch=True),
    st.from_regex(r"[a-z.\"@ ]{1,12}@[a-z0-9.\[\]:]{1,12}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", fullmatch=True),
    st.text(max_size=10),
)


@pytest.mark.parametrize("name", checked)
@settings(max_examples=200, deadline=None)
@given(text=sample_text)
def test_accepted_formats_pass_jsonschema(name, text):
    """Whatever our language accepts, jsonschema's checker accepts too (ours is never looser)."""
    if format_lang(name).matches(text):
        if name == "date" and text.startswith("0000"):
            return  # RFC 3339 allows year 0000; Python's date type does not
        assert CHECKER.conforms(text, name), (name, text)


@pytest.mark.parametrize("name", checked)
def test_suite_samples_agree_with_jsonschema_where_it_is_exact(name):
    for text, valid, desc in _cases(name):
        if format_lang(name).matches(text):
            assert CHECKER.conforms(text, name), (name, text, desc)


def test_unknown_format_policy():
    # ignored as an annotation by default ...
    grammar = grammar_from_json_schema({"type": "string", "format": "my-format"})
    assert Recognizer(grammar).accepts('"anything"')
    # ... an error in strict mode, naming the keyword and pointer
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema({"properties": {"x": {"format": "my-format"}}}, strict=True)
    assert e.value.feature == "format" and e.value.path == "/properties/x/format"


def test_format_applies_to_strings_only():
    rec = Recognizer(grammar_from_json_schema({"format": "date"}))
    assert rec.accepts("12") and rec.accepts('"2020-02-29"') and not rec.accepts('"2021-02-29"')


def test_format_combined_with_length_and_pattern():
    schema = {"type": "string", "format": "date", "pattern": "^2020", "maxLength": 10}
    rec = Recognizer(grammar_from_json_schema(schema))
    for text, ok in [("2020-01-31", True), ("2021-01-31", False), ("2020-02-30", False)]:
        assert rec.accepts(json.dumps(text)) is ok
        assert (not validate(text, schema)) is ok


def test_validate_checks_formats_like_the_grammar():
    assert validate("2021-02-29", {"format": "date"})
    assert not validate("2020-02-29", {"format": "date"})
    assert validate("1998-12-31T22:59:60Z", {"format": "date-time"})
    assert not validate("http://x.org/a?b#c", {"format": "uri"})


# ------------------------------------------------------------------------------------ format: regex (restricted)

REGEX_SYNTAX = __import__("re").compile(RESTRICTED["regex"])


@settings(max_examples=100, deadline=None)
@given(text=st.from_regex(REGEX_SYNTAX, fullmatch=True))
def test_regex_format_language_is_valid_in_python_and_ecma(text):
    # a restriction, never an over-approximation: every string it allows compiles as Python re (what validate
    # checks) and parses as ECMA-262
    import re as py_re

    from tokensieve.schema._regex_ecma import parse_ecma

    py_re.compile(text)
    try:
        parse_ecma(text, "test")  # a syntax error raises SchemaError and fails here
    except UnsupportedFeatureError:
        pass  # valid ECMA the pattern compiler cannot make regular (\b, \B)


@functools.lru_cache(maxsize=None)
def _regex_format_recognizer():
    return Recognizer(grammar_from_json_schema({"type": "string", "format": "regex"}))


@pytest.mark.parametrize("text,allowed", [
    ("", True), ("^[a-z0-9_-]{3,16}$", True), ("([abc])+\\s+$", True), ("a|b|", True), ("(?:ab)*?c", True),
    ("(((a)))", True), ("\\d{2,4}", True), ("x{10,12}", True), ("x{9,10}", True), ("x{100}", True),
    ("[-a]", True), ("[a-]", True), ("[^-]", True), ("[a-b]", True), ("[c-a]", False), ("[a-Z]", False), ("[--]", False), ("x{12,10}", False), ("x{3,99}", True), ("x{55,5}", False), ("x{05,7}", False),
    ("^(abc]", False), ("\\a", False), ("(?P<n>x)", False), ("(?#c)a", False), ("(?i)abc", False), ("a**", False),
    ("a{3,2}", False), ("[z-a]", False), ("^*", False), ("\\b+", False), ("(", False), ("[]", False),
    ("((((a))))", False), ("(?<=a)b", False), ("(a)\\1", False),
], ids=repr)
def test_regex_format_through_grammar(text, allowed):
    assert _regex_format_recognizer().accepts(json.dumps(text)) == allowed
    if allowed:
        assert validate(text, {"format": "regex"}) == []
