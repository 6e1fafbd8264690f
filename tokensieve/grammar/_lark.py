"""Lark front-end: Lark EBNF text -> grammar IR, using Lark's own grammar loader.

Lark does the heavy lifting (``%import``, templates, ``%override``/``%extend``, EBNF ``? * + [] ~``, inline
literals into anonymous terminals); this module maps the compiled rules and terminals onto the IR and turns
Lark's exceptions into ours.

Semantics that differ from Lark's own parser, on purpose:

* Terminal priorities (``NAME.2``) are ignored: the lexer is greedy and lets the parser pick among the terminals
  that match a lexeme, so priorities have nothing to break ties between.
* Lark matches a terminal with ``re.match``, where a lazy quantifier (``*?``) means "stop at the first way to
  finish"; a greedy whole-lexeme lexer cannot express that, so lazy quantifiers are rejected, except in Lark's
  own ``ESCAPED_STRING`` and ``C_COMMENT``, which are replaced by exactly equivalent greedy regexes.
* Only Lark's bundled grammars can be imported (``%import common.X``); relative imports would read files.
"""

from __future__ import annotations

import re

from lark.exceptions import GrammarError as LarkGrammarError
from lark.exceptions import LarkError, UnexpectedInput
from lark.load_grammar import GrammarBuilder as LarkGrammarBuilder

from .._errors import GrammarError, LimitExceededError, TokensieveError, UnsupportedFeatureError
from ._ir import Grammar, GrammarBuilder, term_index
from ._reduce import reduce_grammar

__all__ = ["grammar_from_lark"]

# Lark 1.3's compiled regexes for its lazy library terminals -> greedy regexes with the same lexemes under
# Lark's first-match semantics (tests check this by brute force). Keyed by exact text: if Lark changes a
# definition, it no longer matches here and falls back to the lazy-quantifier error, never a wrong language.
_LAZY_LIBRARY_TERMINALS = {
    # "..." up to the first quote preceded by an even run of backslashes; '.' excludes newline
    r'".*?(?<!\\)(\\\\)*?"': r'"(?:[^"\\\n]|\\.)*"',
    # /* ... */ up to the first "*/"
    "/\\*(.|\n)*?\\*/": r"/\*[^*]*\*+(?:[^*/][^*]*\*+)*/",
}

_DEF_LINE = re.compile(r"\s*(?:%(?:override|extend)\s+)?[?!]?([A-Za-z_]\w*)\s*(?:\{[^}]*\})?\s*(?:\.\s*-?\d+)?\s*:")
_IMPORT_LINE = re.compile(r"\s*%import\b(.*)")
_DECLARE_LINE = re.compile(r"\s*%declare\b(.*)")
_NAME = re.compile(r"[A-Za-z_]\w*")


class _Locator:
    """Maps names and snippets to 1-based line numbers of the grammar text (for messages)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.defs: dict[str, list[int]] = {}
        self.declared_rules: list[tuple[str, int]] = []
        for no, line in enumerate(self.lines, 1):
            m = _DEF_LINE.match(line)
            if m:
                self.defs.setdefault(m.group(1), []).append(no)
                continue
            m = _IMPORT_LINE.match(line)
            if m:
                for name in _NAME.findall(m.group(1)):
                    self.defs.setdefault(name, []).append(no)
                continue
            m = _DECLARE_LINE.match(line)
            if m:
                for name in _NAME.findall(m.group(1)):
                    self.defs.setdefault(name, []).append(no)
                    if name.lstrip("_")[:1].islower():
                        self.declared_rules.append((name, no))

    def def_line(self, name: str, which: int = 0) -> int | None:
        found = self.defs.get(name)
        if not found:
            return None
        return found[min(which, len(found) - 1)]

    def find_re(self, pattern: str, first: int = 1, last: int | None = None) -> int | None:
        """First line in ``first..last`` where ``pattern`` is found."""
        pat = re.compile(pattern)
        for no in range(first, min(last or len(self.lines), len(self.lines)) + 1):
            if pat.search(self.lines[no - 1]):
                return no
        return None


def _translate_lark_error(e: Exception, loc: _Locator) -> GrammarError:
    """Our GrammarError for a Lark failure, with the line and symbol recovered from Lark's message."""
    msg = str(e).strip()
    first = msg.split("\n", 1)[0].strip()
    if isinstance(e, UnexpectedInput):
        line = getattr(e, "line", None)
        if not isinstance(line, int) or line < 1:
            line = max(len(loc.lines), 1)
        expected = getattr(e, "expected", None) or getattr(e, "allowed", None)
        detail = f"; expected one of {sorted(expected)}" if expected else ""
        return GrammarError(f"Lark syntax error: {first}{detail}", line=line)
    m = re.search(r"\bline (\d+)", msg)
    if m:
        return GrammarError(f"Lark grammar error: {first}", line=int(m.group(1)))
    text = f"Lark grammar error: {first}"
    m = re.search(r"(\d+)\.\.(\d+)", msg)
    if "Bad Range" in msg and m:
        return GrammarError(text, line=loc.find_re(rf"~\s*{m.group(1)}\s*\.\.\s*{m.group(2)}"))
    if "Aliasing not allowed in terminals" in msg:
        return GrammarError(text, line=loc.find_re(r"^\s*_?[A-Z][_A-Z0-9]*\s*(?:\.\s*-?\d+)?\s*:.*->"))
    if '""' in msg:
        return GrammarError(text, line=loc.find_re(r'""'))
    quoted = re.findall(r"'([A-Za-z_]\w*)'", msg)
    names = list(dict.fromkeys(quoted + re.findall(r"\b(?:[Rr]ule|[Tt]erminal|[Tt]emplate|for) ([A-Za-z_]\w*)", msg)))
    names.sort(key=lambda n: n not in quoted and n not in loc.defs)  # English words after real names
    # "(in rule start)": Lark names the definition that contains the offending use
    container = re.search(r"\(in (?:rule|terminal) ([A-Za-z_]\w*)\)", msg)
    line = None
    if container:
        names = [n for n in names if n != container.group(1)] or [container.group(1)]
        line = loc.def_line(container.group(1))
    symbol = names[0] if names else None
    if line is not None and symbol is not None:  # the use itself, on the container's first lines
        line = loc.find_re(rf"(?<!\w){re.escape(symbol)}(?!\w)", line, line + 20) or line
    if line is None and symbol is not None:
        line = (loc.def_line(symbol, 1 if "more than once" in msg else 0)
                or loc.find_re(rf"(?<!\w){re.escape(symbol)}(?!\w)"))
    return GrammarError(text, line=line, symbol=symbol)


class _LarkBuilder(LarkGrammarBuilder):
    """Lark's builder, restricted to Lark's bundled grammars for ``%import``."""

    def do_import(self, dotted_path, base_path, aliases, base_mangle=None):
        if base_path is not None:
            raise UnsupportedFeatureError(
                "relative %import", f"{'.'.join(dotted_path)}: only Lark's bundled grammars can be imported")
        try:
            super().do_import(dotted_path, base_path, aliases, base_mangle)
        except (OSError, AssertionError):
            raise LarkGrammarError(f"cannot import grammar {'.'.join(dotted_path)!r}") from None


def _has_lazy_quantifier(pattern: str, where: str) -> bool:
    from ..automata._regex import parse_regex

    try:
        from re import _constants as C
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_constants as C  # type: ignore[no-redef]
    stack = [parse_regex(pattern, where)]
    while stack:
        for op, av in stack.pop():
            if op is C.MIN_REPEAT:
                return True
            if op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
                stack.append(av[2])
            elif op is C.SUBPATTERN:
                stack.append(av[3])
            elif op is C.BRANCH:
                stack.extend(av[1])
            elif op in (C.ASSERT, C.ASSERT_NOT):
                stack.append(av[1])
            elif op is getattr(C, "ATOMIC_GROUP", None):
                stack.append(av)
    return False


def grammar_from_lark(text: str, start: str = "start") -> Grammar:
    """Compile Lark grammar ``text`` with start rule ``start`` into the IR (reduced).

    Raises:
        GrammarError: syntax errors, undefined or doubly defined symbols, unknown start rule, a terminal
            matching the empty string, malformed terminal regexes, an empty language (with line and symbol).
        UnsupportedFeatureError: ``%declare``, relative ``%import``, lazy quantifiers, lookaround, ...
        LimitExceededError: nesting too deep for Lark's grammar loader.
    """
    from ..automata._regex import check_regex

    if not isinstance(text, str):
        raise GrammarError(f"Lark grammar must be str, got {type(text).__name__}")
    if not isinstance(start, str) or not start:
        raise GrammarError(f"start rule must be a non-empty str, got {start!r}")
    loc = _Locator(text)
    if loc.declared_rules:
        name, line = loc.declared_rules[0]
        raise UnsupportedFeatureError("%declare", f"rule {name!r} has no definition", path=f"line {line}")
    try:
        builder = _LarkBuilder(False, [])
        builder.load_grammar(text, "<grammar>")
        terminals, rules, ignore = builder.build().compile([start], ())
    except TokensieveError:
        raise
    except (LarkGrammarError, UnexpectedInput) as e:
        raise _translate_lark_error(e, loc) from None
    except RecursionError:
        raise LimitExceededError("grammar nesting", "the Lark grammar is nested too deeply to load") from None
    except (LarkError, AssertionError, OSError) as e:  # other Lark-internal failures, still the input's fault
        raise GrammarError(f"Lark could not load the grammar: {e}") from e

    if not any(r.origin.name == start for r in rules):
        raise GrammarError(f"unknown start rule {start!r}", line=loc.def_line(start), symbol=start)

    b = GrammarBuilder()
    codes: dict[str, int] = {}
    for t in terminals:
        t.name = str(t.name)  # Lark hands out Token objects; keep plain str in the IR and in messages
        line = loc.def_line(t.name)
        if line is None and t.pattern.raw:
            line = loc.find_re(re.escape(t.pattern.raw))
        where = f"terminal {t.name!r}" + (f" (line {line})" if line is not None else "")
        regex = t.pattern.to_regexp()
        regex = _LAZY_LIBRARY_TERMINALS.get(regex, regex)
        try:
            check_regex(regex, where)
        except GrammarError as e:
            raise GrammarError(f"invalid regex for terminal: {e}", line=line, symbol=t.name) from None
        if _has_lazy_quantifier(regex, where):
            raise UnsupportedFeatureError(
                "lazy quantifier", f"{where}: Lark's first-match meaning of *? +? ?? cannot be kept under "
                "greedy lexing; rewrite the regex without lazy quantifiers", path=f"line {line}" if line else "")
        if re.fullmatch(regex, "") is not None:
            raise GrammarError("terminal matches the empty string", line=line, symbol=t.name)
        codes[t.name] = b.terminal(regex, t.name)

    def term_code(name: str) -> int:
        code = codes.get(name)
        if code is None:  # compile() leaves %declare'd terminals without a definition
            line = loc.def_line(name)
            raise UnsupportedFeatureError("%declare", f"terminal {name!r} has no pattern",
                                          path=f"line {line}" if line else "")
        return code

    for r in rules:
        body = [term_code(str(s.name)) if s.is_term else b.nonterminal(str(s.name)) for s in r.expansion]
        b.rule(b.nonterminal(str(r.origin.name)), body)
    b.ignore = list(dict.fromkeys(term_index(term_code(str(n))) for n in ignore))
    return reduce_grammar(b.build(b.nonterminal(start), source="lark"))
