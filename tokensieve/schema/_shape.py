"""The normal form of a schema at one instance location: a union of per-type constraints.

A :class:`Shape` splits the values a (sub)schema accepts by JSON type: ``null``, the allowed booleans, a
regular language of number texts, a regular language of decoded strings, and unions of array/object
constraints (:class:`ArrC`, :class:`ObjC`). Child values (items, property values) are *schema nodes*: hashable
keys that the compiler normalises lazily, so recursive schemas stay finite.

Schema-node keys (all hashable tuples): ``TRUE``/``FALSE``; ``("raw", id)`` for a subschema of the
document; ``("and", keys)``, ``("or", keys)``, ``("not", key)``; ``("const", canonical_json)``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from .._errors import LimitExceededError
from ._lang import Lang
from ._numbers import ALL_NUMBERS
from ._strings import ALL_STRINGS

__all__ = ["TRUE", "FALSE", "And", "Or", "Not", "Const", "canonical", "ArrC", "ObjC", "Shape", "ALL", "NONE",
           "MAX_ALTERNATIVES"]

MAX_ALTERNATIVES = 512

TRUE = ("true",)
FALSE = ("false",)


# ---------------------------------------------------------------------------------------------- node keys
def _flatten(kind: str, absorbing, neutral, keys):
    # order-preserving (not a set) so that property order stays deterministic across runs
    flat: dict = {}
    for k in keys:
        if k == absorbing:
            return absorbing
        if k == neutral:
            continue
        if k[0] == kind:
            for x in k[1]:
                flat[x] = None
        else:
            flat[k] = None
    if not flat:
        return neutral
    if len(flat) == 1:
        return next(iter(flat))
    # cheap exact contradictions/tautologies: x with not-x, and two different consts
    for k in flat:
        if k[0] == "not" and k[1] in flat:
            return absorbing
    if kind == "and" and sum(1 for k in flat if k[0] == "const") > 1:
        return FALSE
    return (kind, tuple(flat))


def And(*keys):
    return _flatten("and", FALSE, TRUE, keys)


def Or(*keys):
    return _flatten("or", TRUE, FALSE, keys)


def Not(key):
    if key == TRUE:
        return FALSE
    if key == FALSE:
        return TRUE
    if key[0] == "not":
        return key[1]
    return ("not", key)


class _Tok:
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def _num_text(x) -> str:
    from ._numbers import exact_normalize

    d = Decimal(repr(x)) if isinstance(x, float) else Decimal(x)
    d = exact_normalize(d)
    return format(d, "f") if d != 0 else "0"


def canonical(value) -> str:
    """Canonical JSON text: JSON-Schema-equal values (1 == 1.0, any key order) get the same text."""
    out: list[str] = []
    stack = [value]
    while stack:
        x = stack.pop()
        if isinstance(x, _Tok):
            out.append(x.text)
        elif x is None or isinstance(x, (bool, str)):
            out.append(json.dumps(x))
        elif isinstance(x, (int, float, Decimal)):
            out.append(_num_text(x))
        elif isinstance(x, list):
            parts: list = [_Tok("[")]
            for i, v in enumerate(x):
                if i:
                    parts.append(_Tok(","))
                parts.append(v)
            parts.append(_Tok("]"))
            stack.extend(reversed(parts))
        elif isinstance(x, dict):
            parts = [_Tok("{")]
            for i, (k, v) in enumerate(sorted(x.items())):
                if i:
                    parts.append(_Tok(","))
                parts.append(_Tok(json.dumps(k) + ":"))
                parts.append(v)
            parts.append(_Tok("}"))
            stack.extend(reversed(parts))
        else:
            raise TypeError(f"not a JSON value: {x!r}")
    return "".join(out)


def Const(value):
    return ("const", canonical(value))


def const_value(key):
    return json.loads(key[1], parse_float=Decimal)


# ---------------------------------------------------------------------------------------------- arrays
class ArrC:
    """Arrays: item ``i`` satisfies ``prefix[i]`` (or ``rest`` beyond the prefix), length in [min, max],
    ``contains`` entries ``(node, min, max, start)`` count matching items at index >= start, ``unique`` items.

    ``ev_*`` record what ``unevaluatedItems`` treats as evaluated; ``partial`` marks alternatives whose
    annotations may be incomplete (an ``anyOf`` where several branches can match).
    """

    __slots__ = ("prefix", "rest", "min", "max", "contains", "unique", "ev_prefix", "ev_all", "ev_contains",
                 "partial")

    def __init__(self, prefix=(), rest=TRUE, min=0, max=None, contains=(), unique=False, ev_prefix=0,
                 ev_all=False, ev_contains=(), partial=False):
        self.prefix = tuple(prefix)
        self.rest = rest
        self.min = min
        self.max = max
        self.contains = tuple(contains)
        self.unique = unique
        self.ev_prefix = ev_prefix
        self.ev_all = ev_all
        self.ev_contains = tuple(ev_contains)
        self.partial = partial

    def replace(self, **kw) -> "ArrC":
        new = ArrC.__new__(ArrC)
        for k in ArrC.__slots__:
            setattr(new, k, kw.get(k, getattr(self, k)))
        return new

    def item(self, i: int):
        return self.prefix[i] if i < len(self.prefix) else self.rest

    def trivially_empty(self) -> bool:
        if self.max is not None and self.min > self.max:
            return True
        for i, p in enumerate(self.prefix):
            if p == FALSE and i < self.min:
                return True
        if self.rest == FALSE and self.min > len(self.prefix):
            return True
        for _, lo, hi, start in self.contains:
            if hi is not None and lo > hi:
                return True
            if self.max is not None and lo > max(0, self.max - start):
                return True
        return False

    def has_eval(self) -> bool:
        return bool(self.ev_prefix or self.ev_all or self.ev_contains)

    def sig(self) -> tuple:
        return (self.prefix, self.rest, self.min, self.max, self.contains, self.unique, self.ev_prefix, self.ev_all,
                self.ev_contains, self.partial)


def arr_and(a: ArrC, b: ArrC) -> ArrC:
    n = max(len(a.prefix), len(b.prefix))
    prefix = tuple(And(a.item(i), b.item(i)) for i in range(n))
    mx = a.max if b.max is None else b.max if a.max is None else min(a.max, b.max)
    return ArrC(prefix, And(a.rest, b.rest), max(a.min, b.min), mx, a.contains + b.contains,
                a.unique or b.unique, max(a.ev_prefix, b.ev_prefix), a.ev_all or b.ev_all,
                a.ev_contains + b.ev_contains, a.partial or b.partial)


ANY_ARR = ArrC()


# ---------------------------------------------------------------------------------------------- objects
class ObjC:
    """Objects as a conjunction of rules.

    ``names``: ``(name, node)`` - if key ``name`` is present its value satisfies ``node``;
    ``langs``: ``(Lang, node)`` - every present key in the language has a value satisfying ``node``;
    ``exists``: ``(Lang, node)`` - some present key in the language has a value satisfying ``node``;
    ``required`` names, a property count in [min, max]. ``ev_*``/``partial`` as for :class:`ArrC`;
    ``unordered`` marks objects that came from ``const``/``enum`` values (emitted in any key order).
    """

    __slots__ = ("names", "langs", "exists", "required", "min", "max", "ev_names", "ev_langs", "ev_all",
                 "partial", "unordered", "_index")

    def __init__(self, names=(), langs=(), exists=(), required=(), min=0, max=None, ev_names=frozenset(),
                 ev_langs=(), ev_all=False, partial=False, unordered=False):
        self._index = None  # name -> nodes, built on first lookup (linear scans are quadratic over big objects)
        self.names = tuple(names)
        self.langs = tuple(langs)
        self.exists = tuple(exists)
        self.required = tuple(dict.fromkeys(required))
        self.min = min
        self.max = max
        self.ev_names = frozenset(ev_names)
        self.ev_langs = tuple(ev_langs)
        self.ev_all = ev_all
        self.partial = partial
        self.unordered = unordered

    def replace(self, **kw) -> "ObjC":
        new = ObjC.__new__(ObjC)
        for k in ObjC.__slots__:
            setattr(new, k, kw.get(k, getattr(self, k)))
        new._index = None
        return new

    def value_for(self, name: str):
        """The node every value of key ``name`` must satisfy (rules by name and by language)."""
        if self._index is None:
            index: dict = {}
            for k, n in self.names:
                index.setdefault(k, []).append(n)
            self._index = index
        parts = list(self._index.get(name, ()))
        parts += [n for lang, n in self.langs if n != TRUE and lang.matches(name)]
        return And(*parts)

    def named_keys(self) -> list[str]:
        return list(dict.fromkeys([k for k, _ in self.names] + list(self.required)))

    def trivially_empty(self) -> bool:
        if self.max is not None and (self.min > self.max or len(self.required) > self.max):
            return True
        for r in self.required:
            if self.value_for(r) == FALSE:
                return True
        return False

    def has_eval(self) -> bool:
        return bool(self.ev_names or self.ev_langs or self.ev_all)

    def sig(self) -> tuple:
        # Langs compare by identity: equal rules built from the same keyword share their Lang object
        return (tuple(dict.fromkeys(self.names)), tuple(dict.fromkeys((id(l), v) for l, v in self.langs)),
                tuple(dict.fromkeys((id(l), v) for l, v in self.exists)), tuple(sorted(self.required)),
                self.min, self.max, self.ev_names, tuple(id(l) for l in self.ev_langs), self.ev_all, self.partial,
                self.unordered)


def obj_and(a: ObjC, b: ObjC) -> ObjC:
    mx = a.max if b.max is None else b.max if a.max is None else min(a.max, b.max)
    return ObjC(a.names + b.names, a.langs + b.langs, a.exists + b.exists, a.required + b.required,
                max(a.min, b.min), mx, a.ev_names | b.ev_names, a.ev_langs + b.ev_langs, a.ev_all or b.ev_all,
                a.partial or b.partial, a.unordered or b.unordered)


ANY_OBJ = ObjC()


# ---------------------------------------------------------------------------------------------- shapes
class Shape:
    """Union over JSON types; ``num``/``str`` are Langs or None (empty); ``finite`` lists the values when the
    language is exactly a finite set of values (enum/const-derived); ``exact`` is False when unevaluated*
    annotations were under-approximated (the language is then a subset: sound, but not complementable)."""

    __slots__ = ("null", "bools", "num", "str", "arrs", "objs", "finite", "exact")

    def __init__(self, null=False, bools=frozenset(), num=None, str=None, arrs=(), objs=(), finite=None,
                 exact=True):
        self.null = null
        self.bools = frozenset(bools)
        # an empty number language with gaps stays: valid values may still exist (not/oneOf must see them)
        self.num = None if num is None or (num.is_empty() and not num.gaps) else num
        self.str = None if str is None or str.is_empty() else str
        self.arrs = _dedupe(a for a in arrs if not a.trivially_empty())
        self.objs = _dedupe(o for o in objs if not o.trivially_empty())
        if len(self.arrs) > MAX_ALTERNATIVES or len(self.objs) > MAX_ALTERNATIVES:
            raise LimitExceededError("schema alternatives", f"more than {MAX_ALTERNATIVES} array/object "
                                     "alternatives after expanding anyOf/oneOf/allOf/dependencies")
        self.finite = finite
        self.exact = exact

    def replace(self, **kw) -> "Shape":
        args = {k: getattr(self, k) for k in Shape.__slots__}
        args.update(kw)
        return Shape(**args)

    def is_empty(self) -> bool:
        return not (self.null or self.bools or self.num or self.str or self.arrs or self.objs)

    def types(self) -> set[str]:
        out = set()
        if self.null:
            out.add("null")
        if self.bools:
            out.add("boolean")
        if self.num:
            out.add("number")
        if self.str:
            out.add("string")
        if self.arrs:
            out.add("array")
        if self.objs:
            out.add("object")
        return out


def _obj_parts(o: ObjC):
    return (set(o.names), {(id(l), v) for l, v in o.langs}, {(id(l), v) for l, v in o.exists}, set(o.required))


def _arr_parts(a: ArrC):
    return set(enumerate(a.prefix)), {a.rest} - {TRUE}, set(a.contains)


def _ev_key(x, kind: str):
    if kind == "obj":
        return (x.ev_names, tuple(map(id, x.ev_langs)), x.ev_all, x.partial)
    return (x.ev_prefix, x.ev_all, x.ev_contains, x.partial, x.unique)


def _dominates(y, py, x, px, kind: str) -> bool:
    """Every value allowed by ``x`` is allowed by ``y`` (y's rules are a subset of x's)."""
    if y.min > x.min or (y.max is not None and (x.max is None or x.max > y.max)):
        return False
    if kind == "arr" and len(y.prefix) != len(x.prefix) and y.rest != TRUE:
        return False  # y's rest would constrain positions that are prefix positions of x
    return all(a <= b for a, b in zip(py, px))


def prune_subsumed(items: list, kind: str) -> list:
    """Drop alternatives implied by a less constrained one with the same annotations (and duplicates); keeps
    DNFs from complements small. Dominance is transitive, so only kept items need checking."""
    if len(items) < 3:
        return items
    parts = [(_obj_parts(x) if kind == "obj" else _arr_parts(x)) for x in items]
    order = sorted(range(len(items)), key=lambda i: (sum(map(len, parts[i])), i))
    kept: dict = {}  # annotation key -> [(item, parts)]
    out_idx = []
    for i in order:
        x, px = items[i], parts[i]
        bucket = kept.setdefault(_ev_key(x, kind), [])
        if any(_dominates(y, py, x, px, kind) for y, py in bucket):
            continue
        bucket.append((x, px))
        out_idx.append(i)
    return [items[i] for i in sorted(out_idx)]


def _dedupe(items) -> tuple:
    seen = {}
    for x in items:
        seen.setdefault(x.sig(), x)
    return tuple(seen.values())


ALL = Shape(True, (True, False), ALL_NUMBERS, ALL_STRINGS, (ANY_ARR,), (ANY_OBJ,))
NONE = Shape(finite=())


def lang_and(a: Lang | None, b: Lang | None) -> Lang | None:
    if a is None or b is None:
        return None
    return a & b


def lang_or(a: Lang | None, b: Lang | None) -> Lang | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b
