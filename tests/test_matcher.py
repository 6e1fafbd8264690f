"""Matcher API: acceptance, rejection, EOS, rollback, fork, forced bytes, bitmask layout and application."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tokensieve as ts

JSON_LARK = (Path(__file__).parent / "data" / "grammars" / "json.lark").read_text()
BYTES = [bytes([i]) for i in range(256)]


def byte_vocab(extra=(), size=None):
    toks = BYTES + [t.encode() if isinstance(t, str) else t for t in extra]
    eos = len(toks)
    return ts.Vocabulary.from_tokens(toks + [None], eos_token_ids=[eos], size=size), eos


@pytest.fixture
def json_matcher(impl):
    vocab, eos = byte_vocab(['{"', '":', '", "', "true", "null", "  ", "ab", "\u00e9"])
    return ts.Matcher(ts.compile(ts.Grammar.from_lark(JSON_LARK), vocab)), vocab, eos


def ids_of(vocab, data: bytes):
    return [data[i] for i in range(len(data))]


def test_rejection_leaves_state_unchanged(json_matcher):
    m, vocab, eos = json_matcher
    assert m.accept_bytes(b'{"a": ')
    before = m.allowed_token_ids()
    assert not m.accept_token(ord("}"))
    assert not m.accept_token(eos)
    assert not m.accept_bytes(b"]")
    assert m.allowed_token_ids() == before


def test_eos_only_when_complete_then_terminated(json_matcher):
    m, vocab, eos = json_matcher
    assert m.accept_bytes(b'{"a": 1')
    assert eos not in m.allowed_token_ids() and not m.is_accepting()
    assert m.accept_token(ord("}"))
    assert m.is_accepting() and eos in m.allowed_token_ids()
    assert m.accept_token(eos) and m.is_terminated()
    assert m.allowed_token_ids() == [] and not m.accept_token(ord(" "))
    m.rollback(1)
    assert not m.is_terminated() and eos in m.allowed_token_ids()


def test_rollback_restores_masks(json_matcher):
    m, vocab, eos = json_matcher
    masks, text = [], b'{"key": [true, null, "\xc3\xa9"]}'
    for b in text:
        masks.append(m.allowed_token_ids())
        assert m.accept_token(b)
    for k in range(len(text), 0, -1):
        m.rollback(1)
        assert m.allowed_token_ids() == masks[k - 1]
    with pytest.raises(ValueError):
        m.rollback(1)


def test_fork_is_independent(json_matcher):
    m, vocab, eos = json_matcher
    m.accept_bytes(b"[1")
    f = m.fork()
    assert f.accept_bytes(b", 2]") and f.is_accepting()
    assert not m.is_accepting() and m.accept_bytes(b"]")
    m.reset()
    assert m.allowed_token_ids() == ts.Matcher(m.compiled).allowed_token_ids()


def test_multi_byte_tokens_across_lexemes(json_matcher):
    m, vocab, eos = json_matcher
    tid = vocab.token_bytes.index(b'", "')
    assert m.accept_bytes(b'["a')
    assert tid in m.allowed_token_ids()
    assert m.accept_token(tid) and m.accept_bytes(b'b"]') and m.is_accepting()


def test_split_utf8_character(json_matcher):
    m, vocab, eos = json_matcher
    assert m.accept_bytes(b'"') and m.accept_token(0xC3)
    allowed = set(m.allowed_token_ids())
    assert allowed == set(range(0x80, 0xC0)), "only continuation bytes may follow a lead byte"
    assert m.accept_token(0xA9) and m.accept_token(ord('"')) and m.is_accepting()


def test_padding_and_special_ids_never_allowed(impl):
    vocab, eos = byte_vocab(size=256 + 2 + 40)
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex("[a-c]+"), vocab))
    bm = ts.allocate_token_bitmask(2, vocab.size)
    assert bm.shape == (2, (vocab.size + 31) // 32) and bm.dtype == np.int32
    m.fill_next_token_bitmask(bm, 1)
    assert not bm[0].any()
    allowed = set(np.flatnonzero(np.unpackbits(bm[1].view(np.uint8), bitorder="little")))
    assert allowed == {97, 98, 99}
    assert not m.accept_token(vocab.size + 5) and not m.accept_token(eos + 1)


@pytest.mark.parametrize("bad", [np.zeros((1, 3), np.int32), np.zeros((1, 9), np.int64), [[0] * 9]],
                         ids=["short-row", "wrong-dtype", "not-numpy"])
def test_bad_bitmask_is_typed_error(bad):
    vocab, _ = byte_vocab()
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex("a"), vocab))
    with pytest.raises(ts.VocabularyError):
        m.fill_next_token_bitmask(bad, 0)


def test_forced_bytes(impl):
    vocab, eos = byte_vocab()
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex("hello (world|there)!"), vocab))
    assert m.forced_bytes() == b"hello "
    assert m.accept_bytes(b"hello w")
    assert m.forced_bytes() == b"orld!"
    assert m.accept_bytes(b"orld!") and m.forced_bytes() == b""


def test_accepting_language_with_empty_word(impl):
    vocab, eos = byte_vocab()
    m = ts.Matcher(ts.compile(ts.Grammar.from_regex("(ab)*"), vocab))
    assert m.is_accepting() and eos in m.allowed_token_ids()
    assert m.accept_bytes(b"a") and not m.is_accepting()
    assert m.accept_bytes(b"b") and m.is_accepting()


def test_cached_masks_equal_fresh_walks(impl):
    # the (row, state) mask cache must give what a full walk gives, along a document and after rollbacks
    vocab, eos = byte_vocab(['{"', '":', '", "', "true", "  "])
    cg = ts.compile(ts.Grammar.from_lark(JSON_LARK), vocab)
    m = ts.Matcher(cg)
    doc = b'{"a": [1, 2, {"b": "ccc"}], "d": "eee"}'
    for b in doc:
        for _ in range(2):
            bm = ts.allocate_token_bitmask(1, vocab.size)
            m.fill_next_token_bitmask(bm, 0)
            fresh = np.zeros(cg.n_words, np.uint32)
            m._walk(fresh)
            if m.is_accepting():
                fresh[eos >> 5] |= np.uint32(1 << (eos & 31))
            assert np.array_equal(bm[0].view(np.uint32), fresh)
        assert m.accept_token(b)


def test_apply_bitmask_numpy():
    bm = ts.allocate_token_bitmask(2, 40)
    bm[0, 0] = 0b101
    bm[1, 1] = 1 << 3  # token 35
    logits = np.zeros((2, 40), np.float32)
    ts.apply_token_bitmask_inplace(logits, bm)
    assert np.isfinite(logits[0]).nonzero()[0].tolist() == [0, 2]
    assert np.isfinite(logits[1]).nonzero()[0].tolist() == [35]


def test_apply_bitmask_torch():
    torch = pytest.importorskip("torch")
    bm = ts.allocate_token_bitmask(2, 70)
    bm[0, 2] = 1 << 5  # token 69
    bm[1, 0] = -1  # tokens 0..31 (bit 31 makes the word negative)
    logits = torch.zeros(2, 70)
    ts.apply_token_bitmask_inplace(logits, torch.from_numpy(bm))
    assert torch.isfinite(logits[0]).nonzero().flatten().tolist() == [69]
    assert torch.isfinite(logits[1]).nonzero().flatten().tolist() == list(range(32))


def test_import_is_light():
    code = "import sys, tokensieve; tokensieve.Matcher; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_wrong_argument_types():
    vocab, _ = byte_vocab()
    with pytest.raises(TypeError):
        ts.compile("start: 'a'", vocab)
    with pytest.raises(TypeError):
        ts.Matcher(ts.Grammar.from_regex("a"))


def test_parse_rows_do_not_accumulate_across_documents(monkeypatch):
    # rows cache their successors weakly and only the latest rows (up to an item budget, small here) are held:
    # a long-lived compiled grammar does not keep every explored row
    import gc
    import json
    import random

    from tokensieve.automata import Row
    from tokensieve.masking import _engine

    monkeypatch.setattr(_engine, "_RECENT_ROW_ITEMS", 300)
    vocab, eos = byte_vocab(['{"', '":', '", "', "true", "  "])
    cg = _engine.CompiledGrammar(ts.Grammar.from_lark(JSON_LARK), vocab)
    rnd = random.Random(0)

    def live_rows():
        gc.collect()
        return sum(type(o) is Row for o in gc.get_objects())

    counts = []
    for doc in range(40):
        # structurally different documents: each explores new terminal sequences, hence new rows
        value = [[rnd.choice([1, "s", None, {"k": [2] * rnd.randrange(3)}]) for _ in range(rnd.randrange(1, 6))]
                 for _ in range(rnd.randrange(1, 6))]
        m = ts.Matcher(cg)
        for b in json.dumps(value).encode():
            m.allowed_token_ids()
            assert m.accept_token(b)
        assert m.is_accepting()
        del m
        if doc in (9, 39):
            counts.append(live_rows())
    assert counts[1] <= counts[0] + 50, counts
    assert cg.recent_rows.items <= 300 or len(cg.recent_rows.rows) == 1


def test_recent_rows_are_reused_by_the_next_document(json_matcher, monkeypatch):
    """Rows built for one document (its own and the masks' lookahead past each lexeme) are held for a while, so
    the same document again needs no Earley scan at all and every mask is a cache hit."""
    m, vocab, _ = json_matcher
    cg = m.compiled
    bm = ts.allocate_token_bitmask(1, vocab.size)
    doc = b'{"ab": [true, null, "x\\n"], "k": {"ab": "\xc3\xa9"}}'

    def run():
        x = ts.Matcher(cg)
        for b in doc:
            x.fill_next_token_bitmask(bm)
            assert x.accept_bytes(bytes([b]))
        assert x.is_accepting()

    run()
    calls = []
    scan = cg.parser.scan
    monkeypatch.setattr(cg.parser, "scan", lambda rows, t: calls.append(t) or scan(rows, t))
    run()
    assert calls == []


def test_recent_rows_are_bounded_by_items():
    from tokensieve.masking._engine import _RecentRows

    class R:
        def __init__(self, n):
            self.n_items = n

    keep = _RecentRows(10)
    rows = [R(4) for _ in range(5)]
    for r in rows:
        keep.append(r)
    assert list(keep.rows) == rows[-2:] and keep.items == 8
    big = R(50)
    keep.append(big)  # one row over the limit alone is still kept: the latest row is the one in use
    assert list(keep.rows) == [big] and keep.items == 50


def test_impl_fixture_switches_every_kernel(impl):
    """The python run of every ``impl`` test uses all three twins (walk, Earley closure, lexer rows)."""
    from tokensieve.automata import _earley, _nfa_py, _regex
    from tokensieve.masking import _select

    twins = (_select.kernels is _select.python_kernels, _earley.kernels is _earley.python_kernels,
             _regex._nfa_kernels is _nfa_py)
    assert twins == ((True,) * 3 if impl == "python" else (False,) * 3)
