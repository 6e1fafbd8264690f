"""Constrained decoding inside ``transformers``' own ``model.generate``: :class:`LogitsProcessor`.

Importing this module imports torch and transformers; ``import tokensieve`` never imports it.

Example::

    from tokensieve.hf import LogitsProcessor
    proc = LogitsProcessor.from_schema(schema, tokenizer, model=model)
    out = model.generate(input_ids, logits_processor=[proc], max_new_tokens=200)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import transformers

from . import masking
from ._errors import TokensieveError, VocabularyError
from ._generate import eos_ids_for, load_schema, model_vocab_size, vocabulary_for
from .grammar import Grammar

__all__ = ["LogitsProcessor"]


class LogitsProcessor(transformers.LogitsProcessor):
    """Masks the scores of each batch row to the tokens its grammar allows.

    Parameters:
        compiled: one ``CompiledGrammar`` for every row, or a list with one per prompt (rows are matched to
            prompts in order; with ``num_return_sequences``/beams, consecutive rows share a prompt).
        max_tokens: optional token budget per row: masks only allow documents that complete within it.

    One instance serves one ``generate`` call (it learns the prompt length on its first call); call
    :meth:`reset` to reuse it. Rows that finished (EOS accepted) are limited to EOS.

    Raises:
        VocabularyError: grammars for different vocabularies, or scores wider/narrower than the vocabulary.
        TokensieveError: a row received a token its mask forbade (e.g. another processor undid the mask).
    """

    def __init__(self, compiled: Any | Sequence[Any], *, max_tokens: int | None = None):
        grammars = list(compiled) if isinstance(compiled, (list, tuple)) else [compiled]
        if not grammars:
            raise ValueError("LogitsProcessor needs at least one compiled grammar")
        for g in grammars:
            if isinstance(g, Grammar) or not hasattr(g, "vocab"):
                raise TypeError(f"expected a CompiledGrammar (tokensieve.compile(grammar, vocab)), "
                                f"got {type(g).__name__}")
        sizes = {g.vocab.size for g in grammars}
        if len(sizes) != 1:
            raise VocabularyError(f"the compiled grammars are for different vocabulary sizes {sorted(sizes)}")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValueError(f"max_tokens must be a positive integer or None, got {max_tokens!r}")
        self._grammars = grammars
        self._per_prompt = isinstance(compiled, (list, tuple))
        self.vocab = grammars[0].vocab
        self.max_tokens = max_tokens
        self._eos = sorted(self.vocab.eos_token_ids)
        self._eos_row = np.zeros((self.vocab.size + 31) // 32, dtype=np.uint32)
        for e in self._eos:
            self._eos_row[e >> 5] |= np.uint32(1 << (e & 31))
        self.reset()

    @classmethod
    def from_schema(cls, schema: Any, tokenizer: Any, *, model: Any = None, vocab_size: int | None = None,
                    max_tokens: int | None = None) -> "LogitsProcessor":
        """A processor for a JSON Schema (dict, JSON text, path, pydantic class) and a HF tokenizer.

        ``model`` (or ``vocab_size``) gives the number of logit rows, which may exceed ``len(tokenizer)``;
        the model also contributes its generation config's EOS ids.
        """
        schema_obj, _ = load_schema(schema)
        grammar = Grammar.from_json_schema(schema_obj)
        if model is not None:
            size, eos = model_vocab_size(model), eos_ids_for(model, tokenizer)
        else:
            size, eos = vocab_size or len(tokenizer), eos_ids_for(None, tokenizer)
        return cls(masking.compile(grammar, vocabulary_for(tokenizer, size, eos)), max_tokens=max_tokens)

    def reset(self) -> None:
        """Forget all rows, to serve a new ``generate`` call."""
        self.matchers: list[Any] | None = None
        self._prev: torch.Tensor | None = None
        self._done: list[bool] = []
        self._bitmask: np.ndarray | None = None

    def _new_matcher(self, grammar: Any) -> Any:
        if self.max_tokens is None:
            return masking.Matcher(grammar)
        return masking.Matcher(grammar, max_tokens=self.max_tokens)

    def _start(self, input_ids: torch.Tensor, scores: torch.Tensor) -> None:
        batch = input_ids.shape[0]
        if scores.shape[-1] != self.vocab.size:
            raise VocabularyError(f"the model produces {scores.shape[-1]} scores per row but the grammar was "
                                  f"compiled for a vocabulary of {self.vocab.size} (build the Vocabulary with "
                                  "size=model.config.vocab_size)")
        if self._per_prompt:
            n = len(self._grammars)
            if batch % n:
                raise ValueError(f"{n} grammars for a batch of {batch} rows: the batch must be a multiple")
            per = batch // n
            self.matchers = [self._new_matcher(self._grammars[i // per]) for i in range(batch)]
        else:
            self.matchers = [self._new_matcher(self._grammars[0]) for _ in range(batch)]
        self._done = [False] * batch
        self._bitmask = masking.allocate_token_bitmask(batch, self.vocab.size)

    def _realign(self, input_ids: torch.Tensor) -> None:
        """Beam search reorders rows between steps: give each row a fork of the matcher of the row it extends."""
        prev = self._prev
        if input_ids.shape[0] == prev.shape[0] and torch.equal(input_ids[:, : prev.shape[1]], prev):
            return
        index = {tuple(row.tolist()): j for j, row in enumerate(prev)}
        matchers, done = [], []
        for i, row in enumerate(input_ids[:, : prev.shape[1]]):
            j = index.get(tuple(row.tolist()))
            if j is None:
                raise TokensieveError(f"row {i} does not extend any row of the previous step: the processor "
                                      "must see every step of one generate call (call reset() between calls)")
            matchers.append(self.matchers[j].fork())
            done.append(self._done[j])
        self.matchers, self._done = matchers, done

    def _advance(self, input_ids: torch.Tensor) -> None:
        self._realign(input_ids)
        new = input_ids[:, self._prev.shape[1]:].tolist()
        for i, toks in enumerate(new):
            m = self.matchers[i]
            for tok in toks:
                if self._done[i]:
                    break  # transformers pads finished rows; nothing more to check
                if not m.accept_token(tok):
                    if tok in self.vocab.eos_token_ids and not m.is_accepting():
                        # only reachable when the mask was empty (budget exhausted): let the row end
                        self._done[i] = True
                        break
                    raise TokensieveError(f"row {i}: token {tok} was generated although the grammar forbade it "
                                          "(another logits processor or warper re-enabled it?)")
                if m.is_terminated():
                    self._done[i] = True

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.matchers is None:
            self._start(input_ids, scores)
        else:
            self._advance(input_ids)
        self._prev = input_ids.detach().clone()
        bm = self._bitmask
        words = bm.view(np.uint32)
        for i, m in enumerate(self.matchers):
            if self._done[i]:
                words[i] = self._eos_row
                continue
            m.fill_next_token_bitmask(bm, i)
            if not words[i].any():
                # budget exhausted or dead end: end the row rather than sample from all -inf
                words[i] = self._eos_row
        masking.apply_token_bitmask_inplace(scores, bm)
        return scores
