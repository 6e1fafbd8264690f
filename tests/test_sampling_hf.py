"""The Hugging Face adapter of the grammar-aligned sampler, on a tiny randomly initialised Llama (no download)."""

from __future__ import annotations

import numpy as np
import pytest

import tokensieve as ts
from tokensieve.sampling import GrammarAlignedSampler, HFNextLogits, sample_with_model

from .test_sampling import MULTITOK
from .test_sampling_oracle import Exact

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(MULTITOK.tokens), hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                   max_position_embeddings=64)
    return transformers.LlamaForCausalLM(cfg).eval()


PROMPT = [0, 1, 2]


def uncached(model, prefix):
    with torch.no_grad():
        return model(input_ids=torch.tensor([PROMPT + list(prefix)])).logits[0, -1].float().numpy()


def test_kv_cache_reuse_gives_the_uncached_logits(tiny_model):
    f = HFNextLogits(tiny_model, PROMPT, cache_size=0)
    rng = np.random.default_rng(0)
    prefixes = [list(map(int, rng.integers(0, 5, size=rng.integers(0, 6)))) for _ in range(25)]
    prefixes += [[1, 2, 3], [1, 2, 3, 4], [1, 2], [], [1, 2, 3, 4]]  # extend, shrink, back to the root
    for p in prefixes:
        np.testing.assert_allclose(f(p), uncached(tiny_model, p), rtol=1e-4, atol=1e-5)
    assert f.forward_calls == len(prefixes)
    assert f.forward_tokens < sum(len(PROMPT) + len(p) for p in prefixes)  # cache actually reused


def test_walking_down_a_path_feeds_one_token_per_call(tiny_model):
    f = HFNextLogits(tiny_model, PROMPT, cache_size=0)
    path = [3, 1, 4, 1, 0]
    for i in range(len(path) + 1):
        f(path[:i])
    assert f.forward_tokens == len(PROMPT) + len(path)


def test_logits_rows_are_cached_by_prefix(tiny_model):
    f = HFNextLogits(tiny_model, PROMPT, cache_size=4)
    a = f([1])
    f([2])
    b = f([1])
    assert f.forward_calls == 2 and a is b


def test_bad_prompt_and_cache_size(tiny_model):
    with pytest.raises(ts.VocabularyError, match="prompt_ids is empty"):
        HFNextLogits(tiny_model, [])
    with pytest.raises(ValueError, match="cache_size"):
        HFNextLogits(tiny_model, PROMPT, cache_size=-1)


class _HFLM:
    """The oracle's LM interface over the adapter."""

    def __init__(self, f):
        self.f = f

    def logp(self, prefix):
        lg = self.f(list(prefix)).astype(np.float64)
        m = lg.max()
        return lg - (m + np.log(np.exp(lg - m).sum()))


@pytest.mark.parametrize("method", ["asap", "cars"], ids=["asap", "cars"])
def test_sample_with_model_end_to_end(tiny_model, method):
    setup = MULTITOK
    res = sample_with_model(tiny_model, None, PROMPT, setup.compiled, method, num_samples=30,
                            max_tokens=setup.max_tokens, seed=0)
    assert len(res.samples) == 30
    assert all(setup.in_language(w) for w in res.samples)
    assert res.texts == [setup.text(w) for w in res.samples]
    assert res.stats["samples"] == 30 and res.stats["forward_calls"] >= 1
    assert res.stats["model_calls"] >= res.stats["forward_calls"]  # revisited prefixes hit the row cache
    # the trie continues with the same sampler
    more = sample_with_model(tiny_model, None, PROMPT, setup.compiled, num_samples=5, max_tokens=setup.max_tokens,
                             sampler=res.sampler)
    assert more.stats["samples"] == 35


def test_cars_is_exact_through_the_adapter(tiny_model):
    setup = MULTITOK
    f = HFNextLogits(tiny_model, PROMPT, cache_size=4096)
    exact = Exact(setup, _HFLM(f))
    s = GrammarAlignedSampler(setup.compiled, "cars", seed=1)
    for _ in range(10):
        s.sample(f, setup.max_tokens)
        for w, p in exact.joint.items():
            assert s.sequence_probability(f, list(w), setup.max_tokens) == pytest.approx(p / s.root_estimate,
                                                                                        rel=1e-9)


def test_text_prompt_needs_the_tokenizer(tiny_model):
    with pytest.raises(ts.TokensieveError, match="tokenizer"):
        sample_with_model(tiny_model, None, "hello", MULTITOK.compiled)
