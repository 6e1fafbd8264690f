"""warm_up: run the compiler and the mask path once per process on small built-in schemas.

CPython specialises bytecode as it runs and the compiler fills per-process caches (metaschema validators for each
draft, the lexers of a string body or a number), so a process's first schema pays for code it runs the first
time: 1-2.5 ms of a forked worker's ~16 ms median on MaskBench. A prefork server (or the benchmark's fork-per-schema
workers) calls this before forking so that every child starts warm. Nothing here depends on a user's schema.
"""

from __future__ import annotations

import json

__all__ = ["warm_up"]

_DRAFTS = ("http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-06/schema#",
           "http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2019-09/schema",
           "https://json-schema.org/draft/2020-12/schema")

# one schema per draft, with the keywords real schemas use most; the document is valid for each of them
_BODY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 0, "maximum": 1000000},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"},
        "when": {"type": "string", "format": "date-time"},
        "mail": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"},
        "price": {"type": "number", "minimum": 0, "multipleOf": 0.01},
        "ok": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "kind": {"enum": ["a", "b", "c"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 8, "uniqueItems": False},
        "ref": {"$ref": "#/definitions/item"},
        "any": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}]},
        "one": {"oneOf": [{"type": "boolean"}, {"type": "null"}]},
        "all": {"allOf": [{"type": "object"}, {"properties": {"x": {"enum": [1]}}}]},
        "map": {"type": "object", "additionalProperties": {"type": "number"}},
        "pat": {"type": "object", "patternProperties": {"^k_": {"type": "integer"}}, "additionalProperties": False},
    },
    "required": ["id", "name"],
    "additionalProperties": False,
    "definitions": {"item": {"type": "object", "properties": {"v": {"type": "string"}}, "required": ["v"]}},
}
_DOCUMENT = {"id": 7, "name": "warm", "code": "PT12", "when": "2024-01-02T03:04:05Z", "mail": "a@b.pt",
             "site": "https://x.pt/y", "price": 9.99, "ok": True, "note": None, "kind": "b", "tags": ["x", "y"],
             "ref": {"v": "z"}, "any": 3, "one": None, "all": {"x": 1}, "map": {"m": 1.5}, "pat": {"k_1": 2}}


def warm_up(vocab=None) -> None:
    """Compile the built-in schemas for every draft; with ``vocab``, also mask along a valid document.

    Parameters: ``vocab`` a :class:`tokensieve.Vocabulary`, or None to warm the schema compiler only.
    """
    from .grammar import Grammar
    from .masking import Matcher, allocate_token_bitmask, compile as compile_grammar

    data = json.dumps(_DOCUMENT).encode()
    for uri in _DRAFTS:
        grammar = Grammar.from_json_schema({"$schema": uri, **_BODY})
        if vocab is None:
            continue
        matcher = Matcher(compile_grammar(grammar, vocab))
        bitmask = allocate_token_bitmask(1, vocab.size)
        for i in range(0, len(data), 3):  # masks at many kinds of position: keys, numbers, string bodies
            matcher.fill_next_token_bitmask(bitmask)
            if not matcher.accept_bytes(data[i:i + 3]):
                raise AssertionError("warm-up document refused")  # a defect of tokensieve, not of user input
