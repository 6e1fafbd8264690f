"""Acceptance 1 of the core engine: masks equal a brute-force oracle on random grammars and vocabularies.

The oracle is a character-level Earley recognizer with no lexer (``tests/_oracle.py``); complete documents are
also parsed by lark's own Earley parser (``lexer="dynamic_complete"``).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tokensieve as ts
from tokensieve.grammar._ir import GrammarBuilder

from ._oracle import CharEarley

ALPHA = "abc"
TOKEN_ALPHA = ALPHA + "d "


@st.composite
def random_grammar(draw):
    words = draw(st.lists(st.text(ALPHA, min_size=1, max_size=3), min_size=2, max_size=7, unique=True))
    code: list[str] = []
    for w in words:  # a prefix code: greedy lexing then coincides with CFG lexing
        if all(not (x.startswith(w) or w.startswith(x)) for x in code):
            code.append(w)
    n_terms = draw(st.integers(1, min(4, len(code))))
    terms: list[list[str]] = [[] for _ in range(n_terms)]
    for i, w in enumerate(code):
        terms[i if i < n_terms else draw(st.integers(0, n_terms - 1))].append(w)
    if n_terms > 1 and draw(st.booleans()) and terms[0][0] not in terms[1]:
        terms[1].append(terms[0][0])  # two terminals matching the same lexeme: the parser gets both
    if draw(st.booleans()):  # an infinite terminal; its delimiter keeps the set a prefix code
        terms.append(("loop", "d", "ab", "d"))
        n_terms += 1
    n_nt = draw(st.integers(1, 3))
    sym = st.one_of(st.tuples(st.just("t"), st.integers(0, n_terms - 1)),
                    st.tuples(st.just("n"), st.integers(0, n_nt - 1)))
    rules = []
    for n in range(n_nt):
        for _ in range(draw(st.integers(1, 3))):
            rules.append((n, draw(st.lists(sym, max_size=3))))
    if draw(st.booleans()):  # force some left recursion
        rules.append((0, [("n", 0), ("t", draw(st.integers(0, n_terms - 1)))]))
    ignore = draw(st.booleans())
    return terms, n_nt, rules, ignore


def reduced(n_nt, rules, terms):
    productive: set[int] = set()
    changed = True
    while changed:
        changed = False
        for lhs, body in rules:
            if lhs not in productive and all(k == "t" or x in productive for k, x in body):
                productive.add(lhs)
                changed = True
    return productive, [(lhs, body) for lhs, body in rules
                        if lhs in productive and all(k == "t" or x in productive for k, x in body)]


def build(terms, n_nt, rules, ignore) -> ts.Grammar:
    gb = GrammarBuilder()
    nts = [gb.nonterminal(f"n{i}") for i in range(n_nt)]
    tcodes = [gb.terminal(f"{ws[1]}[{ws[2]}]*{ws[3]}" if isinstance(ws, tuple) else
                          "|".join(re.escape(w) for w in ws), f"T{i}") for i, ws in enumerate(terms)]
    for lhs, body in rules:
        gb.rule(nts[lhs], [tcodes[x] if k == "t" else nts[x] for k, x in body])
    if ignore:
        gb.ignore.append(-1 - gb.terminal(" ", "SP"))
    return gb.build(nts[0])


def lark_text(terms, n_nt, rules, ignore) -> str:
    """The same grammar for lark (rules ``n<i>``, terminals ``T<i>``), to cross-check complete documents."""
    lines = []
    for n in range(n_nt):
        alts = [" ".join(f"T{x}" if k == "t" else f"n{x}" for k, x in body) for lhs, body in rules if lhs == n]
        lines.append(f"n{n}: " + " | ".join(a if a else "" for a in alts))
    for i, ws in enumerate(terms):
        rx = f"{ws[1]}[{ws[2]}]*{ws[3]}" if isinstance(ws, tuple) else "|".join(re.escape(w) for w in ws)
        lines.append(f"T{i}: /{rx}/")
    if ignore:
        lines += ['SP: " "', "%ignore SP"]
    return "\n".join(lines) + "\n"


def vocabulary(extra3):
    toks = list(TOKEN_ALPHA) + [a + b for a in TOKEN_ALPHA for b in TOKEN_ALPHA] + extra3
    return ts.Vocabulary.from_tokens(toks + ["<eos>"], eos_token_ids=[len(toks)]), toks


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(g=random_grammar(), extra3=st.lists(st.text(TOKEN_ALPHA, min_size=3, max_size=5), max_size=12,
                                           unique=True), data=st.data())
def test_masks_match_char_level_oracle(impl, g, extra3, data):
    _check_against_oracle(g, extra3, data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(g=random_grammar(), extra3=st.lists(st.text(TOKEN_ALPHA, min_size=3, max_size=5), max_size=12,
                                           unique=True), data=st.data())
def test_masks_match_oracle_with_every_lexeme_end_group_bucketed(impl, monkeypatch, g, extra3, data):
    from tokensieve.masking import _engine

    # real tokenizers reach the bucketed walk (groups of hundreds of nodes); these vocabularies only when forced
    monkeypatch.setattr(_engine, "_BUCKET_MIN_NODES", 0)
    _engine._COMPILED.clear()
    _check_against_oracle(g, extra3, data)


def _check_against_oracle(g, extra3, data):
    terms, n_nt, rules, ignore = g
    productive, red = reduced(n_nt, rules, terms)
    assume(0 in productive)
    oracle = CharEarley(red, 0, terms, [" "] if ignore else [])
    vocab, toks = vocabulary(extra3)
    m = ts.Matcher(ts.compile(build(terms, n_nt, rules, ignore), vocab))
    prefix = ""
    for _step in range(8):
        allowed = set(m.allowed_token_ids())
        expected = {i for i, t in enumerate(toks) if oracle.viable(prefix + t)}
        if oracle.complete(prefix):
            expected.add(len(toks))
        assert allowed == expected, (prefix, sorted(toks[i] if i < len(toks) else "EOS" for i in allowed ^ expected))
        assert m.is_accepting() == oracle.complete(prefix)
        choices = sorted(allowed - {len(toks)})
        if not choices:
            break
        t = data.draw(st.sampled_from(choices))
        assert m.accept_token(t)
        prefix += toks[t]
    if oracle.complete(prefix):  # lark's own Earley parser agrees that the document is in the language
        import lark

        parser = lark.Lark(lark_text(*g), start="n0", parser="earley", lexer="dynamic_complete")
        parser.parse(prefix)
