"""Acceptance 3 of the core engine: the Cython kernel and its pure-Python twin give identical masks.

Synthetic grammars run over both implementations through the ``impl`` fixture in every test; this file adds
the real tokenizers, comparing full trie walks (no cache) at spaced steps of every sample document.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tokensieve as ts
from tokensieve.masking import _select

from ._real import cl100k_encoding, smollm2_tokenizer

DATA = Path(__file__).parent / "data" / "grammars"
SAMPLES = json.loads((DATA / "samples.json").read_text())
CASES = [(g, i) for g, texts in SAMPLES.items() for i in range(len(texts))]

pytestmark = pytest.mark.skipif(_select.kernels is _select.python_kernels,
                                reason="Cython extension not built: nothing to compare the twin with")


def _vocab(kind):
    if kind == "smollm2":
        tok = smollm2_tokenizer()
        return ts.Vocabulary.from_huggingface(tok), lambda s: tok.encode(s, add_special_tokens=False)
    enc = cl100k_encoding()
    return ts.Vocabulary.from_tiktoken(enc), enc.encode_ordinary


@pytest.mark.parametrize("kind", ["smollm2", "cl100k"])
@pytest.mark.parametrize("grammar_name,index", CASES, ids=[f"{g}-{i}" for g, i in CASES])
def test_cython_equals_python_on_real_vocab(kind, grammar_name, index):
    vocab, encode = _vocab(kind)
    ids = encode(SAMPLES[grammar_name][index])
    m = ts.Matcher(ts.compile(ts.Grammar.from_lark((DATA / grammar_name).read_text()), vocab))
    words = (vocab.size + 31) // 32
    stride = 1 if kind == "smollm2" and index == 0 else 5
    for step, tid in enumerate(ids):
        if step % stride == 0:
            fast, slow = np.zeros(words, np.uint32), np.zeros(words, np.uint32)
            cy = _select.kernels
            m._walk(fast)
            try:
                _select.kernels = _select.python_kernels
                m._walk(slow)
            finally:
                _select.kernels = cy
            assert np.array_equal(fast, slow), (step, tid)
            assert fast.any()
        assert m.accept_token(tid)


SLICE_SCHEMA = {"type": "object", "properties": {
    "s": {"type": "string"}, "e": {"type": "string", "format": "email"},
    "p": {"type": "string", "pattern": "^[a-z ]+$"}, "n": {"type": "string", "maxLength": 40},
    "m": {"type": "string", "minLength": 3, "maxLength": 6}, "l": {"type": "string", "minLength": 5},
    "a": {"type": "array", "items": {"type": "string", "not": {"enum": ["x", "yz"]}}}}}
SLICE_DOC = {"s": "tab\\there \"q\" caf\u00e9 \u65e5\u672c \U0001F600 end", "e": "a.b@example.org",
             "p": "only lower case", "n": "n\u00e9e \\u00e9 ok", "m": "abcd", "l": "long enough, and then some",
             "a": ["xy", "y\\"]}


# bounded runs that may end inside the run (WORD), end only after it (QUOTED), or end in a loop (LONG)
SLICE_LARK = r"""
start: item (SEP item)*
item: WORD | QUOTED | LONG
WORD: /[A-Za-z0-9_]{1,6}/
QUOTED: /'[^'\\]{2,9}'/
LONG: /<[a-z A-Z]{3}[a-z A-Z0-9]*>/
SEP: /[;,]/
"""
SLICE_LARK_TEXT = "ab_9;'hello you',Zz;<abc and more text>,abcdef;'it is',<xyz>"
SLICE_CASES = {"schema": (lambda: ts.Grammar.from_json_schema(SLICE_SCHEMA),
                          lambda: json.dumps(SLICE_DOC, ensure_ascii=False)),
               "lark": (lambda: ts.Grammar.from_lark(SLICE_LARK), lambda: SLICE_LARK_TEXT)}


@pytest.mark.parametrize("case", sorted(SLICE_CASES))
@pytest.mark.parametrize("kind", ["smollm2", "cl100k"])
def test_sliced_ci_walk_equals_the_plain_walk(kind, case):
    """In every lexer state along a document (string bodies before and after escapes, multi-byte characters,
    bounded and unbounded runs, runs a lexeme may end inside), the sliced Cython walk gives the plain
    pure-Python walk's mask, lexeme-end nodes and end states."""
    vocab, encode = _vocab(kind)
    grammar, text = SLICE_CASES[case]
    cg = ts.compile(grammar(), vocab)
    m = ts.Matcher(cg)
    loops = runs = into_loop = 0
    for tid in encode(text()):
        s = m._state
        plan = cg.slice_plan(s)
        if plan is not None:
            loops += plan[4] == s
            runs += plan[4] == -1
            into_loop += plan[4] not in (-1, s)
            fast, slow = np.zeros(cg.n_words, np.uint32), np.zeros(cg.n_words, np.uint32)
            got = _select.kernels.collect_ci_sliced(cg.trie, cg.lexer, s, fast, *plan)
            want = _select.python_kernels.collect_ci(cg.trie, cg.lexer, s, slow)
            assert np.array_equal(fast, slow) and got[0] == want[0] and got[1] == want[1] and got[2] == want[2]
        assert m.accept_token(tid)
    assert m.is_accepting()
    assert (loops > 10 and runs > 3 and into_loop > 0) if case == "schema" else (loops > 0 and runs > 2)
