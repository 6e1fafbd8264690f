"""Apply an int32 token bitmask to logits in place (numpy or torch, CPU or CUDA), no Python loop over V."""

from __future__ import annotations

import numpy as np

from .._errors import VocabularyError

__all__ = ["apply_token_bitmask_inplace", "bitmask_to_bool"]


def bitmask_to_bool(bitmask: np.ndarray, vocab_size: int) -> np.ndarray:
    """Expand an int32 bitmask ``(..., W)`` to a bool array ``(..., vocab_size)``."""
    bits = np.unpackbits(np.ascontiguousarray(bitmask).view(np.uint8), axis=-1, bitorder="little")
    if bits.shape[-1] < vocab_size:
        pad = np.zeros(bits.shape[:-1] + (vocab_size - bits.shape[-1],), dtype=bits.dtype)
        bits = np.concatenate([bits, pad], axis=-1)
    return bits[..., :vocab_size].astype(bool)


def apply_token_bitmask_inplace(logits, bitmask, indices=None) -> None:
    """Set ``logits[i, t] = -inf`` where bit ``t`` of ``bitmask[i]`` is clear.

    ``logits`` is a numpy array or torch tensor of shape ``(batch, V)`` or ``(V,)``; ``bitmask`` the int32
    array from ``allocate_token_bitmask`` (numpy or torch). Columns beyond the bitmask are disallowed.
    ``indices`` optionally names which logits rows the bitmask rows apply to.
    """
    if type(logits).__module__.startswith("torch"):
        _apply_torch(logits, bitmask, indices)
        return
    if not isinstance(logits, np.ndarray):
        raise VocabularyError(f"logits must be a numpy array or torch tensor, got {type(logits).__name__}")
    bm = np.asarray(bitmask)
    if bm.dtype != np.int32:
        raise VocabularyError(f"bitmask must be int32, got {bm.dtype}")
    lg = logits if logits.ndim == 2 else logits[None, :]
    bm2 = bm if bm.ndim == 2 else bm[None, :]
    rows = range(lg.shape[0]) if indices is None else list(indices)
    if len(rows) != bm2.shape[0] and indices is None and bm2.shape[0] < lg.shape[0]:
        raise VocabularyError(f"bitmask has {bm2.shape[0]} rows for {lg.shape[0]} logits rows")
    allowed = bitmask_to_bool(bm2, lg.shape[-1])
    for k, r in enumerate(rows):
        lg[r][~allowed[k]] = -np.inf


def _apply_torch(logits, bitmask, indices) -> None:
    import torch

    bm = bitmask if isinstance(bitmask, torch.Tensor) else torch.from_numpy(np.asarray(bitmask))
    if bm.dtype != torch.int32:
        raise VocabularyError(f"bitmask must be int32, got {bm.dtype}")
    lg = logits if logits.dim() == 2 else logits.unsqueeze(0)
    bm2 = (bm if bm.dim() == 2 else bm.unsqueeze(0)).to(lg.device, non_blocking=True)
    v = lg.shape[-1]
    shifts = torch.arange(32, device=lg.device, dtype=torch.int32)
    bits = ((bm2.unsqueeze(-1) >> shifts) & 1).bool().reshape(bm2.shape[0], -1)
    if bits.shape[-1] < v:
        bits = torch.nn.functional.pad(bits, (0, v - bits.shape[-1]), value=False)
    bits = bits[:, :v]
    if indices is None:
        if bits.shape[0] != lg.shape[0]:
            raise VocabularyError(f"bitmask has {bits.shape[0]} rows for {lg.shape[0]} logits rows")
        lg.masked_fill_(~bits, float("-inf"))
    else:
        idx = torch.as_tensor(list(indices), device=lg.device)
        lg[idx] = lg[idx].masked_fill(~bits, float("-inf"))
