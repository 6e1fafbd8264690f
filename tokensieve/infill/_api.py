"""Public entry points: ``is_completable``, ``complete`` and ``check``."""

from __future__ import annotations

from ._check import Limits, Verdict, decide
from ._compiled import compiled_for
from ._parts import parse_parts

__all__ = ["check", "complete", "is_completable"]


def _opts(timeout, undecided, limits):
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if undecided not in ("reject", "accept"):
        raise ValueError(f"undecided must be 'reject' or 'accept', got {undecided!r}")
    if limits is None:
        limits = Limits()
    elif not isinstance(limits, Limits):
        raise TypeError(f"limits must be a tokensieve.infill.Limits, got {type(limits).__name__}")
    return limits


def check(grammar, parts, *, witness: bool = True, timeout: float | None = None, undecided: str = "reject",
          limits: Limits | None = None) -> Verdict:
    """Decide whether ``parts`` can be completed to a word of ``grammar``'s language, with details.

    Parameters:
        grammar: a ``tokensieve.Grammar`` (Lark, GBNF, regex or JSON Schema front-end).
        parts: known text (``str``/``bytes``) interleaved with :class:`Hole` objects, e.g.
            ``['{"a": ', Hole(), '}']``. A leading/trailing Hole leaves the start/end open.
        witness: also compute a completion (``Verdict.text``) and the hole fillers (``Verdict.fills``).
        timeout: seconds; a check that runs out answers "not completable" (``reason="timeout"``).
        undecided: answer for budgets too large to decide exactly ("reject" or "accept"); see the module doc.
        limits: work bounds (:class:`Limits`).

    The language decided: byte strings ``x0 l1 x1 ... lm xm`` where ``T1 ... Tm`` is a sentence of the grammar,
    each ``li`` a lexeme of ``Ti`` and each ``xi`` a run of lexemes of ``%ignore`` terminals (lexing is free:
    any split into lexemes counts, see the package documentation).

    Raises:
        TypeError / ValueError: arguments of the wrong kind; InfillError: malformed parts (non-UTF-8 text,
        bad budgets); GrammarError: a grammar with an empty language; LimitExceededError: a canvas or search
        beyond ``limits``.
    """
    limits = _opts(timeout, undecided, limits)
    comp = compiled_for(grammar)
    segs, holes = parse_parts(parts)
    return decide(comp, segs, holes, witness=witness, timeout=timeout, undecided=undecided, limits=limits)


def is_completable(grammar, parts, *, timeout: float | None = None, undecided: str = "reject",
                   limits: Limits | None = None) -> bool:
    """True if some filling of the holes in ``parts`` gives a word of ``grammar``; see :func:`check`."""
    limits = _opts(timeout, undecided, limits)
    comp = compiled_for(grammar)
    segs, holes = parse_parts(parts)
    return decide(comp, segs, holes, witness=False, timeout=timeout, undecided=undecided,
                  limits=limits).completable


def complete(grammar, parts, *, timeout: float | None = None, undecided: str = "reject",
             limits: Limits | None = None) -> str | None:
    """A completion of ``parts`` in ``grammar``'s language as a string, or None; see :func:`check`."""
    v = check(grammar, parts, witness=True, timeout=timeout, undecided=undecided, limits=limits)
    return v.text if v.completable else None
