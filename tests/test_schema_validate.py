"""validate(): error dicts, raise_on_error, drafts; and agreement with the grammar on random instances."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokensieve
from tokensieve import SchemaError
from tokensieve.schema import grammar_from_json_schema, validate

from .test_schema_support import Recognizer


def test_error_dicts():
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}},
              "required": ["b"]}
    errors = validate({"a": [1, "x"]}, schema)
    assert {e["path"] for e in errors} == {"", "/a/1"}
    by_path = {e["path"]: e for e in errors}
    assert by_path["/a/1"]["schema_path"] == "/properties/a/items/type"
    assert "'b' is a required property" in by_path[""]["message"]
    assert validate({"a": [1]}, {"type": "object"}) == []


def test_raise_on_error():
    with pytest.raises(SchemaError) as e:
        validate(1.5, {"type": "integer"}, raise_on_error=True)
    assert "1.5" in str(e.value) and e.value.path == "/type"
    assert validate(1, {"type": "integer"}, raise_on_error=True) == []


def test_invalid_schema_raises():
    with pytest.raises(SchemaError) as e:
        validate(1, {"type": "nope"})
    assert e.value.path == "/type"


def test_draft_and_inputs():
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 3, "exclusiveMaximum": True}
    assert validate(3, draft4) and not validate(2, draft4)
    assert validate(3, json.dumps({"maximum": 2}))
    assert not validate(1.0, {"type": "integer"})
    assert tokensieve.validate is validate


def test_pointer_escaping():
    errors = validate({"a/b": {"c~d": 1}}, {"properties": {"a/b": {"properties": {"c~d": {"type": "string"}}}}})
    assert errors[0]["path"] == "/a~1b/c~0d"
    assert errors[0]["schema_path"] == "/properties/a~1b/properties/c~0d/type"


SCHEMAS = [
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}, "s": {"enum": ["x", "y"]}},
     "required": ["n"], "additionalProperties": {"type": "boolean"}},
    {"type": "array", "items": {"oneOf": [{"type": "integer", "maximum": 5}, {"type": "string", "maxLength": 2}]},
     "maxItems": 3},
    {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"k": {"const": [1, 2]}}}]},
    {"not": {"type": "object", "required": ["z"]}, "minProperties": 1},
    {"if": {"type": "integer"}, "then": {"multipleOf": 2}, "else": {"type": ["string", "array"]}},
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.sampled_from(["x", "y", "xyz", "", 1.5, 0.5]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["n", "s", "k", "z", "b", "c"]), children, max_size=4),
    max_leaves=8,
)


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_grammar_agrees_with_validate(index, value):
    schema = SCHEMAS[index]
    rec = _recognizer(index)
    accepted = rec.accepts(json.dumps(value))
    valid = not validate(value, schema)
    assert accepted == valid, (schema, value)


_CACHE: dict[int, Recognizer] = {}


def _recognizer(index: int) -> Recognizer:
    if index not in _CACHE:
        _CACHE[index] = Recognizer(grammar_from_json_schema(SCHEMAS[index], any_order=True))
    return _CACHE[index]
