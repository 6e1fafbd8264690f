"""Picks the sampler's trie kernel: the Cython one or its pure-Python twin (``TOKENSIEVE_PUREPYTHON=1`` forces
the twin, like the mask kernels)."""

from __future__ import annotations

from ..masking._select import pick
from . import _gad_py as python_kernels

kernels = pick("_gad", python_kernels, "the sampler's trie")
IMPLEMENTATION = "python" if kernels is python_kernels else "cython"

__all__ = ["kernels", "python_kernels", "IMPLEMENTATION"]
