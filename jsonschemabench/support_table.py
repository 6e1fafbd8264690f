"""The JSON Schema support table (``docs/schema_support.md``), generated from observed behaviour.

Every row is a small representative schema with instances. The schema is compiled (default options, then
``lenient=True`` if the default raises ``UnsupportedFeatureError``), each instance's JSON text is run through the
Matcher, and the verdicts are compared with :func:`tokensieve.schema.validate`. The status is what was observed:

* **supported**: compiles; accepts every valid instance, rejects every invalid one;
* **restricted**: compiles; rejects some valid instances (listed), never accepts an invalid one;
* **annotation**: compiles and does not enforce the keyword (the specification makes it an annotation);
* **lenient**: ``UnsupportedFeatureError`` by default; ``lenient=True`` compiles to an approximation;
* **error**: ``UnsupportedFeatureError`` (or another typed error) even with ``lenient=True``.

``python -m jsonschemabench.support_table`` rewrites the file; ``tests/test_schema_support_table.py`` fails when
the committed file differs from what this module produces now.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = ["Case", "CASES", "Observation", "observe", "render", "DOC_PATH", "main"]

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "schema_support.md"

D4 = "http://json-schema.org/draft-04/schema#"
D7 = "http://json-schema.org/draft-07/schema#"
D2019 = "https://json-schema.org/draft/2019-09/schema"


@dataclass(frozen=True)
class Case:
    """One row: ``keywords`` it exercises (the first is the row's keyword), a short ``situation``, the schema,
    instances as JSON values and as raw JSON texts (for spellings ``json.dumps`` never writes), and a note
    explaining the behaviour. ``annotation``: accepting instances that an asserting validator rejects is the
    specified behaviour (``format`` outside the enforced set, ``content*``)."""

    keywords: tuple
    situation: str
    schema: object
    values: tuple = ()
    texts: tuple = ()
    note: str = ""
    annotation: bool = False


def C(keywords, situation, schema, values=(), texts=(), note="", annotation=False) -> Case:
    kws = (keywords,) if isinstance(keywords, str) else tuple(keywords)
    return Case(kws, situation, schema, tuple(values), tuple(texts), note, annotation)


_FORMAT_EXAMPLES = {
    "date": (["2024-02-29", "2023-02-29", "2024-1-01", "x"], ""),
    "time": (["12:30:00Z", "23:59:60Z", "12:30:00+05:30", "12:30:00", "25:00:00Z"],
             "a leap second only as 23:59:60 with offset Z/+00:00/-00:00"),
    "date-time": (["2024-02-29T12:30:00.5Z", "2024-02-29 12:30:00Z", "2024-02-30T00:00:00Z"], ""),
    "duration": (["P1Y2M", "PT1.5S", "P1W", "P", "1Y"], ""),
    "email": (["a.b@example.com", "\"a b\"@example.com", "a@[127.0.0.1]", "a@@b", "a"],
              "RFC 5321 mailbox, without the length limits"),
    "hostname": (["example.com", "a-b.c", "-a.com", "xn--bcher-kva.example", "a" * 64],
                 "IDNA A-labels (xn--) are rejected; the 253-character limit is kept by label shape"),
    "ipv4": (["192.168.0.1", "256.0.0.1", "01.2.3.4"], ""),
    "ipv6": (["::1", "2001:db8::8a2e:370:7334", "::ffff:1.2.3.4", "1:2:3", "12345::"], ""),
    "uuid": (["123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"], ""),
    "uri": (["https://example.com/a?b#c", "urn:isbn:0451450523", "/relative", "http://exa mple.com"], ""),
    "uri-reference": (["/relative#frag", "https://example.com", "\\\\bad"], ""),
    "iri": (["https://例え.jp/パス", "/relative"], ""),
    "iri-reference": (["パス/x", "https://例え.jp", "\\\\bad"], ""),
    "uri-template": (["https://example.com/{id}", "https://example.com/{id"], ""),
    "json-pointer": (["/a/b~1c", "", "a/b", "/a~2"], ""),
    "relative-json-pointer": (["0/a", "1#", "-1/a", "/a"], ""),
    "regex": (["^a+$", "[a-z]{2,4}(?:-x)?", "(", "a{2,1}", "(?<=a)b", "((((a))))"],
              "a syntax both ECMA-262 and Python re accept, at most 3 nested groups (no lookaround, backreferences, "
              "named groups or flags)"),
    "idn-email": (["用户@例子.广告", "a"], "needs IDNA tables: refused by default, ignored with lenient=True"),
    "idn-hostname": (["例子.广告", "-a"], "needs IDNA tables: refused by default, ignored with lenient=True"),
    "made-up-format": (["anything"], "unknown formats are annotations (strict=True raises)"),
}

_NOTE_EXP = ("exponent texts need a normalized mantissa (one nonzero digit before the point) under a magnitude "
             "bound; see the number notes below")

CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------------ core
    C(("$ref", "$defs"), "to a local definition", {"$defs": {"pos": {"type": "integer", "minimum": 1}},
                                                   "$ref": "#/$defs/pos"}, [1, 7, 0, "a", 1.5]),
    C("$ref", "recursive schema", {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}},
                                   "additionalProperties": False},
      [{}, {"kids": [{}, {"kids": []}]}, {"kids": [1]}, {"x": 1}]),
    C("$ref", "with sibling keywords", {"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s", "maxLength": 2},
      ["ab", "abc", 1]),
    C("$ref", "remote reference", {"$ref": "https://example.com/other.json"}, [1],
      note="only references inside the schema document are resolved"),
    C("$anchor", "plain-name fragment", {"$defs": {"a": {"$anchor": "num", "type": "number"}}, "$ref": "#num"},
      [1, 2.5, "x"]),
    C("$id", "embedded resource", {"$id": "https://example.com/root.json",
                                   "$defs": {"b": {"$id": "b.json", "type": "string"}}, "$ref": "b.json"},
      ["x", 1]),
    C(("$dynamicRef", "$dynamicAnchor"), "single anchor (resolves statically)",
      {"$dynamicAnchor": "node", "type": "object", "properties": {"next": {"$dynamicRef": "#node"}},
       "additionalProperties": False}, [{}, {"next": {"next": {}}}, {"next": 1}, {"x": 1}]),
    C(("$dynamicRef", "$dynamicAnchor"), "resolved through the dynamic scope",
      {"$id": "https://example.com/strings", "$ref": "list",
       "$defs": {"str": {"$dynamicAnchor": "item", "type": "string"},
                 "list": {"$id": "list", "type": "array", "items": {"$dynamicRef": "#item"},
                          "$defs": {"any": {"$dynamicAnchor": "item"}}}}},
      [["a"], [1], []], note="an overridden anchor is bound by the outermost resource in scope"),
    C(("$recursiveRef", "$recursiveAnchor"), "2019-09, one anchor",
      {"$schema": D2019, "$recursiveAnchor": True, "type": "object", "properties": {"n": {"$recursiveRef": "#"}},
       "additionalProperties": False}, [{}, {"n": {"n": {}}}, {"n": 2}]),
    C("$schema", "draft-04 dialect", {"$schema": D4, "type": "integer"}, [1, 1.0, "a"],
      note="draft 4 counts only texts without a fraction as integers"),
    C("$schema", "draft-03 dialect", {"$schema": "http://json-schema.org/draft-03/schema#"}, [1]),
    C("$comment", "", {"$comment": "ignored", "type": "null"}, [None, 0]),
    C("$vocabulary", "in the root schema", {"$vocabulary": {"https://json-schema.org/draft/2020-12/vocab/core": True},
                                             "type": "boolean"}, [True, 1],
      note="vocabularies are not honoured: validation keywords always apply"),
    C(("definitions", "id"), "draft-04 spelling",
      {"$schema": D4, "id": "http://example.com/d4", "definitions": {"a": {"type": "boolean"}},
       "$ref": "#/definitions/a"}, [True, 1]),
    # ------------------------------------------------------------------ applicators
    C("allOf", "", {"allOf": [{"type": "integer"}, {"minimum": 3}, {"maximum": 5}]}, [3, 5, 2, 6, "a"]),
    C("anyOf", "", {"anyOf": [{"type": "string", "maxLength": 1}, {"type": "integer"}]}, ["a", 3, "ab", 1.5]),
    C("oneOf", "disjoint branches", {"oneOf": [{"type": "string"}, {"type": "integer"}]}, ["a", 1, None]),
    C("oneOf", "overlapping branches", {"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 2.5, 3, "a"]),
    C("oneOf", "overlapping, uniqueItems inside",
      {"oneOf": [{"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                 {"type": "array", "maxItems": 1}]},
      [[], ["a"], ["a", "b"], ["a", "a"], [1, 2]],
      note="exclusivity needs the complement of uniqueItems, which is not context-free; lenient=True treats "
           "oneOf as anyOf"),
    C("not", "", {"not": {"type": "string"}}, [1, None, "a"]),
    C("not", "of uniqueItems", {"not": {"type": "array", "uniqueItems": True}}, [[1, 1], [1, 2], 3]),
    C(("if", "then", "else"), "", {"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}},
      [1, -1, "a", 1.5]),
    C("properties", "", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}},
      [{"a": 1}, {"a": 1, "b": "x"}, {"a": "x"}, {"c": None}]),
    C("required", "", {"type": "object", "required": ["a"]}, [{"a": 1}, {"b": 1}]),
    C("additionalProperties", "false", {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
      [{"a": 1}, {}, {"b": 1}]),
    C("additionalProperties", "a schema", {"type": "object", "properties": {"a": {}},
                                           "additionalProperties": {"type": "integer"}},
      [{"a": "x", "b": 1}, {"b": "x"}]),
    C("patternProperties", "", {"type": "object", "patternProperties": {"^x_": {"type": "integer"}},
                                "additionalProperties": False}, [{"x_a": 1}, {"x_a": "s"}, {"y": 1}]),
    C("propertyNames", "", {"type": "object", "propertyNames": {"maxLength": 2}}, [{"ab": 1}, {"abc": 1}]),
    C(("minProperties", "maxProperties"), "", {"type": "object", "minProperties": 1, "maxProperties": 2},
      [{"a": 1}, {"a": 1, "b": 2}, {}, {"a": 1, "b": 2, "c": 3}]),
    C("dependentRequired", "", {"type": "object", "dependentRequired": {"a": ["b"]}},
      [{"a": 1, "b": 2}, {"b": 2}, {"a": 1}]),
    C("dependentSchemas", "", {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}},
      [{"a": 1, "b": 2}, {"c": 1}, {"a": 1}]),
    C("dependencies", "draft-07, both forms", {"$schema": D7, "type": "object",
                                               "dependencies": {"a": ["b"], "c": {"required": ["d"]}}},
      [{"a": 1, "b": 2}, {"a": 1}, {"c": 1, "d": 1}, {"c": 1}]),
    C(("prefixItems", "items"), "tuple and rest", {"type": "array", "prefixItems": [{"type": "string"}],
                                                   "items": {"type": "integer"}},
      [["a"], ["a", 1, 2], [1], ["a", "b"]]),
    C("items", "array form, draft 2019-09", {"$schema": D2019, "type": "array", "items": [{"type": "string"}],
                                             "additionalItems": False}, [["a"], [], ["a", 1], [1]]),
    C("additionalItems", "draft-07", {"$schema": D7, "type": "array", "items": [{"type": "string"}],
                                      "additionalItems": {"type": "integer"}}, [["a", 1], ["a", "b"]]),
    C(("contains", "minContains", "maxContains"), "", {"type": "array", "contains": {"type": "integer"},
                                                       "minContains": 1, "maxContains": 2},
      [[1], [1, 2, "a"], ["a"], [1, 2, 3]]),
    C(("minItems", "maxItems"), "", {"type": "array", "minItems": 1, "maxItems": 2}, [[1], [1, 2], [], [1, 2, 3]]),
    C("uniqueItems", "items from a finite set", {"type": "array", "items": {"enum": ["a", "b", 1]},
                                                 "uniqueItems": True},
      [["a", "b"], [], ["a", "a"], ["a", 1, "b"]]),
    C("uniqueItems", "items not from a finite set", {"type": "array", "items": {"type": "string"},
                                                     "uniqueItems": True}, [["a", "b"], ["a", "a"]],
      note="no grammar can forbid duplicates among unboundedly many values; lenient=True does not enforce it"),
    C("unevaluatedProperties", "with allOf", {"allOf": [{"properties": {"a": {}}}], "properties": {"b": {}},
                                              "unevaluatedProperties": False, "type": "object"},
      [{"a": 1, "b": 2}, {"c": 1}]),
    C("unevaluatedProperties", "under not, with anyOf annotations",
      {"not": {"anyOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}], "unevaluatedProperties": False}},
      [{"c": 1}, {"a": 1}]),
    C("unevaluatedItems", "with prefixItems", {"type": "array", "prefixItems": [{"type": "integer"}],
                                               "unevaluatedItems": False}, [[1], [1, 2], []]),
    # ------------------------------------------------------------------ validation
    C("type", "every type", {"type": ["null", "boolean", "object", "array", "string"]},
      [None, True, {}, [], "s", 1]),
    C("type", "string", {"type": "string"}, ["a\"b", "\u00e9\U0001f600", 1],
      texts=['"\\u00e9"', '"\\ud83d\\ude00"', '"\\u0041"', '"\\ud800"'],
      note="printable ASCII is written raw (\\u0041 is rejected) and lone surrogates are rejected; every other "
           "JSON spelling, with or without ensure_ascii, is accepted"),
    C("type", "number", {"type": "number"}, [1, -2.5, "1"], texts=["1e5", "-2.5E-3", "1E+2", "1e400", "0.0"],
      note="the whole JSON number grammar, exponents included (1e400 parses to inf, which is a number)"),
    C("type", "integer", {"type": "integer"}, [1, -7, 1.5, "1"],
      texts=["1.0", "1e2", "1.5e1", "1e-1", "1e400", "1.23456789012345678e17"],
      note="1.0, 1e2, 1.5e1 are integers; an exponent text is accepted when its fraction digits up to the last "
           "nonzero one are at most 16"),
    C("enum", "", {"enum": ["a", 1, None, [1, {"b": 2}]]}, ["a", 1, None, [1, {"b": 2}], "b", 2],
      texts=["1.0", "1e0"]),
    C("const", "", {"const": {"a": [1, 2]}}, [{"a": [1, 2]}, {"a": [2, 1]}], texts=['{"a": [1.0, 2e0]}']),
    C(("minimum", "maximum"), "", {"type": "number", "minimum": 1, "maximum": 100}, [1, 50.5, 100, 0, 101],
      texts=["1.5e1", "1E+2", "1.01e2", "12e0"], note=_NOTE_EXP),
    C("minimum", "0", {"type": "number", "minimum": 0}, [0, 3.5, -1], texts=["12e3", "0.5e1", "-0.0", "-1e-400"],
      note="a bound of exactly 0 compares no magnitude, so any exponent spelling works; -1e-400 parses to -0.0 "
           "but is negative"),
    C(("exclusiveMinimum", "exclusiveMaximum"), "", {"exclusiveMinimum": 0, "exclusiveMaximum": 1},
      [0.5, 0, 1], texts=["5e-1", "1e-400", "0.99999999999999999"],
      note="1e-400 and 0.99999999999999999 parse to 0.0 and 1.0, so they are rejected"),
    C(("exclusiveMinimum", "exclusiveMaximum"), "draft-04 booleans",
      {"$schema": D4, "minimum": 0, "exclusiveMinimum": True, "maximum": 1, "exclusiveMaximum": True},
      [0.5, 0, 1]),
    C("multipleOf", "", {"multipleOf": 0.01}, [0.25, 3, 0.255], texts=["2.5e-1"],
      note="decimal arithmetic (0.3 is a multiple of 0.1, as the specification says); no exponent texts"),
    C("multipleOf", "large modulus", {"multipleOf": 0.123456789}, [0.123456789],
      note="the digit automaton would need about a * (s + 3) states for q = a / 10**s"),
    C(("minLength", "maxLength"), "", {"type": "string", "minLength": 1, "maxLength": 3},
      ["a", "abc", "\u00e9\u00e9\u00e9", "", "abcd"], note="lengths count code points"),
    C("pattern", "ECMA-262 semantics", {"type": "string", "pattern": "^[a-z]+\\d?$"}, ["ab", "ab1", "AB", "a12"],
      texts=['"\\u0061b"'], note="printable ASCII is generated raw, so the escaped spelling \\u0061 is rejected"),
    C("pattern", "lookahead", {"type": "string", "pattern": "^(?=a)"}, ["ab", "b"]),
    C("format", "unknown name", {"type": "string", "format": "made-up-format"}, ["anything"],
      note=_FORMAT_EXAMPLES["made-up-format"][1], annotation=True),
    *(C("format", name, {"type": "string", "format": name}, values, note=note,
        annotation=name in ("regex", "idn-email", "idn-hostname"))
      for name, (values, note) in _FORMAT_EXAMPLES.items() if name != "made-up-format"),
    C("contentEncoding", "", {"type": "string", "contentEncoding": "base64"}, ["YQ==", "not base64!"],
      annotation=True, note="an annotation in 2020-12"),
    C(("contentMediaType", "contentSchema"), "", {"type": "string", "contentMediaType": "application/json",
                                                  "contentSchema": {"type": "integer"}}, ["1", "{", "x"],
      annotation=True, note="annotations in 2020-12"),
    # ------------------------------------------------------------------ meta-data
    C(("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"), "",
      {"title": "t", "description": "d", "default": 1, "examples": [1], "deprecated": False, "readOnly": True,
       "writeOnly": False, "type": "integer"}, [1, "a"]),
)


@dataclass
class Observation:
    """What compiling and running one case showed."""

    status: str
    error: str = ""
    lenient_error: str = ""
    valid_rejected: list = field(default_factory=list)
    invalid_accepted: list = field(default_factory=list)
    checked: int = 0
    accepted: int = 0
    invalid: int = 0


def _texts(case: Case) -> list[tuple[str, object]]:
    return [(json.dumps(v, ensure_ascii=False), v) for v in case.values] + [(t, json.loads(t)) for t in case.texts]


@lru_cache(maxsize=1)
def _vocab():
    import tokensieve as ts

    return ts.Vocabulary.from_tokens([bytes([i]) for i in range(256)])


def _run(case: Case, **options):
    """Compile and check every instance; returns (valid_rejected, invalid_accepted, accepted count) or raises
    the compiler's typed error."""
    import tokensieve as ts
    from tokensieve.schema import grammar_from_json_schema, validate

    grammar = grammar_from_json_schema(case.schema, any_order=True, **options)
    empty = not any(r.lhs == grammar.start for r in grammar.rules)
    compiled = None if empty else ts.compile(grammar, _vocab())
    valid_rejected, invalid_accepted, accepted, invalid = [], [], 0, 0
    for text, value in _texts(case):
        ok = not validate(value, case.schema)
        invalid += not ok
        got = False
        if compiled is not None:
            m = ts.Matcher(compiled)
            got = m.accept_bytes(text.encode("utf-8")) and m.is_accepting()
        accepted += got
        if got and not ok:
            invalid_accepted.append(text)
        elif ok and not got:
            valid_rejected.append(text)
    return valid_rejected, invalid_accepted, accepted, invalid


def _error(e: Exception) -> str:
    feature = getattr(e, "feature", None) or getattr(e, "limit", None)
    where = getattr(e, "path", "") or ""
    return f"{type(e).__name__}({feature})" + (f" at {where}" if where else "")


@lru_cache(maxsize=None)
def _observe(index: int) -> Observation:
    from tokensieve import TokensieveError, UnsupportedFeatureError

    case = CASES[index]
    n = len(_texts(case))
    try:
        vr, ia, acc, inv = _run(case)
    except UnsupportedFeatureError as e:
        error = _error(e)
        try:
            vr, ia, acc, inv = _run(case, lenient=True)
        except TokensieveError as e2:
            return Observation("error", error, _error(e2), checked=n)
        return Observation("lenient", error, valid_rejected=vr, invalid_accepted=ia, checked=n, accepted=acc,
                           invalid=inv)
    except TokensieveError as e:
        return Observation("error", _error(e), checked=n)
    # accepting an invalid instance outside an annotation row is a bug; the tests fail on it ("unsound")
    status = ("annotation" if case.annotation else "unsound") if ia else "restricted" if vr else "supported"
    return Observation(status, valid_rejected=vr, invalid_accepted=ia, checked=n, accepted=acc, invalid=inv)


def observe(case: Case) -> Observation:
    """The observation for a case of :data:`CASES` (cached per process)."""
    return _observe(CASES.index(case))


_LEGEND = """\
| Status | Meaning |
|---|---|
| supported | compiles; accepts every valid instance and rejects every invalid one |
| restricted | compiles; rejects the valid instances listed (a documented departure), never accepts an invalid one |
| annotation | compiles and does not enforce the keyword, as the specification allows |
| lenient | `UnsupportedFeatureError` by default; `lenient=True` compiles the approximation described |
| error | `UnsupportedFeatureError` (or another typed error) even with `lenient=True` |
"""

_NUMBER_NOTES = """\
## Number notes

A number text is accepted when it is valid both for python-jsonschema after `json.loads` (fractions and exponents
become doubles: `0.99999999999999999` is `1.0`, `1e400` is `inf`) and in exact decimal arithmetic
(python-jsonschema with `parse_float=Decimal`). Bounds, `type: integer` and `const`/`enum` are exact under
that rule, exponents included, within these limits:

- under a bound or `const`, an exponent text needs a normalized mantissa: one nonzero digit before the point
  (`1.5e3`, `2E-7`, `1e+16`) or zero (`0e5`); `12e3` and `0.5e1` are rejected, because comparing an
  unnormalized mantissa's digit count with an unbounded exponent is not a regular language. A bound of exactly 0
  compares no magnitude and accepts them.
- `type: integer` accepts `d.Fek` when the digits of `F` up to its last nonzero one are at most `k` and at most
  16 (every double's shortest repr fits); it also accepts integral fraction texts of 309 or more digits, which
  Python parses to `inf`.
- `multipleOf` is decided in decimal arithmetic (python-jsonschema's float division rejects `0.3` for
  `multipleOf: 0.1`) and its languages have no exponent texts.
- bounds are exact on texts with at most 64 integer and 64 fraction digits (exponent texts: 64 mantissa digits);
  a longer text within one float rounding step of a bound may be rejected.
- `not`, overlapping `oneOf` and `if`/`else` over numbers accept no exponent texts.
- the exponent's digits are not bounded (`1e0000000001` is valid JSON); the token budget ends generation.
"""


def _code(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _evidence(case: Case, obs: Observation) -> str:
    parts = []
    if obs.error and obs.error == obs.lenient_error:
        parts.append(obs.error + ", also with lenient=True")
    else:
        parts += [label + err for label, err in (("default: ", obs.error), ("lenient: ", obs.lenient_error)) if err]
    prefix = "lenient " if obs.status == "lenient" else ""
    if obs.valid_rejected:
        parts.append(prefix + "rejects valid " + ", ".join(_code(t, 30) for t in obs.valid_rejected[:3]))
    if obs.invalid_accepted:
        parts.append(prefix + "accepts invalid " + ", ".join(_code(t, 30) for t in obs.invalid_accepted[:3]))
    if case.note:
        parts.append(case.note)
    return "; ".join(parts).replace("|", "\\|")


def render(cases=CASES) -> str:
    """The Markdown document for the observed cases."""
    counts: dict[str, int] = {}
    rows = []
    for case in cases:
        obs = observe(case)
        counts[obs.status] = counts.get(obs.status, 0) + 1
        kw = ", ".join(f"`{k}`" for k in case.keywords)
        situation = (case.situation + " " if case.situation else "") + _code(json.dumps(case.schema,
                                                                                         ensure_ascii=False), 160)
        rows.append(f"| {kw} | {situation} | {obs.status} | {_evidence(case, obs)} |")
    summary = ", ".join(f"{counts[s]} {s}" for s in ("supported", "restricted", "annotation", "lenient", "error",
                                                     "unsound") if s in counts)
    return "\n".join([
        "# JSON Schema support",
        "",
        "<!-- Generated by `python -m jsonschemabench.support_table`; tests/test_schema_support_table.py fails when "
        "this file is stale. Do not edit by hand. -->",
        "",
        "Each row compiles a small schema with `tokensieve.schema.grammar_from_json_schema` (default options, "
        "`any_order=True`; then `lenient=True` if that raises `UnsupportedFeatureError`), runs the JSON text of each "
        "instance through the Matcher and compares the verdict with `tokensieve.schema.validate`. The status is "
        "what was observed, not a claim. For `format`, `validate` checks the same RFC grammars the compiler "
        "enforces (`tokensieve/schema/_formats.py`), so those rows check the compilation and list the grammars' "
        f"documented restrictions in the notes. {len(cases)} cases: {summary}.",
        "",
        _LEGEND,
        "| Keyword | Situation and schema | Status | Evidence and notes |",
        "|---|---|---|---|",
        *rows,
        "",
        _NUMBER_NOTES,
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jsonschemabench.support_table",
                                     description="Regenerate docs/schema_support.md from observed behaviour.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    parser.add_argument("--output", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; run python -m jsonschemabench.support_table")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
