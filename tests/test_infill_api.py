"""Infill checker: lexing across holes, witnesses, token budgets, time limits and bad input."""

from __future__ import annotations

import random
import re

import pytest

import tokensieve as ts
from tokensieve import GrammarError, LimitExceededError, VocabularyError
from tokensieve.infill import Hole, InfillError, Limits, check, complete, is_completable
from tests.test_infill_oracle import grammar, oracle, pattern_regex, random_canvas


def _ok(name, parts):
    """check() with the witness verified independently (oracle membership, pattern match)."""
    v = check(grammar(name), parts)
    if v.completable:
        assert oracle(name).member(v.text), (parts, v.text)
        if all(not isinstance(p, Hole) or p.vocab is None for p in parts):
            assert pattern_regex(parts).fullmatch(v.text.encode("utf-8")), (parts, v.text)
    return v


# ------------------------------------------------------------------ lexing across holes (spec B.8 item 4)

@pytest.mark.parametrize(
    "name, parts, expected",
    [
        ("json", ["nu", Hole(), "ll"], True),  # one keyword split by a hole
        ("json", ["nul", Hole(), "ull"], False),  # a top-level document holds one value
        ("json", ["[nul", Hole(), "ull]"], True),  # ... but an array holds two: [null, null]
        ("json", ['"hiii', Hole(), 'ello"'], True),  # one string across the hole
        ("json", ["[123", Hole(), "456", Hole(), "789]"], True),
        ("json", ['["ab', Hole(), "cd", Hole(), 'ef"]'], True),  # a fragment inside one string
        ("json", [Hole(), ":1", Hole()], True),  # holes at both ends
        ("json", ["tru", Hole(max_tokens=0), "e"], True),  # empty hole: the fragments join
        ("json", ["tr", Hole(max_tokens=0), "e"], False),
        ("json", ["{", Hole(), "}}"], True),
        ("json", ["{}", Hole(), "{"], False),
        ("json", ['"\\', Hole(max_tokens=0), '"'], False),  # an escaped quote cannot close the string
        ("json", ['"\\', Hole(max_tokens=1), '"'], True),
        ("arith", ["a", Hole(max_tokens=0), "b"], True),  # one NAME
        ("arith", ["1", Hole(max_tokens=0), "e5"], True),  # one NUMBER: 1e5
        ("arith", ["(", Hole(max_tokens=1)], False),  # "(1)" needs two more bytes
        ("arith", ["(", Hole()], True),
        ("arith", ["1 +", Hole(), "* 2"], True),
        ("arith", ["1 + * 2"], False),
        ("brackets", ["(", Hole(max_tokens=1)], True),  # "()"
        ("brackets", ["(((", Hole(max_tokens=2)], False),
        ("brackets", [Hole(), "]", Hole()], True),
        ("brackets", [], True),  # the empty document is a member
        ("json", [], False),
        ("json", [""], False),
        ("schema", ['{"id": 1, "na', Hole(), '}'], True),
        ("schema_lark", ['{"id": 1, "na', Hole(), '}'], True),
        ("schema_lark", ['{"id": 1', Hole(), '"tags": []}'], True),  # "name" must go in the hole
        ("schema_lark", ['{"id": 1', Hole(max_tokens=8), '"tags": []}'], False),  # ... and 8 bytes are too few
        ("schema_lark", ['{"name": "x", "id": 1', Hole()], False),  # keys in schema order
        ("schema_lark", ['{"id": 1.5', Hole()], False),
        ("schema_lark", ['{"id": 1, "name": "', Hole(), '"', Hole(max_tokens=0)], False),  # "}" missing
    ],
    ids=lambda v: repr(v)[:40] if not isinstance(v, bool) else str(v),
)
def test_known_canvases(name, parts, expected):
    assert _ok(name, parts).completable is expected


def test_witness_examples():
    j = grammar("json")
    assert complete(j, ["nu", Hole(), "ll"]) == "null"
    assert complete(j, ['{"a": ', Hole(), "}"]) == '{"a": 0}'  # fillers are byte-shortest
    v = check(j, ["[123", Hole(), "456", Hole(), "789]"])
    assert v.text.encode() == b"[123" + v.fills[0] + b"456" + v.fills[1] + b"789]"
    assert complete(j, ["nul", Hole(), "ull"]) is None


def test_utf8_split_across_hole():
    j = grammar("json")
    e = "é".encode()
    v = check(j, [b'["' + e[:1], Hole(), e[1:] + b'"]'])
    assert v.completable and v.text == '["é"]'
    assert not is_completable(j, [b'["' + e[:1], Hole(max_tokens=0), b'"]'])  # a lone lead byte
    assert is_completable(j, [b'["' + e[:1], Hole(max_tokens=1), b'"]'])


def test_adjacent_text_parts_join():
    j = grammar("json")
    assert is_completable(j, ['{"a"', ": ", b"1}"])
    assert is_completable(j, ['{"a"', ": ", b"1"]) is False


def test_deep_nesting_needs_no_recursion():
    j = grammar("json")
    v = check(j, ["[" * 20000, Hole()])
    assert v.completable and v.text == "[" * 20000 + "]" * 20000
    assert not is_completable(j, ["[" * 20000, Hole(max_tokens=3)])


@pytest.mark.parametrize("name", ["brackets", "arith", "json"], ids=["brackets", "arith", "json"])
def test_witnesses_parse_with_lark(name):
    """Witnesses are members for Lark's own Earley parser too (dynamic_complete: every lexing tried)."""
    import lark

    from tests.test_infill_oracle import BRACKETS, _data

    text = {"brackets": BRACKETS, "arith": _data("arith.lark"), "json": _data("json.lark")}[name]
    parser = lark.Lark(text, parser="earley", lexer="dynamic_complete")
    rng = random.Random(5)
    n = 0
    for _ in range(60):
        v = check(grammar(name), random_canvas(name, rng))
        if v.completable:
            parser.parse(v.text)
            n += 1
    assert n > 20


# ------------------------------------------------------------------ token budgets

MOCK = ["{", "}", "[", "]", '"', ",", ":", " ", "1", "a", '"}', "]}", '"a":', "true", "null"]


def test_budget_pins_down_hole_semantics():
    """Spec B.8 item 7: "(" followed by one slot. Length-agnostic holes accept it; one token cannot finish."""
    a = grammar("arith")
    assert is_completable(a, ["(", Hole()])
    assert not is_completable(a, ["(", Hole(max_tokens=1)])
    assert is_completable(a, ["(", Hole(max_tokens=2)])
    assert not is_completable(a, ["(", Hole(max_tokens=1, vocab=["1", "+", ")"])])
    assert is_completable(a, ["(", Hole(max_tokens=1, vocab=["1", "1)"])])


def test_vocab_budgets_are_exact():
    j = grammar("json")
    v = check(j, ['{"a": [1', Hole(max_tokens=1, vocab=MOCK)])
    assert v.completable and v.exact and v.fills == [b"]}"]
    assert not is_completable(j, ['{"a": [[1', Hole(max_tokens=1, vocab=MOCK)])
    assert is_completable(j, ['{"a": [[1', Hole(max_tokens=2, vocab=MOCK)])
    # exactly three tokens between the brackets: only whitespace or "1,1" style content fits
    v = check(j, ["[", Hole(max_tokens=3, min_tokens=3, vocab=MOCK), "]"])
    assert v.completable and len(v.fills[0]) >= 3
    assert is_completable(j, ["[", Hole(max_tokens=3, min_tokens=3, vocab=["1", "]"]), "]"])  # [111]
    # brackets come in pairs: an odd number of bracket tokens never balances
    assert not is_completable(j, ["[", Hole(max_tokens=3, min_tokens=3, vocab=["[", "]"]), "]"])
    assert is_completable(j, ["[", Hole(max_tokens=4, min_tokens=4, vocab=["[", "]"]), "]"])


def test_min_tokens_byte_budget():
    a = grammar("arith")
    v = check(a, ["(", Hole(min_tokens=3, max_tokens=3), ")"])
    assert v.completable and len(v.fills[0]) == 3
    assert is_completable(a, ["(", Hole(min_tokens=1, max_tokens=1), ")"])
    assert not is_completable(a, ["(", Hole(max_tokens=0), ")"])  # "()" is no expression
    assert is_completable(a, ["1", Hole(min_tokens=1, max_tokens=1), "2"])  # "102"
    assert not is_completable(a, ["(1", Hole(min_tokens=1, max_tokens=1), "2"])


def test_adjacent_budgeted_holes_add_up():
    b = grammar("brackets")
    for k in range(5):
        one = is_completable(b, ["((", Hole(max_tokens=k)])
        two = is_completable(b, ["((", Hole(max_tokens=k // 2), Hole(max_tokens=k - k // 2)])
        assert one == two == (k >= 2)


def test_undecided_budget_policy():
    """A budget too large to expand exactly: fitting witness -> exact yes; otherwise the policy answers."""
    j = grammar("json")
    vocab = ["]]", "]", "1"] + [f"tok{i}" for i in range(50)]
    tiny = Limits(max_region_nodes=2, max_chain=2)
    parts = ["[[[[1", Hole(max_tokens=2, vocab=vocab)]  # needs "]]]]": two "]]" tokens fit
    v = check(j, parts, limits=tiny)
    assert v.completable and v.exact  # the shortest witness happens to fit
    parts = ["[[[[1", Hole(max_tokens=1, vocab=vocab)]  # no single token closes four brackets
    assert check(j, parts).completable is False and check(j, parts).exact
    v = check(j, parts, limits=tiny)
    assert v.completable is False and not v.exact and v.reason == "undecided"
    v = check(j, parts, limits=tiny, undecided="accept")
    assert v.completable is True and not v.exact


def test_over_approximation_rejects_exactly():
    j = grammar("json")
    vocab = ["]", "1", "ab"]  # longest token 2 bytes: one token holds at most 2 bytes
    tiny = Limits(max_region_nodes=1, max_chain=64)
    v = check(j, ["[[[1", Hole(max_tokens=1, vocab=vocab)], limits=tiny)
    assert v.completable is False and v.exact  # needs 3 bytes; the over-approximation proves it


# ------------------------------------------------------------------ time limits

def test_timeout_rejects():
    j = grammar("json")
    parts = ["[" * 300, Hole(), "]" * 299]
    v = check(j, parts, timeout=1e-6)
    assert v.completable is False and v.reason == "timeout" and not v.exact
    assert is_completable(j, parts, timeout=1e-6) is False
    assert is_completable(j, parts)  # the same canvas, given time, is completable


def test_timeout_never_accepts():
    rng = random.Random(3)
    for name in ("json", "arith"):
        for _ in range(40):
            parts = random_canvas(name, rng)
            fast = check(grammar(name), parts, timeout=1e-4)
            if fast.completable:
                assert check(grammar(name), parts).completable
            else:
                assert fast.reason in ("timeout", "empty")


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_tokens": -1}, InfillError),
        ({"min_tokens": -2}, InfillError),
        ({"max_tokens": 1, "min_tokens": 2}, InfillError),
        ({"max_tokens": 1.5}, InfillError),
        ({"max_tokens": True}, InfillError),
        ({"vocab": ["a"]}, InfillError),
    ],
    ids=["negative", "negative-min", "min-over-max", "float", "bool", "vocab-without-budget"],
)
def test_bad_holes(kwargs, error):
    with pytest.raises(error):
        Hole(**kwargs)


@pytest.mark.parametrize(
    "parts, error",
    [
        ([b"\xff"], InfillError),  # never UTF-8
        ([b'"\xc3'], InfillError),  # truncated character at the end of the document
        ([b"\xa9", Hole()], InfillError),  # continuation byte at the very start
        ([b'["\xc3\x28"]'], InfillError),  # bad continuation inside
        (["\ud800"], InfillError),  # lone surrogate
        ("not a list", TypeError),
        ([1, Hole()], TypeError),
        (["[", Hole], TypeError),
        ([Hole(max_tokens=1, vocab=[3])], VocabularyError),
        ([Hole(max_tokens=1, vocab=[""])], VocabularyError),
    ],
    ids=["ff", "truncated-end", "continuation-start", "bad-continuation", "surrogate", "str", "int-part", "class",
         "int-token", "empty-vocab"],
)
def test_bad_parts(parts, error):
    with pytest.raises(error):
        check(grammar("json"), parts)


def test_bad_input_messages_name_the_part():
    with pytest.raises(InfillError, match=r"part 2"):
        check(grammar("json"), ["[", Hole(), b"\xff"])
    with pytest.raises(InfillError, match=r"max_tokens must be >= 0"):
        Hole(max_tokens=-3)


def test_continuation_bytes_after_a_hole_are_fine():
    assert is_completable(grammar("json"), ['["', Hole(), b"\xa9\"]"])


@pytest.mark.parametrize("regex", ["x", "[^\\x00-\\U0010ffff]"], ids=["no-finite-derivation", "dead-terminal"])
def test_empty_grammar(regex):
    from tokensieve.grammar import Rule, Terminal

    body = (0, -1) if regex == "x" else (-1,)  # start -> start "x"  /  start -> <terminal with no lexeme>
    g = ts.Grammar((Terminal("X", regex),), ("start",), (Rule(0, body),), 0)
    with pytest.raises(GrammarError, match="empty language"):
        is_completable(g, [Hole()])


def test_not_a_grammar():
    with pytest.raises(TypeError):
        is_completable("start: 'a'", [Hole()])


def test_limits():
    j = grammar("json")
    with pytest.raises(LimitExceededError, match="canvas size"):
        is_completable(j, ["[" * 200, Hole()], limits=Limits(max_nodes=100))
    with pytest.raises(LimitExceededError, match="Earley items"):
        is_completable(j, ["[" * 300, Hole(), "]" * 299], limits=Limits(max_items=10_000))


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"timeout": -1}, {"timeout": "1"}, {"undecided": "maybe"}],
                         ids=["zero", "negative", "str", "policy"])
def test_bad_options(kwargs):
    with pytest.raises(ValueError):
        is_completable(grammar("json"), [Hole()], **kwargs)


def test_limits_type():
    with pytest.raises(TypeError):
        is_completable(grammar("json"), [Hole()], limits={"max_nodes": 3})


def test_hole_repr():
    assert re.fullmatch(r"Hole\(max_tokens=2, min_tokens=1, vocab=\.\.\.\)",
                        repr(Hole(max_tokens=2, min_tokens=1, vocab=["a"])))
