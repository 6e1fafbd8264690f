"""Grammar IR and its front-ends (Lark, GBNF, regex; JSON Schema lives in ``tokensieve.schema``)."""

from ._ir import Grammar, Rule, Terminal

__all__ = ["Grammar", "Rule", "Terminal"]
