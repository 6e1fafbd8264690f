"""Shared fixtures: both mask implementations (Cython kernel and its pure-Python twin)."""

from __future__ import annotations

import pytest

from tokensieve._native import pure_python
from tokensieve.masking import _select

IMPLS = ["python"] + (["cython"] if _select.kernels is not _select.python_kernels else [])


def pytest_report_header(config):
    return f"tokensieve mask kernels: default={_select.IMPLEMENTATION}; tests run over {IMPLS}"


@pytest.fixture(params=IMPLS)
def impl(request):
    """Run a test once per kernel implementation."""
    from tokensieve.masking import _engine

    # compiled grammars carry mask caches: start each implementation from scratch so neither reuses the other's
    _engine._COMPILED.clear()
    if request.param == "python":
        with pure_python():
            yield request.param
    else:
        yield request.param
    _engine._COMPILED.clear()
