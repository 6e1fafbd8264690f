"""Hugging Face adapter for the grammar-aligned sampler: next-token logits with KV-cache reuse.

Torch is imported only when a model is actually called.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._errors import TokensieveError, VocabularyError
from ._sampler import GrammarAlignedSampler

__all__ = ["HFNextLogits", "SampleResult", "sample_with_model"]


class HFNextLogits:
    """``next_logits(prefix_ids)`` for a transformers causal LM after a fixed prompt.

    The KV cache of the last sequence is kept: a call for a prefix sharing ``n`` tokens with it crops the cache
    to ``n`` and feeds only the rest (a sampler walking down from the root feeds one token per call). The last
    ``cache_size`` logits rows are also kept by prefix, so revisited prefixes (the root after every restart,
    nodes of a small trie) cost no forward pass.

    Parameters:
        model: a transformers causal LM (eval mode).
        prompt_ids: the prompt's token ids (chat template already applied); must not be empty.
        cache_size: logits rows kept (each is ``vocab_size`` float32).

    Attributes: ``forward_calls`` and ``forward_tokens`` count the real model work done.
    """

    def __init__(self, model: Any, prompt_ids: Sequence[int], *, cache_size: int = 64):
        ids = [int(t) for t in prompt_ids]
        if not ids:
            raise VocabularyError("prompt_ids is empty: the model needs at least one token (e.g. BOS) to predict from")
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(f"cache_size must be a non-negative int, got {cache_size!r}")
        self.model = model
        self.prompt_ids = ids
        self.cache_size = cache_size
        self.forward_calls = 0
        self.forward_tokens = 0
        self._ids: list[int] = []  # tokens the KV cache covers
        self._past: Any = None
        self._rows: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()
        self._kwarg: str | None = None

    def __call__(self, prefix: Sequence[int]) -> np.ndarray:
        key = tuple(int(t) for t in prefix)
        row = self._rows.get(key)
        if row is not None:
            self._rows.move_to_end(key)
            return row
        row = self._compute(self.prompt_ids + list(key))
        if self.cache_size:
            self._rows[key] = row
            if len(self._rows) > self.cache_size:
                self._rows.popitem(last=False)
        return row

    def _compute(self, full: list[int]) -> np.ndarray:
        import torch

        n = 0
        old = self._ids
        lim = min(len(old), len(full) - 1)  # feed at least one token to get the last position's logits
        while n < lim and old[n] == full[n]:
            n += 1
        past = self._past
        if past is not None and n < len(old):
            try:
                if n == 0:
                    past = None
                else:
                    # a negative count removes tokens in every transformers version that has crop()
                    past.crop(-(len(old) - n))
            except Exception:  # a cache that cannot roll back (e.g. past its sliding window): start over
                past, n = None, 0
        if past is None:
            n = 0
        device = getattr(self.model, "device", None)
        inp = torch.tensor([full[n:]], dtype=torch.long, device=device)
        with torch.inference_mode():
            out = self.model(input_ids=inp, use_cache=True, **{self._cache_kwarg(): past})
        self.forward_calls += 1
        self.forward_tokens += len(full) - n
        cache = getattr(out, "cache", None)
        self._past = cache if cache is not None else getattr(out, "past_key_values", None)
        self._ids = list(full)
        return out.logits[0, -1].float().cpu().numpy()

    def _cache_kwarg(self) -> str:
        # transformers 5.2x renamed `past_key_values` to `cache`; older models only take the old name
        if self._kwarg is None:
            try:
                params = inspect.signature(self.model.forward).parameters
            except (TypeError, ValueError, AttributeError):
                params = {}
            self._kwarg = "cache" if "cache" in params else "past_key_values"
        return self._kwarg


@dataclass
class SampleResult:
    """What :func:`sample_with_model` drew: token ids (EOS excluded) and texts per sample, the sampler (keep it
    to continue with the same trie) and its statistics plus the model's forward passes."""

    samples: list[list[int]]
    texts: list[str]
    sampler: GrammarAlignedSampler
    stats: dict = field(default_factory=dict)


def sample_with_model(model: Any, tokenizer: Any, prompt_ids: Sequence[int] | str, compiled: Any, method: str = "asap",
                      num_samples: int = 1, max_tokens: int = 256, seed: int | None = None, *,
                      temperature: float = 1.0, sampler: GrammarAlignedSampler | None = None,
                      logits: HFNextLogits | None = None) -> SampleResult:
    """Draw ``num_samples`` grammar-aligned samples from a transformers causal LM.

    Parameters:
        model, tokenizer: the LM and its tokenizer (the tokenizer only encodes ``prompt_ids`` given as text,
            without a chat template).
        prompt_ids: the prompt's token ids, or text.
        compiled: :func:`tokensieve.compile` of the grammar against the model's vocabulary.
        method, seed, temperature: see :class:`GrammarAlignedSampler`.
        num_samples, max_tokens: samples to draw; output length bound per sample (EOS excluded).
        sampler: continue with an existing sampler (its trie keeps learning); ``compiled``, ``method``, ``seed``
            and ``temperature`` are then ignored.
        logits: reuse an :class:`HFNextLogits` for the same model and prompt.

    Raises: see :meth:`GrammarAlignedSampler.sample`; TokensieveError for a tokenizer-less text prompt.
    """
    if isinstance(prompt_ids, str):
        if tokenizer is None:
            raise TokensieveError("a text prompt needs the tokenizer (or pass prompt token ids)")
        prompt_ids = list(tokenizer(prompt_ids, add_special_tokens=False)["input_ids"])
    if not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(f"num_samples must be a non-negative int, got {num_samples!r}")
    if logits is None:
        logits = HFNextLogits(model, prompt_ids)
    if sampler is None:
        sampler = GrammarAlignedSampler(compiled, method, seed=seed, temperature=temperature)
    vocab = sampler.compiled.vocab
    samples = [sampler.sample(logits, max_tokens) for _ in range(num_samples)]
    texts = [vocab.decode(s).decode("utf-8", errors="replace") for s in samples]
    stats = sampler.stats.as_dict()
    stats["forward_calls"] = logits.forward_calls
    stats["forward_tokens"] = logits.forward_tokens
    return SampleResult(samples, texts, sampler, stats)
