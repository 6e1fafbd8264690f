"""Keyword semantics, drafts, layouts and options of grammar_from_json_schema.

Every case lists instances that must be accepted and instances that must be rejected; each expectation is also
checked against ``validate`` so that a wrong expectation cannot make a test pass.
"""

from __future__ import annotations

import json

import pytest

from tokensieve import LimitExceededError, UnsupportedFeatureError
from tokensieve.grammar._ir import Grammar
from tokensieve.schema import grammar_from_json_schema, validate

from .test_schema_support import Recognizer, is_empty_language


def check(schema, valid=(), invalid=(), texts_ok=(), texts_bad=(), **options):
    grammar = grammar_from_json_schema(schema, **options)
    assert isinstance(grammar, Grammar)
    rec = Recognizer(grammar)
    for inst in valid:
        assert not validate(inst, schema), f"test bug: {inst!r} is not valid"
        assert rec.accepts(json.dumps(inst)), f"valid instance rejected: {json.dumps(inst)}"
    for inst in invalid:
        assert validate(inst, schema), f"test bug: {inst!r} is valid"
        assert not rec.accepts(json.dumps(inst)), f"invalid instance accepted: {json.dumps(inst)}"
    for text in texts_ok:
        assert rec.accepts(text), f"text rejected: {text!r}"
    for text in texts_bad:
        assert not rec.accepts(text), f"text accepted: {text!r}"
    return grammar


KEYWORD_CASES = {
    "type-list": ({"type": ["integer", "null"]}, [1, None, 2.0], [1.5, "1", True]),
    "enum-numeric-equality": ({"enum": [1, "a", None]}, [1, 1.0, "a", None], [2, True, "b"]),
    "const-object-any-key-order": ({"const": {"a": 1, "b": [True]}}, [{"a": 1, "b": [True]}, {"b": [True], "a": 1.0}],
                                   [{"a": 1}, {"a": 1, "b": [True], "c": 1}]),
    "const-false-is-not-zero": ({"const": False}, [False], [0, None]),
    "bounds": ({"type": "number", "exclusiveMinimum": -1.5, "maximum": 10}, [-1, 0, 10, 9.99], [-1.5, 10.01, 11]),
    "integer-multiple": ({"type": "integer", "multipleOf": 3, "minimum": -9}, [-9, 0, 3, 300], [-12, 1, 4.5]),
    "decimal-multiple": ({"multipleOf": 0.25}, [0.5, -1.25, 7], [0.1, 1.3]),
    "string-lengths": ({"type": "string", "minLength": 1, "maxLength": 3}, ["a", "abc", "\u00e9\u00e9"], ["", "abcd"]),
    "allOf-merges-objects": ({"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                                        {"properties": {"b": {"type": "string"}}, "required": ["b"]}]},
                             [{"a": 1, "b": "x"}], [{"a": 1}, {"a": "x", "b": "x"}]),
    "anyOf": ({"anyOf": [{"type": "string", "maxLength": 1}, {"type": "string", "pattern": "^z"}]},
              ["a", "zzz", ""], ["ab", 1]),
    "oneOf-disjoint-types": ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, ["a", 1], [1.5, None]),
    "oneOf-overlapping": ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 2.5, -3], [2, 3, 100]),
    "oneOf-discriminator": ({"oneOf": [{"properties": {"k": {"const": "a"}, "x": {"type": "integer"}},
                                        "required": ["k"]},
                                       {"properties": {"k": {"const": "b"}, "x": {"type": "string"}},
                                        "required": ["k"]}]},
                            [{"k": "a", "x": 1}, {"k": "b", "x": "s"}], [{"k": "a", "x": "s"}, {"k": "c"}, {}]),
    "not-type": ({"not": {"type": ["string", "object"]}}, [1, None, [1]], ["a", {}]),
    "not-required": ({"type": "object", "not": {"required": ["a"]}}, [{}, {"b": 1}], [{"a": 1}]),
    "not-enum": ({"not": {"enum": [1, "x"]}}, [2, "y", None], [1, 1.0, "x"]),
    "if-then-else": ({"if": {"properties": {"kind": {"const": "n"}}, "required": ["kind"]},
                      "then": {"properties": {"v": {"type": "number"}}},
                      "else": {"properties": {"v": {"type": "string"}}}},
                     [{"kind": "n", "v": 1}, {"kind": "s", "v": "x"}, {"v": "x"}],
                     [{"kind": "n", "v": "x"}, {"kind": "s", "v": 1}]),
    "dependentRequired": ({"dependentRequired": {"a": ["b"]}}, [{}, {"b": 1}, {"a": 1, "b": 2}], [{"a": 1}]),
    "dependentSchemas": ({"dependentSchemas": {"a": {"properties": {"b": {"type": "integer"}}}}},
                         [{"b": "x"}, {"a": 1, "b": 2}], [{"a": 1, "b": "x"}]),
    "patternProperties": ({"patternProperties": {"^x-": {"type": "integer"}, "y": {"minimum": 5}},
                           "additionalProperties": {"type": "string"}},
                          [{"x-a": 1, "other": "s"}, {"x-y": 7}, {"ay": 6}],
                          [{"x-a": "s"}, {"x-y": 3}, {"other": 1}]),
    "propertyNames": ({"propertyNames": {"maxLength": 2, "pattern": "^[a-z]+$"}}, [{}, {"ab": 1}],
                      [{"abc": 1}, {"A": 1}]),
    "min-max-properties": ({"minProperties": 1, "maxProperties": 2}, [{"a": 1}, {"a": 1, "b": 2}],
                           [{}, {"a": 1, "b": 2, "c": 3}]),
    "prefixItems": ({"prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
                    [[], [1], [1, "a"]], [["a"], [1, "a", 2]]),
    "min-max-items": ({"items": {"type": "integer"}, "minItems": 1, "maxItems": 2}, [[1], [1, 2]],
                      [[], [1, 2, 3], ["a"]]),
    "contains": ({"contains": {"type": "string"}, "minContains": 2, "maxContains": 3},
                 [["a", "b"], [1, "a", "b", "c"]], [["a"], [1, 2], ["a", "b", "c", "d"]]),
    "uniqueItems-enum": ({"items": {"enum": ["a", "b", 1]}, "uniqueItems": True}, [[], ["a", 1], [1, "b", "a"]],
                         [["a", "a"], [1, 1.0]]),
    "uniqueItems-booleans": ({"type": "array", "items": {"type": "boolean"}, "uniqueItems": True},
                             [[True, False]], [[True, True], [False, True, False]]),
    "unevaluatedProperties": ({"allOf": [{"properties": {"a": True}}], "properties": {"b": True},
                               "unevaluatedProperties": False}, [{"a": 1, "b": 2}, {}], [{"c": 1}]),
    "unevaluatedItems": ({"prefixItems": [True], "contains": {"type": "string"}, "unevaluatedItems": False},
                         [[1, "a"], ["a"]], [[1, 2]]),
    "recursive-ref": ({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                                                                          "kids": {"type": "array",
                                                                                   "items": {"$ref": "#/$defs/node"}}},
                                          "required": ["v"]}}, "$ref": "#/$defs/node"},
                      [{"v": 1}, {"v": 1, "kids": [{"v": 2, "kids": [{"v": 3, "kids": [{"v": 4}]}]}]}],
                      [{"v": 1, "kids": [{"kids": []}]}]),
    "recursive-oneOf": ({"$defs": {"f": {"type": "object", "additionalProperties": False, "patternProperties": {
        "^a": {"oneOf": [{"type": "number"}, {"$ref": "#/$defs/f"}, {"type": "object", "required": ["x"]}]}}}}, "$ref": "#/$defs/f"},
        [{"a": 1, "ab": {"a": {}}}, {"a": {"x": 1}}, {"a": {"x": {}}}], [{"a": "s"}, {"b": 1}, {"a": [1]}]),
    "anchor": ({"$defs": {"x": {"$anchor": "pos", "minimum": 0}}, "items": {"$ref": "#pos"}}, [[0, 3]], [[-1]]),
    "boolean-schemas": ({"properties": {"a": False, "b": True}}, [{"b": [1]}], [{"a": 1}]),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CASES))
def test_keyword_semantics(name):
    schema, valid, invalid = KEYWORD_CASES[name]
    check(schema, valid, invalid, any_order=True)


@pytest.mark.parametrize("schema,valid,invalid", [
    # draft-04: boolean exclusiveMaximum, `definitions`, `id`, 1.0 is not an integer
    ({"$schema": "http://json-schema.org/draft-04/schema#", "id": "http://x/s", "maximum": 5, "exclusiveMaximum": True,
      "definitions": {"i": {"type": "integer"}}, "items": {"$ref": "#/definitions/i"}}, [[1, 2], 4], [6, 5, [1.0]]),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer", "enum": [1, 2.5]}, [1], [1.0, 2.5]),
    # draft-07: $ref makes its siblings ignored; `dependencies`; array `items` + `additionalItems`
    ({"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/s", "type": "integer",
      "definitions": {"s": {"type": "string"}}}, ["x"], [1]),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"a": ["b"], "c": {"required": ["d"]}}},
     [{"a": 1, "b": 1}, {"c": 1, "d": 1}], [{"a": 1}, {"c": 1}]),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "integer"}],
      "additionalItems": {"type": "string"}}, [[1, "a"], []], [[1, 2], ["a"]]),
    # 2019-09: $ref alongside siblings, $recursiveRef without dynamic scope
    ({"$schema": "https://json-schema.org/draft/2019-09/schema", "$ref": "#/$defs/s", "maxLength": 2,
      "$defs": {"s": {"type": "string"}}}, ["ab"], ["abc", 1]),
    ({"$schema": "https://json-schema.org/draft/2019-09/schema", "type": ["integer", "array"],
      "items": {"$recursiveRef": "#"}}, [1, [1, [2]]], [["a"]]),
    # draft-06: const exists, if does not
    ({"$schema": "http://json-schema.org/draft-06/schema#", "const": 1, "if": False}, [1], [2]),
], ids=["draft4", "draft4-integer-enum", "draft7-ref-siblings", "draft7-dependencies", "draft7-additionalItems", "2019-ref", "2019-recursive",
        "draft6"])
def test_drafts(schema, valid, invalid):
    check(schema, valid, invalid)


def test_dynamic_ref_follows_the_dynamic_scope():
    generic = {"$id": "list", "type": "array", "items": {"$dynamicRef": "#items"},
               "$defs": {"items": {"$dynamicAnchor": "items"}}}
    strings = {"$id": "https://example.com/root", "$ref": "list",
               "$defs": {"foo": {"$dynamicAnchor": "items", "type": "string"}, "list": generic}}
    check(strings, [["a"], []], [[1], ["a", None]])
    plain = {"$id": "https://example.com/plain", "$ref": "list", "$defs": {"list": generic,
                                                                            "x": {"$dynamicAnchor": "items"}}}
    check(plain, [[1, "a"]], ["a"])


def test_draft_options():
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/s", "type": "integer",
              "definitions": {"s": {"minimum": 0}}}
    rec7 = Recognizer(grammar_from_json_schema(schema))
    rec20 = Recognizer(grammar_from_json_schema(schema, force_2020_12=True))
    assert rec7.accepts('"x"') and not rec20.accepts('"x"') and rec20.accepts("1")
    assert Recognizer(grammar_from_json_schema({"const": 1}, draft="draft4")).accepts("2")  # no const in draft-04


# ---------------------------------------------------------------------------------------------- layouts
DOC_SCHEMA = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}},
                                               "b": {"type": "object"}, "c": {"type": "string"}}}
DOC = {"a": [1, 2], "b": {"x": [], "y": {}}, "c": "s"}


def test_flexible_whitespace_is_bounded():
    check(DOC_SCHEMA, [DOC], texts_ok=[json.dumps(DOC, indent=2), json.dumps(DOC, separators=(",", ":")),
                                       '{"a" :[ 1 ,2 ]\t,"c":\r\n"s"}', '{ }', '{"b": {   }}'],
          texts_bad=[" " + json.dumps(DOC), json.dumps(DOC) + "\n", '{"a": [1,' + " " * 6 + "2]}"], max_whitespace=5)


def test_compact_whitespace():
    check(DOC_SCHEMA, texts_ok=[json.dumps(DOC, separators=(",", ":"))], texts_bad=[json.dumps(DOC)],
          whitespace="compact")


@pytest.mark.parametrize("options", [{"indent": 2}, {"indent": 4}, {"indent": "\t"}, {"separators": (",", ":")},
                                     {"indent": 1, "separators": (", ", ": ")}, {"indent": 0}],
                         ids=["indent2", "indent4", "tab", "separators", "indent-separators", "indent0"])
def test_fixed_layouts_match_json_dumps(options):
    docs = [DOC, {"a": [], "b": {}}, {"c": "x", "b": {"k": {"k2": [1, [2, {}]]}}}]
    schema = dict(DOC_SCHEMA, additionalProperties=True)
    grammar = grammar_from_json_schema(schema, any_order=True, **options)
    rec = Recognizer(grammar)
    for doc in docs:
        assert rec.accepts(json.dumps(doc, **options))
    other = {"indent": 3} if options.get("indent") != 3 else {"indent": 2}
    assert not rec.accepts(json.dumps(DOC, **other))
    assert not rec.accepts(json.dumps(DOC, separators=(" , ", " : ")))


# ---------------------------------------------------------------------------------------------- property order
ORDER_SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                                                 "c": {"type": "integer"}}, "required": ["b"]}


def test_schema_order_by_default():
    check(ORDER_SCHEMA, [{"a": 1, "b": 2}, {"b": 2, "c": 3, "z": None}], texts_bad=['{"b": 2, "a": 1}'])


def test_any_order_enforces_required_and_no_duplicates():
    check(ORDER_SCHEMA, [{"c": 3, "b": 2, "a": 1}, {"z": 0, "b": 2}], [{"a": 1}, {}],
          texts_bad=['{"b": 2, "b": 3}', '{"a": 1, "b": 2, "a": 1}'], any_order=True)


def test_any_order_is_bounded():
    schema = {"properties": {f"p{i}": {} for i in range(11)}}
    with pytest.raises(LimitExceededError) as e:
        grammar_from_json_schema(schema, any_order=True)
    assert e.value.limit == "any_order"


def test_strict_forbids_undeclared_members():
    check(ORDER_SCHEMA, [{"b": 1}], [], texts_bad=['{"b": 1, "z": 2}'], strict=True)
    check({"type": "object"}, [{"free": 1}], strict=True)  # nothing declared: still a free-form object
    check({"prefixItems": [{"type": "integer"}]}, [[1]], texts_bad=["[1, 2]"], strict=True)
    check({"properties": {"a": {}}, "additionalProperties": {"type": "integer"}}, [{"z": 1}], strict=True)
    check({"properties": {"a": {}}, "enum": [{"a": 1, "b": 2}, {"a": 2}]}, [{"a": 2}],
          texts_bad=['{"a": 1, "b": 2}'], strict=True)
    check({"allOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]}, [{"a": 1, "b": 2}],
          texts_bad=['{"a": 1, "c": 2}'], strict=True)


def test_lenient_approximations():
    schema = {"oneOf": [{"type": "array", "uniqueItems": True}, {"type": "array", "maxItems": 1}]}
    with pytest.raises(UnsupportedFeatureError) as e:
        grammar_from_json_schema(schema)
    assert e.value.feature == "oneOf" and e.value.path == "/oneOf"
    grammar_from_json_schema(schema, lenient=True)
    with pytest.raises(UnsupportedFeatureError):
        grammar_from_json_schema({"uniqueItems": True})
    rec = Recognizer(grammar_from_json_schema({"uniqueItems": True}, lenient=True))
    assert rec.accepts("[1, 1]")  # documented approximation


# ---------------------------------------------------------------------------------------------- inputs
def test_json_text_and_pydantic_inputs():
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):
        name: str
        qty: int = 1
        tags: list[str] = []

    class Order(pydantic.BaseModel):
        id: int
        items: list[Item]

    rec = Recognizer(grammar_from_json_schema(Order))
    doc = Order(id=1, items=[Item(name="x", tags=["a"])]).model_dump()
    assert rec.accepts(json.dumps(doc))
    assert not rec.accepts(json.dumps({"id": 1, "items": [{"qty": 2}]}))
    rec2 = Recognizer(grammar_from_json_schema(json.dumps({"type": "integer"})))
    assert rec2.accepts("3") and not rec2.accepts('"3"')


def test_empty_language():
    for schema in (False, {"not": {}}, {"type": "integer", "minimum": 2, "maximum": 1}, {"allOf": [{"type": "string"},
                                                                                                   {"type": "null"}]}):
        assert is_empty_language(grammar_from_json_schema(schema))


def test_grammar_shape():
    """Terminals never match the empty string, whitespace is explicit (no %ignore), the start symbol is 0."""
    import re

    grammar = grammar_from_json_schema({"type": "object", "properties": {"a": {"pattern": "x*"}},
                                        "additionalProperties": {"type": "number"}})
    assert grammar.ignore == ()
    for t in grammar.terminals:
        assert re.fullmatch(t.regex, "") is None, t
    assert grammar.start == 0
    assert json.loads(grammar.source)["json_schema"]["whitespace"] == "flexible"


def test_references_to_one_definition_share_its_rules():
    """A definition referenced from many places (directly, through an alias definition, or as an equal allOf)
    is emitted once: the grammar grows by a member per reference, not by the definition's size (an audit-log
    schema referred to one 230-property object 160 times: 150k rules, 3 s to compile)."""
    fields = {f"f{i}": {"type": "array", "items": {"type": "string"}, "maxItems": 2} for i in range(40)}

    def schema(n_refs):
        return {"definitions": {"rec": {"type": "object", "properties": fields},
                                "alias": {"$ref": "#/definitions/rec"}},
                "type": "object",
                "properties": {f"r{j}": {"$ref": "#/definitions/" + ("alias" if j % 2 else "rec")}
                               for j in range(n_refs)}}

    one, many = grammar_from_json_schema(schema(1)), grammar_from_json_schema(schema(60))
    assert len(many.rules) < len(one.rules) + 60 * 8, (len(one.rules), len(many.rules))
    valid = [{"r0": {"f1": ["a"], "f39": []}, "r7": {"f0": ["x", "y"]}, "r59": {}}]
    invalid = [{"r3": {"f1": ["a", "b", "c"]}}, {"r8": {"f2": "a"}}, {"r1": []}]
    check(schema(60), valid=valid, invalid=invalid)


def test_repeated_number_bounds_share_one_language():
    """Equal bounds as written share one language (a range repeated over 100 properties took 0.9 s); 1 and 1.0
    are kept apart, since the float reading depends on how a bound is written."""
    from tokensieve.schema._numbers import bounds_lang

    assert bounds_lang([(1, False)], [(9, True)]) is bounds_lang([(1, False)], [(9, True)])
    assert bounds_lang([(1, False)], []) is not bounds_lang([(1.0, False)], [])
    assert bounds_lang([(1, False)], []) is not bounds_lang([(1, True)], [])
    props = {f"p{i}": {"type": "integer", "minimum": -3, "exclusiveMaximum": 40} for i in range(30)}
    check({"type": "object", "properties": props}, valid=[{"p0": -3, "p29": 39}],
          invalid=[{"p3": 40}, {"p28": -4}, {"p1": 1.5}])


@pytest.mark.parametrize("names", [["a"], ["ab", "abc", "b"], ["x-1", "", "y z"], ["é", "a\\"]],
                         ids=["one", "prefixes", "empty-name", "non-plain"])
def test_names_complement_dfa_equals_its_ast(names):
    """The other-keys language gets its DFA from the names' trie; it must equal the AST's language."""
    from tokensieve.schema import _automata as A
    from tokensieve.schema._compile import _names_complement

    lang = _names_complement(names)
    from_trie = lang.dfa()
    from_ast = A.dfa_from_nfa(A.nfa_from_ast(lang.ast()))
    assert A.product(from_trie, from_ast, "diff").is_empty() and A.product(from_ast, from_trie, "diff").is_empty()
    assert not any(from_trie.matches(n) for n in names) and from_trie.matches("zz-not-a-name")
