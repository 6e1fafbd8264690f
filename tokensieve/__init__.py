"""tokensieve: exact token masks for JSON Schemas and context-free grammars.

The public surface is listed in ``__all__``; everything else lives in ``_private`` modules. Importing this
package never imports torch or transformers.
"""

from __future__ import annotations

from ._errors import (
    GrammarError,
    LimitExceededError,
    SchemaError,
    TokensieveError,
    UnsupportedFeatureError,
    VocabularyError,
)
from ._generate import generate
from .grammar import Grammar

__version__ = "0.1.0"

__all__ = [
    "Grammar",
    "Vocabulary",
    "CompiledGrammar",
    "Matcher",
    "compile",
    "allocate_token_bitmask",
    "fill_next_token_bitmasks",
    "apply_token_bitmask_inplace",
    "validate",
    "warm_up",
    "generate",
    "TokensieveError",
    "GrammarError",
    "SchemaError",
    "UnsupportedFeatureError",
    "LimitExceededError",
    "VocabularyError",
    "__version__",
]

_LAZY = {
    "Vocabulary": ("tokensieve.masking", "Vocabulary"),
    "CompiledGrammar": ("tokensieve.masking", "CompiledGrammar"),
    "Matcher": ("tokensieve.masking", "Matcher"),
    "compile": ("tokensieve.masking", "compile"),
    "allocate_token_bitmask": ("tokensieve.masking", "allocate_token_bitmask"),
    "fill_next_token_bitmasks": ("tokensieve.masking", "fill_next_token_bitmasks"),
    "apply_token_bitmask_inplace": ("tokensieve.masking", "apply_token_bitmask_inplace"),
    "validate": ("tokensieve.schema", "validate"),
    "warm_up": ("tokensieve._warmup", "warm_up"),
}


def __getattr__(name: str):
    # Lazy so that `import tokensieve` stays light and never drags in torch via generate.
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'tokensieve' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
