"""Constrained sampling for diffusion LLMs: propose, check, reject and resample (Mündler et al., Alg. 1).

LLaDA-style schedule: the canvas is split into blocks filled left to right; each step runs the model once
and commits ``ceil(masked / steps_left)`` tokens, one at a time, at the most confident masked slot of the
block (low-confidence remasking). A proposal the canvas rejects is banned for that slot for good (filling a
hole only shrinks the completion language, so a rejected token never becomes valid) and the choice is made
again. Too many rejections, a timeout, or a block that cannot progress end the loop with the fallback: the
checker's witness completion of the last accepted canvas.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .._errors import VocabularyError
from ._canvas import Canvas

__all__ = ["DiffusionModel", "SampleResult", "sample"]


@runtime_checkable
class DiffusionModel(Protocol):
    """What the sampler needs from a model: logits for every canvas slot in one call."""

    def logits(self, tokens: list[int | None]) -> np.ndarray:
        """``tokens``: the canvas (None = mask). Returns float logits of shape ``(len(tokens), vocab_size)``."""


@dataclass
class SampleResult:
    """Outcome of :func:`sample`.

    ``text``/``token_ids``: the document (None if the canvas admits none). ``valid``: the text is in the
    language. ``fallback``: the text came from the witness completion rather than the model alone.
    ``rejections``: proposals the check refused; ``forward_calls``: model calls; ``reason``: why it ended
    ("finished", "max_rejections", "stuck", "timeout", "steps", "empty", or "invalid" for a canvas that was
    filled with unchecked commits and is not in the language).
    """

    text: str | None
    token_ids: list[int] | None
    valid: bool
    fallback: bool
    rejections: int
    forward_calls: int
    reason: str


def _finish(canvas: Canvas, rejections: int, calls: int, reason: str) -> SampleResult:
    if canvas.is_finished():
        # every commit was checked, but a caller may have committed unchecked tokens: confirm membership
        ok = canvas.is_completable()
        return SampleResult(canvas.text(), canvas.token_ids(), ok, False, rejections, calls,
                            "finished" if ok else "invalid")
    c = canvas.completion()
    if c is None:
        return SampleResult(None, None, False, True, rejections, calls, "empty")
    return SampleResult(c.text, c.token_ids, True, True, rejections, calls, reason)


def sample(model: DiffusionModel, canvas: Canvas, *, steps: int | None = None, block_length: int | None = None,
           temperature: float = 0.0, max_rejections: int = 100, remasking: str = "low_confidence",
           seed: int | None = None, timeout: float | None = None) -> SampleResult:
    """Fill the masked slots of ``canvas`` with ``model``'s proposals, keeping the canvas completable.

    Parameters:
        model: a :class:`DiffusionModel` (``logits(tokens) -> (length, vocab_size)``).
        canvas: a :class:`Canvas`; slots already committed (a template) stay.
        steps: model calls in total (default: one per slot); block_length: semi-autoregressive block size
            (default: the whole canvas).
        temperature: 0 = greedy; otherwise Gumbel-max sampling, noise fixed within a step.
        max_rejections: rejected proposals before giving up and completing with the fallback.
        remasking: "low_confidence" (most probable slot first) or "random" (random slot order).
        seed: for the noise and the random order; timeout: seconds for the whole loop.

    Returns: a :class:`SampleResult`; its text is in the language whenever ``valid``.

    Raises: VocabularyError if the model's logits do not match the canvas vocabulary.
    """
    if not isinstance(canvas, Canvas):
        raise TypeError(f"canvas must be a tokensieve.infill.Canvas, got {type(canvas).__name__}")
    if remasking not in ("low_confidence", "random"):
        raise ValueError(f"remasking must be 'low_confidence' or 'random', got {remasking!r}")
    if isinstance(max_rejections, bool) or not isinstance(max_rejections, int) or max_rejections < 0:
        raise ValueError(f"max_rejections must be a non-negative int, got {max_rejections!r}")
    n = canvas.length
    block_length = n if block_length is None else block_length
    if isinstance(block_length, bool) or not isinstance(block_length, int) or block_length < 1:
        raise ValueError(f"block_length must be a positive int, got {block_length!r}")
    n_blocks = math.ceil(n / block_length)
    steps = n if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    per_block = max(1, steps // n_blocks)
    rng = np.random.default_rng(seed)
    deadline = None if timeout is None else time.monotonic() + timeout
    banned: list[set[int]] = [set() for _ in range(n)]
    rejections = calls = 0
    vsize = canvas.vocab.size
    if not canvas.is_completable():
        return SampleResult(None, None, False, True, 0, 0, "empty")
    for b in range(n_blocks):
        lo, hi = b * block_length, min(n, (b + 1) * block_length)
        for s in range(per_block):
            masked = [i for i in canvas.masked() if lo <= i < hi]
            if not masked:
                break
            n_transfer = math.ceil(len(masked) / (per_block - s))
            logits = np.asarray(model.logits(canvas.tokens), dtype=np.float64)
            calls += 1
            if logits.shape != (n, vsize):
                raise VocabularyError(f"model logits have shape {logits.shape}, expected ({n}, {vsize}) "
                                      "(canvas length, vocabulary size)")
            # only the block's masked rows matter this step (a full (n, V) copy would be large)
            rows = np.asarray(masked)
            lg = logits[rows]
            lg -= lg.max(axis=1, keepdims=True)
            den = np.exp(lg).sum(axis=1)
            scores = lg / temperature + rng.gumbel(size=lg.shape) if temperature > 0 else lg.copy()
            for r, pos in enumerate(masked):
                if banned[pos]:
                    scores[r, list(banned[pos])] = -np.inf
            best = scores.argmax(axis=1)
            if remasking == "low_confidence":
                prio = np.exp(lg[np.arange(len(rows)), best]) / den
            else:
                prio = rng.random(len(rows))
            alive = np.isfinite(scores[np.arange(len(rows)), best])
            for _ in range(n_transfer):
                while True:
                    if deadline is not None and time.monotonic() > deadline:
                        return _finish(canvas, rejections, calls, "timeout")
                    slots = canvas.tokens
                    open_ = [r for r in range(len(rows)) if slots[rows[r]] is None]
                    cand = [r for r in open_ if alive[r]]
                    if not cand:
                        if open_:
                            return _finish(canvas, rejections, calls, "stuck")
                        break
                    r = max(cand, key=lambda x: prio[x])
                    pos, tok = int(rows[r]), int(best[r])
                    if canvas.commit(pos, tok):
                        break
                    banned[pos].add(tok)
                    scores[r, tok] = -np.inf
                    best[r] = scores[r].argmax()
                    alive[r] = np.isfinite(scores[r, best[r]])
                    if remasking == "low_confidence":
                        prio[r] = np.exp(lg[r, best[r]]) / den[r]
                    rejections += 1
                    if rejections > max_rejections:
                        return _finish(canvas, rejections, calls, "max_rejections")
        if any(lo <= i < hi for i in canvas.masked()):
            return _finish(canvas, rejections, calls, "steps")
    return _finish(canvas, rejections, calls, "finished")
