"""A regular language with a lazily built DFA and, when one is known, a compact AST for output."""

from __future__ import annotations

from . import _automata as A

__all__ = ["Lang"]

_MEMO_LIMIT = 256  # products remembered per language


class Lang:
    """An immutable regular language over code points.

    ``universe`` is the Lang that complements are taken against (all strings, or all number texts); it is
    None for the universe itself. Operations keep the cheap AST when they can (union), else go through DFAs.
    ``gaps`` (truthy; number languages use levels 1 and 2) marks a language that is exact only inside its universe
    and may miss valid texts outside it: an empty intersection with it does not prove that no value satisfies both
    constraints.
    """

    __slots__ = ("_ast", "_dfa", "universe", "is_all", "co_names", "gaps", "_memo")

    def __init__(self, ast=None, dfa=None, universe: "Lang | None" = None, is_all: bool = False,
                 gaps: bool = False):
        assert ast is not None or dfa is not None
        self._ast = ast
        self._dfa = dfa
        self.universe = universe
        self.is_all = is_all
        self.gaps = gaps
        # set when the language is known to be "every string except these names" (fast membership)
        self.co_names: frozenset | None = None
        # results of DFA products with other languages: a normalisation combines the same pairs many times
        # (allOf/not chains re-intersected per alternative: 1,537 products, 1,134 distinct, in one schema)
        self._memo: dict | None = None

    # ---- views ----
    def dfa(self) -> A.DFA:
        if self._dfa is None:
            if self.co_names is not None and self.universe is not None:
                # "every string but these names": from the names' trie, for products with patterns (the
                # subset construction from the AST took 0.55 s on JsonSchemaStore/clang-format)
                self._dfa = A.product(self.universe.dfa(), A.dfa_from_strings(sorted(self.co_names)), "diff")
            else:
                self._dfa = A.dfa_from_nfa(A.nfa_from_ast(self._ast))
        return self._dfa

    def ast(self):
        if self._ast is None:
            self._ast = A.dfa_to_ast(self._dfa)
        return self._ast

    def has_ast(self) -> bool:
        return self._ast is not None

    def is_empty(self) -> bool:
        # smart constructors propagate EMPTY, so an anchor-free AST other than EMPTY is non-empty
        if self._ast is not None:
            return self._ast == A.EMPTY
        if self.is_all:
            return False
        return self.dfa().is_empty()

    def matches(self, text: str) -> bool:
        if self.co_names is not None:
            return text not in self.co_names
        return self.dfa().matches(text)

    # ---- algebra ----
    def _root(self) -> "Lang":
        return self if self.universe is None else self.universe

    def __and__(self, other: "Lang") -> "Lang":
        if self.is_all:
            return other
        if other.is_all:
            return self
        return self._product(other, "and")

    def __or__(self, other: "Lang") -> "Lang":
        if self.is_all:
            return self
        if other.is_all:
            return other
        gaps = max(self.gaps, other.gaps)
        if self._ast is not None and other._ast is not None:
            return Lang(ast=A.alt(self._ast, other._ast), universe=self._root(), gaps=gaps)
        return self._product(other, "or")

    def __sub__(self, other: "Lang") -> "Lang":
        if other.is_all:
            return Lang(ast=A.EMPTY, universe=self._root())
        return self._product(other, "diff")

    def _product(self, other: "Lang", op: str) -> "Lang":
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        hit = memo.get((id(other), op))
        if hit is not None:
            return hit[1]
        out = Lang(dfa=A.product(self.dfa(), other.dfa(), op), universe=self._root(),
                   gaps=max(self.gaps, other.gaps))
        if len(memo) < _MEMO_LIMIT:
            memo[(id(other), op)] = (other, out)  # holding ``other`` keeps its id from being reused
        return out

    def complement(self) -> "Lang":
        root = self._root()
        if self.is_all:
            return Lang(ast=A.EMPTY, universe=root)
        return root - self
