"""Regex -> byte-level lexer DFA agrees with Python's ``re`` (the dialect the IR declares)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve import GrammarError, LimitExceededError, UnsupportedFeatureError
from tokensieve.automata import DEAD, Lexer, check_regex
from tokensieve.automata import _charset as cs


def lex_fullmatch(lexer: Lexer, text: str, terminal: int = 0) -> bool:
    s = lexer.start_state(1 << terminal)
    for b in text.encode("utf-8"):
        s = lexer.step(s, b)
        if s == DEAD:
            return False
    return bool(lexer.accepting[s] >> terminal & 1)


ATOMS = ["a", "b", "é", "€", "😀", ".", r"\d", r"\w", r"\s", r"\W", "[a-c]", "[^a]", "[é-ü]", r"[\u4e00-\u4e05]",
         "[^\\x00-\\x7f]", "(?i:a)", "(?i:é)", r"\.", "[a-zA-Z_]"]


@st.composite
def regexes(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(ATOMS))
    kind = draw(st.sampled_from(["cat", "alt", "star", "plus", "opt", "rep", "group"]))
    a = draw(regexes(depth=depth - 1))
    if kind == "cat":
        return a + draw(regexes(depth=depth - 1))
    if kind == "alt":
        return f"(?:{a}|{draw(regexes(depth=depth - 1))})"
    if kind == "star":
        return f"(?:{a})*"
    if kind == "plus":
        return f"(?:{a})+"
    if kind == "opt":
        return f"(?:{a})?"
    if kind == "rep":
        lo = draw(st.integers(0, 3))
        return f"(?:{a}){{{lo},{lo + draw(st.integers(0, 2))}}}"
    return f"({a})"


SAMPLE_CHARS = "abcAB é€😀1٣ _\n\t.\u4e01xÉ"


@settings(max_examples=300, deadline=None)
@given(rx=regexes(), texts=st.lists(st.text(SAMPLE_CHARS, min_size=1, max_size=6), min_size=1, max_size=20))
def test_lexer_agrees_with_re_fullmatch(rx, texts):
    lexer = Lexer([rx])
    for text in texts:
        assert lex_fullmatch(lexer, text) == bool(re.fullmatch(rx, text)), (rx, text)


@settings(max_examples=200, deadline=None)
@given(rx=regexes(), data=st.data())
def test_generated_members_are_accepted(rx, data):
    # strings the regex itself produces (sampled by hypothesis) must be accepted
    lexer = Lexer([rx])
    for _ in range(10):
        text = data.draw(st.from_regex(re.compile(rx), fullmatch=True))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            continue  # lone surrogates are not UTF-8 text
        if text:
            assert lex_fullmatch(lexer, text), (rx, text)


@pytest.mark.parametrize("lo,hi", [(0, 0x7F), (0x80, 0x7FF), (0x7F0, 0x820), (0xD700, 0xE100), (0xFFF0, 0x10010),
                                   (0, 0x10FFFF), (0x10FFFE, 0x10FFFF)], ids=str)
def test_utf8_sequences_cover_exactly(lo, hi):
    seqs = cs.utf8_sequences(lo, hi)
    def matches(data: bytes) -> bool:
        return any(len(s) == len(data) and all(a <= x <= b for x, (a, b) in zip(data, s)) for s in seqs)
    for cp in list(range(lo, min(hi, lo + 3000) + 1)) + list(range(max(lo, hi - 3000), hi + 1)):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        assert matches(chr(cp).encode("utf-8")), hex(cp)
    # nothing outside: neighbours and surrogates are rejected
    for cp in (lo - 1, hi + 1, 0xD800, 0xDFFF):
        if 0 <= cp <= 0x10FFFF and not lo <= cp <= hi:
            data = chr(cp).encode("utf-8", "surrogatepass")
            assert not matches(data), hex(cp)


def test_multibyte_split_tokens():
    # a token may end in the middle of a UTF-8 character: the DFA is byte-level
    lexer = Lexer(["é+"])
    s = lexer.start_state(1)
    s = lexer.step(s, 0xC3)
    assert s != DEAD and not lexer.accepting[s]
    s = lexer.step(s, 0xA9)
    assert lexer.accepting[s]
    assert lexer.step(s, 0xC3) != DEAD and lexer.step(lexer.step(s, 0xC3), 0xA8) == DEAD


@pytest.mark.parametrize("rx,feature", [("a(?=b)", "lookaround"), ("a(?!b)", "lookaround"), ("(?<=a)b", "lookaround"),
                                        (r"(a)\1", "backreference"), (r"a\b", "anchor"), ("a^b", "anchor"),
                                        ("a*+", "possessive quantifier"), ("(?>a)", "atomic group"),
                                        ("(a)?(?(1)b|c)", "backreference")],
                         ids=lambda v: v if isinstance(v, str) else None)
def test_unsupported_features(rx, feature):
    with pytest.raises(UnsupportedFeatureError) as e:
        check_regex(rx, "T")
    assert e.value.feature == feature


@pytest.mark.parametrize("rx", ["[", "a{2,1}", "(", "*a", "a)"], ids=str)
def test_malformed_regex(rx):
    with pytest.raises(GrammarError, match="invalid regex"):
        check_regex(rx, "T")


def test_edge_anchors_are_noops():
    lexer = Lexer([r"^ab$"])
    assert lex_fullmatch(lexer, "ab") and not lex_fullmatch(lexer, "abab")


def test_catastrophic_backtracking_shape_is_linear():
    # (a+)+b would take exponential time in a backtracking engine; the DFA answers at once
    lexer = Lexer([r"(a+)+b"])
    assert not lex_fullmatch(lexer, "a" * 5000 + "c")
    assert lex_fullmatch(lexer, "a" * 5000 + "b")


def test_repetition_bound():
    # a large count alone is cheap (copies are made on demand); expanded around another large one it is not
    check_regex("a{1000000}", "T")
    with pytest.raises(LimitExceededError, match="regex repetition"):
        check_regex("(?:a{100}){200000}", "T")
    with pytest.raises(LimitExceededError, match="regex repetition"):
        check_regex("a{3000000000}", "T")


def test_dfa_state_bound():
    # (a|b)*a(a|b){14}: the DFA needs 2^15 states; with a small cap the lexer stops with a clear error
    lexer = Lexer([r"[ab]*a[ab]{14}"], max_states=500)
    with pytest.raises(LimitExceededError, match="lexer states"):
        s = lexer.start_state(1)
        import random

        rnd = random.Random(0)
        for _ in range(5000):
            s = lexer.step(s, rnd.choice(b"ab"))


@pytest.mark.parametrize("pattern", [
    r'"(?:[^"\\]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4}){0,20}"',
    r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}",
    r"[ \t\n\r]{1,32}",
], ids=["string", "number-or-date", "whitespace"])
def test_a_pasted_terminal_is_the_built_one_shifted(pattern):
    from tokensieve.automata import _regex

    _regex._FRAGMENTS.clear()
    _regex._SEEN.clear()
    _regex.NFA().add_terminal(pattern, "t")  # first build: only noted
    assert pattern not in _regex._FRAGMENTS
    built = _regex.NFA()
    built.add_terminal(pattern, "t")  # second build: remembered
    assert pattern in _regex._FRAGMENTS
    pasted = _regex.NFA()
    pasted.add_terminal("x", "u")  # the second terminal lands at other ids
    pasted.add_terminal(pattern, "t")
    shift = pasted.starts[1] - built.starts[0]
    assert pasted.finals[1] - built.finals[0] == shift and len(pasted.edges) - shift == len(built.edges)
    for x in range(len(built.edges)):
        assert pasted.edges[x + shift] == tuple((lo, hi, y + shift) for lo, hi, y in built.edges[x])
        assert pasted.eps[x + shift] == tuple(y + shift for y in built.eps[x])
        assert pasted.owner[x + shift] == 1
    lexers = [Lexer(["x", pattern]) for _ in range(2)]  # the second one pastes
    for text in ["x", '"ab\\n"', "-12.5", " \t ", '"', "0"]:
        states = [lx.start_state(0b11) for lx in lexers]
        for b in text.encode():
            states = [lx.step(s, b) for lx, s in zip(lexers, states)]
        assert lexers[0].accepting[states[0]] == lexers[1].accepting[states[1]]


def test_terminals_with_virtual_repetitions_are_not_pasted():
    from tokensieve.automata import _regex

    _regex._FRAGMENTS.clear()
    _regex._SEEN.clear()
    _regex.NFA().add_terminal("[a-z]{500}", "t")
    assert "[a-z]{500}" not in _regex._FRAGMENTS


def test_pasted_terminals_keep_their_liveness():
    from tokensieve.automata import _regex

    _regex._FRAGMENTS.clear()
    _regex._SEEN.clear()
    empty = r"[^\x00-\U0010ffff]" * 16  # 16 states, no word
    live = "(?:" + "|".join(f"k{i}" for i in range(40)) + ")"
    for _ in range(3):  # built, built and remembered, pasted
        nfa = _regex.NFA()
        nfa.add_terminal(empty, "e")
        nfa.add_terminal(live, "l")
        assert nfa.live_mask() == 0b10
    assert _regex._FRAGMENTS[live][2] is True and _regex._FRAGMENTS[empty][2] is False
