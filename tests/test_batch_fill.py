"""fill_next_token_bitmasks: a batch of matchers (several grammars) filled serially or on threads gives each
matcher's own mask, under concurrent use too; bad batches are typed errors."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import tokensieve as ts

from .test_matcher import byte_vocab

SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "n": {"type": "integer"}},
     "required": ["name", "n"]},
    {"type": "array", "items": {"type": "number"}},
    {"type": "object", "additionalProperties": {"enum": ["red", "green", 3]}},
    {"type": "string", "pattern": "^[a-z]+-[0-9]{2,4}$"},
]
DOCS = [{"name": "Ada Lovelace", "n": -12}, [1.5, -2, 3e4], {"a": "red", "bb": 3}, "abc-123"]


@pytest.fixture
def batch(impl):
    vocab, eos = byte_vocab(['{"', '":', '", "', "name", "red", "  ", "12", "-1"])
    grammars = [ts.compile(ts.Grammar.from_json_schema(s), vocab) for s in SCHEMAS]
    docs = [json.dumps(d).encode() for d in DOCS]
    return vocab, eos, grammars, docs


def _token_ids(vocab, data):
    return list(data)  # single-byte tokens are ids 0..255


def _expected(m):
    ref = ts.allocate_token_bitmask(1, m.compiled.vocab.size)
    m.fill_next_token_bitmask(ref, 0)
    return ref[0]


@pytest.mark.parametrize("threads", [1, 2, 4], ids=["serial", "2-threads", "4-threads"])
def test_batch_equals_one_by_one(batch, threads):
    vocab, eos, grammars, docs = batch
    # two matchers per grammar, one of them a step behind, written to shuffled rows
    matchers = [ts.Matcher(g) for g in grammars for _ in range(2)]
    streams = [docs[i // 2] for i in range(len(matchers))]
    rows = [5, 0, 7, 2, 6, 1, 4, 3]
    bm = ts.allocate_token_bitmask(8, vocab.size)
    for step in range(max(map(len, docs)) + 2):
        ts.fill_next_token_bitmasks(matchers, bm, rows, max_threads=threads)
        for m, r in zip(matchers, rows):
            assert np.array_equal(bm[r], _expected(m))
        for k, (m, data) in enumerate(zip(matchers, streams)):
            pos = step - (k % 2)
            if 0 <= pos < len(data):
                assert m.accept_token(data[pos])
            elif pos == len(data):
                assert m.accept_token(eos)
    assert all(m.is_terminated() for m in matchers)


def test_concurrent_batches_of_shared_grammars(batch):
    """Several threads each run batches over the same compiled grammars (their caches and lexers grow
    concurrently); every mask equals a serial recomputation on a fresh grammar."""
    vocab, eos, grammars, docs = batch
    fresh = {id(g): ts.compile(ts.Grammar.from_json_schema(s), vocab, max_items_per_row=49_999)
             for g, s in zip(grammars, SCHEMAS)}  # other limits: a separate cache entry, nothing shared
    errors = []

    def run(seed):
        try:
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(grammars))
            ms = [ts.Matcher(grammars[i]) for i in order]
            refs = [ts.Matcher(fresh[id(grammars[i])]) for i in order]
            data = [docs[i] for i in order]
            bm = ts.allocate_token_bitmask(len(ms), vocab.size)
            for step in range(max(map(len, data))):
                ts.fill_next_token_bitmasks(ms, bm, max_threads=2)
                for r, (m, ref, d) in enumerate(zip(ms, refs, data)):
                    want = ts.allocate_token_bitmask(1, vocab.size)
                    ref.fill_next_token_bitmask(want, 0)
                    assert np.array_equal(bm[r], want[0]), (seed, step, r)
                    if step < len(d):
                        assert m.accept_token(d[step]) and ref.accept_token(d[step])
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_bad_batches_are_typed_errors(batch):
    vocab, eos, grammars, docs = batch
    ms = [ts.Matcher(g) for g in grammars[:2]]
    bm = ts.allocate_token_bitmask(2, vocab.size)
    with pytest.raises(ts.VocabularyError, match="int32"):
        ts.fill_next_token_bitmasks(ms, bm.astype(np.int64))
    with pytest.raises(ts.VocabularyError, match="int32"):
        ts.fill_next_token_bitmasks(ms, bm[0])
    with pytest.raises(ts.VocabularyError, match="words per row"):
        ts.fill_next_token_bitmasks(ms, np.zeros((2, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="repeat"):
        ts.fill_next_token_bitmasks(ms, bm, [1, 1])
    with pytest.raises(ValueError, match="out of range"):
        ts.fill_next_token_bitmasks(ms, bm, [0, 2])
    with pytest.raises(ValueError, match="2 matchers"):
        ts.fill_next_token_bitmasks(ms, bm, [0])
    with pytest.raises(ValueError, match="max_threads"):
        ts.fill_next_token_bitmasks(ms, bm, max_threads=0)
    with pytest.raises(TypeError, match="Matcher"):
        ts.fill_next_token_bitmasks([ms[0], "x"], bm)
    assert not bm.any()  # nothing written by a refused batch


def test_threaded_batch_on_a_real_vocabulary():
    """cl100k (a 217k-node trie: the walks run without the GIL for long stretches): threaded batches along
    four documents equal the serial fills of separate matchers, at every token."""
    from ._real import cl100k_encoding

    enc = cl100k_encoding()
    vocab = ts.Vocabulary.from_tiktoken(enc)
    grammars = [ts.compile(ts.Grammar.from_json_schema(s), vocab) for s in SCHEMAS]
    # the references get grammars of their own (other limits: other cache entries), so no cached mask is shared
    alone = [ts.compile(ts.Grammar.from_json_schema(s), vocab, max_items_per_row=49_999) for s in SCHEMAS]
    ms, refs = [ts.Matcher(g) for g in grammars], [ts.Matcher(g) for g in alone]
    streams = [enc.encode_ordinary(json.dumps(d)) for d in DOCS]
    bm = ts.allocate_token_bitmask(len(ms), vocab.size)
    want = ts.allocate_token_bitmask(1, vocab.size)
    for step in range(max(map(len, streams))):
        ts.fill_next_token_bitmasks(ms, bm, max_threads=2)
        for r, (m, ref, ids) in enumerate(zip(ms, refs, streams)):
            ref.fill_next_token_bitmask(want, 0)
            assert np.array_equal(bm[r], want[0])
            if step < len(ids):
                assert m.accept_token(ids[step]) and ref.accept_token(ids[step])


def test_batchfill_benchmark_runs_on_the_committed_sample(capsys):
    from jsonschemabench import batchfill
    from jsonschemabench._data import SAMPLE_DIR

    from ._real import cl100k_encoding

    cl100k_encoding()  # skips without the offline cl100k
    assert batchfill.main(["--tokenizer", "cl100k", "--batch", "3", "--repeat", "1", "--threads", "1,2",
                           "--data", str(SAMPLE_DIR / "maskbench")]) == 0
    out = capsys.readouterr().out
    assert "3 schemas" in out and out.count("| cold |") == 2 and out.count("| warm |") == 2
