"""JSON Schema -> grammar IR, exact or a typed error.

:func:`grammar_from_json_schema` compiles a schema into a :class:`~tokensieve.grammar.Grammar` whose language
is exactly the JSON texts (in the chosen layout) of the instances that validate; a keyword it cannot honour
exactly raises :class:`~tokensieve.UnsupportedFeatureError` naming the keyword and JSON pointer (``lenient=True``
opts into the documented approximations instead). :func:`validate` checks an instance with jsonschema using the
same ``pattern``/``format`` semantics.

Documented departures (each rejects some valid texts, never accepts an invalid one; ``lenient`` aside):

* numbers: a text must be valid both as Python parses it (doubles) and in exact decimal arithmetic; under a
  bound, ``const`` or ``type: integer`` an exponent needs a normalized mantissa (``1.5e3``, not ``15e2``);
  ``multipleOf`` and complements (``not``, overlapping ``oneOf``) have no exponent texts; see
  ``tokensieve.schema._numbers`` and ``docs/schema_support.md`` (also for the two places that follow exact
  arithmetic where Python's floats disagree: ``multipleOf`` and 309-digit integral fraction texts);
* strings: printable ASCII is written raw (``"\\u0041"`` is rejected) and lone-surrogate escapes are rejected;
  every other JSON spelling is accepted, so ``json.dumps`` output is, with or without ``ensure_ascii``;
* objects follow schema property order unless ``any_order=True``; keys outside the named properties come
  after the named ones and are not checked for duplicates among themselves;
* formats: see ``tokensieve.schema._formats`` (enforced; unknown formats are ignored as annotations, or an
  error with ``strict=True``);
* ``indent`` layouts reject documents nested deeper than 48 levels;
* a schema that accepts nothing compiles to a grammar with an empty language (``tokensieve.compile`` then
  raises GrammarError).

Refused (UnsupportedFeatureError / LimitExceededError, never approximated unless ``lenient``): remote ``$ref``,
``$dynamicRef``/``$recursiveRef`` that really resolve through the dynamic scope, lookaround/backreferences in
``pattern``, ``uniqueItems`` over items that are not a small finite set of values, ``not``/overlapping ``oneOf``/
``if`` over ``uniqueItems`` (its complement is not context-free) or over unevaluated* annotations that could not be
tracked exactly, ``multipleOf`` needing a huge modulo automaton, ``maxLength`` combined with a pattern/format whose exact regex would be too large,
``any_order`` objects with more than 10 named properties, and size/depth bounds.
"""

from __future__ import annotations

import json

from .._errors import LimitExceededError, SchemaError
from ..grammar._ir import Grammar
from ._compile import Compiler, _Cycle, load_schema, pick_draft
from ._emit import Emitter
from ._validate import validate

__all__ = ["grammar_from_json_schema", "validate", "DEFAULT_MAX_WHITESPACE"]

DEFAULT_MAX_WHITESPACE = 32


def grammar_from_json_schema(schema, *, whitespace: str = "flexible", max_whitespace: int = DEFAULT_MAX_WHITESPACE,
                             indent=None, separators=None, strict: bool = False, any_order: bool = False,
                             lenient: bool = False, draft=None, force_2020_12: bool = False,
                             max_compile_seconds: float = 30.0) -> Grammar:
    """Compile a JSON Schema into a grammar.

    Parameters: ``schema`` (dict/bool, JSON text, or a pydantic model class); ``whitespace`` ``"flexible"``
    (optional runs of at most ``max_whitespace`` whitespace characters between tokens, none before or after the
    document) or ``"compact"``; ``indent``/``separators`` select an exact ``json.dumps`` layout instead;
    ``strict`` forbids, at every object/array location that declares ``properties``/``patternProperties``
    or ``prefixItems``, the keys and extra items nothing declares (as if ``unevaluatedProperties``/
    ``unevaluatedItems`` were false there, so ``allOf`` compositions keep working) and raises on formats it
    would otherwise ignore;
    ``any_order`` accepts object keys in any order (required keys and duplicate-free named keys still
    enforced); ``lenient`` turns some UnsupportedFeatureErrors into documented approximations (overlapping
    ``oneOf`` as ``anyOf``, ``uniqueItems`` not enforced); ``draft`` overrides ``$schema``
    (4, 6, 7, "2019-09", "2020-12"); ``force_2020_12`` applies 2020-12 semantics whatever ``$schema`` says;
    ``max_compile_seconds`` bounds the wall-clock time of the compilation.

    Returns a Grammar. Raises SchemaError (invalid schema, unresolvable ``$ref``, a reference cycle without a
    base case), UnsupportedFeatureError (exactness impossible), LimitExceededError (size bounds).
    """
    value = load_schema(schema)
    d = pick_draft(value, draft, force_2020_12)
    if separators is not None:
        seps = tuple(separators) if isinstance(separators, (tuple, list)) else ()
        if len(seps) != 2 or not all(isinstance(x, str) for x in seps) or seps[0].strip(" \t\n\r") != "," \
                or seps[1].strip(" \t\n\r") != ":":
            raise ValueError("separators must be (item_separator, key_separator): ',' and ':' with optional "
                             f"whitespace around them, got {separators!r}")
    if indent is not None and not isinstance(indent, (int, str)) or isinstance(indent, str) and \
            indent.strip(" \t"):
        raise ValueError(f"indent must be an int or a string of spaces/tabs, got {indent!r}")
    try:
        if not max_compile_seconds > 0:
            raise ValueError(f"max_compile_seconds must be > 0, got {max_compile_seconds!r}")
        compiler = Compiler(value, d, strict=strict, lenient=lenient, max_seconds=max_compile_seconds)
        emitter = Emitter(compiler, whitespace=whitespace, max_whitespace=max_whitespace, indent=indent,
                          separators=separators, any_order=any_order, strict=strict, lenient=lenient)
        source = json.dumps({"json_schema": {"draft": d, "whitespace": whitespace, "max_whitespace": max_whitespace,
                                             "indent": indent, "separators": separators, "strict": strict,
                                             "any_order": any_order, "lenient": lenient}})
        return emitter.build(source)
    except _Cycle as e:  # surface the plain public type
        raise SchemaError(str(e).rsplit(" (at ", 1)[0], path=e.path) from None
    except RecursionError:
        # a backstop: every recursion here is bounded, but the bounds assume the default recursion limit
        raise LimitExceededError("schema nesting", "schema too deeply nested to compile") from None
