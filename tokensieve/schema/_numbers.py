"""JSON numbers as regular languages of number texts, exact for ranges, integers, ``multipleOf`` and consts.

The universe is the JSON number texts **without an exponent**: ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?``. Exponent
forms (``1e5``, ``2.5E-3``) are never generated: with them, ranges and integrality are not regular (the
value of ``0.000…01e12`` depends on comparing a digit count with the exponent), and keeping one universe keeps
``not``/``oneOf`` complements exact. Within that universe every language here is value-closed: a text is in
it exactly when its numeric value satisfies the constraints (``1``, ``1.0`` and ``1.000`` alike; ``-0`` is 0).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .._errors import SchemaError, UnsupportedFeatureError
from . import _automata as A
from ._lang import Lang

__all__ = ["ALL_NUMBERS", "INTEGERS", "integers", "range_lang", "multiple_of_lang", "const_lang", "to_decimal",
           "number_text", "exact_normalize", "MAX_MULTIPLE_STATES"]

MAX_MULTIPLE_STATES = 4000

_DIG = A.lit(A.cs_norm([(0x30, 0x39)]))
_NZ = A.lit(A.cs_norm([(0x31, 0x39)]))
_DOT = A.char(".")
_MINUS = A.char("-")
_ZERO = A.char("0")
_INT = A.alt(_ZERO, A.cat(_NZ, A.star(_DIG)))
_FRAC_ANY = A.opt(A.cat(_DOT, A.rep(_DIG, 1, None)))
_UNSIGNED = A.cat(_INT, _FRAC_ANY)

ALL_NUMBERS = Lang(ast=A.cat(A.opt(_MINUS), _UNSIGNED), is_all=True)
INTEGERS = Lang(ast=A.cat(A.opt(_MINUS), _INT, A.opt(A.cat(_DOT, A.rep(_ZERO, 1, None)))), universe=ALL_NUMBERS)
# Draft 4 counts only texts without a fraction part as integers (1.0 parses as a float there).
INTEGERS_NO_FRACTION = Lang(ast=A.cat(A.opt(_MINUS), _INT), universe=ALL_NUMBERS)


def integers(draft: int) -> Lang:
    return INTEGERS_NO_FRACTION if draft == 4 else INTEGERS


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


def number_text(value) -> str:
    """A text of ``value`` in the universe (no exponent)."""
    d = to_decimal(value)
    text = format(d, "f")
    return text


def _split(c: Decimal) -> tuple[str, str]:
    """Integer digits (no leading zeros) and fraction digits (no trailing zeros) of ``|c|``."""
    text = format(c.copy_abs(), "f")  # copy_abs: exact (abs() would round to the context precision)
    ip, _, fp = text.partition(".")
    ip = ip.lstrip("0") or "0"
    return ip, fp.rstrip("0")


def _drange(lo: int, hi: int):
    return A.lit(((0x30 + lo, 0x30 + hi),)) if lo <= hi else A.EMPTY


def _fixed_digits(n: int):
    return A.rep(_DIG, n, n)


def _frac_ge(cf: str, strict: bool):
    if not cf:
        return _FRAC_ANY if not strict else A.cat(_DOT, A.star(_DIG), _NZ, A.star(_DIG))
    g = []
    for j, ch in enumerate(cf):
        d = int(ch)
        if d < 9:
            g.append(A.cat(A.string(cf[:j]), _drange(d + 1, 9), A.star(_DIG)))
    g.append(A.cat(A.string(cf), A.star(_DIG)) if not strict
             else A.cat(A.string(cf), A.star(_DIG), _NZ, A.star(_DIG)))
    return A.cat(_DOT, A.alt(*g))


def _frac_le(cf: str, strict: bool):
    if not cf:
        return A.opt(A.cat(_DOT, A.rep(_ZERO, 1, None))) if not strict else A.EMPTY
    g = []
    for j, ch in enumerate(cf):
        d = int(ch)
        if d > 0:
            g.append(A.cat(A.string(cf[:j]), _drange(0, d - 1), A.star(_DIG)))
        if j >= 1:
            g.append(A.string(cf[:j]))
    if not strict:
        g.append(A.cat(A.string(cf), A.star(_ZERO)))
    return A.opt(A.cat(_DOT, A.alt(*g)))


def _unsigned_ge(c: Decimal, strict: bool):
    """Unsigned texts with value >= c (> c when strict), c >= 0."""
    ci, cf = _split(c)
    n = len(ci)
    alts = []
    if ci == "0":
        alts.append(A.cat(_NZ, A.star(_DIG), _FRAC_ANY))
    else:
        alts.append(A.cat(_NZ, A.rep(_DIG, n, None), _FRAC_ANY))
        for j, ch in enumerate(ci):
            d = int(ch)
            if d < 9:
                alts.append(A.cat(A.string(ci[:j]), _drange(d + 1, 9), _fixed_digits(n - j - 1), _FRAC_ANY))
    alts.append(A.cat(A.string(ci), _frac_ge(cf, strict)))
    return A.alt(*alts)


def _unsigned_le(c: Decimal, strict: bool):
    """Unsigned texts with value <= c (< c when strict), c >= 0."""
    ci, cf = _split(c)
    n = len(ci)
    alts = []
    if ci != "0":
        alts.append(A.cat(_ZERO, _FRAC_ANY))
        if n >= 2:
            alts.append(A.cat(_NZ, A.rep(_DIG, 0, n - 2), _FRAC_ANY))
        for j, ch in enumerate(ci):
            d = int(ch)
            low = 1 if j == 0 else 0
            if d > low:
                alts.append(A.cat(A.string(ci[:j]), _drange(low, d - 1), _fixed_digits(n - j - 1), _FRAC_ANY))
    alts.append(A.cat(A.string(ci), _frac_le(cf, strict)))
    return A.alt(*alts)


def _unsigned_range(lower, upper) -> Lang:
    """Unsigned texts with value in the range; bounds are ``(Decimal, strict)`` or None."""
    if lower is not None and (lower[0] < 0 or (lower[0] == 0 and not lower[1])):
        lower = None
    if upper is not None and (upper[0] < 0 or (upper[0] == 0 and upper[1])):
        return Lang(ast=A.EMPTY, universe=ALL_NUMBERS)
    parts = []
    if lower is not None:
        parts.append(Lang(ast=_unsigned_ge(*lower), universe=ALL_NUMBERS))
    if upper is not None:
        parts.append(Lang(ast=_unsigned_le(*upper), universe=ALL_NUMBERS))
    if not parts:
        return Lang(ast=_UNSIGNED, universe=ALL_NUMBERS)
    if len(parts) == 1:
        return parts[0]
    return parts[0] & parts[1]


def range_lang(lo: Decimal | None, lo_strict: bool, hi: Decimal | None, hi_strict: bool) -> Lang:
    """Number texts with ``lo <(=) value <(=) hi``; None means unbounded."""
    if lo is None and hi is None:
        return ALL_NUMBERS
    pos = _unsigned_range(None if lo is None else (lo, lo_strict), None if hi is None else (hi, hi_strict))
    # a text "-u" has value -u: x >= lo  <=>  u <= -lo ;  x <= hi  <=>  u >= -hi
    neg = _unsigned_range(None if hi is None else (hi.copy_negate(), hi_strict),
                          None if lo is None else (lo.copy_negate(), lo_strict))
    if neg.is_empty():
        return pos
    neg_ast = A.cat(_MINUS, neg.ast())
    if pos.has_ast():
        return Lang(ast=A.alt(pos.ast(), neg_ast), universe=ALL_NUMBERS)
    return pos | Lang(ast=neg_ast, universe=ALL_NUMBERS)


def const_lang(value) -> Lang:
    """Texts whose value equals ``value``."""
    d = to_decimal(value)
    if d == 0:
        return Lang(ast=A.cat(A.opt(_MINUS), _ZERO, A.opt(A.cat(_DOT, A.rep(_ZERO, 1, None)))),
                    universe=ALL_NUMBERS)
    ci, cf = _split(d)
    sign = _MINUS if d < 0 else A.EPS
    if cf:
        ast = A.cat(sign, A.string(ci), _DOT, A.string(cf), A.star(_ZERO))
    else:
        ast = A.cat(sign, A.string(ci), A.opt(A.cat(_DOT, A.rep(_ZERO, 1, None))))
    return Lang(ast=ast, universe=ALL_NUMBERS)


def multiple_of_lang(q: Decimal, path: str = "") -> Lang:
    """Texts whose value is an integer multiple of ``q > 0``: a DFA tracking the scaled value modulo ``a``
    where ``q = a / 10**s``."""
    q = exact_normalize(q)
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
        return INTEGERS
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
    dfa = A.DFA([tuple(sorted(t)) for t in trans], accept).minimize()
    return Lang(dfa=dfa, universe=ALL_NUMBERS)
