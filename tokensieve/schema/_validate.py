"""Instance validation with jsonschema, using the same ``pattern`` and ``format`` semantics as the compiler."""

from __future__ import annotations

import copy

import jsonschema

from .._errors import SchemaError, TokensieveError
from ._compile import _VALIDATORS, check_schema, load_schema, pick_draft, pointer
from ._formats import FORMATS, format_regex
from ._regex_ecma import to_python_regex

__all__ = ["validate"]


def _format_checker(cls) -> jsonschema.FormatChecker:
    checker = copy.deepcopy(cls.FORMAT_CHECKER)
    for name in FORMATS:
        rx = format_regex(name)
        checker.checkers[name] = (lambda inst, rx=rx: not isinstance(inst, str) or rx.fullmatch(inst) is not None,
                                  ())
    return checker


def _translate_patterns(schema):
    """Copy of the schema with ECMA ``pattern``/``patternProperties`` rewritten to equivalent Python regexes
    (jsonschema evaluates them with ``re.search``). Patterns we cannot translate are left as they are."""

    def tr(p):
        try:
            return to_python_regex(p)
        except TokensieveError:
            return p

    root = copy.deepcopy(schema)
    stack = [root]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if isinstance(x.get("pattern"), str):
                x["pattern"] = tr(x["pattern"])
            pp = x.get("patternProperties")
            if isinstance(pp, dict):
                x["patternProperties"] = {tr(k): v for k, v in pp.items()}
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return root


def validate(instance, schema, *, raise_on_error: bool = False, draft=None, force_2020_12: bool = False) -> list[dict]:
    """Validate ``instance`` against ``schema`` (dict, JSON text or pydantic model class).

    Formats are checked (the compiler's exact format languages where it has one, jsonschema's checkers
    otherwise) and ``pattern`` follows ECMA-262 semantics, so the answer agrees with the compiled grammar.

    Returns a list of ``{"path", "schema_path", "message"}`` dicts (JSON pointers into the instance and the
    schema), empty when valid. Raises SchemaError for an invalid schema, and for an invalid instance when
    ``raise_on_error`` is set.
    """
    schema = load_schema(schema)
    d = pick_draft(schema, draft, force_2020_12)
    check_schema(schema, d)
    cls = _VALIDATORS[d]
    validator = cls(_translate_patterns(schema), format_checker=_format_checker(cls))
    try:
        errors = sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    except RecursionError:
        raise SchemaError("validation recursed too deeply (circular $ref without a base case?)") from None
    except jsonschema.exceptions._WrappedReferencingError as e:  # pragma: no cover - depends on the schema
        raise SchemaError(f"unresolvable reference: {e}") from None
    out = [{"path": pointer(*e.absolute_path), "schema_path": pointer(*e.absolute_schema_path),
            "message": e.message} for e in errors]
    if out and raise_on_error:
        first = out[0]
        raise SchemaError(f"instance is invalid: {first['message']} (instance at {first['path'] or '/'})",
                          path=first["schema_path"])
    return out
