"""Picks the sampler's trie kernel: the Cython one or its pure-Python twin (``TOKENSIEVE_PUREPYTHON=1`` forces
the twin, like the mask kernels)."""

from __future__ import annotations

import warnings

from ..masking._select import FORCE_PURE
from . import _gad_py as python_kernels

if FORCE_PURE:
    kernels = python_kernels
else:
    try:
        from ..cext import _gad as kernels  # type: ignore[no-redef]
    except ImportError:  # extension not built: correct but slower
        warnings.warn("tokensieve: Cython extension _gad not built; the sampler's trie uses the pure-Python path "
                      "(reinstall with a C compiler for speed)", RuntimeWarning, stacklevel=2)
        kernels = python_kernels

IMPLEMENTATION = "python" if kernels is python_kernels else "cython"

__all__ = ["kernels", "python_kernels", "IMPLEMENTATION"]
