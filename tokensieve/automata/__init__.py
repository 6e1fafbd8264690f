"""Automata: regex -> byte NFA, the lazy lexer DFA, the Earley parser and the token trie."""

from ._earley import EarleyTables, Row
from ._lexer import DEAD, Lexer
from ._regex import NFA, check_regex
from ._trie import TokenTrie

__all__ = ["DEAD", "EarleyTables", "Lexer", "NFA", "Row", "TokenTrie", "check_regex"]
