"""Number languages: ranges, integers, multipleOf and consts, checked against Decimal arithmetic."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve import UnsupportedFeatureError
from tokensieve.schema import _automata as A
from tokensieve.schema._numbers import (ALL_NUMBERS, INTEGERS, const_lang, integers, multiple_of_lang, range_lang)


def regex_of(lang) -> re.Pattern:
    return re.compile(A.to_regex(lang.ast(), A.plain_set))


def texts_of(value: Decimal):
    """Several spellings (all without exponent) of one value."""
    base = format(value, "f")
    out = {base}
    if "." in base:
        out.add(base + "0")
        out.add(base.rstrip("0").rstrip(".") if base.rstrip("0").endswith(".") else base.rstrip("0"))
    else:
        out.add(base + ".0")
        out.add(base + ".000")
    if value == 0:
        out.update({"-0", "-0.0", "0.00"})
    return {t for t in out if re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", t)}


decimals = st.one_of(
    st.integers(-10**6, 10**6).map(Decimal),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-5, max_value=5, places=6, allow_nan=False, allow_infinity=False),
    st.integers(-10**30, 10**30).map(Decimal),
)
bounds = st.one_of(st.none(), decimals)


@settings(max_examples=120, deadline=None)
@given(lo=bounds, hi=bounds, lo_strict=st.booleans(), hi_strict=st.booleans(),
       values=st.lists(decimals, min_size=1, max_size=12))
def test_range_matches_arithmetic(lo, hi, lo_strict, hi_strict, values):
    lang = range_lang(lo, lo_strict, hi, hi_strict)
    rx = None if lang.is_empty() else regex_of(lang)
    probes = list(values) + [v for v in (lo, hi) if v is not None]
    for v in probes:
        expected = (lo is None or (v > lo if lo_strict else v >= lo)) and \
                   (hi is None or (v < hi if hi_strict else v <= hi))
        for text in texts_of(v):
            got = bool(rx and rx.fullmatch(text))
            assert got == expected, (lo, lo_strict, hi, hi_strict, text)
            assert lang.matches(text) == expected


@settings(max_examples=80, deadline=None)
@given(q=st.one_of(st.integers(1, 40).map(Decimal), st.sampled_from(["0.5", "1.5", "0.01", "0.25", "2.5", "0.0001",
                                                                      "1e-8", "0.3", "12"]).map(Decimal)),
       values=st.lists(decimals, min_size=1, max_size=10), k=st.integers(-50, 50))
def test_multiple_of_matches_arithmetic(q, values, k):
    lang = multiple_of_lang(q)
    for v in values + [q * k]:
        with localcontext() as ctx:
            ctx.prec = 200
            expected = v % q == 0
        for text in texts_of(v):
            assert lang.matches(text) == expected, (q, text)


@settings(max_examples=100, deadline=None)
@given(c=decimals, values=st.lists(decimals, min_size=1, max_size=8))
def test_const_matches_equality(c, values):
    rx = regex_of(const_lang(c))
    for v in values + [c]:
        for text in texts_of(v):
            assert bool(rx.fullmatch(text)) == (v == c), (c, text)


@pytest.mark.parametrize("text,draft,ok", [
    ("0", 2020, True), ("-0", 2020, True), ("12", 2020, True), ("1.0", 2020, True), ("1.000", 2020, True),
    ("1.5", 2020, False), ("-3.0", 2020, True), ("1.0", 4, False), ("7", 4, True), ("01", 2020, False),
])
def test_integer_language(text, draft, ok):
    assert integers(draft).matches(text) is ok


@pytest.mark.parametrize("text", ["1e5", "1E5", "-2.5e-3", "0e0"])
def test_exponents_are_outside_the_universe(text):
    """Documented: numbers are generated without exponents."""
    assert not ALL_NUMBERS.matches(text) and not INTEGERS.matches(text)


@pytest.mark.parametrize("text", ["01", "1.", ".5", "+1", "--1", "1.2.3", "", "-"])
def test_number_syntax_is_json(text):
    assert not ALL_NUMBERS.matches(text)


def test_huge_multiple_of_is_refused():
    with pytest.raises(UnsupportedFeatureError) as e:
        multiple_of_lang(Decimal("0.123456789"), "/multipleOf")
    assert e.value.feature == "multipleOf" and e.value.path == "/multipleOf"


def test_complement_stays_in_the_universe():
    lang = range_lang(Decimal(0), False, None, False).complement()
    assert lang.matches("-1") and lang.matches("-0.5") and not lang.matches("0") and not lang.matches("-0")
    assert not lang.matches("1e5")
