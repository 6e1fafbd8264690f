"""The one place that picks the Cython kernels or their pure-Python twins."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from types import ModuleType

FORCE_PURE = bool(os.environ.get("TOKENSIEVE_PUREPYTHON")) or sys.implementation.name != "cpython"


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


from . import _walk_py as python_kernels  # noqa: E402

kernels = pick("_walk", python_kernels, "the mask walk")
IMPLEMENTATION = "python" if kernels is python_kernels else "cython"

__all__ = ["kernels", "python_kernels", "IMPLEMENTATION", "FORCE_PURE", "pick"]
