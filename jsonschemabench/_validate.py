"""The paper's output checker: ``json.loads``, then jsonschema's Draft 2020-12 validator with format checking.

The benchmark grades every engine with this one checker, never with an engine's own validator. ``$schema`` is
ignored (2020-12 semantics for every schema, as in the paper). Which formats are checked depends on the installed
optional packages, so the set is pinned: ``paper`` is what plain ``jsonschema`` 4.23 checks (the paper's
environment) with the paper's ``ipaddress``/``uuid`` checkers; ``all`` is everything the installed jsonschema knows.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from typing import Any

import jsonschema

__all__ = ["PAPER_FORMATS", "Checker", "extract_fenced"]

#: Formats the paper's checker verified (jsonschema 4.23.0 without the ``[format]`` extra).
PAPER_FORMATS = ("date", "email", "idn-email", "ipv4", "ipv6", "regex", "time", "uuid")

_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.S)


def extract_fenced(text: str) -> str:
    """The body of the first ```` ```json ```` block if there is one (the paper's LM-only runner), else ``text``."""
    m = _FENCE.search(text)
    return m.group(1).strip() if m else text


def _ipv4(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    ipaddress.IPv4Address(value)
    return True


def _ipv6(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    ipaddress.IPv6Address(value)
    return True


def _uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    uuid.UUID(value)
    return True


class Checker:
    """Grades outputs against schemas.

    Parameters: ``formats`` ``"paper"`` (default) or ``"all"``.
    """

    def __init__(self, formats: str = "paper"):
        if formats not in ("paper", "all"):
            raise ValueError(f"formats must be 'paper' or 'all', got {formats!r}")
        known = set(jsonschema.FormatChecker().checkers)
        wanted = PAPER_FORMATS if formats == "paper" else sorted(known)
        self.formats = tuple(sorted(f for f in wanted if f in known or f in ("ipv4", "ipv6", "uuid")))
        fc = jsonschema.FormatChecker(formats=[f for f in self.formats if f in known])
        errors = (ValueError, ipaddress.AddressValueError)
        fc.checks("ipv4", raises=errors)(_ipv4)
        fc.checks("ipv6", raises=errors)(_ipv6)
        fc.checks("uuid", raises=errors)(_uuid)
        self.format_checker = fc
        self.mode = formats

    def check(self, text: str, schema: Any) -> tuple[bool, bool, str | None]:
        """``(parses, valid, reason)`` for an output ``text``; ``reason`` is None when valid."""
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            return False, False, f"not JSON: {getattr(e, 'msg', e)}"
        ok, reason = self.validate(value, schema)
        return True, ok, reason

    def validate(self, value: Any, schema: Any) -> tuple[bool, str | None]:
        """``(valid, reason)`` of an instance; any exception of the validator counts as invalid (as in the paper)."""
        cls = jsonschema.Draft202012Validator
        try:
            cls.check_schema(schema)
        except Exception as e:  # noqa: BLE001 - the paper treats any failure as invalid
            return False, f"schema fails the Draft 2020-12 meta-schema: {_short(e)}"
        try:
            err = jsonschema.exceptions.best_match(cls(schema, format_checker=self.format_checker).iter_errors(value))
        except Exception as e:  # noqa: BLE001 - unresolvable $ref, bad regex, recursion...
            return False, f"validator error: {type(e).__name__}: {_short(e)}"
        if err is None:
            return True, None
        where = "/".join(str(p) for p in err.absolute_path)
        return False, f"at /{where}: {_short(err)}"


def _short(e: BaseException, n: int = 300) -> str:
    msg = getattr(e, "message", None) or str(e)
    msg = msg.strip().splitlines()[0] if msg.strip() else type(e).__name__
    return msg if len(msg) <= n else msg[: n - 3] + "..."
