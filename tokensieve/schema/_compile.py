"""Schema loading, draft handling, ``$ref`` resolution and normalisation of schema nodes into Shapes.

Normalisation works per instance location: in-place applicators (``allOf``/``anyOf``/``oneOf``/``not``/``$ref``/
``if``/dependencies) are folded into one :class:`~._shape.Shape` by intersection, union and complement, while
child locations (items, property values) stay symbolic node keys. A cycle that returns to the same node at the
same instance location (``{"$ref": "#"}``) has no base case and is a SchemaError.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urldefrag, urljoin

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema

from .._errors import LimitExceededError, SchemaError, UnsupportedFeatureError
from . import _automata as A
from ._formats import format_lang
from ._lang import Lang
from ._meta import fast_validator
from ._numbers import ALL_NUMBERS, bounds_lang, const_lang, integers, multiple_of_lang, number_texts, to_decimal
from ._numbers import union as number_union
from ._regex_ecma import pattern_lang
from ._shape import (ALL, ANY_ARR, ANY_OBJ, FALSE, MAX_ALTERNATIVES, NONE, TRUE, And, ArrC, Const, Not, ObjC, Or,
                     Shape, arr_and, canonical, const_value, lang_and, lang_or, obj_and, prune_subsumed)
from ._strings import ALL_STRINGS, length_lang, restrict_length, string_lang

__all__ = ["Compiler", "pick_draft", "load_schema", "pointer", "MAX_SCHEMA_NODES", "MAX_SCHEMA_DEPTH",
           "MAX_ENUM_VALUES", "MAX_NORMALIZE_DEPTH"]

MAX_SCHEMA_NODES = 100_000  # the largest JSONSchemaBench schema has 28,520; metaschema checks cost ~0.3 ms a value
MAX_SCHEMA_DEPTH = 128
MAX_NAME_CHARS = 100_000  # property-name characters of one object (the key-complement trie is built per char)
MAX_ENUM_VALUES = 20_000
MAX_NORMALIZE_DEPTH = 120
MAX_ANNOTATED_BRANCHES = 4
MAX_LENGTH_PRODUCT = 3_000
DEFAULT_MAX_SECONDS = 30.0  # wall-clock bound on compiling one schema

_VALIDATORS = {
    4: jsonschema.Draft4Validator,
    6: jsonschema.Draft6Validator,
    7: jsonschema.Draft7Validator,
    2019: jsonschema.Draft201909Validator,
    2020: jsonschema.Draft202012Validator,
}
_SPECS = {
    4: referencing.jsonschema.DRAFT4,
    6: referencing.jsonschema.DRAFT6,
    7: referencing.jsonschema.DRAFT7,
    2019: referencing.jsonschema.DRAFT201909,
    2020: referencing.jsonschema.DRAFT202012,
}
_DRAFT_NAMES = {
    "4": 4, "04": 4, "draft4": 4, "draft-04": 4, "draft04": 4,
    "6": 6, "06": 6, "draft6": 6, "draft-06": 6, "draft06": 6,
    "7": 7, "07": 7, "draft7": 7, "draft-07": 7, "draft07": 7,
    "2019": 2019, "2019-09": 2019, "draft2019-09": 2019, "draft201909": 2019,
    "2020": 2020, "2020-12": 2020, "draft2020-12": 2020, "draft202012": 2020,
}
_SCHEMA_URIS = {
    "json-schema.org/draft-04/schema": 4,
    "json-schema.org/draft-06/schema": 6,
    "json-schema.org/draft-07/schema": 7,
    "json-schema.org/draft/2019-09/schema": 2019,
    "json-schema.org/draft/2020-12/schema": 2020,
}

_NUM_KW = {"multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"}
_STR_KW = {"maxLength", "minLength", "pattern", "format"}
_ARR_KW = {"items", "prefixItems", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains",
           "minContains", "maxContains"}
_OBJ_KW = {"properties", "patternProperties", "additionalProperties", "required", "minProperties",
           "maxProperties", "propertyNames"}
_APPLICATORS = {"type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref", "$dynamicRef",
                "$recursiveRef", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies",
                "unevaluatedProperties", "unevaluatedItems"}


def pointer(*parts) -> str:
    """Append escaped JSON-pointer tokens."""
    out = ""
    for p in parts:
        out += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return out


def load_schema(schema):
    """Accept a dict/bool, JSON text, or a pydantic model class; return the JSON value."""
    if isinstance(schema, (dict, bool)):
        return schema
    if isinstance(schema, (str, bytes, bytearray)):
        try:
            return json.loads(schema)
        except ValueError as e:
            raise SchemaError(f"schema is not valid JSON: {e}") from None
        except RecursionError:  # the C decoder recurses per nesting level
            raise LimitExceededError("schema depth", "schema JSON text is nested too deeply to parse") from None
    model_json_schema = getattr(schema, "model_json_schema", None)
    if callable(model_json_schema):
        return model_json_schema()
    raise SchemaError(f"expected a schema dict, JSON text or pydantic model class, got {type(schema).__name__}")


def pick_draft(schema, draft=None, force_2020_12: bool = False) -> int:
    """The dialect as a number (4, 6, 7, 2019, 2020): explicit option, else ``$schema``, else 2020-12."""
    if force_2020_12:
        return 2020
    if draft is not None:
        key = str(draft).strip().lower().replace("draft ", "draft").rstrip("/#")
        for uri, d in _SCHEMA_URIS.items():
            if key.endswith(uri):
                return d
        if key in _DRAFT_NAMES:
            return _DRAFT_NAMES[key]
        raise SchemaError(f"unknown draft {draft!r}; use 4, 6, 7, '2019-09' or '2020-12'")
    if isinstance(schema, dict) and isinstance(schema.get("$schema"), str):
        uri = schema["$schema"].strip().rstrip("#")
        for known, d in _SCHEMA_URIS.items():
            if uri.endswith(known):
                return d
        if uri.endswith("json-schema.org/draft-03/schema"):
            raise UnsupportedFeatureError("$schema", "draft-03 schemas are not supported", path="/$schema")
    return 2020


class _DocInfo:
    """What one pass over the document learns: pointers, resources and their ``$dynamicAnchor``s."""

    def __init__(self):
        self.pointers: dict[int, str] = {}
        self.dynamic_anchors: dict[str, int] = {}  # name -> number of definitions
        self.recursive_anchors = 0
        self.uses_unevaluated = False
        self.resource_of: dict[int, int] = {}  # id(schema) -> id(enclosing resource root)
        self.resource_anchors: dict[int, dict[str, dict]] = {}  # id(resource root) -> name -> anchor schema


def _walk(schema) -> _DocInfo:
    """One iterative pass over the document; enforces the size and depth limits."""
    info = _DocInfo()
    pointers, dyn = info.pointers, info.dynamic_anchors
    count = 0
    stack = [(schema, "", 0, id(schema))]
    while stack:
        x, path, depth, resource = stack.pop()
        count += 1
        if count > MAX_SCHEMA_NODES:
            raise LimitExceededError("schema size", f"more than {MAX_SCHEMA_NODES} JSON values in the schema")
        if depth > MAX_SCHEMA_DEPTH:
            raise LimitExceededError("schema depth", f"schema nested deeper than {MAX_SCHEMA_DEPTH} at {path}")
        if isinstance(x, dict):
            props = x.get("properties")
            # checked here, before the (slow) metaschema validation, so a huge object fails fast
            if isinstance(props, dict) and sum(map(len, props)) > MAX_NAME_CHARS:
                raise LimitExceededError("property names", f"the property names at {path or '/'} add up to more "
                                         f"than {MAX_NAME_CHARS} characters")
            pointers.setdefault(id(x), path)
            if isinstance(x.get("$id"), str) and not x["$id"].startswith("#"):
                resource = id(x)
            info.resource_of.setdefault(id(x), resource)
            a = x.get("$dynamicAnchor")
            if isinstance(a, str):
                dyn[a] = dyn.get(a, 0) + 1
                info.resource_anchors.setdefault(resource, {}).setdefault(a, x)
            if x.get("$recursiveAnchor") is True:
                info.recursive_anchors += 1
            if "unevaluatedProperties" in x or "unevaluatedItems" in x:
                info.uses_unevaluated = True
            for k, v in x.items():
                if isinstance(v, (dict, list)):
                    stack.append((v, path + pointer(k), depth + 1, resource))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                if isinstance(v, (dict, list)):
                    stack.append((v, path + pointer(i), depth + 1, resource))
    return info


def check_schema(schema, draft: int) -> None:
    """Metaschema validation (structure only; patterns are checked by our ECMA parser) -> SchemaError."""
    cls = _VALIDATORS[draft]
    fast = fast_validator(draft)
    try:
        if fast is not None and fast.is_valid(schema):  # the original metaschema only to name the error
            return
        error = jsonschema.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    except RecursionError:
        raise LimitExceededError("schema depth", "schema too deeply nested to validate") from None
    if error is not None:
        raise SchemaError(f"invalid schema: {error.message}", path=pointer(*error.absolute_path))


# printable ASCII except the quote and backslash: the characters that property names are usually made of
_PLAIN = A.cs_diff(((0x20, 0x7E),), A.cs_chars('"\\'))
_NOT_PLAIN = A.cs_diff(A.UNIVERSE, _PLAIN)


def _trie_complement_ast(names):
    """AST of the strings over _PLAIN that are not in ``names`` (all of them over _PLAIN), built from the trie
    bottom-up without recursion."""
    if sum(map(len, names)) > MAX_NAME_CHARS:
        raise LimitExceededError("property names", f"the property names of one object add up to more than "
                                 f"{MAX_NAME_CHARS} characters")
    trie: list[dict] = [{}]
    final = [False]
    for n in names:
        cur = 0
        for ch in n:
            nxt = trie[cur].get(ch)
            if nxt is None:
                nxt = trie[cur][ch] = len(trie)
                trie.append({})
                final.append(False)
            cur = nxt
        final[cur] = True
    # Every string either is a trie node (a name, or a proper prefix of one) or leaves the trie at a first
    # character the node has no child for: complement = leave · PLAIN* | non-name nodes. The PLAIN* tail (a
    # JSON character's every spelling, dozens of lexer states) appears once, not once per trie node: on
    # objects with thousands of key characters that was 94 KB regexes and 368k NFA states.
    leave: list = [None] * len(trie)
    inner: list = [None] * len(trie)
    for node in range(len(trie) - 1, -1, -1):  # children always have larger indexes
        kids = trie[node]
        lparts, iparts = [], []
        other = _plain_but("".join(sorted(kids)))
        if other:
            lparts.append(A.lit(other))
        for ch, child in sorted(kids.items()):
            if leave[child] != A.EMPTY:
                lparts.append(A.cat(A.char(ch), leave[child]))
            if inner[child] != A.EMPTY:
                iparts.append(A.cat(A.char(ch), inner[child]))
        # the parts start with distinct characters: build the alternation directly (alt() would hash each
        # part's whole subtree to deduplicate, quadratic along long names); none is nullable, so opt() adds
        # the empty string without re-checking nullability over the subtree
        leave[node] = _distinct_alt(lparts)
        body = _distinct_alt(iparts)
        if node == 0:  # the root: one alternation (no alt(): it would hash the deep subtrees)
            tail = A.cat(leave[0], A.star(A.lit(_PLAIN)))
            top = _distinct_alt([x for x in (tail, body) if x != A.EMPTY])
            return top if final[0] else A.opt(top)
        inner[node] = body if final[node] else A.opt(body)


@lru_cache(maxsize=4096)
def _plain_but(chars: str) -> tuple:
    """_PLAIN without ``chars`` (trie nodes mostly have one or two children: a few hundred distinct sets)."""
    return A.cs_diff(_PLAIN, A.cs_chars(chars))


def _distinct_alt(parts: list):
    return parts[0] if len(parts) == 1 else ("a", tuple(parts)) if parts else A.EMPTY


@lru_cache(maxsize=4096)
def _names_complement_cached(names: frozenset) -> Lang:
    if all(A.cs_contains(_PLAIN, ord(c)) for n in names for c in n):
        # a key with any character outside _PLAIN cannot be one of the names: a compact regex
        sigma = A.star(A.lit(A.UNIVERSE))
        lang = string_lang(A.alt(_trie_complement_ast(sorted(names)), A.cat(sigma, A.lit(_NOT_PLAIN), sigma)))
    else:
        lang = Lang(dfa=A.dfa_from_strings(sorted(names)), universe=ALL_STRINGS).complement()
    lang.co_names = names
    return lang


def _names_complement(names) -> Lang:
    """Keys outside a finite name set (shared per set, with a fast membership path)."""
    names = frozenset(names)
    if not names:
        return ALL_STRINGS
    return _names_complement_cached(names)


class _Cycle(SchemaError):
    """A node was needed while being normalised. At the same instance location that is a reference cycle
    without a base case; eager look-ahead into child locations (disjointness, emptiness, enum membership)
    catches it, because there it only means "this is a recursive schema"."""


class Compiler:
    """Normalises the nodes of one schema document; see the module docstring."""

    def __init__(self, schema, draft: int, *, strict: bool = False, lenient: bool = False,
                 max_seconds: float = DEFAULT_MAX_SECONDS):
        self.max_seconds = max_seconds
        self.deadline = time.monotonic() + max_seconds
        self.schema = schema
        self.draft = draft
        self.strict = strict
        self.lenient = lenient
        self.doc = _walk(schema)
        self.pointers = self.doc.pointers
        self.dynamic_anchors = self.doc.dynamic_anchors
        self.recursive_anchors = self.doc.recursive_anchors
        self.uses_unevaluated = self.doc.uses_unevaluated
        # $dynamicAnchor names defined more than once: their $dynamicRefs depend on the dynamic scope, so nodes
        # are keyed by the bindings of those names (the outermost resource entered on the way that defines them)
        self.ambiguous = ({n for n, c in self.dynamic_anchors.items() if c > 1} if draft == 2020 else set())
        self.cur_bindings: tuple = ()
        self.anchor_resolvers: dict[int, object] = {}
        check_schema(schema, draft)
        self.ref_checked: set[int] = {id(schema)}
        self.spec = _SPECS[draft]
        self.validator_keywords = set(_VALIDATORS[draft].VALIDATORS)
        resource = self.spec.create_resource(schema)
        root_uri = resource.id() or ""
        registry = referencing.Registry().with_resource(root_uri, resource)
        try:
            registry = registry.crawl()
        except Exception:  # noqa: BLE001 - referencing trips over some draft-07 `dependencies`; $id lookups
            pass  # then fail individually (SchemaError) instead of the whole schema
        self.registry = registry
        self.root_resolver = self.registry.resolver(base_uri=root_uri)
        self.raw: dict[tuple, tuple] = {}
        self.shapes: dict[tuple, Shape] = {}
        self.in_progress: set = set()
        self.depth = 0
        self.root = self.node(schema, self.root_resolver, "")

    # ------------------------------------------------------------------ nodes
    def node(self, schema, resolver, path: str, enter: bool = True):
        """The key of a subschema; ``enter`` moves the resolver into the subschema's own resource (``$id``) -
        not wanted for ``$ref`` targets, whose resolver ``lookup`` has already positioned."""
        if schema is True:
            return TRUE
        if schema is False:
            return FALSE
        if not isinstance(schema, dict):
            raise SchemaError(f"a schema must be an object or a boolean, got {type(schema).__name__}", path=path)
        if enter:
            try:
                sub = resolver.in_subresource(self.spec.create_resource(schema))
            except (AttributeError, TypeError):  # referencing assumes a string id ("id": {...} in draft 4)
                key = "$id" if "$id" in schema else "id"
                raise SchemaError(f"{key!r} must be a string to identify a schema resource, got "
                                  f"{type(schema.get(key)).__name__}", path=path + "/" + key) from None
        else:
            sub = resolver
        bindings = self.cur_bindings
        if self.ambiguous:
            bindings = self._enter(self.doc.resource_of.get(id(schema)), bindings, sub)
            key = ("raw", id(schema), bindings)
        else:
            key = ("raw", id(schema))
        if key not in self.raw:
            self.raw[key] = (schema, sub, path, bindings)
        return key

    def _enter(self, resource, bindings: tuple, resolver) -> tuple:
        """Bindings after entering ``resource`` (outermost definitions win, so existing names stay)."""
        anchors = self.doc.resource_anchors.get(resource)
        if not anchors:
            return bindings
        bound = dict(bindings)
        changed = False
        for name, anchor in anchors.items():
            if name in self.ambiguous and name not in bound:
                bound[name] = id(anchor)
                self.anchor_resolvers.setdefault(id(anchor), (anchor, resolver))
                changed = True
        return tuple(sorted(bound.items())) if changed else bindings

    def path_of(self, key) -> str:
        info = self.raw.get(key)
        return info[2] if info else ""

    def _ref(self, ref, resolver, path: str, kind: str = "$ref"):
        if not isinstance(ref, str):
            raise SchemaError(f"{kind} must be a string", path=path)
        try:
            resolved = resolver.lookup(ref)
        except (referencing.exceptions.Unresolvable, AttributeError, TypeError) as e:
            base = getattr(resolver, "_base_uri", "")
            target, _ = urldefrag(urljoin(base, ref))
            if not ref.startswith("#") and target not in self.registry:
                raise UnsupportedFeatureError(kind, f"remote reference {ref!r} (only references inside the "
                                              "schema document are resolved)", path=path) from None
            raise SchemaError(f"unresolvable {kind} {ref!r}: {e}", path=path) from None
        contents = resolved.contents
        where = self.pointers.get(id(contents), path) if isinstance(contents, dict) else path
        if contents is not True and contents is not False and not isinstance(contents, dict):
            raise SchemaError(f"{kind} {ref!r} does not point to a schema", path=path)
        if isinstance(contents, dict) and id(contents) not in self.ref_checked:
            # a target outside the keyword tree (e.g. under an unknown key) escaped the metaschema check
            self.ref_checked.add(id(contents))
            try:
                check_schema(contents, self.draft)
            except SchemaError as e:
                raise SchemaError(f"{kind} {ref!r} points to an invalid schema: {str(e).rsplit(' (at ', 1)[0]}",
                                  path=where + (e.path or "")) from None
        return contents, self.node(contents, resolved.resolver, where, enter=False)

    # ------------------------------------------------------------------ normalisation driver
    def norm(self, key) -> Shape:
        s = self.shapes.get(key)
        if s is not None:
            return s
        self.check_time()
        if key in self.in_progress:
            raise _Cycle("circular reference with no base case: the schema refers to itself at the same "
                         "instance location", path=self.path_of(key) if key[0] == "raw" else "")
        if self.depth >= MAX_NORMALIZE_DEPTH:
            raise LimitExceededError("schema nesting", f"more than {MAX_NORMALIZE_DEPTH} nested in-place "
                                     "applicators ($ref/allOf/anyOf/... chains)")
        self.in_progress.add(key)
        self.depth += 1
        try:
            kind = key[0]
            if kind == "true":
                s = ALL
            elif kind == "false":
                s = NONE
            elif kind == "raw":
                s = self._norm_raw(key)
            elif kind == "and":
                s = ALL
                for k in key[1]:
                    s = self.and_(s, self.norm(k))
            elif kind == "or":
                s = NONE
                for k in key[1]:
                    s = self.or_(s, self.norm(k))
            elif kind == "not":
                s = self.complement(self.norm(key[1]))
            elif kind == "const":
                s = self.shape_of_values([const_value(key)])
            else:  # pragma: no cover - keys are built by this package only
                raise AssertionError(key)
        finally:
            self.depth -= 1
            self.in_progress.discard(key)
        self.shapes[key] = s
        return s

    # ------------------------------------------------------------------ algebra
    def and_(self, a: Shape, b: Shape) -> Shape:
        if a is ALL:
            return b
        if b is ALL:
            return a
        exact = a.exact and b.exact
        if a.finite is not None or b.finite is not None:
            if a.finite is not None and b.finite is not None:
                keep = {canonical(v) for v in b.finite}
                vals = [v for v in a.finite if canonical(v) in keep]
                return self.shape_of_values(vals, exact=exact)
            fin, other = (a, b) if a.finite is not None else (b, a)
            vals = [v for v in fin.finite if self.member(v, other)]
            out = self.shape_of_values(vals, exact=exact and fin.exact, annotations=other)
            if self.draft == 4 and out.num is not None and other.num is not None:
                # draft-4 integers are not value-closed ("1.0" is a float there): keep only texts both allow
                out = out.replace(num=out.num & other.num)
            return out
        arrs = [arr_and(x, y) for x in a.arrs for y in b.arrs]
        objs = [obj_and(x, y) for x in a.objs for y in b.objs]
        self._check_alternatives(len(arrs))
        self._check_alternatives(len(objs))
        if len(objs) > 8:
            objs = self._drop_empty_objects(objs)
        return Shape(a.null and b.null, a.bools & b.bools, lang_and(a.num, b.num), lang_and(a.str, b.str),
                     arrs, objs, None, exact)

    def or_(self, a: Shape, b: Shape) -> Shape:
        if a.is_empty():
            return b
        if b.is_empty():
            return a
        finite = None
        if a.finite is not None and b.finite is not None:
            seen = {canonical(v) for v in a.finite}
            finite = list(a.finite) + [v for v in b.finite if canonical(v) not in seen]
        return Shape(a.null or b.null, a.bools | b.bools, lang_or(a.num, b.num), lang_or(a.str, b.str),
                     a.arrs + b.arrs, a.objs + b.objs, finite, a.exact and b.exact)

    def complement(self, s: Shape, path: str = "") -> Shape:
        if not s.exact:
            raise UnsupportedFeatureError("unevaluatedProperties", "cannot negate a schema whose "
                                          "unevaluatedProperties/unevaluatedItems depend on anyOf annotations "
                                          "(not/oneOf/if)", path=path)
        arrs = [ANY_ARR]
        for a in s.arrs:
            comp = self._arr_complement(a, path)
            self._check_alternatives(len(arrs) * len(comp))
            arrs = [y for y in (arr_and(x, c) for x in arrs for c in comp) if not y.trivially_empty()]
            arrs = prune_subsumed(arrs, "arr")
        objs = [ANY_OBJ]
        for o in s.objs:
            comp = self._obj_complement(o)
            self._check_alternatives(len(objs) * len(comp))
            objs = [y for y in (obj_and(x, c) for x in objs for c in comp) if not y.trivially_empty()]
            objs = prune_subsumed(self._drop_empty_objects(objs) if len(objs) > 8 else objs, "obj")
        return Shape(not s.null, frozenset((True, False)) - s.bools,
                     ALL_NUMBERS if s.num is None else s.num.complement(),
                     ALL_STRINGS if s.str is None else s.str.complement(), arrs, objs, None, True)

    def _drop_empty_objects(self, objs: list) -> list:
        """Drop alternatives whose required property has a provably empty value (e.g. ``enum`` ∩ ``not enum``):
        DNF products are dominated by such contradictions. Values that cannot be decided cheaply are kept."""
        out = []
        for o in objs:
            empty = False
            for r in o.required:
                v = o.value_for(r)
                if v[0] == "and" and self.depth < MAX_NORMALIZE_DEPTH // 2:
                    try:
                        empty = self.norm(v).is_empty()
                    except (UnsupportedFeatureError, LimitExceededError, SchemaError):  # incl. _Cycle
                        empty = False
                    if empty:
                        break
            if not empty:
                out.append(o)
        return out

    def check_time(self) -> None:
        """Raise once the schema has taken longer than ``max_seconds`` to compile (DNF products of nested
        ``not``/``oneOf`` can take minutes before any size bound trips)."""
        if time.monotonic() > self.deadline:
            raise LimitExceededError("schema compile time", f"more than {self.max_seconds:g} s compiling the schema "
                                     "(nested not/oneOf/allOf products); the bound is max_compile_seconds")

    def _check_alternatives(self, n: int) -> None:
        self.check_time()
        # intermediate products may exceed the per-shape bound before pruning; 4x leaves room for that
        if n > 4 * MAX_ALTERNATIVES:
            raise LimitExceededError("schema alternatives", f"intersection/negation expands to more than "
                                     f"{4 * MAX_ALTERNATIVES} array/object alternatives")

    @staticmethod
    def _arr_complement(a: ArrC, path: str) -> list[ArrC]:
        if a.unique:
            raise UnsupportedFeatureError("uniqueItems", "the negation of uniqueItems (an array with a duplicate) "
                                          "is not context-free", path=path)
        out = []
        if a.min > 0:
            out.append(ArrC(max=a.min - 1))
        if a.max is not None:
            out.append(ArrC(min=a.max + 1))
        for i, p in enumerate(a.prefix):
            if p != TRUE:
                out.append(ArrC(prefix=(TRUE,) * i + (Not(p),), min=i + 1))
        if a.rest != TRUE:
            out.append(ArrC(contains=((Not(a.rest), 1, None, len(a.prefix)),)))
        for node, lo, hi, start in a.contains:
            if lo > 0:
                out.append(ArrC(contains=((node, 0, lo - 1, start),)))
            if hi is not None:
                out.append(ArrC(contains=((node, hi + 1, None, start),)))
        return out

    @staticmethod
    def _obj_complement(o: ObjC) -> list[ObjC]:
        out = []
        if o.min > 0:
            out.append(ObjC(max=o.min - 1))
        if o.max is not None:
            out.append(ObjC(min=o.max + 1))
        by_name: dict[str, list] = {}
        for n, v in o.names:
            by_name.setdefault(n, []).append(v)
        for r in o.required:
            # not (r present and r's value in v)  ==  "if r is present, its value is outside v" (one alternative)
            out.append(ObjC(names=((r, Not(And(*by_name.pop(r, ())))),)))
        for n, vs in by_name.items():
            v = And(*vs)
            if v != TRUE:
                out.append(ObjC(names=((n, Not(v)),), required=(n,)))
        for lang, v in o.langs:
            if v != TRUE:
                out.append(ObjC(exists=((lang, Not(v)),)))
        for lang, v in o.exists:
            out.append(ObjC(langs=((lang, Not(v)),)))
        return out

    # ------------------------------------------------------------------ values
    def shape_of_values(self, values, exact: bool = True, annotations: Shape | None = None) -> Shape:
        """The language of exactly these JSON values (all their JSON spellings)."""
        if len(values) > MAX_ENUM_VALUES:
            raise LimitExceededError("enum size", f"more than {MAX_ENUM_VALUES} enum values")
        seen: set[str] = set()
        uniq = []
        for v in values:
            c = canonical(v)
            if c not in seen:
                seen.add(c)
                uniq.append(v)
        null = False
        bools = set()
        nums, strs, arrs, objs = [], [], [], []
        ev_obj = self._merged_eval(annotations.objs) if annotations is not None else None
        ev_arr = self._merged_eval_arr(annotations.arrs) if annotations is not None else None
        for v in uniq:
            if v is None:
                null = True
            elif isinstance(v, bool):
                bools.add(v)
            elif isinstance(v, (int, float, Decimal)):
                nums.append(const_lang(v))
            elif isinstance(v, str):
                if all(not 0xD800 <= ord(c) <= 0xDFFF for c in v):
                    strs.append(A.string(v))
            elif isinstance(v, list):
                arr = ArrC(prefix=tuple(Const(x) for x in v), rest=FALSE, min=len(v), max=len(v))
                if ev_arr is not None:
                    arr = arr.replace(ev_prefix=ev_arr[0], ev_all=ev_arr[1], ev_contains=ev_arr[2],
                                      partial=ev_arr[3])
                arrs.append(arr)
            else:
                obj = ObjC(names=tuple((k, Const(x)) for k, x in v.items()),
                           langs=((_names_complement(v.keys()), FALSE),), required=tuple(v.keys()),
                           unordered=True)
                if ev_obj is not None:
                    obj = obj.replace(ev_names=ev_obj[0], ev_langs=ev_obj[1], ev_all=ev_obj[2], partial=ev_obj[3])
                objs.append(obj)
        num = number_union(nums) if nums else None
        st = string_lang(A.alt(*strs)) if strs else None
        return Shape(null, bools, num, st, arrs, objs, uniq, exact)

    @staticmethod
    def _merged_eval(objs):
        withev = [o for o in objs if o.has_eval()]
        if not withev:
            return None
        names = frozenset().union(*(o.ev_names for o in withev))
        langs = tuple(lang for o in withev for lang in o.ev_langs)
        return names, langs, any(o.ev_all for o in withev), len(objs) > 1 or any(o.partial for o in withev)

    @staticmethod
    def _merged_eval_arr(arrs):
        withev = [a for a in arrs if a.has_eval()]
        if not withev:
            return None
        return (max(a.ev_prefix for a in withev), any(a.ev_all for a in withev),
                tuple(c for a in withev for c in a.ev_contains), len(arrs) > 1 or any(a.partial for a in withev))

    def member(self, value, shape: Shape) -> bool:
        """Whether ``value`` (a JSON value; numbers may be Decimal) is in the shape's language."""
        if value is None:
            return shape.null
        if isinstance(value, bool):
            return value in shape.bools
        if isinstance(value, (int, float, Decimal)):
            return shape.num is not None and any(shape.num.matches(t) for t in number_texts(value))
        if isinstance(value, str):
            return (shape.str is not None and all(not 0xD800 <= ord(c) <= 0xDFFF for c in value)
                    and shape.str.matches(value))
        if isinstance(value, list):
            return any(self._member_arr(value, a) for a in shape.arrs)
        if isinstance(value, dict):
            return any(self._member_obj(value, o) for o in shape.objs)
        return False

    def member_node(self, value, key) -> bool:
        if key == TRUE:
            return True
        if key == FALSE:
            return False
        try:
            shape = self.norm(key)
        except _Cycle:
            raise UnsupportedFeatureError("enum", "an enum/const value nested inside a recursive schema that "
                                          "refers back to the location being compiled",
                                          path=self.path_of(key) if key[0] == "raw" else "") from None
        return self.member(value, shape)

    def _member_arr(self, v: list, a: ArrC) -> bool:
        n = len(v)
        if n < a.min or (a.max is not None and n > a.max):
            return False
        for i, x in enumerate(v):
            if not self.member_node(x, a.item(i)):
                return False
        for node, lo, hi, start in a.contains:
            c = sum(1 for x in v[start:] if self.member_node(x, node))
            if c < lo or (hi is not None and c > hi):
                return False
        if a.unique and len({canonical(x) for x in v}) != n:
            return False
        return True

    def _member_obj(self, v: dict, o: ObjC) -> bool:
        if any(r not in v for r in o.required):
            return False
        if len(v) < o.min or (o.max is not None and len(v) > o.max):
            return False
        for k, x in v.items():
            if not self.member_node(x, o.value_for(k)):
                return False
        for lang, node in o.exists:
            if not any(lang.matches(k) and self.member_node(x, node) for k, x in v.items()):
                return False
        return True

    # ------------------------------------------------------------------ disjointness (for oneOf)
    def disjoint(self, a: Shape, b: Shape, budget: int = 3) -> bool:
        """True only when no value can be in both languages (conservative)."""
        if a.finite is not None and b.finite is not None:
            return not ({canonical(v) for v in a.finite} & {canonical(v) for v in b.finite})
        if (a.null and b.null) or (a.bools & b.bools):
            return False
        # a language with gaps may miss valid texts, so an empty intersection proves nothing there
        if a.num is not None and b.num is not None and (a.num.gaps or b.num.gaps or not (a.num & b.num).is_empty()):
            return False
        if a.str is not None and b.str is not None and not (a.str & b.str).is_empty():
            return False
        for x in a.arrs:
            for y in b.arrs:
                if not self._arr_disjoint(x, y, budget):
                    return False
        for x in a.objs:
            for y in b.objs:
                if not self._obj_disjoint(x, y, budget):
                    return False
        return True

    def _node_disjoint(self, p, q, budget: int) -> bool:
        if p == FALSE or q == FALSE:
            return True
        if p == TRUE or q == TRUE or budget <= 0:
            return False
        try:
            return self.disjoint(self.norm(p), self.norm(q), budget - 1)
        except _Cycle:
            return False  # a recursive child still being compiled: not provably disjoint

    def _arr_disjoint(self, x: ArrC, y: ArrC, budget: int) -> bool:
        if arr_and(x, y).trivially_empty():
            return True
        for i in range(max(x.min, y.min)):
            if self._node_disjoint(x.item(i), y.item(i), budget):
                return True
        return False

    def _obj_disjoint(self, x: ObjC, y: ObjC, budget: int) -> bool:
        m = obj_and(x, y)
        if m.trivially_empty():
            return True
        for r in m.required:
            if self._node_disjoint(x.value_for(r), y.value_for(r), budget):
                return True
        return False

    # ------------------------------------------------------------------ raw schemas
    def _norm_raw(self, key) -> Shape:
        schema, resolver, path, bindings = self.raw[key]
        saved, self.cur_bindings = self.cur_bindings, bindings
        try:
            return self._norm_raw_in_scope(schema, resolver, path)
        finally:
            self.cur_bindings = saved

    def _norm_raw_in_scope(self, schema, resolver, path) -> Shape:
        d = self.draft
        if "$ref" in schema and d <= 7:  # before 2019-09, $ref makes its siblings ignored
            _, target = self._ref(schema["$ref"], resolver, path + "/$ref")
            return self.norm(target)
        for kw in schema:
            if kw in self.validator_keywords and kw not in _NUM_KW | _STR_KW | _ARR_KW | _OBJ_KW | _APPLICATORS:
                raise UnsupportedFeatureError(kw, "keyword not implemented", path=path + pointer(kw))
        shape = ALL
        groups_done: set[str] = set()
        for kw, val in schema.items():
            group = ("num" if kw in _NUM_KW else "str" if kw in _STR_KW else "arr" if kw in _ARR_KW
                     else "obj" if kw in _OBJ_KW else None)
            if group is not None:
                if group not in groups_done:
                    groups_done.add(group)
                    local = getattr(self, "_local_" + group)(schema, resolver, path)
                    if local is not None:
                        shape = self.and_(shape, local)
                continue
            handler = self._applicator(kw)
            if handler is not None:
                part = handler(val, schema, resolver, path)
                if part is not None:
                    shape = self.and_(shape, part)
        if d >= 2019 and ("unevaluatedProperties" in schema or "unevaluatedItems" in schema):
            shape = self._unevaluated(shape, schema, resolver, path)
        return shape

    def _applicator(self, kw: str):
        table = self.__dict__.get("_applicators")
        if table is None:
            table = self._applicators = self._applicator_table()
        return table.get(kw)

    def _applicator_table(self) -> dict:
        """In-place keywords of this draft (type-specific ones are grouped in the _local_* methods)."""
        d = self.draft
        table = {
            "type": self._type, "enum": self._enum, "allOf": self._all_of, "anyOf": self._any_of,
            "oneOf": self._one_of, "not": self._not,
        }
        if d >= 6:
            table["const"] = self._const
        if d >= 7:
            table["if"] = self._if
        if d >= 2019:
            table.update({"$ref": self._dollar_ref, "dependentRequired": self._dependent_required,
                          "dependentSchemas": self._dependent_schemas})
        else:
            table["dependencies"] = self._dependencies
        if d == 2019:
            table["$recursiveRef"] = self._recursive_ref
        if d == 2020:
            table["$dynamicRef"] = self._dynamic_ref
        return table

    # ---- type, enum, const
    def _type(self, val, schema, resolver, path):
        types = [val] if isinstance(val, str) else list(val)
        s = NONE
        for t in types:
            if t == "null":
                part = Shape(null=True, finite=[None])
            elif t == "boolean":
                part = Shape(bools=(True, False), finite=[True, False])
            elif t == "integer":
                part = Shape(num=integers(self.draft))
            elif t == "number":
                part = Shape(num=ALL_NUMBERS)
            elif t == "string":
                part = Shape(str=ALL_STRINGS)
            elif t == "array":
                part = Shape(arrs=(ANY_ARR,))
            elif t == "object":
                part = Shape(objs=(ANY_OBJ,))
            else:
                raise SchemaError(f"unknown type {t!r}", path=path + "/type")
            s = self.or_(s, part)
        return s

    def _enum(self, val, schema, resolver, path):
        if not isinstance(val, list):
            raise SchemaError("enum must be an array", path=path + "/enum")
        return self.shape_of_values(val)

    def _const(self, val, schema, resolver, path):
        return self.shape_of_values([val])

    # ---- boolean applicators
    def _subnodes(self, val, resolver, path, kw):
        if not isinstance(val, list) or not val:
            raise SchemaError(f"{kw} must be a non-empty array", path=path + "/" + kw)
        return [self.node(s, resolver, path + pointer(kw, i)) for i, s in enumerate(val)]

    def _all_of(self, val, schema, resolver, path):
        s = ALL
        for k in self._subnodes(val, resolver, path, "allOf"):
            s = self.and_(s, self.norm(k))
        return s

    def _any_of(self, val, schema, resolver, path):
        shapes = [self.norm(k) for k in self._subnodes(val, resolver, path, "anyOf")]
        s = NONE
        for x in shapes:
            s = self.or_(s, x)
        if len(shapes) > 1 and self._has_eval(s):
            exact = self._annotated_union(shapes, path + "/anyOf")
            return exact if exact is not None else self._mark_partial(s)
        return s

    @staticmethod
    def _has_eval(s: Shape) -> bool:
        return any(o.has_eval() for o in s.objs) or any(a.has_eval() for a in s.arrs)

    def _annotated_union(self, shapes: list[Shape], path: str) -> Shape | None:
        """anyOf as a disjoint union over which branches match, so each alternative carries the annotations of
        every matching branch (what unevaluated* sees). Only when the document uses unevaluated* and the
        branches are few and complementable; None otherwise."""
        if not self.uses_unevaluated or len(shapes) > MAX_ANNOTATED_BRANCHES:
            return None
        try:
            comps = [self.complement(x, path) for x in shapes]
        except (UnsupportedFeatureError, LimitExceededError):
            return None
        out = NONE
        n = len(shapes)
        for mask in range(1, 1 << n):
            part = ALL
            for i in range(n):
                part = self.and_(part, shapes[i] if mask >> i & 1 else comps[i])
                if part.is_empty():
                    break
            out = self.or_(out, part)
        return out

    @staticmethod
    def _mark_partial(s: Shape) -> Shape:
        """Several anyOf branches may match one instance; their annotations then add up, which a single DNF
        alternative does not see. Mark such alternatives so unevaluated* over them is flagged inexact."""
        objs = s.objs
        if any(o.has_eval() for o in objs):
            objs = tuple(o.replace(partial=True) for o in objs)
        arrs = s.arrs
        if any(a.has_eval() for a in arrs):
            arrs = tuple(a.replace(partial=True) for a in arrs)
        if objs is s.objs and arrs is s.arrs:
            return s
        return s.replace(objs=objs, arrs=arrs)

    def _one_of(self, val, schema, resolver, path):
        keys = self._subnodes(val, resolver, path, "oneOf")
        shapes = [self.norm(k) for k in keys]
        if len(shapes) == 1:
            return shapes[0]
        n = len(shapes)
        apart = {(i, j) for i in range(n) for j in range(i + 1, n) if self.disjoint(shapes[i], shapes[j])}
        s = NONE
        if len(apart) == n * (n - 1) // 2:
            for x in shapes:
                s = self.or_(s, x)
            return s
        try:
            # exactly one: branch i and no other; a branch provably disjoint from i needs no complement there
            comps: dict[int, Shape] = {}
            for i, x in enumerate(shapes):
                part = x
                for j in range(n):
                    if j != i and (min(i, j), max(i, j)) not in apart:
                        if j not in comps:
                            comps[j] = self.complement(shapes[j], path + "/oneOf")
                        part = self.and_(part, comps[j])
                s = self.or_(s, part)
            return s
        except UnsupportedFeatureError as e:
            if self.lenient:
                for x in shapes:
                    s = self.or_(s, x)
                return s
            raise UnsupportedFeatureError("oneOf", f"branches overlap and cannot be made exclusive ({e})",
                                          path=path + "/oneOf") from None

    def _not(self, val, schema, resolver, path):
        k = self.node(val, resolver, path + "/not")
        return self.complement(self.norm(k), path + "/not")

    def _if(self, val, schema, resolver, path):
        has_then, has_else = "then" in schema, "else" in schema
        if not has_then and not has_else:
            if not self.uses_unevaluated:
                return None
            # the outcome is irrelevant, but a passing `if` still contributes annotations to unevaluated*
            i = self.norm(self.node(val, resolver, path + "/if"))
            if not self._has_eval(i):
                return None
            try:
                return self.or_(i, self.complement(i, path + "/if"))
            except (UnsupportedFeatureError, LimitExceededError):
                # annotations lost: flag the node's alternatives so unevaluated* over them is marked inexact
                return ALL.replace(objs=(ANY_OBJ.replace(partial=True),), arrs=(ANY_ARR.replace(partial=True),))
        i = self.norm(self.node(val, resolver, path + "/if"))
        t = self.norm(self.node(schema["then"], resolver, path + "/then")) if has_then else ALL
        e = self.norm(self.node(schema["else"], resolver, path + "/else")) if has_else else ALL
        ni = self.complement(i, path + "/if")
        return self.or_(self.and_(i, t), self.and_(ni, e))

    # ---- references
    def _dollar_ref(self, val, schema, resolver, path):
        _, target = self._ref(val, resolver, path + "/$ref")
        return self.norm(target)

    def _dynamic_ref(self, val, schema, resolver, path):
        contents, target = self._ref(val, resolver, path + "/$dynamicRef", "$dynamicRef")
        frag = val.partition("#")[2]
        if isinstance(contents, dict) and frag and contents.get("$dynamicAnchor") == frag and frag in self.ambiguous:
            # the outermost resource in the dynamic scope that defines the anchor wins
            bound = dict(self.cur_bindings).get(frag)
            if bound is not None:
                anchor, anchor_resolver = self.anchor_resolvers[bound]
                resolved = anchor_resolver.lookup("#" + frag)
                target = self.node(resolved.contents, resolved.resolver, self.pointers.get(bound, path),
                                   enter=False)
        return self.norm(target)

    def _recursive_ref(self, val, schema, resolver, path):
        contents, target = self._ref(val, resolver, path + "/$recursiveRef", "$recursiveRef")
        if isinstance(contents, dict) and contents.get("$recursiveAnchor") is True and self.recursive_anchors > 1:
            raise UnsupportedFeatureError("$recursiveRef", "resolves through the dynamic scope among several "
                                          "$recursiveAnchor resources", path=path + "/$recursiveRef")
        return self.norm(target)

    # ---- dependencies
    @staticmethod
    def _absent(name: str) -> Shape:
        return ALL.replace(objs=(ObjC(names=((name, FALSE),)),))

    @staticmethod
    def _present(names) -> Shape:
        return Shape(objs=(ObjC(required=tuple(names)),))

    def _dependent_required(self, val, schema, resolver, path):
        s = ALL
        for name, deps in val.items():
            s = self.and_(s, self.or_(self._absent(name), self._present([name, *deps])))
        return s

    def _dependent_schemas(self, val, schema, resolver, path):
        s = ALL
        for name, sub in val.items():
            k = self.node(sub, resolver, path + pointer("dependentSchemas", name))
            s = self.and_(s, self.or_(self._absent(name), self.and_(self._present([name]), self.norm(k))))
        return s

    def _dependencies(self, val, schema, resolver, path):
        s = ALL
        for name, dep in val.items():
            if isinstance(dep, list):
                part = self.or_(self._absent(name), self._present([name, *dep]))
            else:
                k = self.node(dep, resolver, path + pointer("dependencies", name))
                part = self.or_(self._absent(name), self.and_(self._present([name]), self.norm(k)))
            s = self.and_(s, part)
        return s

    # ---- type-specific local constraints
    def _local_num(self, schema, resolver, path):
        d = self.draft
        lowers, uppers = [], []  # raw schema numbers: the float reading needs ints and floats as written
        for kw, strict, side in (("minimum", d == 4 and schema.get("exclusiveMinimum") is True, lowers),
                                 ("maximum", d == 4 and schema.get("exclusiveMaximum") is True, uppers)):
            if kw in schema:
                to_decimal(schema[kw], path + "/" + kw)  # a SchemaError here names the keyword's pointer
                side.append((schema[kw], strict))
        if d >= 6:
            for kw, side in (("exclusiveMinimum", lowers), ("exclusiveMaximum", uppers)):
                if kw in schema:
                    to_decimal(schema[kw], path + "/" + kw)
                    side.append((schema[kw], True))
        lang = bounds_lang(lowers, uppers)
        if "multipleOf" in schema:
            q = to_decimal(schema["multipleOf"], path + "/multipleOf")
            if q <= 0:
                raise SchemaError("multipleOf must be > 0", path=path + "/multipleOf")
            lang = lang & multiple_of_lang(schema["multipleOf"], path + "/multipleOf")
        if lang.is_all:
            return None
        return ALL.replace(num=lang)

    def _local_str(self, schema, resolver, path):
        lo = int(schema.get("minLength", 0))
        hi = int(schema["maxLength"]) if "maxLength" in schema else None
        langs = []
        if "pattern" in schema:
            langs.append(pattern_lang(schema["pattern"], path + "/pattern"))
        if "format" in schema and isinstance(schema["format"], str):
            f = format_lang(schema["format"], strict=self.strict, lenient=self.lenient, path=path + "/format")
            if f is not None:
                langs.append(f)
        lang = ALL_STRINGS
        for x in langs:
            lang = lang & x
        if lo > 0 or hi is not None:
            if lang.is_all:
                lang = length_lang(lo, hi)
            else:
                restricted = restrict_length(lang.ast(), lo, hi) if lang.has_ast() else None
                lang = string_lang(restricted) if restricted is not None else self._length_product(lang, lo, hi, path)
        if lang.is_all:
            return None
        return ALL.replace(str=lang)

    def _length_product(self, lang: Lang, lo: int, hi, path: str) -> Lang:
        """pattern/format ∩ length bounds through a product automaton, built eagerly so an oversized result
        fails here with the keyword's pointer (lenient: an unaffordable maxLength is dropped)."""
        bound = hi if hi is not None else lo
        states = len(lang.dfa()) * (bound + 2)
        try:
            if states > MAX_LENGTH_PRODUCT:
                raise LimitExceededError("string constraints", f"about {states} automaton states (limit "
                                         f"{MAX_LENGTH_PRODUCT})")
            out = lang & length_lang(lo, hi)
            out.ast()
            return out
        except LimitExceededError as e:
            if self.lenient and hi is not None:
                return lang if lo == 0 else lang & length_lang(lo, None)
            where = path + ("/maxLength" if hi is not None else "/minLength")
            raise LimitExceededError("string constraints", f"minLength/maxLength combined with pattern/format at "
                                     f"{where} has no exact regular expression within the limits ({e}); "
                                     "lenient=True drops the maxLength") from None

    def _local_arr(self, schema, resolver, path):
        d = self.draft
        prefix: list = []
        rest = TRUE
        ev_prefix, ev_all = 0, False
        if d == 2020:
            if "prefixItems" in schema:
                prefix = [self.node(s, resolver, path + pointer("prefixItems", i))
                          for i, s in enumerate(schema["prefixItems"])]
                ev_prefix = len(prefix)
            if "items" in schema:
                rest = self.node(schema["items"], resolver, path + "/items")
                ev_all = True
        else:
            items = schema.get("items")
            if isinstance(items, list):
                prefix = [self.node(s, resolver, path + pointer("items", i)) for i, s in enumerate(items)]
                ev_prefix = len(prefix)
                if "additionalItems" in schema:
                    rest = self.node(schema["additionalItems"], resolver, path + "/additionalItems")
                    ev_all = True
            elif items is not None:
                rest = self.node(items, resolver, path + "/items")
                ev_all = True
        lo = int(schema.get("minItems", 0))
        hi = int(schema["maxItems"]) if "maxItems" in schema else None
        contains = ()
        ev_contains = ()
        if d >= 6 and "contains" in schema:
            c = self.node(schema["contains"], resolver, path + "/contains")
            cmin = int(schema.get("minContains", 1)) if d >= 2019 else 1
            cmax = int(schema["maxContains"]) if d >= 2019 and "maxContains" in schema else None
            if cmin > 0 or cmax is not None:
                contains = ((c, cmin, cmax, 0),)
            ev_contains = (c,)
        unique = schema.get("uniqueItems") is True
        arr = ArrC(prefix, rest, lo, hi, contains, unique, ev_prefix, ev_all, ev_contains)
        return ALL.replace(arrs=(arr,))

    def _local_obj(self, schema, resolver, path):
        d = self.draft
        props = schema.get("properties", {})
        names = tuple((k, self.node(v, resolver, path + pointer("properties", k))) for k, v in props.items())
        pats = schema.get("patternProperties", {})
        plangs = []
        langs = []
        for p, v in pats.items():
            lang = pattern_lang(p, path + pointer("patternProperties", p))
            plangs.append(lang)
            langs.append((lang, self.node(v, resolver, path + pointer("patternProperties", p))))
        ev_all = False
        if "additionalProperties" in schema:
            ev_all = True
            addl = self.node(schema["additionalProperties"], resolver, path + "/additionalProperties")
            if addl != TRUE:
                other = _names_complement(props.keys())
                for lang in plangs:
                    other = other - lang
                langs.append((other, addl))
        if d >= 6 and "propertyNames" in schema:
            pn = self.norm(self.node(schema["propertyNames"], resolver, path + "/propertyNames"))
            if pn.str is None:
                langs.append((ALL_STRINGS, FALSE))
            elif not pn.str.is_all:
                langs.append((pn.str.complement(), FALSE))
        obj = ObjC(names, langs, (), tuple(schema.get("required", ())), int(schema.get("minProperties", 0)),
                   int(schema["maxProperties"]) if "maxProperties" in schema else None,
                   ev_names=frozenset(props), ev_langs=tuple(plangs), ev_all=ev_all)
        return ALL.replace(objs=(obj,))

    # ---- unevaluated*
    def _unevaluated(self, shape: Shape, schema, resolver, path) -> Shape:
        exact = shape.exact
        objs, arrs = shape.objs, shape.arrs
        if "unevaluatedProperties" in schema:
            u = self.node(schema["unevaluatedProperties"], resolver, path + "/unevaluatedProperties")
            new = []
            for o in objs:
                if o.ev_all:
                    new.append(o)
                    continue
                if o.partial:
                    exact = False
                if u != TRUE:
                    lang = _names_complement(o.ev_names)
                    for x in o.ev_langs:
                        lang = lang - x
                    o = o.replace(langs=o.langs + ((lang, u),))
                new.append(o.replace(ev_all=True, partial=False))
            objs = tuple(new)
        if "unevaluatedItems" in schema:
            u = self.node(schema["unevaluatedItems"], resolver, path + "/unevaluatedItems")
            new = []
            for a in arrs:
                if a.ev_all:
                    new.append(a)
                    continue
                if a.partial:
                    exact = False
                if u != TRUE:
                    extra = Or(u, *a.ev_contains)
                    prefix = tuple(p if i < a.ev_prefix else And(p, extra) for i, p in enumerate(a.prefix))
                    a = a.replace(prefix=prefix, rest=And(a.rest, extra))
                new.append(a.replace(ev_all=True, partial=False))
            arrs = tuple(new)
        out = Shape(shape.null, shape.bools, shape.num, shape.str, arrs, objs, None, exact)
        if shape.finite is not None:
            vals = [v for v in shape.finite if self.member(v, out)]
            return self.shape_of_values(vals, exact=exact)
        return out

    # ------------------------------------------------------------------ helpers for the emitter
    def key_values(self, key) -> list | None:
        """Finite value list of a node, or None."""
        if key == FALSE:
            return []
        if key == TRUE:
            return None
        return self.norm(key).finite
