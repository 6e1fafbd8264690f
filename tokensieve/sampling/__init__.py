"""Grammar-aligned sampling: draw valid outputs from a model conditioned on the grammar, not merely masked.

:class:`GrammarAlignedSampler` implements ASAp (Park et al., NeurIPS 2024) and exact CARS (Parys et al. 2025) over
the engine's masks, with plain constrained decoding (GCD) as the baseline. :class:`HFNextLogits` adapts a
transformers causal LM (KV cache reused across the sampler's prefixes); :func:`sample_with_model` is the one-call
path. Torch is imported only by the HF adapter.
"""

from __future__ import annotations

from ._sampler import METHODS, GrammarAlignedSampler, SamplerStats

__all__ = ["METHODS", "GrammarAlignedSampler", "SamplerStats", "HFNextLogits", "SampleResult", "sample_with_model"]

_LAZY = {"HFNextLogits", "SampleResult", "sample_with_model"}


def __getattr__(name: str):
    if name in _LAZY:
        from . import _hf

        return getattr(_hf, name)
    raise AttributeError(f"module 'tokensieve.sampling' has no attribute {name!r}")
