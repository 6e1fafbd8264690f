"""Only the Cython extensions live here; metadata is in pyproject.toml.

A failed compile leaves a pure-Python install (with a warning) unless TOKENSIEVE_REQUIRE_EXTENSIONS is set.
"""

import os

from setuptools import Extension, setup

KERNELS = ["_walk", "_gad", "_earley", "_nfa"]


def native_extensions():
    if os.environ.get("TOKENSIEVE_NO_EXTENSIONS"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # pragma: no cover - build isolation always provides Cython
        print("warning: Cython missing; installing the pure-Python path")
        return []
    exts = cythonize(
        [Extension(f"tokensieve.cext.{k}", [f"tokensieve/cext/{k}.pyx"], extra_compile_args=["-O3"])
         for k in KERNELS],
        compiler_directives=dict(language_level=3, boundscheck=False, wraparound=False,
                                 initializedcheck=False, cdivision=True, embedsignature=True),
    )
    strict = bool(os.environ.get("TOKENSIEVE_REQUIRE_EXTENSIONS"))
    for ext in exts:
        ext.optional = not strict  # cythonize() drops optional=True; a broken compiler then falls back
    return exts


setup(ext_modules=native_extensions())
