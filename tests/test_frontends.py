"""Grammar front-ends (Lark, GBNF, regex) and the shared reduction: IR shape, language equality, errors."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import LarkError

from tokensieve._errors import GrammarError, LimitExceededError, UnsupportedFeatureError
from tokensieve.grammar import Grammar
from tokensieve.grammar._ir import GrammarBuilder, Rule, term
from tokensieve.grammar._reduce import reduce_grammar

try:
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]


# ---------------------------------------------------------------------------------------------------------------
# An independent reference: brute-force CFG membership over the IR (terminals by re.fullmatch on substrings,
# a CYK-like fixed point over spans). Ignored terminals may occur before any terminal and at the end.
# ---------------------------------------------------------------------------------------------------------------
class IRRecognizer:
    def __init__(self, g: Grammar):
        self.g = g
        self.res = [re.compile(t.regex) for t in g.terminals]
        self.ignore = [self.res[i] for i in g.ignore]
        self.rules = [(r.lhs, r.body) for r in g.rules]

    def accepts(self, s: str) -> bool:
        n = len(s)
        skip = [[False] * (n + 1) for _ in range(n + 1)]
        for i in range(n + 1):
            skip[i][i] = True
            for j in range(i + 1, n + 1):
                skip[i][j] = any(skip[i][k] and r.fullmatch(s, k, j) for k in range(i, j) for r in self.ignore)
        ends: dict[int, list[set[int]]] = {}  # ends[symbol][i] = {j : symbol derives s[i:j]}
        for t, r in enumerate(self.res):
            e: list[set[int]] = [set() for _ in range(n + 1)]
            for k in range(n):
                for j in range(k + 1, n + 1):  # a lexeme is never empty
                    if r.fullmatch(s, k, j):
                        for i in range(k + 1):
                            if skip[i][k]:
                                e[i].add(j)
            ends[term(t)] = e
        for a in range(len(self.g.nonterminals)):
            ends[a] = [set() for _ in range(n + 1)]
        changed = True
        while changed:
            changed = False
            for lhs, body in self.rules:
                target = ends[lhs]
                for i in range(n + 1):
                    cur = {i}
                    for sym in body:
                        e = ends[sym]
                        cur = set().union(*(e[p] for p in cur))
                        if not cur:
                            break
                    if not cur <= target[i]:
                        target[i] |= cur
                        changed = True
        return any(skip[j][n] for j in ends[self.g.start][0])


def strings(alphabet: str, max_len: int):
    for n in range(max_len + 1):
        for p in itertools.product(alphabet, repeat=n):
            yield "".join(p)


def lark_accepts(parser: Lark, s: str) -> bool:
    try:
        parser.parse(s)
        return True
    except LarkError:
        return False


def assert_same_language(g: Grammar, reference, alphabet: str, max_len: int) -> None:
    rec = IRRecognizer(g)
    accepted = 0
    for s in strings(alphabet, max_len):
        expected = reference(s)
        assert rec.accepts(s) == expected, f"{s!r}: reference says {expected}"
        accepted += expected
    assert accepted > 0, "the reference accepts nothing: the comparison would be vacuous"


def assert_valid_ir(g: Grammar) -> None:
    """IR invariants every front-end promises: terminals compile and never match the empty string."""
    for t in g.terminals:
        assert re.fullmatch(t.regex, "") is None or (t.name == "REGEX"), t
        re.compile(t.regex)
    assert reduce_grammar(g).fingerprint() == g.fingerprint(), "front-end output is not reduced"


# ---------------------------------------------------------------------------------------------------------------
# Lark
# ---------------------------------------------------------------------------------------------------------------
JSON_LARK = r"""
?start: value
?value: object
      | array
      | string
      | SIGNED_NUMBER      -> number
      | "true"             -> true
      | "false"            -> false
      | "null"             -> null
array  : "[" [value ("," value)*] "]"
object : "{" [pair ("," pair)*] "}"
pair   : string ":" value
string : ESCAPED_STRING

%import common.ESCAPED_STRING
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""

ARITH_LARK = r"""
start: expr
expr: expr "+" term | expr "-" term | term
term: term "*" atom | atom
atom: NUMBER | "(" expr ")"
NUMBER: /[0-9]+/
"""

TEMPLATE_LARK = r"""
start: "[" [_sep{item, ","}] "]"
_sep{x, sep}: x (sep x)*
item: "a" | "b" "a"?
"""

REPEAT_LARK = r"""
start: "a"~2..3 B? ("c"~2)*
B: "b"
"""

IGNORE_LARK = r"""
start: WORD ("," WORD)*
WORD: /[ab]+/
%ignore " "
"""

EBNF_LARK = r"""
start: x? y* z+ [w] (x | y)~1..2
x: "x"
y: "y"
z: "z"
w: "w" | x w
"""

FLAGS_LARK = r"""
start: A B
A: /a+/i
B: "b"i
"""

OVERRIDE_LARK = r"""
start: item+
item: "a"
%extend item: "b"
%override start: item item?
"""

LANGUAGE_CASES = [
    (JSON_LARK, "[]1, ", 5),
    (JSON_LARK, '{}":a', 5),
    (ARITH_LARK, "1+*()", 5),
    (TEMPLATE_LARK, "[],ab", 5),
    (REPEAT_LARK, "abc", 7),
    (IGNORE_LARK, "ab ,", 5),
    (EBNF_LARK, "xyzw", 5),
    (FLAGS_LARK, "aAbB", 4),
    (OVERRIDE_LARK, "ab", 4),
]


@pytest.mark.parametrize(
    "text,alphabet,max_len", LANGUAGE_CASES,
    ids=["json-array", "json-object", "left-recursive-arith", "template", "tilde-repeat", "ignore", "ebnf-ops",
         "regex-flags", "override-extend"])
def test_lark_language_matches_lark_earley(text, alphabet, max_len):
    g = Grammar.from_lark(text)
    assert_valid_ir(g)
    earley = Lark(text, parser="earley", lexer="dynamic_complete")
    assert_same_language(g, lambda s: lark_accepts(earley, s), alphabet, max_len)


def test_lark_json_ir_shape():
    g = Grammar.from_lark(JSON_LARK)
    assert g.nonterminals[g.start] == "start"
    regex = {t.name: t.regex for t in g.terminals}
    assert [g.terminals[i].name for i in g.ignore] == ["WS"]
    for lexeme in ['""', '"a"', r'"a\"b"', r'"\\"', '"é ü"']:
        assert re.fullmatch(regex["ESCAPED_STRING"], lexeme), lexeme
    for not_lexeme in ['"a"b"', r'"\"', '"a\nb"', '"']:
        assert not re.fullmatch(regex["ESCAPED_STRING"], not_lexeme), not_lexeme
    for lexeme in ["0", "-1", "+2.5", "1e10", "-3.25E-7", ".5"]:
        assert re.fullmatch(regex["SIGNED_NUMBER"], lexeme), lexeme
    assert re.fullmatch(regex["WS"], " \n\t ")
    for literal in ["true", "false", "null", "[", "]", "{", "}", ",", ":"]:
        assert any(re.fullmatch(r, literal) for r in regex.values()), literal
    assert {g.nonterminals[r.lhs] for r in g.rules} >= {"start", "array", "object", "pair", "string"}
    assert_valid_ir(g)


def test_lark_unused_rules_and_terminals_are_dropped():
    g = Grammar.from_lark('start: "a" used\nused: B\nunused: C\nB: "b"\nC: "c"\nD: "d"\n')
    assert set(g.nonterminals) == {"start", "used"}
    assert {t.regex for t in g.terminals} == {"a", "b"}


def test_lark_start_parameter_selects_rule():
    text = 'start: "a"\nother: "b" other?\n'
    g = Grammar.from_lark(text, start="other")
    assert g.nonterminals[g.start] == "other"
    rec = IRRecognizer(g)
    assert rec.accepts("bbb") and not rec.accepts("a")


def brute_lark_lexemes(pattern: str, s: str) -> bool:
    """Is ``s`` a whole lexeme of a Lark terminal: re.match (first match) ends exactly at the end of ``s``."""
    m = re.match(pattern, s)
    return m is not None and m.end() == len(s)


@pytest.mark.parametrize("name,alphabet,max_len", [("ESCAPED_STRING", '"\\a\n', 7), ("C_COMMENT", "/*a\n", 7)],
                         ids=["escaped-string", "c-comment"])
def test_lark_lazy_library_terminals_keep_first_match_lexemes(name, alphabet, max_len):
    """The greedy replacements of Lark's lazy library terminals have exactly Lark's lexemes."""
    g = Grammar.from_lark(f"start: {name}\n%import common.{name}\n")
    (mine,) = [t.regex for t in g.terminals]
    lark_regex = Lark(f"start: {name}\n%import common.{name}\n", parser="lalr").get_terminal(name).pattern
    lark_regex = lark_regex.to_regexp()
    assert mine != lark_regex
    hits = 0
    for s in strings(alphabet, max_len):
        expected = brute_lark_lexemes(lark_regex, s)
        assert (re.fullmatch(mine, s) is not None) == expected, s
        hits += expected
    assert hits > 10


def test_lark_priorities_ignored_and_terminals_shared():
    g = Grammar.from_lark('start: A B\nA.5: "x"\nB: "x"\n')
    assert len(g.terminals) == 1  # equal regexes are one terminal; the priority changes nothing
    assert IRRecognizer(g).accepts("xx")


LARK_ERRORS = [
    ('start: "a"\nb: ( "x" \n', GrammarError, 2, None),
    ('start: "a"\nb: "x" @\n', GrammarError, 2, None),
    ('start: "a"\n  | foo\n', GrammarError, 2, "foo"),
    ('start: "a"\nstart: "b"\n', GrammarError, 2, "start"),
    ('begin: "a"\n', GrammarError, None, "start"),
    ('start: FOO\n%declare FOO\n', UnsupportedFeatureError, 2, None),
    ('start: foo\n%declare foo\n', UnsupportedFeatureError, 2, None),
    ('start: A\nA: /a*/\n', GrammarError, 2, "A"),
    ('start: A\nA: ""\n', GrammarError, 2, None),
    ('start: "x" /b?/\n', GrammarError, 1, None),
    ('start: A\nA: /a(/\n', GrammarError, 2, "A"),
    ('start: A\nA: /a(?=b)/\n', UnsupportedFeatureError, 2, None),
    ('start: "x"\n   | A\nA: /".*?"/\n', UnsupportedFeatureError, 3, None),
    ('start: A\n%import .nope.A\n', UnsupportedFeatureError, None, None),
    ('start: A\n%import nope.A\n', GrammarError, 2, None),
    ('_s{x}: x\nstart: "x"\n  | _s{"a", "b"}\n', GrammarError, 3, "_s"),
    ('start: "a"\n\nfoo: "a"~3..2\n', GrammarError, 3, None),
    ('start: "a"\n%override b: "c"\n', GrammarError, 2, "b"),
    ('start: "a"\n%ignore FOO\n', GrammarError, 2, "FOO"),
    ('start: a\na: a "x"\n', GrammarError, None, "start"),
    ('start: "a" b\nb: b "x"\n', GrammarError, None, "start"),
    ("start: " + "(" * 600 + '"a"' + ")" * 600 + "\n", LimitExceededError, None, None),
]


@pytest.mark.parametrize(
    "text,exc,line,symbol", LARK_ERRORS,
    ids=["unclosed-paren", "bad-char", "undefined-rule", "defined-twice", "unknown-start", "declare-terminal",
         "declare-rule", "empty-terminal", "empty-literal", "empty-anon-regex", "malformed-regex", "lookahead",
         "lazy-quantifier", "relative-import", "missing-import", "template-arity", "bad-range", "override-missing",
         "ignore-undefined", "empty-language", "empty-language-via-rule", "deep-nesting"])
def test_lark_errors(text, exc, line, symbol):
    with pytest.raises(exc) as info:
        Grammar.from_lark(text)
    e = info.value
    if line is not None:
        assert f"line {line}" in str(e)
        if isinstance(e, GrammarError):
            assert e.line == line
    if symbol is not None:
        assert e.symbol == symbol and repr(symbol) in str(e)


def test_lark_large_grammar_loads():
    n = 1000
    text = "start: r0\n" + "".join(f'r{i}: "x" r{i + 1} | /y{i}[a-z]+/ | ("a" | "b")*\n' for i in range(n))
    text += f'r{n}: "end"\n'
    g = Grammar.from_lark(text)
    assert len(g.nonterminals) >= n + 1 and len(g.terminals) >= n
    assert IRRecognizer(g).accepts("xxy2q")


# ---------------------------------------------------------------------------------------------------------------
# GBNF
# ---------------------------------------------------------------------------------------------------------------
ARITH_GBNF = r"""
root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
"""

# the same language, hand-translated to a character-level Lark grammar (the reference)
ARITH_GBNF_AS_LARK = r"""
start: (expr "=" ws term "\n")+
expr: term (/[-+*\/]/ term)*
term: ident | num | "(" ws expr ")" ws
ident: /[a-z]/ /[a-z0-9_]/* ws
num: /[0-9]/+ ws
ws: /[ \t\n]/*
"""

JSON_GBNF = r"""
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
"""


def assert_single_char_terminals(g: Grammar) -> None:
    """Every GBNF terminal is one character class: a literal, a class or '.' (parsed, not pattern-matched)."""
    for t in g.terminals:
        items = list(sre_parse.parse(t.regex))
        assert len(items) == 1, t
        op, av = items[0]
        if op is C.SUBPATTERN:
            (op, _), = list(av[3])
        assert op in (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY), t


def test_gbnf_arithmetic_matches_lark_reference():
    g = Grammar.from_gbnf(ARITH_GBNF)
    assert_single_char_terminals(g)
    assert_valid_ir(g)
    earley = Lark(ARITH_GBNF_AS_LARK, parser="earley", lexer="dynamic_complete")
    assert_same_language(g, lambda s: lark_accepts(earley, s), "a1=+\n", 5)
    rec = IRRecognizer(g)
    for s in ["(a)=1\n", "( x+y )*2=z\n", "a=b\nc=d\n"]:
        assert rec.accepts(s) and lark_accepts(earley, s), s
    for s in ["(a=1\n", "a)=1\n", "a=1", "=1\n"]:
        assert not rec.accepts(s) and not lark_accepts(earley, s), s


@pytest.mark.parametrize("s,ok", [
    ("{}", True), ('{"a":1}', True), ('{"a": [1, 2.5e3, -0]}', True), ('{"k":"\\u00e9\\n"}', True),
    ('{"a":{"b":null}}', True), ('{"a":true} ', True), ("{\n}", True), ('{"é":"ü"}', True),
    ("[]", False), ('{"a":01}', False), ('{"a":1,}', False), ('{"a"}', False), ('{"a":"\x01"}', False),
    ('{"a":"\\x"}', False), ("{ }x", False), ('{"a":tru}', False),
], ids=lambda v: repr(v) if isinstance(v, str) else str(v))
def test_gbnf_json(s, ok):
    g = _json_gbnf()
    assert IRRecognizer(g).accepts(s) == ok


_JSON_CACHE: list[Grammar] = []


def _json_gbnf() -> Grammar:
    if not _JSON_CACHE:
        g = Grammar.from_gbnf(JSON_GBNF)
        assert_single_char_terminals(g)
        assert_valid_ir(g)
        _JSON_CACHE.append(g)
    return _JSON_CACHE[0]


GBNF_VS_REGEX = [
    ('root ::= "a"{2} "b"{1,3}', r"a{2}b{1,3}"),
    ('root ::= "a"{2,} "b"{0,2}', r"a{2,}b{0,2}"),
    ('root ::= ("ab"){1,2} "b"*', r"(?:ab){1,2}b*"),
    ('root ::= ("a" | "b"){,3}', r"[ab]{0,3}"),
    ('root ::= "a"+ "b"? ("ab")*', r"a+b?(?:ab)*"),
    ('root ::= "ab"* "b"', r"(?:ab)*b"),
    ('root ::= [^a]{3}', r"[^a]{3}"),
    ('root ::= "" "a"* ""+ ()', r"a*"),
    ('root ::= x\nx ::= "a" | "b" x', r"b*a"),
    ('root ::= ("a" | [b])\n  # comment\n  "b"   # more\n | "ba"', r"[ab]b|ba"),
    ('root ::= ( "a"\n  | "b" )\n  ("a")?', r"[ab]a?"),
    ('root ::= "a" ([b-b] | "") .', r"ab?(?s:.)"),
    ('root ::= [a-] [\\-b]', r"[a-][-b]"),
    ('root ::= []* "a" | [] "b"', r"a"),
    ('root ::= [^]', r"(?s:.)"),
    ('root ::= "a"{2}?', r"(?:aa)?"),
    ('root ::= "a"{0}', r""),
    ('root ::= a-b_c\na-b_c ::= "a"?', r"a?"),
    ('root ::= "a"\r\n  | "b"\r\n\r\nunused ::= "-"\r\n', r"[ab]"),
]


@pytest.mark.parametrize("gbnf,regex", GBNF_VS_REGEX, ids=[
    "count", "at-least", "group-count", "upper-only", "plus-opt-star", "literal-star", "negated-class",
    "empty-items", "rule-ref", "comments-continuation", "paren-multiline", "class-range-any", "dash-in-class",
    "empty-class", "negated-empty-class", "count-then-opt", "zero-count", "name-chars", "crlf"])
def test_gbnf_language_matches_regex(gbnf, regex):
    g = Grammar.from_gbnf(gbnf)
    assert_single_char_terminals(g)
    assert_valid_ir(g)
    assert_same_language(g, lambda s: re.fullmatch(regex, s) is not None, "ab-\n", 5)


def test_gbnf_escapes_and_classes():
    g = Grammar.from_gbnf(r'root ::= "\x41\u00e9\U0001F600\n\t\r\\\"\[" [\u00e0-\u00ff\x30] [^a-z\]]')
    rec = IRRecognizer(g)
    prefix = 'Aé😀\n\t\r\\"['
    assert rec.accepts(prefix + "ô}") and rec.accepts(prefix + "0Z") and rec.accepts(prefix + "ÿ\n")
    for bad in [prefix + "ô]", prefix + "ôa", prefix + "1}", prefix[1:] + "ô}", prefix + "ô"]:
        assert not rec.accepts(bad), bad
    assert_single_char_terminals(g)


def _gbnf_escape(c: str, how: int) -> str:
    if c in '"\\':
        return "\\" + c
    if c == "\n" or how == 1:
        return f"\\U{ord(c):08x}"
    if how == 2 and ord(c) < 0x10000:
        return f"\\u{ord(c):04x}"
    return c


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.characters(exclude_categories=["Cs"]), st.integers(0, 2)), max_size=6))
def test_gbnf_literal_round_trip(chars):
    """Any literal, however escaped, is exactly its string, spelled with shared one-character terminals."""
    text = "".join(c for c, _ in chars)
    g = Grammar.from_gbnf('root ::= "' + "".join(_gbnf_escape(c, how) for c, how in chars) + '"')
    assert_single_char_terminals(g)
    assert len(g.terminals) == len(set(text))
    rec = IRRecognizer(g)
    assert rec.accepts(text)
    assert not rec.accepts(text + "x") and not rec.accepts(text[:-1] if text else "y")


def test_gbnf_deep_nesting():
    depth = 10_000
    g = Grammar.from_gbnf("root ::= " + "(" * depth + '"a"' + ")" * depth)
    assert IRRecognizer(g).accepts("a")
    g = Grammar.from_gbnf("root ::= " + '("a" | ' * depth + '"b"' + ")" * depth)
    assert len(g.nonterminals) == depth + 1
    rec = IRRecognizer(g)
    assert rec.accepts("a") and rec.accepts("b") and not rec.accepts("ab")


def test_gbnf_large_grammar_loads():
    n = 20_000
    text = "root ::= r0\n" + "".join(
        f'r{i} ::= "item number {i} " [a-z0-9]+ (r{i + 1} | "end") | "alt{i}" # comment {i}\n' for i in range(n))
    text += f'r{n} ::= "last"\n'
    assert len(text) > 1_000_000
    g = Grammar.from_gbnf(text)
    assert {"root", "r0", f"r{n - 1}", f"r{n}"} <= set(g.nonterminals)
    assert len(g.rules) >= 3 * n


def test_gbnf_start_parameter():
    g = Grammar.from_gbnf('root ::= "a"\nother ::= "b"+', start="other")
    assert g.nonterminals[g.start] == "other" and IRRecognizer(g).accepts("bb")


GBNF_ERRORS = [
    ('root ::= "a" x\n', GrammarError, 1, "x"),
    ('root ::= "a"\nx "b"\n', GrammarError, 2, "x"),
    ('root ::= "a\n', GrammarError, 1, None),
    ('\nroot ::= [a-z\n', GrammarError, 2, None),
    ('root ::= "a"{3,1}\n', GrammarError, 1, None),
    ('root ::= "a"{x}\n', GrammarError, 1, None),
    ('root ::= "a"{2\n', GrammarError, 1, None),
    ('root ::= "a" )\n', GrammarError, 1, "root"),
    ('root ::= ( "a"\n\nx ::= "b"\n', GrammarError, 1, "root"),
    ('root ::= "\\q"\n', GrammarError, 1, None),
    ('root ::= "\\x4"\n', GrammarError, 1, None),
    ('root ::= [z-a]\n', GrammarError, 1, None),
    ('root ::= "a"\nroot ::= "b"\n', GrammarError, 2, "root"),
    ('start ::= "a"\n', GrammarError, None, "root"),
    ('root ::= x\nx ::= x "a"\n', GrammarError, None, "root"),
    ('root ::= [] "a"\n', GrammarError, None, "root"),
    ('root ::= "a" <think>\n', UnsupportedFeatureError, 1, None),
    ('root ::= "a"{0,10000000}\n', LimitExceededError, 1, None),
    ('root ::= ("a" "b"){10000000}\n', LimitExceededError, 1, None),
    ('root ::= *\n', GrammarError, 1, "root"),
    ('root ::= "a" | * "b"\n', GrammarError, 1, "root"),
    ('root ::= "a" x ::= "b"\n', GrammarError, 1, "x"),
    ('root ::= "a" ::= "b"\n', GrammarError, 1, None),
    ('root ::= "a" @\n', GrammarError, 1, None),
    ('"a" ::= "b"\n', GrammarError, 1, None),
    ("root ::= 'a'\n", GrammarError, 1, None),
]


@pytest.mark.parametrize("text,exc,line,symbol", GBNF_ERRORS, ids=[
    "undefined-ref", "missing-define", "unterminated-literal", "unterminated-class", "bounds-reversed",
    "bounds-garbage", "bounds-unterminated", "unmatched-rparen", "unclosed-lparen", "unknown-escape", "short-hex",
    "reversed-range", "defined-twice", "unknown-start", "empty-language", "empty-class-language", "token-ref",
    "absurd-upper-bound", "absurd-count", "postfix-first", "postfix-after-bar", "define-mid-line", "stray-define",
    "bad-char", "literal-as-name", "single-quotes"])
def test_gbnf_errors(text, exc, line, symbol):
    with pytest.raises(exc) as info:
        Grammar.from_gbnf(text)
    e = info.value
    if line is not None:
        assert f"line {line}" in str(e)
        if isinstance(e, GrammarError):
            assert e.line == line
    if symbol is not None:
        assert e.symbol == symbol and repr(symbol) in str(e)


# ---------------------------------------------------------------------------------------------------------------
# regex
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern,nullable", [
    (r"a[bc]*", False), (r"(a|b)*", True), (r"a?b?", True), (r"(?i)ab", False), (r"[^a]|aa", False), (r"", True),
], ids=["plain", "star", "all-optional", "global-flag", "negated-class", "empty-pattern"])
def test_regex_language(pattern, nullable):
    g = Grammar.from_regex(pattern)
    (t,) = g.terminals
    assert t.regex == pattern
    assert any(r.body == () for r in g.rules) == nullable
    assert_same_language(g, lambda s: re.fullmatch(pattern, s) is not None, "abAB", 4)


@pytest.mark.parametrize("pattern,exc", [
    ("a(", GrammarError), ("*a", GrammarError), ("a(?=b)", UnsupportedFeatureError),
    ("(?<!a)b", UnsupportedFeatureError), (r"(a)\1", UnsupportedFeatureError), (r"\bab", UnsupportedFeatureError),
    ("a$b", UnsupportedFeatureError),
], ids=["unbalanced", "nothing-to-repeat", "lookahead", "lookbehind", "backref", "word-boundary", "inner-anchor"])
def test_regex_errors(pattern, exc):
    with pytest.raises(exc):
        Grammar.from_regex(pattern)


# ---------------------------------------------------------------------------------------------------------------
# reduction
# ---------------------------------------------------------------------------------------------------------------
def test_reduce_drops_unproductive_and_unreachable():
    b = GrammarBuilder()
    s, a, loop, dead, orphan = (b.nonterminal(n) for n in ["s", "a", "loop", "dead", "orphan"])
    x, y, z, w = (b.terminal(r, r.upper()) for r in "xyzw")
    b.rule(s, [a, x])
    b.rule(s, [loop])          # loop is unproductive: this alternative goes
    b.rule(s, [a, x])          # duplicate
    b.rule(a, [])
    b.rule(loop, [loop, y])
    b.rule(dead, [z])          # productive but unreachable
    b.rule(orphan, [dead])
    b.ignore = [3]  # W: used by no rule, kept because ignored
    g = reduce_grammar(b.build(s))
    assert g.nonterminals == ("s", "a")
    assert [t.name for t in g.terminals] == ["X", "W"]
    assert g.rules == (Rule(0, (1, term(0))), Rule(1, ()))
    assert [g.terminals[i].name for i in g.ignore] == ["W"]


def test_reduce_empty_language_and_long_chains():
    b = GrammarBuilder()
    s = b.nonterminal("s")
    b.rule(s, [s, b.terminal("x")])
    with pytest.raises(GrammarError, match="empty language"):
        reduce_grammar(b.build(s))
    b = GrammarBuilder()
    n = 100_000  # far beyond Python's recursion limit
    nts = [b.nonterminal(f"n{i}") for i in range(n)]
    for i in range(n - 1):
        b.rule(nts[i], [nts[i + 1]])
    b.rule(nts[-1], [b.terminal("x")])
    g = reduce_grammar(b.build(nts[0]))
    assert len(g.nonterminals) == n and len(g.rules) == n
