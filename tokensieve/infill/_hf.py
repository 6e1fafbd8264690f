"""Adapter from LLaDA/Dream-style Hugging Face masked-diffusion models to :class:`DiffusionModel`.

Imports torch lazily (``import tokensieve.infill`` never does). The model is any callable taking
``input_ids`` (a ``(1, n)`` long tensor) and returning logits ``(1, n, vocab)`` directly, as a tuple's first
element, or as ``.logits``: the shape of ``AutoModel.from_pretrained(..., trust_remote_code=True)`` for
LLaDA (``GSAI-ML/LLaDA-8B-Instruct``) and Dream (``Dream-org/Dream-v0-Instruct-7B``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._errors import VocabularyError

__all__ = ["HFDiffusionModel"]

# LLaDA's tokenizer has no mask_token attribute; its model card uses this id.
LLADA_MASK_ID = 126336


class HFDiffusionModel:
    """Logits for every canvas slot from one forward pass over ``prompt + canvas`` (masks -> ``mask_token_id``).

    Parameters:
        model: the HF model (or any callable with the same calling convention).
        mask_token_id: the id of the model's mask token.
        prompt_ids: token ids before the canvas (chat template, instructions).
        shift_logits: True for Dream-style models initialised from an autoregressive LM, whose logits at
            position ``i`` predict token ``i + 1`` (the adapter shifts them right by one).
        vocab_size: cut the logits to this many columns (models often pad their output layer).
    """

    def __init__(self, model, *, mask_token_id: int, prompt_ids: Sequence[int] = (), shift_logits: bool = False,
                 vocab_size: int | None = None):
        if not callable(model):
            raise TypeError(f"model must be callable (a torch module), got {type(model).__name__}")
        if isinstance(mask_token_id, bool) or not isinstance(mask_token_id, int) or mask_token_id < 0:
            raise VocabularyError(f"mask_token_id must be a non-negative int, got {mask_token_id!r}")
        self.model = model
        self.mask_token_id = mask_token_id
        self.prompt_ids = [int(t) for t in prompt_ids]
        self.shift_logits = shift_logits
        self.vocab_size = vocab_size

    def logits(self, tokens) -> np.ndarray:
        import torch

        ids = self.prompt_ids + [self.mask_token_id if t is None else int(t) for t in tokens]
        device = None
        try:
            device = next(self.model.parameters()).device
        except (AttributeError, StopIteration, TypeError):
            pass
        x = torch.tensor([ids], dtype=torch.long, device=device)
        with torch.no_grad():
            out = self.model(input_ids=x)
        if hasattr(out, "logits"):
            out = out.logits
        elif isinstance(out, (tuple, list)):
            out = out[0]
        if out.dim() != 3 or out.shape[0] != 1 or out.shape[1] != len(ids):
            raise VocabularyError(f"model returned logits of shape {tuple(out.shape)}, expected (1, {len(ids)}, V)")
        logits = out[0]
        if self.shift_logits:
            logits = torch.cat([logits[:1], logits[:-1]], dim=0)
        logits = logits[len(self.prompt_ids):]
        if self.vocab_size is not None:
            logits = logits[:, : self.vocab_size]
        return logits.float().cpu().numpy()

    @classmethod
    def from_pretrained(cls, path: str, *, kind: str = "llada", prompt: str | None = None, **model_kwargs):
        """Load a LLaDA (``kind="llada"``) or Dream (``kind="dream"``) checkpoint with ``trust_remote_code``.

        Returns ``(adapter, tokenizer)``; ``prompt`` goes through the tokenizer's chat template.
        """
        if kind not in ("llada", "dream"):
            raise ValueError(f"kind must be 'llada' or 'dream', got {kind!r}")
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
        model = AutoModel.from_pretrained(path, trust_remote_code=True, **model_kwargs).eval()
        mask = getattr(tok, "mask_token_id", None)
        if mask is None:
            if kind != "llada":
                raise VocabularyError(f"tokenizer of {path!r} has no mask token")
            mask = LLADA_MASK_ID
        prompt_ids: list[int] = []
        if prompt is not None:
            msgs = [{"role": "user", "content": prompt}]
            # transformers 5 returns a BatchEncoding here, not a list of ids
            enc = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
            prompt_ids = [int(t) for t in (enc["input_ids"] if hasattr(enc, "keys") else enc)]
        return cls(model, mask_token_id=int(mask), prompt_ids=prompt_ids, shift_logits=(kind == "dream"),
                   vocab_size=len(tok)), tok
