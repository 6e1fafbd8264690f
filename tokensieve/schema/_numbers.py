"""JSON numbers as regular languages of number texts, built with digit automata.

**Semantics.** A text is accepted only when it is valid under both readings of a JSON number that validators
use. The *float reading* is python-jsonschema after ``json.loads``: a text with a fraction or an exponent becomes
an IEEE double (rounded to nearest, ties to even; ``1e400`` becomes ``inf``), a plain integer text stays an exact
``int``, and schema numbers are read the same way. The *decimal reading* is exact arithmetic on the digits
written (python-jsonschema with ``parse_float=Decimal``; schema floats by their shortest ``repr``). For
``minimum``/``maximum``/``exclusive*``, ``type: integer`` and ``const``/``enum`` the texts valid under both form
a regular language, built exactly: ``exclusiveMaximum: 1`` rejects ``0.99999999999999999`` (it parses to
``1.0``), ``type: integer`` accepts ``1.0``, ``1e2`` and ``1.5e1`` but neither ``1e-1`` nor ``1e400`` (``inf``
is not an integer), ``maximum: 1e23`` rejects the integer text ``100000000000000000000000`` (above the double
``1e23``) but accepts ``1e23``, ``minimum: 0`` rejects ``-1e-400`` (it parses to ``-0.0``, but is negative).

**Exponents.** ``{"type": "number"}`` alone accepts the whole JSON number grammar. Under a bound or ``const``
an exponent text is accepted when its mantissa is normalized: one nonzero digit before the point (``1.5e3``,
``2E-7``, ``1e+16``: what Python, JavaScript and Java print) or zero (``0e5``). Unnormalized mantissas
(``12e3``, ``0.5e1``) are rejected there, because comparing a mantissa's digit count with an unbounded exponent
is not regular; a bound of exactly 0 (``minimum: 0``) compares nothing and accepts them. ``type: integer``
accepts ``d.F e k`` when the digits of F up to its last nonzero one are at most ``k`` and at most
:data:`MAX_EXP_FRACTION_DIGITS` (16: every double's shortest repr). Exponent digits are not bounded
(``1e0000000001`` is valid JSON). Exponent texts are kept as pieces ``(sign, mantissa language, exponent
interval)`` (:class:`NumLang`), so combining constraints never turns an exponent automaton back into a regex.

**Precision.** Thresholds are exact on texts with at most :data:`MAX_DIGITS` integer and
:data:`MAX_FRACTION_DIGITS` fraction digits (exponent texts: mantissas of at most MAX_DIGITS digits). A threshold
needing more digits (the float reading's rounding boundaries: ``exclusiveMinimum: 0`` means "above 2**-1075",
whose expansion has 751 significant digits) moves to the nearest such text on the safe side, so a longer text
within one float rounding step of a bound may be rejected although valid; such a language has ``gaps``.

**Departures** (each documented in ``docs/schema_support.md``): ``multipleOf`` follows the decimal reading and
has no exponent texts. python-jsonschema's float division rejects about a third of the multiples of ``0.1``
(``0.3``, ``10.1``; its maintainers recommend ``parse_float=Decimal``) and the specification defines
``multipleOf`` on exact values; a digit bound that would make the two readings agree beyond 2**53 has no small
regex in product with a modulo automaton. For the same reason ``type: integer`` accepts integral fraction texts
of 309 or more digits (``1000…0.0``), which the float reading turns into ``inf``.

**Complements** (``not``, overlapping ``oneOf``, ``if``/``else``) contain no exponent texts; they are taken
within all exponent-free texts, or, for a language with gaps, within those with at most MAX_FRACTION_DIGITS
(and MAX_DIGITS integer) digits, where it is exact.
"""

from __future__ import annotations

import math
import re
import struct
import sys
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, InvalidOperation
from fractions import Fraction

from .._errors import LimitExceededError, SchemaError, UnsupportedFeatureError
from . import _automata as A
from ._lang import Lang

__all__ = ["ALL_NUMBERS", "INTEGERS", "NumLang", "integers", "range_lang", "bounds_lang", "multiple_of_lang",
           "const_lang", "union", "to_decimal", "number_texts", "exact_normalize", "MAX_MULTIPLE_STATES",
           "MAX_DIGITS", "MAX_FRACTION_DIGITS", "MAX_EXP_FRACTION_DIGITS"]

MAX_MULTIPLE_STATES = 4000
MAX_DIGITS = 64
MAX_FRACTION_DIGITS = 64
MAX_EXP_FRACTION_DIGITS = 16  # every double's shortest repr fits

_DIG = A.lit(A.cs_norm([(0x30, 0x39)]))
_NZ = A.lit(A.cs_norm([(0x31, 0x39)]))
_DOT = A.char(".")
_MINUS = A.char("-")
_ZERO = A.char("0")
_E = A.lit(A.cs_chars("eE"))
_INT = A.alt(_ZERO, A.cat(_NZ, A.star(_DIG)))
_FRAC_REQ = A.cat(_DOT, A.rep(_DIG, 1, None))
_FRAC_ANY = A.opt(_FRAC_REQ)
_ZEROS_FRAC = A.cat(_DOT, A.rep(_ZERO, 1, None))
_EXPONENT = A.cat(_E, A.opt(A.lit(A.cs_chars("+-"))), A.rep(_DIG, 1, None))
_ANY_MANT = A.cat(_INT, _FRAC_ANY)
_ZERO_MANT = A.cat(_ZERO, A.opt(_ZEROS_FRAC))
_NZ_ANY_MANT = A.alt(A.cat(_NZ, A.star(_DIG), _FRAC_ANY),
                     A.cat(_ZERO, _DOT, A.star(_ZERO), _NZ, A.star(_DIG)))
_NORM_MANT = A.cat(_NZ, _FRAC_ANY)
_MODES = ("int", "fix")  # exponent-free text classes: integer texts, fraction texts
_ALL_OF = {"int": _INT, "fix": A.cat(_INT, _FRAC_REQ)}


_ALL_FIXED = Lang(ast=A.cat(A.opt(_MINUS), _ANY_MANT), is_all=True)
# Complements are taken within the exponent-free texts on which the language is exact, by its ``gaps`` level:
# 0 all of them, 1 those with at most MAX_FRACTION_DIGITS fraction digits (a threshold was rounded in its
# fraction), 2 those with at most MAX_DIGITS integer digits too (a threshold had more integer digits).
_FRAC_UPTO = A.opt(A.cat(_DOT, A.rep(_DIG, 1, MAX_FRACTION_DIGITS)))
_UNIVERSES = (Lang(ast=A.cat(A.opt(_MINUS), _ANY_MANT)),
              Lang(ast=A.cat(A.opt(_MINUS), _INT, _FRAC_UPTO), gaps=1),
              Lang(ast=A.cat(A.opt(_MINUS), A.alt(_ZERO, A.cat(_NZ, A.rep(_DIG, 0, MAX_DIGITS - 1))), _FRAC_UPTO),
                   gaps=2))
_FIXED_TEXTS = _UNIVERSES[0]
_NO_FIXED = Lang(ast=A.EMPTY, universe=_FIXED_TEXTS)

# mantissa languages of exponent texts; every other mantissa language built here is within _M_NORM
_M_ANY = Lang(ast=_ANY_MANT, is_all=True)
_M_NZANY = Lang(ast=_NZ_ANY_MANT)
_M_NORM = Lang(ast=_NORM_MANT)
_M_ZERO = Lang(ast=_ZERO_MANT)
MAX_EXP_PIECES = 2000


def _mant_and(a: Lang, b: Lang) -> Lang | None:
    """Intersection of two mantissa languages (None when empty), skipping the product in the common cases."""
    if a is b or b is _M_ANY:
        return a
    if a is _M_ANY:
        return b
    if a is _M_ZERO or b is _M_ZERO:
        return None  # every other mantissa language is nonzero
    if a in (_M_NZANY, _M_NORM) and b in (_M_NZANY, _M_NORM):
        return _M_NORM
    if a in (_M_NZANY, _M_NORM):
        return b
    if b in (_M_NZANY, _M_NORM):
        return a
    out = a & b
    return None if out.is_empty() else out


def _interval_and(a1, b1, a2, b2):
    lo = a2 if a1 is None else a1 if a2 is None else max(a1, a2)
    hi = b2 if b1 is None else b1 if b2 is None else min(b1, b2)
    return None if lo is not None and hi is not None and lo > hi else (lo, hi)


class NumLang(Lang):
    """A language of number texts: ``fixed``, a :class:`Lang` of the texts without an exponent, and ``pieces``,
    the exponent texts as a union of ``(negative, mantissa Lang, lowest exponent, highest exponent)`` (None:
    unbounded). Intersections go piece by piece (exponent intervals intersect exactly, mantissa languages
    are small), so they never need a product automaton over exponent texts or its conversion back to a regex.
    ``gaps`` is 0, 1 or 2 (see the complement universes above)."""

    __slots__ = ("fixed", "pieces")

    def __init__(self, fixed: Lang, pieces=(), gaps: int = 0, is_all: bool = False):
        self.fixed = fixed
        self.pieces = tuple(pieces)
        self._ast = None
        self._dfa = None
        self.universe = None
        self.is_all = is_all
        self.co_names = None
        self.gaps = max(int(gaps), int(fixed.gaps))
        if len(self.pieces) > MAX_EXP_PIECES:
            raise LimitExceededError("number constraints", f"combining number constraints gives more than "
                                     f"{MAX_EXP_PIECES} exponent alternatives")

    def ast(self):
        if self._ast is None:
            parts = [] if self.fixed.is_empty() else [self.fixed.ast()]
            signs: dict = {}  # a piece present with both signs is written once, with "-?"
            for neg, mant, lo, hi in self.pieces:
                signs.setdefault((id(mant), lo, hi), [mant, set()])[1].add(neg)
            for (_, lo, hi), (mant, negs) in signs.items():
                sign = A.opt(_MINUS) if len(negs) == 2 else _MINUS if True in negs else A.EPS
                parts.append(A.cat(sign, mant.ast(), _exp_range(lo, hi)))
            self._ast = A.alt(*parts)
        return self._ast

    def dfa(self) -> A.DFA:
        if self._dfa is None:
            self._dfa = A.dfa_from_nfa(A.nfa_from_ast(self.ast()))
        return self._dfa

    def has_ast(self) -> bool:
        return True

    def is_empty(self) -> bool:
        return not self.pieces and self.fixed.is_empty()

    def matches(self, text: str) -> bool:
        m = _EXP_TEXT.fullmatch(text)
        if m is None:
            return self.fixed.matches(text)
        neg, k = m.group(1) == "-", int(m.group(3))
        return any(n == neg and (lo is None or k >= lo) and (hi is None or k <= hi) and mant.matches(m.group(2))
                   for n, mant, lo, hi in self.pieces)

    def __and__(self, other: "Lang") -> "Lang":
        if self.is_all:
            return other
        if other.is_all:
            return self
        pieces = []
        for n1, m1, a1, b1 in self.pieces:
            for n2, m2, a2, b2 in other.pieces:
                if n1 != n2:
                    continue
                iv = _interval_and(a1, b1, a2, b2)
                mant = None if iv is None else _mant_and(m1, m2)
                if mant is not None:
                    pieces.append((n1, mant) + iv)
        return NumLang(self.fixed & other.fixed, _dedupe(pieces), max(self.gaps, other.gaps))

    def __or__(self, other: "Lang") -> "Lang":
        if self.is_all:
            return self
        if other.is_all:
            return other
        return NumLang(self.fixed | other.fixed, _dedupe(self.pieces + other.pieces), max(self.gaps, other.gaps))

    def __sub__(self, other: "Lang") -> "Lang":
        if other.is_all:
            return NumLang(_NO_FIXED)
        # exponent pieces minus exponent pieces is not needed (complements stay exponent-free): drop them
        return NumLang(self.fixed - other.fixed, () if other.pieces else self.pieces, max(self.gaps, other.gaps))

    def complement(self) -> "Lang":
        if self.is_all:
            return NumLang(_NO_FIXED)
        return NumLang(_UNIVERSES[self.gaps] - self.fixed, (), self.gaps)


def _dedupe(pieces) -> tuple:
    seen, out = set(), []
    for p in pieces:
        key = (p[0], id(p[1]), p[2], p[3])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return tuple(out)


def _all_pieces(mant: Lang, lo=None, hi=None) -> tuple:
    return ((False, mant, lo, hi), (True, mant, lo, hi))


_EXP_TEXT = re.compile(r"(-?)((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)[eE]([+-]?[0-9]+)")
ALL_NUMBERS = NumLang(_ALL_FIXED, _all_pieces(_M_ANY), is_all=True)


# ---------------------------------------------------------------------------------------------- exact values
def to_decimal(value, path: str = "") -> Decimal:
    """A schema number (int/float) as an exact Decimal (floats via their shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise SchemaError(f"expected a number, got {value!r}", path=path)
    try:
        d = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(repr(value))
    except InvalidOperation:
        raise SchemaError(f"invalid number {value!r}", path=path) from None
    if not d.is_finite():
        raise SchemaError(f"number {value!r} is not finite", path=path)
    return d


def exact_normalize(d: Decimal) -> Decimal:
    """Strip trailing zeros without rounding (Decimal.normalize rounds to the context precision)."""
    sign, digits, exp = d.as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    if digits == [0]:
        return Decimal(0)
    return Decimal((sign, tuple(digits), exp))


def number_texts(value) -> list[str]:
    """JSON texts of a schema value, each read like the value itself (an ``int`` as an integer text, a float
    with a fraction or exponent); membership of any of them decides membership of the value."""
    d = to_decimal(value)
    if isinstance(value, float):
        fixed = format(d, "f")
        return [repr(value)] + ([fixed if "." in fixed else fixed + ".0"] if "e" in repr(value) else [])
    if isinstance(value, int) or d.as_tuple().exponent == 0:
        return [str(int(d))]
    fixed = format(d, "f")  # a Decimal spelled with a fraction or exponent reads as a float
    return [fixed if "." in fixed else fixed + ".0"]


def _dec(x: Fraction) -> Decimal:
    """A terminating fraction as an exact Decimal."""
    den = x.denominator
    twos = (den & -den).bit_length() - 1
    rest, fives = den >> twos, 0
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    assert rest == 1, "not a terminating decimal"
    k = max(twos, fives)
    return Decimal(f"{x.numerator * (10 ** k // den)}E-{k}")


def _split(c: Decimal) -> tuple[str, str]:
    """Integer digits (no leading zeros) and fraction digits (no trailing zeros) of ``|c|``."""
    text = format(c.copy_abs(), "f")  # copy_abs: exact (abs() would round to the context precision)
    ip, _, fp = text.partition(".")
    ip = ip.lstrip("0") or "0"
    return ip, fp.rstrip("0")


def _sci(c: Decimal) -> tuple[int, int, str]:
    """``c > 0`` as ``d.F × 10**E``: (E, d, F without trailing zeros)."""
    _, digits, exp = exact_normalize(c).as_tuple()
    return len(digits) - 1 + exp, digits[0], "".join(map(str, digits[1:]))


# ---------------------------------------------------------------------------------------------- the float reading
_MAXD = sys.float_info.max
_F_MAXD = Fraction(_MAXD)
_OVF = (_F_MAXD + Fraction(2) ** 1024) / 2  # 2**1024 - 2**970: from here on a text parses to inf (ties to inf)


def _even(x: float) -> bool:
    return not struct.unpack("<Q", struct.pack("<d", x))[0] & 1


def _float_lower(b: Fraction, strict: bool) -> tuple[Fraction, bool]:
    """``(t, t_strict)`` such that a text of value v parses to a double ``>= b`` (``> b`` when strict) exactly
    when ``v >= t`` (``v > t`` when t_strict)."""
    if b > _F_MAXD or (strict and b == _F_MAXD):
        return _OVF, False  # only inf qualifies
    if b < -_F_MAXD:
        g = -_MAXD
    else:
        g = float(b)  # correctly rounded
        if Fraction(g) < b or (strict and Fraction(g) == b):
            g = math.nextafter(g, math.inf)
    if g == -_MAXD:
        return -_OVF, True  # -OVF itself parses to -inf
    p = math.nextafter(g, -math.inf)
    # the rounding boundary between p and g; a text exactly on it goes to the one with an even significand
    return (Fraction(p) + Fraction(g)) / 2, not _even(g)


def _float_upper(b: Fraction, strict: bool) -> tuple[Fraction, bool]:
    t, s = _float_lower(-b, strict)  # rounding is symmetric
    return -t, s


def _tighter(a, b, lower: bool):
    if a is None:
        return b
    if b is None or a[0] == b[0]:
        return a if b is None else (a[0], a[1] or b[1])
    return a if (a[0] > b[0]) == lower else b


def _python_value(value, path: str = ""):
    """The number python-jsonschema sees for a schema number: ints exact, everything written with a fraction or
    exponent as a double (a Decimal is read as the JSON literal it spells)."""
    if isinstance(value, Decimal):
        if value.as_tuple().exponent == 0:
            return int(value)
        f = float(value)
        if math.isinf(f):
            raise SchemaError(f"number {value} is not finite as a double", path=path)
        return f
    return value


def _bound(value, strict: bool, lower: bool, path: str = ""):
    """Thresholds ``(Decimal, strict)`` on the value of integer texts and of fraction/exponent texts that
    implement one bound under both readings."""
    written = to_decimal(value, path)
    exact = Fraction(_python_value(value, path))
    int_t = _tighter((written, strict), (_dec(exact), strict), lower)  # python compares an int exactly
    ft, fs = (_float_lower if lower else _float_upper)(exact, strict)
    return int_t, _tighter((written, strict), (_dec(ft), fs), lower)


# ---------------------------------------------------------------------------------------------- digit automata
def _drange(lo: int, hi: int):
    return A.lit(((0x30 + lo, 0x30 + hi),)) if lo <= hi else A.EMPTY


def _fixed_digits(n: int):
    return A.rep(_DIG, n, n)


def _frac(mode: str):
    return A.EPS if mode == "int" else _FRAC_REQ if mode == "fix" else _FRAC_ANY


def _runs(cf: str):
    """Split digits into runs: maximal zero runs and single nonzero digits, as ``(digit, length)``."""
    out, j = [], 0
    while j < len(cf):
        k = j + 1
        if cf[j] == "0":
            while k < len(cf) and cf[k] == "0":
                k += 1
        out.append((int(cf[j]), k - j))
        j = k
    return out


def _frac_ge(cf: str, strict: bool, mode: str = "any"):
    """Fraction part (with its dot) making ``I.F >= I.cf`` (``>`` when strict). Built nested from the last
    digit (``d (rest) | [d+1-9] \\d*``), so its size is linear in the digits of cf."""
    if mode == "int":
        return A.EPS if not cf and not strict else A.EMPTY
    if not cf and not strict:
        return _FRAC_ANY if mode == "any" else _FRAC_REQ
    tail = A.cat(A.star(_DIG), _NZ, A.star(_DIG)) if strict else A.star(_DIG)
    for d, z in reversed(_runs(cf)):
        if d == 0:  # "0"*z then the rest, or a nonzero digit earlier in the run
            tail = A.alt(A.cat(A.rep(_ZERO, z, z), tail), A.cat(A.rep(_ZERO, 0, z - 1), _NZ, A.star(_DIG)))
        else:
            tail = A.alt(A.cat(_drange(d, d), tail), A.cat(_drange(d + 1, 9), A.star(_DIG)))
    return A.cat(_DOT, tail)


def _frac_le(cf: str, strict: bool, mode: str = "any"):
    """Fraction part (with its dot, or none where the mode allows) making ``I.F <= I.cf`` (``<`` when
    strict); nested like :func:`_frac_ge`."""
    if mode == "int":
        return A.EPS if cf or not strict else A.EMPTY
    if not cf:
        if strict:
            return A.EMPTY
        return A.opt(_ZEROS_FRAC) if mode == "any" else _ZEROS_FRAC
    tail = A.EMPTY if strict else A.star(_ZERO)
    runs = _runs(cf)
    pos = len(cf)
    for d, z in reversed(runs):
        pos -= z
        # F may stop before this run (when at least one digit is written: the value is then below cf)
        stop = A.EPS if pos >= 1 else A.EMPTY
        if d == 0:
            tail = A.alt(stop, A.rep(_ZERO, 1, z - 1) if z >= 2 else A.EMPTY, A.cat(A.rep(_ZERO, z, z), tail))
        else:
            tail = A.alt(stop, A.cat(_drange(0, d - 1), A.star(_DIG)), A.cat(_drange(d, d), tail))
    body = A.cat(_DOT, tail)
    return A.opt(body) if mode == "any" else body


def _unsigned_ge(c: Decimal, strict: bool, mode: str = "any"):
    """Unsigned texts without exponent (of the mode's class) with value >= c (> c when strict), c >= 0."""
    ci, cf = _split(c)
    n = len(ci)
    frac = _frac(mode)
    tail = _frac_ge(cf, strict, mode)
    if ci == "0":
        return A.alt(A.cat(_NZ, A.star(_DIG), frac), A.cat(_ZERO, tail))
    for j in range(n - 1, -1, -1):  # integer digits equal so far, or one larger here
        d = int(ci[j])
        tail = A.alt(A.cat(_drange(d, d), tail), A.cat(_drange(d + 1, 9), _fixed_digits(n - j - 1), frac))
    return A.alt(A.cat(_NZ, A.rep(_DIG, n, None), frac), tail)


def _unsigned_le(c: Decimal, strict: bool, mode: str = "any"):
    """Unsigned texts without exponent (of the mode's class) with value <= c (< c when strict), c >= 0."""
    ci, cf = _split(c)
    n = len(ci)
    frac = _frac(mode)
    tail = _frac_le(cf, strict, mode)
    if ci == "0":
        return A.cat(_ZERO, tail)
    for j in range(n - 1, -1, -1):
        d = int(ci[j])
        tail = A.alt(A.cat(_drange(d, d), tail),
                     A.cat(_drange(1 if j == 0 else 0, d - 1), _fixed_digits(n - j - 1), frac))
    shorter = [A.cat(_ZERO, frac)] + ([A.cat(_NZ, A.rep(_DIG, 0, n - 2), frac)] if n >= 2 else [])
    return A.alt(*shorter, tail)


def _fixed_cmp(s: str, ge: bool):
    """Digit strings of length ``len(s)`` that are >= s (or <= s)."""
    alts = [A.string(s)]
    for j, ch in enumerate(s):
        d = int(ch)
        rng = _drange(d + 1, 9) if ge else _drange(0, d - 1)
        if rng != A.EMPTY:
            alts.append(A.cat(A.string(s[:j]), rng, _fixed_digits(len(s) - j - 1)))
    return A.alt(*alts)


def _uint_range(lo: int, hi: int | None):
    """Canonical decimal integers (no leading zeros) in ``[lo, hi]``; ``hi`` None is unbounded."""
    if hi is None:
        return _unsigned_ge(Decimal(lo), False, "int")
    parts = []
    a = lo
    while a <= hi:
        n = len(str(a))
        top = min(hi, 10 ** n - 1)
        sa, sb = str(a), str(top)
        p = 0
        while p < n and sa[p] == sb[p]:
            p += 1
        if p == n:
            parts.append(A.string(sa))
        else:
            da, db = int(sa[p]), int(sb[p])
            parts.append(A.cat(A.string(sa[:p]), A.alt(
                A.cat(A.char(sa[p]), _fixed_cmp(sa[p + 1:], True)),
                A.cat(_drange(da + 1, db - 1), _fixed_digits(n - p - 1)),
                A.cat(A.char(sb[p]), _fixed_cmp(sb[p + 1:], False)))))
        a = 10 ** n
    return A.alt(*parts)


def _exp_range(lo: int | None, hi: int | None):
    """Exponent texts ``[eE][+-]?digits`` whose value is in ``[lo, hi]`` (None: unbounded)."""
    parts = []
    a = 0 if lo is None else max(lo, 0)
    if hi is None or hi >= a:
        parts.append(A.cat(A.opt(A.char("+")), A.star(_ZERO), _uint_range(a, hi)))
    if lo is None or lo <= 0:
        b = 0 if hi is None else max(-hi, 0)
        top = None if lo is None else -lo
        if top is None or top >= b:
            parts.append(A.cat(_MINUS, A.star(_ZERO), _uint_range(b, top)))
    return A.cat(_E, A.alt(*parts))


def _mantissa_cmp(d: int, cf: str, strict: bool, ge: bool) -> Lang:
    """Normalized mantissas ``d'.F'`` compared with ``d.cf``."""
    if ge:
        return Lang(ast=A.alt(A.cat(_drange(d + 1, 9), _FRAC_ANY), A.cat(_drange(d, d), _frac_ge(cf, strict))))
    return Lang(ast=A.alt(A.cat(_drange(1, d - 1), _FRAC_ANY), A.cat(_drange(d, d), _frac_le(cf, strict))))


def _exp_pieces(t: Decimal, strict: bool, ge: bool, neg: bool) -> list:
    """Exponent pieces of the unsigned texts with value >= t (ge) or <= t (``>``/``<`` when strict)."""
    if ge and (t < 0 or (t == 0 and not strict)):
        return [(neg, _M_ANY, None, None)]
    if not ge and (t < 0 or (t == 0 and strict)):
        return []
    if t == 0:  # > 0 or <= 0: no magnitude to compare, any mantissa spelling works
        return [(neg, _M_NZANY if ge else _M_ZERO, None, None)]
    if len(exact_normalize(t).as_tuple().digits) > MAX_DIGITS:
        t, strict = (_CEIL if ge else _FLOOR).plus(t), False
    e, d, cf = _sci(t)
    if ge:  # exponent above e: any normalized mantissa; exponent e: the mantissa decides
        return [(neg, _mantissa_cmp(d, cf, strict, True), e, e), (neg, _M_NORM, e + 1, None)]
    return [(neg, _M_ZERO, None, None), (neg, _mantissa_cmp(d, cf, strict, False), e, e),
            (neg, _M_NORM, None, e - 1)]


# ---------------------------------------------------------------------------------------------- thresholds
_CEIL = Context(prec=MAX_DIGITS, rounding=ROUND_CEILING)
_FLOOR = Context(prec=MAX_DIGITS, rounding=ROUND_FLOOR)


def _grid(mode: str, t: Decimal, strict: bool, lower: bool):
    """Round a threshold ``0 <= t < 10**MAX_DIGITS`` on the safe side to at most MAX_FRACTION_DIGITS fraction
    digits (gaps level 1); integer texts compare with a whole number. Returns ``((t', strict'), gaps level)``."""
    ci, cf = _split(t)
    level = 0
    if mode == "fix" and len(cf) > MAX_FRACTION_DIGITS:
        x = Fraction(t) * 10 ** MAX_FRACTION_DIGITS
        t = _dec(Fraction(math.ceil(x) if lower else math.floor(x), 10 ** MAX_FRACTION_DIGITS))
        strict, level = False, 1
    if mode == "int":
        x = Fraction(t)
        if lower:
            g = math.floor(x) + 1 if strict else math.ceil(x)
        else:
            g = math.ceil(x) - 1 if strict else math.floor(x)
        t, strict = Decimal(g), False
    return (t, strict), level


def _fixed_side(mode: str, t: Decimal, strict: bool, ge: bool):
    """Unsigned exponent-free texts of one class with value >= t (ge) or <= t; returns (ast, gaps level)."""
    if ge and (t < 0 or (t == 0 and not strict)):
        return _ALL_OF[mode], 0
    if not ge and (t < 0 or (t == 0 and strict)):
        return A.EMPTY, 0
    if len(_split(t)[0]) > MAX_DIGITS:
        # a huge threshold: exact on the texts with at most MAX_DIGITS integer digits, all of which are below it
        return (A.EMPTY if ge else A.cat(A.alt(_ZERO, A.cat(_NZ, A.rep(_DIG, 0, MAX_DIGITS - 1))), _frac(mode))), 2
    (t, strict), level = _grid(mode, t, strict, ge)
    if t < 0:  # an integer threshold below 0 after rounding: every (or no) unsigned text
        return (_ALL_OF[mode] if ge else A.EMPTY), level
    return (_unsigned_ge if ge else _unsigned_le)(t, strict, mode), level


def _side(th: dict, lower: bool) -> NumLang:
    """Signed texts satisfying one bound; ``th`` maps "int"/"fix"/"exp" to a threshold ``(Decimal, strict)``,
    or None for a class left unbounded."""
    alts, pieces, gaps = [], [], 0
    for mode in _MODES:
        if th[mode] is None:
            alts.append(A.cat(A.opt(_MINUS), _ALL_OF[mode]))
            continue
        t, strict = th[mode]
        # v >= t: "u" with u >= t, "-u" with u <= -t;  v <= t: "u" with u <= t, "-u" with u >= -t
        pos, g1 = _fixed_side(mode, t, strict, lower)
        neg, g2 = _fixed_side(mode, t.copy_negate(), strict, not lower)
        alts += [pos, A.cat(_MINUS, neg)]
        gaps = max(gaps, g1, g2)
    if th["exp"] is None:
        pieces = list(_all_pieces(_M_ANY))
    else:
        t, strict = th["exp"]
        pieces = _exp_pieces(t, strict, lower, False) + _exp_pieces(t.copy_negate(), strict, not lower, True)
    return NumLang(Lang(ast=A.alt(*alts), universe=_FIXED_TEXTS, gaps=gaps), pieces, gaps)


def _range_by_class(lo: dict | None, hi: dict | None) -> Lang:
    if lo is None and hi is None:
        return ALL_NUMBERS
    sides = [_side(th, is_lo) for th, is_lo in ((lo, True), (hi, False)) if th is not None]
    return sides[0] if len(sides) == 1 else sides[0] & sides[1]


_CLASSES = ("int", "fix", "exp")


def range_lang(lo: Decimal | None, lo_strict: bool, hi: Decimal | None, hi_strict: bool) -> Lang:
    """Number texts with ``lo <(=) value <(=) hi`` in exact arithmetic; None means unbounded."""
    return _range_by_class(None if lo is None else {m: (lo, lo_strict) for m in _CLASSES},
                           None if hi is None else {m: (hi, hi_strict) for m in _CLASSES})


_BOUNDS: dict[tuple, Lang] = {}  # bounds as written -> their language (schemas repeat the same few ranges)


def bounds_lang(lowers, uppers, path: str = "") -> Lang:
    """Number texts valid for schema bounds under both readings (module docstring).

    ``lowers``/``uppers`` are lists of ``(schema number, strict)``: ``minimum`` is ``(value, False)``,
    ``exclusiveMinimum`` ``(value, True)``. Raises SchemaError for a bound that is not a finite number.
    Languages are immutable and shared: one range repeated over a schema's 100 properties took 0.9 s."""
    # the float reading depends on how a number is written (1 vs 1.0), so the key keeps type and text
    key = tuple(tuple((type(v).__name__, repr(v), bool(st)) for v, st in side) for side in (lowers, uppers))
    hit = _BOUNDS.get(key)
    if hit is None:
        hit = _bounds_lang(lowers, uppers, path)
        if len(_BOUNDS) >= 4096:
            _BOUNDS.clear()
        _BOUNDS[key] = hit
    return hit


def _bounds_lang(lowers, uppers, path: str) -> Lang:
    out = []
    for bounds, lower in ((lowers, True), (uppers, False)):
        th = None
        for value, strict in bounds:
            it, ft = _bound(value, strict, lower, path)
            th = th or {m: None for m in _CLASSES}
            th = {"int": _tighter(th["int"], it, lower), "fix": _tighter(th["fix"], ft, lower),
                  "exp": _tighter(th["exp"], ft, lower)}
        out.append(th)
    return _range_by_class(*out)


# ---------------------------------------------------------------------------------------------- integers
def _integer_pieces() -> tuple:
    """Exponent texts with an integral, finite value. With exponent k, a mantissa ``d.F`` is integral when the
    digits of F up to its last nonzero one are at most k (at most MAX_EXP_FRACTION_DIGITS: comparing that count
    with an unbounded exponent is not regular); with exponent 308 the value must stay below 2**1024 - 2**970
    (above, the text parses to inf), and above 308 it never does."""
    L = MAX_EXP_FRACTION_DIGITS

    def upto(k):  # d, d.000, d.G0* with |G| <= k
        return A.cat(_NZ, A.opt(A.cat(_DOT, A.alt(A.rep(_ZERO, 1, None), A.cat(A.rep(_DIG, 1, k), A.star(_ZERO)))))) \
            if k else A.cat(_NZ, A.opt(_ZEROS_FRAC))

    pieces = [(_M_ZERO, None, None)] + [(Lang(ast=upto(k)), k, k) for k in range(L)] + [(Lang(ast=upto(L)), L, 307)]
    _, cf = _split(_dec(_OVF / Fraction(10) ** 308))
    cf = cf[:L].rstrip("0")  # with at most L fraction digits, "< OVF/1e308" is "<= these digits"
    g = []
    for j, ch in enumerate(cf):
        d = int(ch)
        if d > 0:
            g.append(A.cat(A.string(cf[:j]), _drange(0, d - 1), A.rep(_DIG, 0, L - j - 1)))
        if j >= 1:
            g.append(A.string(cf[:j]))
    g.append(A.string(cf))
    pieces.append((Lang(ast=A.cat(A.char("1"), A.opt(A.cat(_DOT, A.alt(*g), A.star(_ZERO))))), 308, 308))
    return tuple((neg,) + p for neg in (False, True) for p in pieces)


# A fraction text is an integer when its fraction is all zeros. Those with 309 or more integer digits parse to
# inf in the float reading; excluding them would need a digit counter, and every product of a counter with a
# multipleOf automaton has no small regex, so they are accepted (documented in the module docstring).
INTEGERS = NumLang(Lang(ast=A.cat(A.opt(_MINUS), _INT, A.opt(_ZEROS_FRAC)), universe=_FIXED_TEXTS),
                   _integer_pieces())
# Draft 4 counts only texts without a fraction part as integers (1.0 parses as a float there).
INTEGERS_NO_FRACTION = NumLang(Lang(ast=A.cat(A.opt(_MINUS), _INT), universe=_FIXED_TEXTS))


def integers(draft: int) -> Lang:
    return INTEGERS_NO_FRACTION if draft == 4 else INTEGERS


# ---------------------------------------------------------------------------------------------- const
def _representable(x: Fraction) -> bool:
    try:
        return Fraction(float(x)) == x
    except OverflowError:
        return False


def const_lang(value) -> Lang:
    """Texts equal to ``value`` under both readings (an integer text only when Python's ``==`` also holds)."""
    d = to_decimal(value)
    if d == 0:
        fixed = A.cat(A.opt(_MINUS), _ZERO, A.opt(_ZEROS_FRAC))
        return NumLang(Lang(ast=fixed, universe=_FIXED_TEXTS), _all_pieces(_M_ZERO))
    value = _python_value(value)
    ci, cf = _split(d)
    sign = _MINUS if d < 0 else A.EPS
    alts, pieces = [], []
    if not cf and Fraction(d) == Fraction(value):  # an int text is compared exactly with the schema value
        alts.append(A.cat(sign, A.string(ci)))
    if isinstance(value, float) or _representable(Fraction(d)):  # a float text parses to float(d)
        alts.append(A.cat(sign, A.string(ci), _DOT, A.string(cf), A.star(_ZERO)) if cf
                    else A.cat(sign, A.string(ci), _ZEROS_FRAC))
        e, lead, mf = _sci(d.copy_abs())
        mant = A.cat(A.char(str(lead)), _DOT, A.string(mf), A.star(_ZERO)) if mf \
            else A.cat(A.char(str(lead)), A.opt(_ZEROS_FRAC))
        pieces.append((d < 0, Lang(ast=mant), e, e))
    return NumLang(Lang(ast=A.alt(*alts), universe=_FIXED_TEXTS), pieces)


def union(langs) -> Lang:
    """The union of number languages (the empty language for none)."""
    out = NumLang(_NO_FIXED)
    for x in langs:
        out = out | x
    return out


# ---------------------------------------------------------------------------------------------- multipleOf
def multiple_of_lang(value, path: str = "") -> Lang:
    """Texts whose value is an integer multiple of ``value > 0`` (see the module docstring): a DFA tracking
    the scaled value modulo ``a`` where ``q = a / 10**s``."""
    q = exact_normalize(to_decimal(value, path))
    _, digits, exp = q.as_tuple()
    a = int("".join(map(str, digits)))
    if exp >= 0:
        a *= 10 ** exp
        s = 0
    else:
        s = -exp
    if a * (s + 3) > MAX_MULTIPLE_STATES:
        raise UnsupportedFeatureError("multipleOf", f"multipleOf {q} needs a modulo-{a} digit automaton with "
                                      f"about {a * (s + 3)} states (limit {MAX_MULTIPLE_STATES})", path=path)
    if a == 1 and s == 0:
        return INTEGERS  # sound under both readings, and it keeps the exponent spellings
    return NumLang(Lang(dfa=_multiple_dfa(a, s, q, path), universe=_FIXED_TEXTS))


def _multiple_dfa(a: int, s: int, q: Decimal, path: str) -> A.DFA:
    # states: 0 start, 1 after '-', 2 integer part "0"; then I(r), D(r), F(r,k), G(r) allocated below
    ids: dict = {}
    trans: list = []
    accept: list = []

    def sid(key) -> int:
        j = ids.get(key)
        if j is None:
            j = ids[key] = len(trans)
            trans.append([])
            accept.append(False)
        return j

    def ok(r: int, k: int) -> bool:
        return (r * 10 ** (s - k)) % a == 0

    start, minus, zero = sid("start"), sid("minus"), sid("zero")
    accept[zero] = ok(0, 0)
    work = []
    for src in (start, minus):
        if src == start:
            trans[start].append((ord("-"), ord("-"), minus))
        trans[src].append((0x30, 0x30, zero))
        for d in range(1, 10):
            key = ("I", d % a)
            new = key not in ids
            trans[src].append((0x30 + d, 0x30 + d, sid(key)))
            if new:
                work.append(key)
    trans[zero].append((ord("."), ord("."), sid(("D", 0))))
    work.append(("D", 0))
    seen = set(work)
    while work:
        key = work.pop()
        me = ids[key]
        kind, r = key[0], key[1]
        out = []
        if kind == "I":
            accept[me] = ok(r, 0)
            for d in range(10):
                out.append((d, ("I", (10 * r + d) % a)))
            out.append((".", ("D", r)))
        elif kind == "D":
            if s >= 1:
                for d in range(10):
                    out.append((d, ("F", (10 * r + d) % a, 1)))
            else:
                out.append((0, ("G", r)))
        elif kind == "F":
            k = key[2]
            accept[me] = ok(r, k)
            if k < s:
                for d in range(10):
                    out.append((d, ("F", (10 * r + d) % a, k + 1)))
            else:
                out.append((0, ("G", r)))
        else:  # G: beyond the scaled precision only zeros keep the value a multiple
            accept[me] = r % a == 0
            out.append((0, ("G", r)))
        for sym, tgt in out:
            c = ord(".") if sym == "." else 0x30 + sym
            trans[me].append((c, c, sid(tgt)))
            if tgt not in seen:
                seen.add(tgt)
                work.append(tgt)
        if len(trans) > MAX_MULTIPLE_STATES * 2:
            raise UnsupportedFeatureError("multipleOf", f"multipleOf {q} automaton too large", path=path)
    return A.DFA([tuple(sorted(t)) for t in trans], accept).minimize()
