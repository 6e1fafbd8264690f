"""The grammar IR every front-end produces: a context-free grammar over regex terminals.

Symbols in a rule body are ints: ``n >= 0`` is nonterminal ``n``; ``n < 0`` is terminal ``-1 - n``
(use :func:`term` / :func:`is_term` / :func:`term_index`).

Terminal regexes use Python ``re`` syntax (parsed by the standard library's parser) and match a whole lexeme of
Unicode text; they must not match the empty string. Lexing is greedy: a lexeme extends while any terminal the
parser allows can still extend it, and ends on the first byte that none can take (the semantics of Lark's
contextual lexer and of llguidance).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .._errors import GrammarError, LimitExceededError

__all__ = ["Terminal", "Rule", "Grammar", "term", "is_term", "term_index"]


def term(index: int) -> int:
    """The symbol code of terminal ``index``."""
    return -1 - index


def is_term(symbol: int) -> bool:
    return symbol < 0


def term_index(symbol: int) -> int:
    return -1 - symbol


def _key_of(source) -> str:
    """A terminal's identity from regex text or an automaton (no text is a NUL-led automaton key)."""
    return source if isinstance(source, str) else "\0automaton:" + source.key


class Terminal:
    """A lexeme class: ``name`` for messages, ``regex`` in Python ``re`` syntax (whole-lexeme match).

    A terminal may be given by an ``automaton`` instead of text: an object with ``key`` (a content hash),
    ``emit(nfa, start, end)`` (adds its byte NFA between two states of a lexer's NFA) and ``regex()`` (the same
    language as text). The lexers build it straight from the automaton; ``regex`` renders the text on first
    access (schema key languages such as "any name but these 40" take far longer to write as a regex and
    compile back than to build directly). Immutable; equal when name and content are.
    """

    __slots__ = ("name", "_regex", "automaton")

    def __init__(self, name: str, regex: str | None = None, automaton=None):
        if (regex is None) == (automaton is None):
            raise ValueError("a terminal has exactly one of regex and automaton")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "automaton", automaton)

    def __setattr__(self, attr, value):
        raise AttributeError("Terminal is immutable")

    @property
    def regex(self) -> str:
        """The terminal's regex text (rendered from the automaton on first access; rendering may raise
        LimitExceededError for a language whose regex would be too large)."""
        if self._regex is None:
            object.__setattr__(self, "_regex", self.automaton.regex())
        return self._regex

    @property
    def key(self) -> str:
        """What identifies the language: the regex text, or the automaton's content hash."""
        return _key_of(self.source)

    @property
    def source(self):
        """What the lexers build from: the automaton, else the regex text."""
        return self.automaton if self.automaton is not None else self._regex

    def __reduce__(self):
        return (Terminal, (self.name, self._regex if self.automaton is None else None, self.automaton))

    def __eq__(self, other):
        return isinstance(other, Terminal) and (self.name, self.key) == (other.name, other.key)

    def __hash__(self):
        return hash((self.name, self.key))

    def __repr__(self):
        what = f"regex={self._regex!r}" if self.automaton is None else f"automaton={self.automaton!r}"
        return f"Terminal(name={self.name!r}, {what})"


@dataclass(frozen=True)
class Rule:
    """``lhs -> body``; ``body`` is a tuple of symbol codes (empty for an epsilon rule)."""

    lhs: int
    body: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Grammar:
    """A CFG over regex terminals: the one shape every front-end compiles to.

    Build one with :meth:`from_lark`, :meth:`from_gbnf`, :meth:`from_regex` or :meth:`from_json_schema`.
    """

    terminals: tuple[Terminal, ...]
    nonterminals: tuple[str, ...]
    rules: tuple[Rule, ...]
    start: int
    ignore: tuple[int, ...] = ()
    # Free-form provenance for messages and ``inspect`` (e.g. the schema options used).
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        n_t, n_n = len(self.terminals), len(self.nonterminals)
        if not 0 <= self.start < n_n:
            raise GrammarError(f"start symbol {self.start} out of range")
        for rule in self.rules:
            if not 0 <= rule.lhs < n_n:
                raise GrammarError(f"rule head {rule.lhs} out of range")
            for s in rule.body:
                if (s < 0 and -1 - s >= n_t) or (s >= 0 and s >= n_n):
                    raise GrammarError(f"symbol {s} out of range", symbol=self.nonterminals[rule.lhs])
        for t in self.ignore:
            if not 0 <= t < n_t:
                raise GrammarError(f"ignored terminal {t} out of range")

    # ---- front-ends (imported lazily so each costs only when used) ----
    @classmethod
    def from_lark(cls, text: str, start: str = "start") -> "Grammar":
        """Read a Lark EBNF grammar. Raises GrammarError (with line) or UnsupportedFeatureError."""
        from ._lark import grammar_from_lark

        return grammar_from_lark(text, start=start)

    @classmethod
    def from_gbnf(cls, text: str, start: str = "root") -> "Grammar":
        """Read a llama.cpp GBNF grammar. Raises GrammarError (with line) or UnsupportedFeatureError."""
        from ._gbnf import grammar_from_gbnf

        return grammar_from_gbnf(text, start=start)

    @classmethod
    def from_regex(cls, pattern: str) -> "Grammar":
        """A grammar whose language is the full matches of ``pattern`` (Python ``re`` syntax)."""
        from ._regex import grammar_from_regex

        return grammar_from_regex(pattern)

    @classmethod
    def from_json_schema(cls, schema, **options) -> "Grammar":
        """Compile a JSON Schema (dict, JSON text, or pydantic model class); see ``tokensieve.schema``."""
        from ..schema import grammar_from_json_schema

        return grammar_from_json_schema(schema, **options)

    # ---- helpers ----
    def fingerprint(self) -> str:
        """A content hash: equal grammars share compiled artefacts."""
        h = hashlib.sha256()
        for t in self.terminals:
            h.update(b"T\0" + t.key.encode("utf-8", "surrogatepass") + b"\0")
        for r in self.rules:
            h.update(f"R{r.lhs}:{','.join(map(str, r.body))};".encode())
        h.update(f"S{self.start};I{','.join(map(str, self.ignore))}".encode())
        return h.hexdigest()

    def symbol_name(self, symbol: int) -> str:
        return self.terminals[-1 - symbol].name if symbol < 0 else self.nonterminals[symbol]

    def to_text(self) -> str:
        """Human-readable listing (Lark-like) for ``inspect`` and error messages."""
        lines = []
        by_lhs: dict[int, list[Rule]] = {}
        for r in self.rules:
            by_lhs.setdefault(r.lhs, []).append(r)
        order = [self.start] + [n for n in range(len(self.nonterminals)) if n != self.start]
        for n in order:
            alts = [" ".join(self.symbol_name(s) for s in r.body) or '""' for r in by_lhs.get(n, [])]
            lines.append(f"{self.nonterminals[n]}: " + "\n    | ".join(alts))
        for i, t in enumerate(self.terminals):
            try:
                lines.append(f"{t.name}: /{t.regex}/")
            except LimitExceededError:
                lines.append(f"{t.name}: {t.automaton!r}  // no regex within the size limits")
        for i in self.ignore:
            lines.append(f"%ignore {self.terminals[i].name}")
        return "\n".join(lines)


class GrammarBuilder:
    """Incremental construction of a :class:`Grammar` by name, used by every front-end."""

    def __init__(self) -> None:
        self.terminals: list[Terminal] = []
        self._term_by_key: dict[str, int] = {}
        self._term_by_name: dict[str, int] = {}
        self.nonterminals: list[str] = []
        self._nt_by_name: dict[str, int] = {}
        self.rules: list[Rule] = []
        self.ignore: list[int] = []
        self._fresh_count: dict[str, int] = {}

    def terminal(self, regex, name: str | None = None) -> int:
        """Symbol code for a terminal given by regex text or an automaton (see :class:`Terminal`); terminals
        with the same language text or automaton are shared."""
        if name is not None and name in self._term_by_name:
            return term(self._term_by_name[name])
        key = _key_of(regex)
        idx = self._term_by_key.get(key)
        if idx is None:
            idx = len(self.terminals)
            text = isinstance(regex, str)
            self.terminals.append(Terminal(name or f"T{idx}", regex if text else None, None if text else regex))
            self._term_by_key[key] = idx
        if name is not None:
            self._term_by_name[name] = idx
        return term(idx)

    def nonterminal(self, name: str) -> int:
        idx = self._nt_by_name.get(name)
        if idx is None:
            idx = len(self.nonterminals)
            self.nonterminals.append(name)
            self._nt_by_name[name] = idx
        return idx

    def fresh(self, hint: str) -> int:
        """A new nonterminal with a unique name derived from ``hint``."""
        # a counter per hint keeps this constant-time on grammars with thousands of fresh symbols
        k = self._fresh_count.get(hint, 1)
        name = hint if k == 1 else f"{hint}_{k}"
        while name in self._nt_by_name:
            k += 1
            name = f"{hint}_{k}"
        self._fresh_count[hint] = k + 1
        return self.nonterminal(name)

    def rule(self, lhs: int, body) -> None:
        self.rules.append(Rule(lhs, tuple(body)))

    def build(self, start: int, source: str = "") -> Grammar:
        return Grammar(tuple(self.terminals), tuple(self.nonterminals), tuple(self.rules), start,
                       tuple(self.ignore), source)
