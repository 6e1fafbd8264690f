"""Infilling: can a partial output with holes still be completed?  (Mündler, Dekoninck, Vechev 2025)

A partial output ``s0 □ s1 □ ... sk`` (known text and holes) is *completable* if some filling of the holes is a
word of the grammar's language ``L(G)``; deciding it is the emptiness of ``L(G) ∩ s0 Σ* s1 ... Σ* sk``.

Which language is decided: byte strings that split into lexemes ``x0 l1 x1 l2 ... lm xm`` where each ``li``
matches terminal ``Ti``'s regex, each ``xi`` is a (possibly empty) run of lexemes of ``%ignore`` terminals,
and ``T1 ... Tm`` is a sentence of the grammar. Lexing is *free* (the CFG semantics of the paper's lexer
product): any split counts, not only the greedy one. This contains the masking engine's greedy language, and
equals it for grammars whose adjacent terminals cannot be lexed another way (JSON, JSON Schema grammars,
arithmetic); for keyword/identifier grammars it is larger (``ifx`` may lex as ``if x``). Exact greedy lexing
across holes would need "no allowed terminal could have continued here" constraints that depend on the whole
parse, which no CFG ∩ regular check can express.

Holes: ``Hole()`` holds any text (possibly empty). ``Hole(max_tokens=k, vocab=v)`` holds at most ``k`` tokens
of ``v`` (``min_tokens`` for a lower bound); without ``vocab`` a token is one byte. Budgets are exact when the
layered expansion of the hole fits ``Limits.max_region_nodes``; beyond that see ``tokensieve.infill._check``
(the answer is then marked ``exact=False``).

Entry points: :func:`is_completable`, :func:`complete`, :func:`check` for parts lists; :class:`Canvas` for a
fixed-length token canvas with incremental checks; :func:`sample` for the propose-check-resample loop of a
diffusion LLM (:class:`DiffusionModel`, :class:`HFDiffusionModel`).
"""

from ._api import check, complete, is_completable
from ._canvas import Canvas, Completion
from ._check import Limits, Verdict
from ._hf import HFDiffusionModel
from ._parts import Hole, InfillError
from ._sampler import DiffusionModel, SampleResult, sample

__all__ = [
    "Canvas",
    "Completion",
    "DiffusionModel",
    "HFDiffusionModel",
    "Hole",
    "InfillError",
    "Limits",
    "SampleResult",
    "Verdict",
    "check",
    "complete",
    "is_completable",
    "sample",
]
