"""Picks the mask walk's Cython kernels or their pure-Python twins (see ``tokensieve._native``)."""

from __future__ import annotations

from .._native import FORCE_PURE, pick
from . import _walk_py as python_kernels

kernels = pick("_walk", python_kernels, "the mask walk")
IMPLEMENTATION = "python" if kernels is python_kernels else "cython"

__all__ = ["kernels", "python_kernels", "IMPLEMENTATION", "FORCE_PURE", "pick"]
