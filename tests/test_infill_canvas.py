"""Canvas (incremental token-canvas checks), the diffusion sampling loop with mock models, the HF adapter.

Acceptance 4: with random and adversarial mock models every finished canvas is in the language, and
token-budget-aware holes reject proposals the unbounded check wrongly accepts.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

import tokensieve as ts
from tokensieve import LimitExceededError, VocabularyError
from tokensieve.infill import Canvas, HFDiffusionModel, Hole, Limits, check, is_completable, sample
from tests.test_infill_oracle import grammar, oracle

TOKENS = ["{", "}", "[", "]", '"', ",", ":", " ", "1", "a", '"}', "]}", '"a":', "true", "null", "<eos>"]
EOS = len(TOKENS) - 1
VOCAB = ts.Vocabulary.from_tokens(TOKENS, eos_token_ids=[EOS])
TID = {t: i for i, t in enumerate(TOKENS)}
WORDS = TOKENS[:-1]


def parts_of(slots, budget=True):
    """The canvas semantics, written out independently: text up to the first EOS, masked runs as holes."""
    parts, run = [], 0
    for t in slots:
        if t == EOS:
            break
        if t is None:
            run += 1
            continue
        if run:
            parts.append(Hole(max_tokens=run, vocab=WORDS) if budget else Hole())
            run = 0
        parts.append(TOKENS[t])
    if run:
        parts.append(Hole(max_tokens=run, vocab=WORDS) if budget else Hole())
    return parts


# ------------------------------------------------------------------ Canvas


def test_canvas_basics():
    j = grammar("json")
    c = Canvas(j, VOCAB, 6)
    assert c.masked() == list(range(6)) and not c.is_finished()
    assert not c.allows(0, TID["}"])
    assert c.commit(0, TID["["])
    assert not c.commit(0, TID["]"])  # occupied
    assert c.commit(3, EOS)  # EOS fills the tail
    assert c.tokens == [TID["["], None, None, EOS, EOS, EOS]
    assert c.masked() == [1, 2]
    assert not c.allows(4, TID["1"])  # after EOS
    assert not c.allows(1, EOS) and c.allows(1, TID["]"])
    assert c.commit(1, TID["1"]) and c.commit(2, TID["]"])
    assert c.is_finished() and c.text() == "[1]" and c.token_ids() == [TID["["], TID["1"], TID["]"]]
    assert not c.allows(1, 3)


def test_canvas_rejects_specials_and_bad_slots():
    vocab = ts.Vocabulary.from_tokens(TOKENS + [None], eos_token_ids=[EOS])  # id 16: a special token
    c = Canvas(grammar("json"), vocab, 4)
    assert not c.allows(0, 16) and not c.allows(0, 999)
    with pytest.raises(IndexError):
        c.allows(4, 0)
    with pytest.raises(TypeError):
        c.allows("0", 0)
    with pytest.raises(ValueError):
        c.text()


@pytest.mark.parametrize("kwargs, error", [
    ({"length": 0}, ValueError), ({"length": 2.5}, ValueError), ({"vocab": TOKENS}, TypeError),
    ({"timeout": -1}, ValueError), ({"undecided": "x"}, ValueError),
    ({"limits": Limits(max_nodes=3)}, LimitExceededError),
], ids=["zero", "float", "list-vocab", "timeout", "policy", "too-long"])
def test_canvas_bad_arguments(kwargs, error):
    args = {"grammar": grammar("json"), "vocab": VOCAB, "length": 8, **kwargs}
    with pytest.raises(error):
        Canvas(args.pop("grammar"), args.pop("vocab"), args.pop("length"), **args)


@pytest.mark.parametrize("budget", [True, False], ids=["budget", "unbounded"])
def test_canvas_agrees_with_oracle(budget):
    """Random proposals on small canvases: each answer equals the oracle on the written-out parts (this
    goes through the incremental path: every check reuses the committed canvas's chart)."""
    j, orc = grammar("json"), oracle("json")
    rng = random.Random(21)
    checked = {True: 0, False: 0}
    for _ in range(12):
        c = Canvas(j, VOCAB, 7, budget=budget)
        for _ in range(25):
            pos = rng.choice(c.masked() or [0])
            tok = rng.randrange(len(TOKENS))
            if c.tokens[pos] is not None:
                continue
            ans = c.allows(pos, tok)
            slots = c.tokens
            if tok == EOS:
                valid = all(t in (None, EOS) for t in slots[pos:])
                slots[pos:] = [EOS] * (len(slots) - pos)
            else:
                valid = EOS not in slots[:pos]
                slots[pos] = tok
            if valid:
                parts = parts_of(slots, budget)
                found = orc.completable(parts, 4)
                if budget:  # every hole is a token budget: the oracle is exact
                    assert ans == found, (c.tokens, pos, TOKENS[tok])
                elif not found:  # unbounded holes unroll to 4 characters: a longer filling certifies a yes
                    v = check(j, parts)
                    assert ans == v.completable and (not ans or orc.member(v.text)), (c.tokens, pos, TOKENS[tok])
                else:
                    assert ans, (c.tokens, pos, TOKENS[tok])
            else:
                assert not ans
            checked[ans] += 1
            if ans and rng.random() < 0.5:
                assert c.commit(pos, tok)
            if c.is_finished():
                break
    assert checked[True] > 10 and checked[False] > 10, checked


def test_incremental_equals_fresh():
    """The reused-prefix answers equal fresh checks on longer canvases, and the prefix is really reused."""
    j = grammar("json")
    rng = random.Random(8)
    reused = []
    for _ in range(4):
        c = Canvas(j, VOCAB, 24)
        for _ in range(60):
            pos, tok = rng.choice(c.masked() or [0]), rng.randrange(len(TOKENS) - 1)
            if c.tokens[pos] is not None:
                continue
            slots = c.tokens
            slots[pos] = tok
            assert c.allows(pos, tok) == is_completable(j, parts_of(slots)), (c.tokens, pos, tok)
            chart = c._cache[(pos, tok)][1]
            if chart is not None:
                reused.append(chart.start)
            if c.allows(pos, tok):
                c.commit(pos, tok)
    assert sum(1 for s in reused if s > 0) > len(reused) // 2, reused


def test_batch_query():
    c = Canvas(grammar("json"), VOCAB, 5)
    c.commit(0, TID["{"])
    cands = list(range(len(TOKENS)))
    batch = c.allowed(1, cands)
    assert batch.dtype == bool and batch.tolist() == [c.allows(1, t) for t in cands]
    assert batch[TID['"a":']] and batch[TID["}"]] and not batch[TID["1"]]


def test_completion_spells_the_canvas():
    c = Canvas(grammar("json"), VOCAB, 8)
    c.commit(0, TID["["])
    c.commit(1, TID["["])
    c.commit(3, TID["1"])
    comp = c.completion()
    assert comp.fits and oracle("json").member(comp.text)
    assert "".join(TOKENS[t] for t in comp.token_ids) == comp.text
    assert comp.token_ids[:2] == [TID["["], TID["["]] and TID["1"] in comp.token_ids


def test_budget_rejects_what_unbounded_accepts():
    """Four slots "[ [ 1 _": only one token is left, and this vocabulary has no single token for "]]"."""
    j = grammar("json")
    plans = {}
    for budget in (False, True):
        c = Canvas(j, VOCAB, 4, budget=budget)
        assert c.commit(0, TID["["]) and c.commit(1, TID["["])
        plans[budget] = c.allows(2, TID["1"])
        if not budget:
            c.commit(2, TID["1"])
            comp = c.completion()
            assert comp.text == "[[1]]" and not comp.fits  # accepted, yet nothing fits in the last slot
    assert plans == {False: True, True: False}
    assert not is_completable(j, ["[[1", Hole(max_tokens=1, vocab=WORDS)])


def test_canvas_timeout_rejects():
    c = Canvas(grammar("json"), VOCAB, 300, timeout=1e-6)
    assert not c.allows(0, TID["["])


# ------------------------------------------------------------------ sampling loop


class RandomModel:
    def __init__(self, seed, vocab_size=len(TOKENS)):
        self.rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size

    def logits(self, tokens):
        return self.rng.normal(size=(len(tokens), self.vocab_size))


class AdversarialModel:
    """Puts its highest logits on tokens the grammar forbids at each slot (found with its own canvas)."""

    def __init__(self, g, length):
        self.g, self.length = g, length

    def logits(self, tokens):
        c = Canvas(self.g, VOCAB, self.length)
        for i, t in enumerate(tokens):
            if t is not None:
                c.commit(i, t, check=False)
        out = np.zeros((len(tokens), len(TOKENS)))
        for i, t in enumerate(tokens):
            if t is None:
                out[i] = np.where(c.allowed(i, range(len(TOKENS))), -5.0, 5.0) + np.arange(len(TOKENS)) * 1e-3
        return out


class RecordingCanvas(Canvas):
    """Remembers every committed state, to check afterwards that each one was completable."""

    def commit(self, pos, token, *, check=True):
        ok = super().commit(pos, token, check=check)
        if ok:
            self.history = getattr(self, "history", []) + [self.tokens]
        return ok


@pytest.mark.parametrize("budget", [True, False], ids=["budget", "unbounded"])
def test_random_model_outputs_are_members(budget):
    j, orc = grammar("json"), oracle("json")
    reasons = {}
    for seed in range(12):
        c = RecordingCanvas(j, VOCAB, 10, budget=budget)
        r = sample(RandomModel(seed), c, seed=seed, temperature=1.0, max_rejections=60)
        assert r.valid and orc.member(r.text), r
        assert r.rejections <= 61
        if not r.fallback:
            assert "".join(TOKENS[t] for t in r.token_ids) == r.text
        for state in getattr(c, "history", []):
            parts = parts_of(state, budget)
            if not orc.completable(parts, 4):  # beyond the oracle's unrolling: the witness certifies it
                v = check(j, parts)
                assert v.completable and orc.member(v.text), state
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    if budget:
        assert reasons.get("finished", 0) >= 10, reasons  # budgets keep the canvas fillable
    else:
        assert reasons.get("finished", 0) < 12, reasons  # unbounded holes run into dead ends


def test_adversarial_model_ends_in_the_fallback():
    j, orc = grammar("json"), oracle("json")
    r = sample(AdversarialModel(j, 8), Canvas(j, VOCAB, 8), max_rejections=10)
    assert r.fallback and r.reason == "max_rejections" and r.rejections == 11
    assert r.valid and orc.member(r.text)
    assert "".join(TOKENS[t] for t in r.token_ids) == r.text and len(r.token_ids) <= 8


def test_sampler_with_template_and_blocks():
    j, orc = grammar("json"), oracle("json")
    c = Canvas(j, VOCAB, 12)
    c.commit(0, TID["{"])
    c.commit(1, TID['"a":'])
    r = sample(RandomModel(3), c, steps=6, block_length=4, seed=1)
    assert r.valid and orc.member(r.text) and r.text.startswith('{"a":')
    assert r.forward_calls <= 6


def test_sampler_timeout_and_bad_arguments():
    j = grammar("json")
    r = sample(RandomModel(0), Canvas(j, VOCAB, 10), timeout=1e-9)
    assert r.reason == "timeout" and r.valid and r.fallback
    with pytest.raises(VocabularyError):
        sample(RandomModel(0, vocab_size=5), Canvas(j, VOCAB, 4))
    with pytest.raises(ValueError):
        sample(RandomModel(0), Canvas(j, VOCAB, 4), remasking="entropy")
    with pytest.raises(TypeError):
        sample(RandomModel(0), [None] * 4)


def test_empty_canvas_language():
    """No JSON document fits in one slot of this vocabulary ending... except "1": check both outcomes."""
    j = grammar("json")
    r = sample(RandomModel(0), Canvas(j, VOCAB, 1), seed=0)
    assert r.valid and r.text in ("1", "true", "null")
    vocab = ts.Vocabulary.from_tokens(["[", "]", "<eos>"], eos_token_ids=[2])
    r = sample(RandomModel(0, 3), Canvas(j, vocab, 1))
    assert not r.valid and r.reason == "empty" and r.text is None


# ------------------------------------------------------------------ Hugging Face adapter (mocked model)


class MockHF:
    """Stands in for AutoModel(..., trust_remote_code=True): records its input, returns (1, n, V) logits."""

    def __init__(self, vocab, extra=3):
        import torch

        self.torch = torch
        self.vocab, self.extra = vocab, extra
        self.seen = []

    def __call__(self, input_ids):
        self.seen.append(input_ids.tolist()[0])
        n = input_ids.shape[1]
        g = self.torch.Generator().manual_seed(len(self.seen))
        logits = self.torch.randn(1, n, self.vocab + self.extra, generator=g)
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("shift", [False, True], ids=["llada", "dream"])
def test_hf_adapter(shift):
    pytest.importorskip("torch")
    mock = MockHF(len(TOKENS))
    m = HFDiffusionModel(mock, mask_token_id=99, prompt_ids=[7, 8], shift_logits=shift, vocab_size=len(TOKENS))
    out = m.logits([None, 3, None])
    assert mock.seen[-1] == [7, 8, 99, 3, 99]
    assert out.shape == (3, len(TOKENS)) and out.dtype == np.float32
    g = mock.torch.Generator().manual_seed(1)
    full = mock.torch.randn(1, 5, len(TOKENS) + 3, generator=g)[0, :, : len(TOKENS)].numpy()
    expect = full[1:4] if shift else full[2:5]  # Dream: logits at i predict i + 1
    np.testing.assert_allclose(out, expect)
    j, orc = grammar("json"), oracle("json")
    r = sample(m, Canvas(j, VOCAB, 6), seed=0)
    assert r.valid and orc.member(r.text)


def test_hf_adapter_checks():
    pytest.importorskip("torch")
    with pytest.raises(TypeError):
        HFDiffusionModel(object(), mask_token_id=1)
    with pytest.raises(VocabularyError):
        HFDiffusionModel(MockHF(3), mask_token_id=-1)
    bad = HFDiffusionModel(lambda input_ids: SimpleNamespace(logits=np.zeros(3)), mask_token_id=0)
    with pytest.raises(Exception):
        bad.logits([None])
