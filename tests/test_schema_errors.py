"""Every class of bad input gets a typed error naming the problem and where it is; nothing hangs or recurses."""

from __future__ import annotations

import json

import pytest

from tokensieve import LimitExceededError, SchemaError, TokensieveError, UnsupportedFeatureError
from tokensieve.schema import grammar_from_json_schema


@pytest.mark.parametrize("schema,path", [
    ({"type": "integr"}, "/type"),
    ({"properties": {"a": {"minimum": "3"}}}, "/properties/a/minimum"),
    ({"required": "a"}, "/required"),
    ({"items": [{"type": "string"}]}, "/items"),  # array-form items is not 2020-12
    ({"$defs": {"x": {"maxLength": -1}}}, "/$defs/x/maxLength"),
    ({"allOf": []}, "/allOf"),
    (3, ""),
], ids=["type", "minimum", "required", "items-array", "maxLength", "allOf-empty", "not-a-schema"])
def test_invalid_schema_is_schema_error_with_pointer(schema, path):
    with pytest.raises(SchemaError) as e:
        grammar_from_json_schema(schema)
    assert e.value.path == path


def test_malformed_inputs():
    with pytest.raises(SchemaError):
        grammar_from_json_schema("{not json")
    with pytest.raises(SchemaError):
        grammar_from_json_schema(object())
    with pytest.raises(SchemaError):
        grammar_from_json_schema({}, draft="draft99")
    with pytest.raises(UnsupportedFeatureError):
        grammar_from_json_schema({"$schema": "http://json-schema.org/draft-03/schema#"})


@pytest.mark.parametrize("schema,path", [
    ({"$ref": "#/$defs/missing"}, "/$ref"),
    ({"properties": {"a": {"$ref": "#nope"}}}, "/properties/a/$ref"),
])
def test_unresolvable_ref_is_schema_error(schema, path):
    with pytest.raises(SchemaError) as e:
        grammar_from_json_schema(schema)
    assert e.value.path == path and "unresolvable" in str(e.value)


def test_remote_ref_is_unsupported():
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema({"items": {"$ref": "https://example.com/schema.json"}})
    assert e.value.feature == "$ref" and e.value.path == "/items/$ref"


@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
    {"anyOf": [{"type": "string"}, {"$ref": "#"}]},
    {"not": {"$ref": "#"}},
])
def test_reference_cycle_without_base_case(schema):
    with pytest.raises(SchemaError) as e:
        grammar_from_json_schema(schema)
    assert "circular" in str(e.value)


def test_enum_inside_a_recursion_back_to_itself_is_refused():
    schema = {"$defs": {"t": {"enum": [[[]], []], "items": {"$ref": "#/$defs/t"}}}, "$ref": "#/$defs/t"}
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema(schema)
    assert e.value.feature == "enum"


def test_recursion_through_children_is_fine():
    grammar = grammar_from_json_schema({"type": "array", "items": {"$ref": "#"}})
    assert grammar.rules


def _nested(depth: int, key: str):
    schema: dict = {"type": "integer"}
    for _ in range(depth):
        schema = {key: [schema]} if key in ("allOf", "anyOf") else {key: schema}
    return schema


@pytest.mark.parametrize("key", ["allOf", "anyOf", "not", "items", "properties-chain"])
def test_deep_nesting_is_a_limit_not_a_crash(key):
    if key == "properties-chain":
        schema: dict = {"type": "integer"}
        for _ in range(400):
            schema = {"properties": {"a": schema}}
    else:
        schema = _nested(400, key)
    with pytest.raises(LimitExceededError):
        grammar_from_json_schema(schema)


def test_long_ref_chains_are_bounded():
    defs = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(300)}
    defs["d300"] = {"type": "integer"}
    with pytest.raises(LimitExceededError):
        grammar_from_json_schema({"$defs": defs, "$ref": "#/$defs/d0"})
    short = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(30)}
    short["d30"] = {"type": "integer"}
    assert grammar_from_json_schema({"$defs": short, "$ref": "#/$defs/d0"}).rules


def test_moderate_nesting_compiles():
    assert grammar_from_json_schema(_nested(40, "allOf")).rules
    assert grammar_from_json_schema(_nested(60, "items")).rules


def test_size_limits():
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema({"enum": list(range(30_000))})
    assert e.value.limit == "enum size"
    with pytest.raises(LimitExceededError):
        grammar_from_json_schema({"enum": [[0] * 10] * 30_000})  # schema size


@pytest.mark.parametrize("schema,feature,path", [
    ({"properties": {"p": {"pattern": "(?=x)"}}}, "pattern", "/properties/p/pattern"),
    ({"type": "array", "uniqueItems": True}, "uniqueItems", ""),
    ({"multipleOf": 0.123456789}, "multipleOf", "/multipleOf"),
    ({"not": {"uniqueItems": True}}, "uniqueItems", "/not"),
    ({"oneOf": [{"uniqueItems": True}, {"type": "array"}]}, "oneOf", "/oneOf"),
], ids=["lookahead", "uniqueItems", "multipleOf", "not-uniqueItems", "oneOf-overlap"])
def test_unsupported_features_name_keyword_and_pointer(schema, feature, path):
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema(schema)
    assert e.value.feature == feature
    assert e.value.path == path


def test_every_error_is_a_tokensieve_error():
    for bad in ({"type": 1}, {"$ref": "#/x"}, {"pattern": "(?<=a)"}, {"$ref": "#"}):
        with pytest.raises(TokensieveError):
            grammar_from_json_schema(bad)


def test_bad_options():
    with pytest.raises(ValueError):
        grammar_from_json_schema({}, whitespace="pretty")
    for bad in ((",",), ("1", ":"), (",", "=")):
        with pytest.raises(ValueError):
            grammar_from_json_schema({}, separators=bad)
    with pytest.raises(ValueError):
        grammar_from_json_schema({}, indent="xx")
    with pytest.raises(ValueError):
        grammar_from_json_schema({}, max_whitespace=-1)


def test_error_messages_are_readable():
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema(json.dumps({"properties": {"x": {"pattern": "a(?!b)"}}}))
    assert "lookahead" in str(e.value) and "/properties/x/pattern" in str(e.value)


# ---- the issue's bad inputs, literally: each a typed error well inside a time bound

def _deep_text(depth: int) -> str:
    return '{"items": ' * depth + "{}" + "}" * depth


@pytest.mark.parametrize("make", [
    lambda: _nested(1000, "items"),
    lambda: _deep_text(1000),
    lambda: _deep_text(100_000),  # deeper than json's C decoder recurses
    lambda: '{"enum": [' + "[" * 100_000 + "]" * 100_000 + "]}",
], ids=["dict-1000", "text-1000", "text-100000", "enum-value-100000"])
def test_thousand_deep_nesting_is_a_typed_limit(make):
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema(make())
    assert e.value.limit == "schema depth"


@pytest.mark.parametrize("members", [list(range(100_000)), [f"member-{i}" for i in range(100_000)]],
                         ids=["ints", "strings"])
def test_hundred_thousand_member_enum(members):
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema({"enum": members})
    assert e.value.limit == "enum size"


def _ten_megabyte_objects():
    many = {"type": "object", "properties": {f"p{i:07d}" + "x" * 80: {"type": "string", "description": "d" * 20}
                                             for i in range(80_000)}}
    return many


@pytest.mark.parametrize("as_text", [False, True], ids=["dict", "text"])
def test_ten_megabyte_schema_fails_fast(as_text):
    import time

    schema = _ten_megabyte_objects()
    if as_text:
        schema = json.dumps(schema)
        assert len(schema) > 10_000_000
    t0 = time.perf_counter()
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema(schema)
    assert e.value.limit in ("schema size", "property names")
    assert time.perf_counter() - t0 < 60  # a bound, not a benchmark: before the limits it ran for hours


def test_many_small_subschemas_hit_the_size_limit():
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema({"anyOf": [{"const": i} for i in range(120_000)]})
    assert e.value.limit == "schema size"


def test_ten_megabyte_string_schema_compiles():
    # size alone is no reason to refuse: a long description is ignored in linear time
    g = grammar_from_json_schema({"type": "integer", "description": "x" * 10_000_000})
    assert g.rules


def test_property_names_of_one_object_are_bounded():
    names = {f"p{i:06d}" + "y" * 90: {"type": "integer"} for i in range(1_200)}
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema({"type": "object", "properties": names})
    assert e.value.limit == "property names"


def test_non_string_legacy_id_is_a_schema_error():
    # found by the random walk over JSONSchemaBench (Github_medium/o28532): referencing crashed on it
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "array",
              "items": {"id": {"title": "an id property written in the wrong place", "type": "integer"}}}
    with pytest.raises(SchemaError) as e:
        grammar_from_json_schema(schema)
    assert e.value.path == "/items/id"


@pytest.mark.parametrize("target,path", [
    ({"type": "array", "items": {"id": {"type": "integer"}}}, "/x/items/id"),
    ({"items": {"$id": 3}}, "/x/items/$id"),
    ({"type": "string", "maxLength": "no"}, "/x/maxLength"),
], ids=["draft4-id-object", "id-int", "maxLength-string"])
def test_ref_target_outside_keywords_is_checked(target, path):
    # $ref into a non-keyword location escapes the metaschema pass over the document; found by the random walk
    schema = {"properties": {"a": {"$ref": "#/x"}}, "x": target}
    if "id" in target.get("items", {}):
        schema["$schema"] = "http://json-schema.org/draft-04/schema#"
    with pytest.raises(SchemaError) as e:
        grammar_from_json_schema(schema)
    assert e.value.path == path


def _negated_one_of(n: int) -> dict:
    # not(oneOf(...)) over overlapping objects: the complement is a DNF product that grows with every branch
    branches = [{"type": "object", "properties": {f"p{i}": {"type": "integer", "minimum": i}},
                 "required": [f"p{i}", f"p{(i + 1) % n}"]} for i in range(n)]
    return {"not": {"oneOf": branches, "minProperties": 1}}


def test_compile_time_is_bounded():
    with pytest.raises(LimitExceededError, match="schema compile time"):
        grammar_from_json_schema(_negated_one_of(12), max_compile_seconds=1e-6)
    grammar_from_json_schema(_negated_one_of(2), max_compile_seconds=30)  # the same shape, small, compiles


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")], ids=str)
def test_compile_time_bound_must_be_positive(bad):
    with pytest.raises(ValueError, match="max_compile_seconds"):
        grammar_from_json_schema({"type": "string"}, max_compile_seconds=bad)
