"""The one switch between the Cython kernels and their pure-Python twins."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from types import ModuleType

FORCE_PURE = bool(os.environ.get("TOKENSIEVE_PUREPYTHON")) or sys.implementation.name != "cpython"

__all__ = ["FORCE_PURE", "pick"]


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
