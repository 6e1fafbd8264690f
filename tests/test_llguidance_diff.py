"""Acceptance 2 of the core engine: masks equal llguidance's bit for bit on Lark grammars and real tokenizers.

Every difference must fall in one of llguidance's documented deviations from Lark semantics, checked per token:
- ``leading-ignore``: Lark ignores ``%ignore`` lexemes before the first lexeme; llguidance forbids them.
- ``trailing-ignore``: likewise after the last lexeme of a complete document.
- ``newline-in-string``: llguidance's built-in ``common.ESCAPED_STRING`` admits raw newlines; Lark's
  (``".*?(?<!\\\\)(\\\\\\\\)*?"``, ``.`` without the ``s`` flag) does not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import tokensieve as ts

from ._real import cl100k_encoding, smollm2_tokenizer

llguidance = pytest.importorskip("llguidance")
import llguidance.numpy as lnp  # noqa: E402

DATA = Path(__file__).parent / "data" / "grammars"
SAMPLES = json.loads((DATA / "samples.json").read_text())
WS = b" \t\r\n\x0c\x0b"  # the %ignore whitespace of the sample grammars


def _setup(kind):
    if kind == "smollm2":
        import llguidance.hf

        tok = smollm2_tokenizer()
        vocab = ts.Vocabulary.from_huggingface(tok)
        return vocab, llguidance.hf.from_tokenizer(tok, n_vocab=vocab.size), \
            lambda s: tok.encode(s, add_special_tokens=False)
    import llguidance.tiktoken

    enc = cl100k_encoding()
    vocab = ts.Vocabulary.from_tiktoken(enc)
    return vocab, llguidance.tiktoken.lltokenizer_from_encoding(enc, n_vocab=vocab.size), enc.encode_ordinary


_SETUPS: dict = {}


def setup(kind):
    if kind not in _SETUPS:
        _SETUPS[kind] = _setup(kind)
    return _SETUPS[kind]


def bits(row: np.ndarray) -> set[int]:
    return set(np.flatnonzero(np.unpackbits(row.view(np.uint8), bitorder="little")).tolist())


def starts_with_ignored(m: ts.Matcher, data: bytes) -> bool:
    g = m.compiled.reduced
    text = data.decode("utf-8", "ignore")
    return any(re.match(g.terminals[i].regex, text) for i in g.ignore)


def explain(m: ts.Matcher, prefix: bytes, data: bytes, ours: bool, grammar_name: str) -> str | None:
    """Name the llguidance deviation that explains token bytes ``data`` differing after ``prefix``."""
    if ours:
        if prefix.strip(WS) == b"" and starts_with_ignored(m, data):
            return "leading-ignore"
        stripped = data.rstrip(WS)
        if stripped != data:
            probe = m.fork()
            if (not stripped or probe.accept_bytes(stripped)) and probe.is_accepting():
                return "trailing-ignore"
        return None
    if grammar_name == "json.lark" and (b"\n" in data or b"\r" in data):
        probe = m.fork()
        if not probe.accept_bytes(data):
            return "newline-in-string"
    return None


CASES = [(g, i) for g, texts in SAMPLES.items() for i in range(len(texts))]


@pytest.mark.parametrize("kind", ["smollm2", "cl100k"])
@pytest.mark.parametrize("grammar_name,index", CASES, ids=[f"{g}-{i}" for g, i in CASES])
def test_masks_equal_llguidance(kind, grammar_name, index):
    vocab, lltok, encode = setup(kind)
    text = (DATA / grammar_name).read_text()
    sample = SAMPLES[grammar_name][index]
    ids = encode(sample)
    m = ts.Matcher(ts.compile(ts.Grammar.from_lark(text), vocab))
    lm = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(text), log_level=0)
    assert not lm.is_error(), lm.get_error()
    ours_bm, llg_bm = ts.allocate_token_bitmask(1, vocab.size), lnp.allocate_token_bitmask(1, vocab.size)
    eos = set(vocab.eos_token_ids)
    prefix = b""
    deviations: dict[str, int] = {}
    for step, tid in enumerate(ids + [None]):
        m.fill_next_token_bitmask(ours_bm, 0)
        lnp.fill_next_token_bitmask(lm, llg_bm, 0)
        a, b = bits(ours_bm[0]) - eos, bits(llg_bm[0]) - eos
        for t, ours in [(t, True) for t in a - b] + [(t, False) for t in b - a]:
            why = explain(m, prefix, vocab.token_bytes[t], ours, grammar_name)
            assert why is not None, (f"step {step}, prefix {prefix!r}: token {t} {vocab.token_bytes[t]!r} "
                                     f"allowed only by {'tokensieve' if ours else 'llguidance'}")
            deviations[why] = deviations.get(why, 0) + 1
        assert m.is_accepting() == lm.is_accepting(), (step, prefix)
        if tid is None:
            break
        assert m.accept_token(tid), (step, prefix, vocab.token_bytes[tid])
        assert lm.consume_token(tid), lm.get_error()
        prefix += vocab.token_bytes[tid]
    assert m.is_accepting()
