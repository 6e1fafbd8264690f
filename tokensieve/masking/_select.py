"""The one place that picks the Cython kernels or their pure-Python twins."""

from __future__ import annotations

import os
import sys
import warnings

FORCE_PURE = bool(os.environ.get("TOKENSIEVE_PUREPYTHON")) or sys.implementation.name != "cpython"

from . import _walk_py as python_kernels  # noqa: E402

if FORCE_PURE:
    kernels = python_kernels
else:
    try:
        from ..cext import _walk as kernels  # type: ignore[no-redef]
    except ImportError:  # extension not built: correct but slower
        warnings.warn("tokensieve: Cython extension not built; using the pure-Python path "
                      "(reinstall with a C compiler for speed)", RuntimeWarning, stacklevel=2)
        kernels = python_kernels

IMPLEMENTATION = "python" if kernels is python_kernels else "cython"

__all__ = ["kernels", "python_kernels", "IMPLEMENTATION"]
