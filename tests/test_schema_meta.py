"""The static 2019-09 / 2020-12 metaschemas accept exactly what the originals accept."""

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve import Grammar, SchemaError
from tokensieve.schema._meta import fast_validator

SUITE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "json-schema-test-suite" / "tests"
DRAFTS = {2019: (jsonschema.Draft201909Validator, "draft2019-09"),
          2020: (jsonschema.Draft202012Validator, "draft2020-12")}
KEYWORDS = sorted(set(jsonschema.Draft202012Validator.VALIDATORS) | set(jsonschema.Draft201909Validator.VALIDATORS)
                  | {"$id", "$schema", "$anchor", "$defs", "definitions", "$comment", "title", "default",
                     "$vocabulary", "$recursiveAnchor", "$dynamicAnchor", "contentSchema", "deprecated", "x-own"})


def _original(draft):
    cls = DRAFTS[draft][0]
    return cls(cls.META_SCHEMA)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False),
                    st.sampled_from(["", "a", "#", "#/$defs/x", "string", "object", "regex", "^a+$", "http://x/y"]))
schemas = st.recursive(
    st.one_of(st.booleans(), st.dictionaries(st.sampled_from(KEYWORDS), scalars, max_size=3)),
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(KEYWORDS),
                        st.one_of(scalars, inner, st.lists(inner, max_size=3),
                                  st.lists(scalars, max_size=3),
                                  st.dictionaries(st.sampled_from(["a", "b", "$ref", "type"]), inner, max_size=2)),
                        max_size=4),
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("draft", sorted(DRAFTS), ids=["2019-09", "2020-12"])
@settings(max_examples=400, deadline=None)
@given(schema=schemas)
def test_static_metaschema_agrees_on_generated_schemas(draft, schema):
    assert fast_validator(draft).is_valid(schema) == _original(draft).is_valid(schema)


@pytest.mark.parametrize("draft", sorted(DRAFTS), ids=["2019-09", "2020-12"])
def test_static_metaschema_agrees_on_the_test_suite(draft):
    # every draft folder present: its schemas and instances are candidates for either metaschema
    paths = sorted(SUITE.rglob("*.json")) if SUITE.is_dir() else []
    if not paths:
        pytest.skip("JSON Schema Test Suite not found (../shared/data)")
    fast, orig = fast_validator(draft), _original(draft)
    n = 0
    for path in paths:
        for group in json.loads(path.read_text()):
            for candidate in (group["schema"], *(t["data"] for t in group["tests"])):
                assert fast.is_valid(candidate) == orig.is_valid(candidate), (path.name, group["description"])
                n += 1
    assert n > 1000


def test_static_metaschema_has_no_dynamic_references():
    for draft in DRAFTS:
        root = fast_validator(draft).schema
        stack, refs = [root], []
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                refs.extend(v for k, v in x.items() if k in ("$dynamicRef", "$recursiveRef") and isinstance(v, str))
                refs.extend(v for k, v in x.items() if k == "$ref" and isinstance(v, str) and not v.startswith("#"))
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
        assert refs == []  # only local, static references
        assert "allOf" not in root  # the vocabularies are merged into one properties


@pytest.mark.parametrize("schema,where", [
    ({"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"a": {"minLength": -1}}},
     "/properties/a/minLength"),
    ({"type": "object", "properties": {"a": {"items": {"type": "strin"}}}}, "/properties/a/items/type"),
    ({"$schema": "https://json-schema.org/draft/2019-09/schema", "required": "a"}, "/required"),
], ids=["2020-minLength", "default-draft-type", "2019-required"])
def test_invalid_schema_still_names_the_place(schema, where):
    with pytest.raises(SchemaError) as e:
        Grammar.from_json_schema(schema)
    assert e.value.path == where
