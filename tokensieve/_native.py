"""The one switch between the Cython kernels and their pure-Python twins."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from types import ModuleType

FORCE_PURE = bool(os.environ.get("TOKENSIEVE_PUREPYTHON")) or sys.implementation.name != "cpython"

__all__ = ["FORCE_PURE", "pick", "pure_python"]


def pick(name: str, twin: ModuleType, what: str) -> ModuleType:
    """``tokensieve.cext.<name>``, or ``twin`` when forced (``TOKENSIEVE_PUREPYTHON``) or not built (warns)."""
    if FORCE_PURE:
        return twin
    try:
        return importlib.import_module(f"tokensieve.cext.{name}")
    except ImportError:  # extension not built: correct but slower
        warnings.warn(f"tokensieve: Cython extension {name} not built; {what} uses the pure-Python path "
                      "(reinstall with a C compiler for speed)", RuntimeWarning, stacklevel=3)
        return twin


class pure_python:
    """Inside it, every mask kernel is its pure-Python twin: the trie walks, the Earley closure and the lexer's
    DFA rows (the one place that knows which module-level switches there are)."""

    def __enter__(self):
        from .automata import _earley, _nfa_py, _regex
        from .masking import _select

        self.saved = _select.kernels, _earley.kernels, _regex._nfa_kernels
        _select.kernels, _earley.kernels, _regex._nfa_kernels = _select.python_kernels, _earley.python_kernels, _nfa_py
        return self

    def __exit__(self, *exc) -> None:
        from .automata import _earley, _regex
        from .masking import _select

        _select.kernels, _earley.kernels, _regex._nfa_kernels = self.saved
