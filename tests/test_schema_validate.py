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


# ---------------------------------------------------------------------------------------------- random schemas
_KW = ["type", "enum", "const", "minimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern",
       "items", "prefixItems", "minItems", "maxItems", "contains", "maxContains", "uniqueItems", "properties",
       "required", "additionalProperties", "patternProperties", "propertyNames", "minProperties", "maxProperties",
       "dependentRequired", "dependentSchemas", "allOf", "anyOf", "oneOf", "not", "if", "unevaluatedProperties",
       "unevaluatedItems"]
_KEYS = ["a", "b", "c"]


def _leaf(rng):
    return rng.choice([None, True, False, 0, 1, -1, 2, 3, 1.5, "", "a", "ab", "abc", "b"])


def _value(rng, d=0):
    r = rng.random()
    if d > 2 or r < 0.5:
        return _leaf(rng)
    if r < 0.75:
        return [_value(rng, d + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_KEYS): _value(rng, d + 1) for _ in range(rng.randint(0, 3))}


def _schema(rng, d=0):
    if d > 2 or rng.random() < 0.15:
        return rng.choice([True, False, {}, {"type": "integer"}, {"type": "string"}, {"const": _leaf(rng)}])
    s: dict = {}
    for _ in range(rng.randint(1, 3)):
        k = rng.choice(_KW)
        sub = (lambda: _schema(rng, d + 1))
        if k == "type":
            s[k] = rng.choice(["null", "boolean", "integer", "number", "string", "array", "object",
                               ["integer", "string"], ["array", "object"]])
        elif k == "enum":
            s[k] = [_leaf(rng) for _ in range(rng.randint(1, 3))] + ([{"a": 1}] if rng.random() < 0.3 else [])
        elif k == "const":
            s[k] = _value(rng, 2)
        elif k in ("minimum", "exclusiveMaximum"):
            s[k] = rng.choice([-1, 0, 1, 2, 1.5])
        elif k == "multipleOf":
            s[k] = rng.choice([2, 3, 0.5])
        elif k in ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "maxContains"):
            s[k] = rng.randint(0, 3)
        elif k == "pattern":
            s[k] = rng.choice(["^a", "b$", "a|c", "^[ab]*$", "."])
        elif k in ("items", "contains", "not", "additionalProperties", "propertyNames", "unevaluatedProperties",
                   "unevaluatedItems"):
            s[k] = sub()
        elif k == "prefixItems":
            s[k] = [sub() for _ in range(rng.randint(1, 2))]
        elif k == "uniqueItems":
            s[k] = True
        elif k == "properties":
            s[k] = {rng.choice(_KEYS): sub() for _ in range(rng.randint(1, 2))}
        elif k == "patternProperties":
            s[k] = {rng.choice(["^a", "b", "c$"]): sub()}
        elif k == "required":
            s[k] = rng.sample(_KEYS, rng.randint(1, 2))
        elif k == "dependentRequired":
            s[k] = {rng.choice(_KEYS): [rng.choice(_KEYS)]}
        elif k == "dependentSchemas":
            s[k] = {rng.choice(_KEYS): sub()}
        elif k in ("allOf", "anyOf", "oneOf"):
            s[k] = [sub() for _ in range(rng.randint(1, 3))]
        else:  # if/then/else
            s["if"] = sub()
            if rng.random() < 0.8:
                s["then"] = sub()
            if rng.random() < 0.6:
                s["else"] = sub()
    return s


@pytest.mark.parametrize("seed", range(4))
def test_random_schemas_are_exact(seed):
    """Random keyword combinations (not/oneOf/if/unevaluated*/dependencies/...) against random instances: the
    grammar (any key order) accepts exactly what validate accepts, or compiling raises a typed error."""
    import random

    from tokensieve import TokensieveError

    from .test_schema_support import engine_matcher_factory, is_empty_language, reference_factory

    rng = random.Random(seed)
    factory = engine_matcher_factory() or reference_factory
    compiled = 0
    for _ in range(40):
        schema = _schema(rng)
        try:
            grammar = grammar_from_json_schema(schema, any_order=True)
        except TokensieveError as e:
            assert e.feature in ("uniqueItems", "oneOf") if hasattr(e, "feature") else False, (schema, e)
            continue
        accepts = (lambda text: False) if is_empty_language(grammar) else factory(grammar)
        compiled += 1
        for _ in range(25):
            value = _value(rng)
            assert accepts(json.dumps(value)) == (not validate(value, schema)), (schema, value)
    assert compiled >= 25
