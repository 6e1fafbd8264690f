"""Regex front-end: a grammar whose language is the full matches of one Python ``re`` pattern."""

from __future__ import annotations

import re

from .._errors import GrammarError
from ._ir import Grammar, GrammarBuilder
from ._reduce import reduce_grammar

__all__ = ["grammar_from_regex"]


def grammar_from_regex(pattern: str) -> Grammar:
    """Compile ``pattern`` (Python ``re`` syntax, whole-string match) into a one-terminal grammar.

    The terminal's regex is ``pattern`` unchanged: wrapping it in ``(?:...)`` would break a leading global
    flag group such as ``(?i)``. If the pattern also matches the empty string, the start rule gets an
    epsilon alternative; the lexer never ends a lexeme of length zero, so the terminal itself then only
    contributes its non-empty matches and the language is exactly the pattern's.

    Raises:
        GrammarError: ``pattern`` is malformed.
        UnsupportedFeatureError: lookaround, backreferences, word boundaries, inner anchors, ...
    """
    from ..automata._regex import check_regex

    if not isinstance(pattern, str):
        raise GrammarError(f"regex must be str, got {type(pattern).__name__}", symbol="regex")
    check_regex(pattern, "regex")
    try:
        matches_empty = re.fullmatch(pattern, "") is not None
    except (re.error, RecursionError, OverflowError) as e:  # check_regex is the authority; stay typed
        raise GrammarError(f"invalid regex {pattern!r}: {e}", symbol="regex") from None
    b = GrammarBuilder()
    start = b.nonterminal("start")
    b.rule(start, [b.terminal(pattern, "REGEX")])
    if matches_empty:
        b.rule(start, [])
    return reduce_grammar(b.build(start, source="regex"))
