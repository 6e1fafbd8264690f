"""The JSON Schema Test Suite (draft 2020-12) against compiled grammars.

For every group whose schema compiles, each instance is serialised with ``json.dumps`` (default separators
``", "``/``": "``) and fed to a recognizer. Hard bar: no invalid instance is ever accepted. Target: at least 90%
of the groups that do not need remote references are exact (all valid accepted, all invalid rejected); the
known departures are listed in KNOWN_INEXACT with the documented reason.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tokensieve import LimitExceededError, SchemaError, UnsupportedFeatureError
from tokensieve.schema import grammar_from_json_schema

from .test_schema_support import engine_matcher_factory, is_empty_language, reference_factory

SUITE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "json-schema-test-suite" / "tests" / \
    "draft2020-12"
FILES = sorted(p.stem for p in SUITE.glob("*.json")) if SUITE.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"JSON Schema Test Suite not found at {SUITE}")

# (file, group description) -> why valid instances may be rejected (never: why invalid ones may be accepted)
KNOWN_INEXACT = {
    **{("format", f"{name} format"): "policy: known formats are enforced, not annotations"
       for name in ("email", "ipv4", "ipv6", "hostname", "date", "date-time", "time", "json-pointer",
                    "relative-json-pointer", "iri", "iri-reference", "uri", "uri-reference", "uri-template",
                    "uuid", "duration", "idn-email", "idn-hostname", "regex", "unknown")},
    ("vocabulary", "schema that uses custom metaschema with with no validation vocabulary"):
        "$vocabulary is not honoured: validation keywords always apply",
}
# groups that are inexact in schema property order only (the instances list keys in another order)
ORDER_SENSITIVE = {"allOf", "dependentRequired", "unevaluatedProperties"}


def _remote(group) -> bool:
    text = json.dumps(group["schema"])
    return "localhost:1234" in text or '"$ref": "https://json-schema.org' in text


@functools.lru_cache(maxsize=None)
def _run(options_json: str, recognizer: str):
    """Per-group outcome: (file, description, status, details)."""
    options = json.loads(options_json)
    factory = reference_factory if recognizer == "reference" else engine_matcher_factory()
    out = []
    for name in FILES:
        for group in json.loads((SUITE / f"{name}.json").read_text()):
            desc = group["description"]
            try:
                grammar = grammar_from_json_schema(group["schema"], **options)
            except UnsupportedFeatureError as e:
                out.append((name, desc, "unsupported", str(e), _remote(group)))
                continue
            except (SchemaError, LimitExceededError) as e:
                out.append((name, desc, "error", f"{type(e).__name__}: {e}", _remote(group)))
                continue
            accepts = (lambda text: False) if is_empty_language(grammar) else factory(grammar)
            invalid_accepted, valid_rejected = [], []
            for test in group["tests"]:
                text = json.dumps(test["data"])
                got = accepts(text)
                if got and not test["valid"]:
                    invalid_accepted.append(text)
                elif not got and test["valid"]:
                    valid_rejected.append(text)
            status = "exact" if not invalid_accepted and not valid_rejected else "inexact"
            out.append((name, desc, status, (invalid_accepted, valid_rejected), _remote(group)))
    return out


def _recognizers():
    names = ["reference"]
    if engine_matcher_factory() is not None:
        names.append("engine")
    return names


def summary(results) -> dict:
    local = [r for r in results if not r[4]]
    return {
        "groups": len(results),
        "compiled": sum(r[2] in ("exact", "inexact") for r in results),
        "exact": sum(r[2] == "exact" for r in results),
        "unsupported": sum(r[2] == "unsupported" for r in results),
        "errors": sum(r[2] == "error" for r in results),
        "invalid_accepted": sum(len(r[3][0]) for r in results if r[2] in ("exact", "inexact")),
        "local_groups": len(local),
        "local_exact": sum(r[2] == "exact" for r in local),
    }


@pytest.mark.parametrize("recognizer", _recognizers())
@pytest.mark.parametrize("any_order", [False, True], ids=["schema_order", "any_order"])
@pytest.mark.parametrize("name", FILES)
def test_no_invalid_instance_accepted(name, any_order, recognizer):
    results = [r for r in _run(json.dumps({"any_order": any_order}), recognizer) if r[0] == name]
    bad = [(r[1], r[3][0]) for r in results if r[2] in ("exact", "inexact") and r[3][0]]
    assert not bad, f"invalid instances accepted: {bad}"
    crashes = [(r[1], r[3]) for r in results if r[2] == "error" and "LimitExceeded" not in r[3]]
    assert not crashes, f"unexpected errors: {crashes}"


@pytest.mark.parametrize("recognizer", _recognizers())
@pytest.mark.parametrize("name", FILES)
def test_valid_instances_accepted(name, recognizer):
    """With any_order (JSON objects are unordered), every group is exact except the documented departures."""
    results = [r for r in _run(json.dumps({"any_order": True}), recognizer) if r[0] == name]
    bad = [(r[1], r[3][1]) for r in results
           if r[2] == "inexact" and (r[0], r[1]) not in KNOWN_INEXACT]
    assert not bad, f"valid instances rejected: {bad}"


@pytest.mark.parametrize("any_order", [False, True], ids=["schema_order", "any_order"])
def test_suite_exactness_target(any_order):
    results = _run(json.dumps({"any_order": any_order}), _recognizers()[-1])
    s = summary(results)
    assert s["invalid_accepted"] == 0
    assert s["local_exact"] >= 0.9 * s["local_groups"], s
    if not any_order:
        # schema order only loses groups whose instances list keys in another order
        inexact = {r[0] for r in results if r[2] == "inexact" and (r[0], r[1]) not in KNOWN_INEXACT}
        assert inexact <= ORDER_SENSITIVE, inexact


def test_unsupported_groups_are_the_expected_ones():
    """Every group we refuse is remote, dynamic-scope, a non-finite uniqueItems, a huge multipleOf or a format
    whose language we do not build (regex, idn-*)."""
    results = _run(json.dumps({"any_order": True}), _recognizers()[-1])
    allowed = ("remote reference", "$dynamicRef", "uniqueItems", "multipleOf",
               "is not expressible as a regular language; lenient=True")
    odd = [(r[0], r[1], r[3]) for r in results if r[2] == "unsupported" and not any(a in r[3] for a in allowed)]
    assert not odd


@pytest.mark.parametrize("options", [{}, {"indent": 2}], ids=["flexible", "indent"])
def test_greedy_lexing_is_safe(options):
    """Greedy lexing never loses a parse: on every suite instance (in three layouts) the greedy recognizer agrees
    with plain language membership, i.e. no terminal's text can be extended by a terminal allowed after it."""
    from tokensieve import TokensieveError

    from .test_schema_support import Recognizer

    checked = 0
    for name in FILES:
        for group in json.loads((SUITE / f"{name}.json").read_text()):
            try:
                grammar = grammar_from_json_schema(group["schema"], **options)
            except TokensieveError:
                continue
            if is_empty_language(grammar):
                continue
            greedy, anyseg = Recognizer(grammar), Recognizer(grammar, greedy=False)
            for test in group["tests"]:
                for text in {json.dumps(test["data"]), json.dumps(test["data"], separators=(",", ":")),
                             json.dumps(test["data"], indent=2)}:
                    assert greedy.accepts(text) == anyseg.accepts(text), (name, group["description"], text)
                    checked += 1
    assert checked > 1000


def _mutations(value, rng, keys):
    """A few structurally nearby values (dropped/added/changed members, duplicated items, type swaps)."""
    import copy

    leaves = [None, True, False, 0, -1, 2, 1.5, "", "a", "foo", [], {}]
    out = []
    for _ in range(6):
        v = copy.deepcopy(value)
        if isinstance(v, dict) and v and rng.random() < 0.8:
            k = rng.choice(sorted(v))
            op = rng.random()
            if op < 0.3:
                del v[k]
            elif op < 0.6:
                v[k] = rng.choice(leaves)
            else:
                v[rng.choice(keys)] = rng.choice(leaves)
        elif isinstance(v, list) and v and rng.random() < 0.8:
            i = rng.randrange(len(v))
            op = rng.random()
            if op < 0.3:
                v.append(copy.deepcopy(v[i]))
            elif op < 0.6:
                v[i] = rng.choice(leaves)
            else:
                del v[i]
        else:
            v = rng.choice(leaves)
        out.append(v)
    return out


def test_mutated_instances_are_sound():
    """Beyond the suite's own instances: no mutated instance the grammar accepts fails validation."""
    import random

    from tokensieve import TokensieveError
    from tokensieve.schema import validate

    rng = random.Random(1234)
    factory = engine_matcher_factory() or reference_factory
    checked = 0
    for name in FILES:
        for group in json.loads((SUITE / f"{name}.json").read_text()):
            text = json.dumps(group["schema"])
            if "idn-" in text:
                continue  # formats the compiler refuses by policy but jsonschema checks
            try:
                grammar = grammar_from_json_schema(group["schema"], any_order=True)
            except TokensieveError:
                continue
            if is_empty_language(grammar):
                continue
            accepts = factory(grammar)
            keys = sorted({k for t in group["tests"] if isinstance(t["data"], dict) for k in t["data"]}) or ["a"]
            for test in group["tests"]:
                for value in _mutations(test["data"], rng, keys):
                    if accepts(json.dumps(value)):
                        assert not validate(value, group["schema"]), (name, group["description"], value)
                        checked += 1
    assert checked > 500
