"""Error types. Every failure a user can cause is one of these, with a location."""

from __future__ import annotations

__all__ = [
    "TokensieveError",
    "GrammarError",
    "SchemaError",
    "UnsupportedFeatureError",
    "LimitExceededError",
    "VocabularyError",
    "InfillError",
]


class TokensieveError(Exception):
    """Base class of every error tokensieve raises on purpose."""


class GrammarError(TokensieveError, ValueError):
    """A grammar (Lark, GBNF, regex, or the IR) is malformed.

    ``line`` is the 1-based line in the grammar text when known; ``symbol`` names the rule or terminal.
    """

    def __init__(self, message: str, *, line: int | None = None, symbol: str | None = None):
        where = []
        if line is not None:
            where.append(f"line {line}")
        if symbol is not None:
            where.append(f"in {symbol!r}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.line = line
        self.symbol = symbol


class SchemaError(TokensieveError, ValueError):
    """A JSON Schema is invalid; ``path`` is the JSON pointer of the offending subschema."""

    def __init__(self, message: str, *, path: str = ""):
        super().__init__(f"{message} (at {path or '#'})")
        self.path = path


class UnsupportedFeatureError(TokensieveError, NotImplementedError):
    """Input is valid but uses a feature that cannot be honoured exactly.

    ``feature`` names the keyword or construct; ``path`` is a JSON pointer (schemas) or a grammar location.
    """

    def __init__(self, feature: str, message: str = "", *, path: str = ""):
        text = f"unsupported feature {feature!r}"
        if message:
            text += f": {message}"
        if path:
            text += f" (at {path})"
        super().__init__(text)
        self.feature = feature
        self.path = path


class LimitExceededError(TokensieveError, RuntimeError):
    """A resource bound (lexer states, Earley items, depth, size, time) was hit; ``limit`` names it."""

    def __init__(self, limit: str, message: str):
        super().__init__(f"{limit} exceeded: {message}")
        self.limit = limit


class VocabularyError(TokensieveError, ValueError):
    """A tokenizer, vocabulary or bitmask does not fit what it is used with."""


class InfillError(TokensieveError, ValueError):
    """A partial output is malformed; ``part`` is the index of the offending element of ``parts``."""

    def __init__(self, message: str, *, part: int | None = None):
        super().__init__(f"{message} (part {part})" if part is not None else message)
        self.part = part
