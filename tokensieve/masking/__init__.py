"""Masking: vocabularies, compiled grammars, matchers and bitmask helpers."""

from ._apply import apply_token_bitmask_inplace
from ._engine import CompiledGrammar, Matcher, allocate_token_bitmask, compile, fill_next_token_bitmasks
from ._select import IMPLEMENTATION
from ._vocabulary import Vocabulary

__all__ = ["CompiledGrammar", "IMPLEMENTATION", "Matcher", "Vocabulary", "allocate_token_bitmask",
           "apply_token_bitmask_inplace", "compile", "fill_next_token_bitmasks"]
