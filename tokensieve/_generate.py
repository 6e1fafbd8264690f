"""One-call constrained generation with a Hugging Face causal LM: :func:`generate`.

Public: :func:`generate`, :class:`GenerationResult`, :class:`InvalidArgumentError`,
:class:`IncompleteGenerationError`.

The decoding loop calls the model directly with a KV cache (not ``model.generate``) so that it can feed several
forced tokens in one forward call (jump-forward) and time masks separately from the model.
"""

from __future__ import annotations

import bisect
import codecs
import inspect
import json
import os
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._errors import LimitExceededError, SchemaError, TokensieveError, VocabularyError
from .grammar import Grammar

__all__ = ["GenerationResult", "IncompleteGenerationError", "InvalidArgumentError", "generate"]

class InvalidArgumentError(TokensieveError, ValueError):
    """An argument of :func:`generate` is unusable (empty prompt, bad sampling parameters, ...)."""


class IncompleteGenerationError(TokensieveError):
    """The document did not complete or failed validation where a parsed value was required.

    ``result`` holds the :class:`GenerationResult` with the partial text.
    """

    def __init__(self, message: str, result: "GenerationResult"):
        super().__init__(message)
        self.result = result


@dataclass
class GenerationResult:
    """What :func:`generate` produced, with ``return_details=True``.

    Attributes:
        text: the generated text (without EOS), kept even when cut short.
        token_ids: generated token ids, forced ones included, EOS included when sampled.
        finished: the document is complete (stopped on EOS or because the grammar allows nothing more).
        stop_reason: ``"eos"``, ``"complete"``, ``"max_new_tokens"`` or ``"interrupted"``.
        valid: for a schema, the text parses and validates; for a grammar, the document is complete;
            ``None`` without a constraint. Never true for an unfinished document.
        value: the parsed JSON (or pydantic instance) when valid, else ``None``.
        errors: why the result is not valid (empty when valid).
        timings: ``ttft_s`` (call to first token), ``tpot_s`` (mean per later token), ``total_s``,
            ``compile_s``, ``mask_s`` (mask fill and apply), ``forced_tokens`` (jump-forward tokens),
            ``prompt_tokens``.
        sampler_stats: for ``sampler="asap"|"cars"``, the grammar-aligned sampler's diagnostics (root estimate
            of the probability of valid output, attempts, rejections, model calls).
    """

    text: str
    token_ids: list[int]
    finished: bool
    stop_reason: str
    valid: bool | None
    value: Any = None
    errors: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    sampler_stats: dict | None = None


# ------------------------------------------------------------------------------------------- inputs

def load_schema(source: Any) -> tuple[dict | bool, type | None]:
    """Resolve a schema argument to ``(schema, pydantic_class_or_None)``.

    ``source`` is a dict or bool, JSON text, a path (``str`` or ``os.PathLike``) to a JSON file, or a pydantic
    model class.

    Raises:
        SchemaError: file missing or unreadable, not JSON, or not an object/boolean.
        InvalidArgumentError: an unsupported argument type.
    """
    if isinstance(source, type) and callable(getattr(source, "model_json_schema", None)):
        return source.model_json_schema(), source
    if isinstance(source, (dict, bool)):
        return source, None
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8", errors="replace")
    if isinstance(source, str):
        text = source.strip()
        if text[:1] in ("{", "[", '"') or text in ("true", "false", "null"):
            return _parse_schema_text(text, "schema text"), None
        if not text:
            raise SchemaError("the schema is empty")
        return _read_schema_file(Path(source)), None
    if isinstance(source, os.PathLike):
        return _read_schema_file(Path(source)), None
    raise InvalidArgumentError(
        f"schema must be a dict, JSON text, a path to a JSON file or a pydantic model class, "
        f"got {type(source).__name__}"
    )


def _read_schema_file(path: Path) -> dict | bool:
    try:
        data = path.expanduser().read_bytes()
    except FileNotFoundError:
        raise SchemaError(f"schema file not found: {path}") from None
    except IsADirectoryError:
        raise SchemaError(f"schema path is a directory, not a JSON file: {path}") from None
    except OSError as e:
        raise SchemaError(f"cannot read schema file {path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SchemaError(f"schema file {path} is not UTF-8 text (byte {e.start})") from None
    return _parse_schema_text(text, f"schema file {path}")


def _parse_schema_text(text: str, what: str) -> dict | bool:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise SchemaError(f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:  # the C decoder recurses per nesting level
        raise LimitExceededError("schema depth", f"{what} is nested too deeply to parse") from None
    if not isinstance(value, (dict, bool)):
        raise SchemaError(f"{what}: a JSON Schema must be an object or a boolean, got {type(value).__name__}")
    return value


def _is_compiled(obj: Any) -> bool:
    return hasattr(obj, "vocab") and hasattr(obj, "grammar") and not isinstance(obj, Grammar)


# Vocabularies are built once per (tokenizer, size, EOS ids); weak keys so tokenizers can be freed.
_VOCABS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def vocabulary_for(tokenizer: Any, size: int, eos_token_ids) -> Any:
    """A cached :class:`tokensieve.Vocabulary` for ``tokenizer`` with ``size`` logit rows."""
    from . import masking

    key = (masking.Vocabulary, size, tuple(sorted(eos_token_ids)))
    try:
        per = _VOCABS.setdefault(tokenizer, {})
    except TypeError:  # unhashable or not weak-referenceable tokenizer: no caching
        per = {}
    vocab = per.get(key)
    if vocab is None:
        vocab = masking.Vocabulary.from_huggingface(tokenizer, size=size, eos_token_ids=list(eos_token_ids))
        per[key] = vocab
    return vocab


def _as_id_list(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value if v is not None]


def eos_ids_for(model: Any, tokenizer: Any) -> list[int]:
    """EOS ids: the tokenizer's plus the model's generation config's (chat models often end turns with a
    token that only the generation config names)."""
    ids = _as_id_list(getattr(tokenizer, "eos_token_id", None))
    gen_cfg = getattr(model, "generation_config", None)
    ids += _as_id_list(getattr(gen_cfg, "eos_token_id", None))
    n = len(tokenizer)
    return sorted({i for i in ids if 0 <= i < n})


def model_vocab_size(model: Any) -> int:
    """Logit rows of ``model`` (output embedding rows, else ``config.vocab_size``)."""
    get_out = getattr(model, "get_output_embeddings", None)
    out = get_out() if callable(get_out) else None
    weight = getattr(out, "weight", None)
    if weight is not None and getattr(weight, "ndim", 0) == 2:
        return int(weight.shape[0])
    size = getattr(getattr(model, "config", None), "vocab_size", None)
    if isinstance(size, int) and size > 0:
        return size
    raise InvalidArgumentError(f"cannot tell the vocabulary size of {type(model).__name__}: it has neither "
                               "output embeddings nor config.vocab_size")


def check_compatible(model: Any, tokenizer: Any) -> int:
    """The model's logit rows, after checking that every tokenizer id has an embedding row.

    Raises:
        VocabularyError: the tokenizer has more ids than the model has embeddings.
    """
    size = model_vocab_size(model)
    rows = size
    get_in = getattr(model, "get_input_embeddings", None)
    emb = get_in() if callable(get_in) else None
    weight = getattr(emb, "weight", None)
    if weight is not None and getattr(weight, "ndim", 0) == 2:
        rows = min(rows, int(weight.shape[0]))
    n_tok = len(tokenizer)
    if n_tok > rows:
        raise VocabularyError(
            f"the tokenizer has {n_tok} tokens but the model has only {rows} embedding rows: "
            "they do not belong together (load the tokenizer that ships with the model)"
        )
    return size


def prompt_token_ids(tokenizer: Any, prompt: Any, *, chat: bool = True, system: str | None = None) -> list[int]:
    """Token ids of the prompt, through the chat template when ``chat`` and the tokenizer has one.

    ``prompt`` is a string or a list of ``{"role", "content"}`` messages (chat only).

    Raises:
        InvalidArgumentError: empty prompt, messages without a chat template.
    """
    if isinstance(prompt, str):
        if not prompt.strip():
            raise InvalidArgumentError("the prompt is empty")
        messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, (list, tuple)) and all(isinstance(m, dict) for m in prompt):
        if not prompt:
            raise InvalidArgumentError("the prompt is an empty list of messages")
        messages = list(prompt)
    else:
        raise InvalidArgumentError(f"prompt must be a string or a list of chat messages, got {type(prompt).__name__}")
    if system is not None and not any(m.get("role") == "system" for m in messages):
        messages = [{"role": "system", "content": system}] + messages
    if chat and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    else:
        if not isinstance(prompt, str):
            raise InvalidArgumentError("a list of chat messages needs chat=True and a tokenizer with a chat template")
        text = prompt if system is None else f"{system}\n\n{prompt}"
        ids = tokenizer(text)["input_ids"]
    ids = list(ids[0] if ids and isinstance(ids[0], list) else ids)
    if not ids:
        raise InvalidArgumentError("the prompt tokenizes to no tokens")
    return ids


# ------------------------------------------------------------------------------------------- jump-forward

class _TokenIndex:
    """Sorted token bytes, to ask "does some token start with these bytes and go further?" by bisection."""

    __slots__ = ("sorted", "max_len", "__weakref__")

    def __init__(self, vocab: Any):
        toks = {t for t in vocab.token_bytes if t}
        self.sorted = sorted(toks)
        self.max_len = max((len(t) for t in toks), default=0)

    def extends(self, prefix: bytes) -> bool:
        i = bisect.bisect_right(self.sorted, prefix)
        return i < len(self.sorted) and self.sorted[i].startswith(prefix)


_INDEXES: dict[str, _TokenIndex] = {}


def _token_index(vocab: Any) -> _TokenIndex:
    key = getattr(vocab, "fingerprint", None) or str(id(vocab))
    idx = _INDEXES.get(key)
    if idx is None:
        if len(_INDEXES) >= 8:
            _INDEXES.pop(next(iter(_INDEXES)))
        idx = _INDEXES[key] = _TokenIndex(vocab)
    return idx


def safe_boundary(index: _TokenIndex, forced: bytes) -> int:
    """The first offset ``j`` in ``forced`` where some vocabulary token starts with ``forced[j:]`` and goes on
    past its end (``len(forced)`` if none).

    The text after the forced bytes is still free, so a canonical tokenization may use such a token; forced
    tokens are therefore only kept up to this offset (llguidance's look-back rule).
    """
    n = len(forced)
    for j in range(max(0, n - index.max_len + 1), n):
        if index.extends(forced[j:]):
            return j
    return n


def _utf8_prefix(data: bytes) -> bytes:
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError as e:
        return data[: e.start]


def forced_tokens(matcher: Any, tokenizer: Any, vocab: Any, limit: int) -> list[int]:
    """Accept and return the canonical tokens of the matcher's forced bytes, at most ``limit``.

    Only tokens ending at or before :func:`safe_boundary` are taken; if the tokenizer does not reproduce the
    forced bytes exactly (e.g. SentencePiece adding a leading space) nothing is taken.
    """
    if limit <= 0:
        return []
    forced = _utf8_prefix(matcher.forced_bytes())
    if not forced:
        return []
    ids = tokenizer.encode(forced.decode("utf-8"), add_special_tokens=False)
    table = vocab.token_bytes
    pieces = [table[i] if 0 <= i < len(table) else None for i in ids]
    if any(p is None for p in pieces) or b"".join(pieces) != forced:
        return []
    end = safe_boundary(_token_index(vocab), forced)
    kept, pos = [], 0
    for tid, piece in zip(ids, pieces):
        if pos + len(piece) > end or len(kept) == limit:
            break
        kept.append(tid)
        pos += len(piece)
    for k, tid in enumerate(kept):
        if not matcher.accept_token(tid):
            if k:
                matcher.rollback(k)
            return []
    return kept


# ------------------------------------------------------------------------------------------- decoding

_CACHE_KWARG: dict[type, str] = {}


def _cache_kwarg(model: Any) -> str:
    # transformers 5.2x renamed `past_key_values` to `cache` (the old name warns); older models lack `cache`.
    kind = type(model)
    name = _CACHE_KWARG.get(kind)
    if name is None:
        try:
            params = inspect.signature(model.forward).parameters
        except (TypeError, ValueError, AttributeError):
            params = {}
        name = _CACHE_KWARG[kind] = "cache" if "cache" in params else "past_key_values"
    return name


def _forward(model: Any, input_ids: Any, past: Any) -> tuple[Any, Any]:
    """One model call on new tokens with the KV cache; the last position's logits (1, V) as float32."""
    out = model(input_ids=input_ids, use_cache=True, **{_cache_kwarg(model): past})
    cache = getattr(out, "cache", None)
    if cache is None:
        cache = out.past_key_values
    return out.logits[:, -1, :].float(), cache


def _pick(torch: Any, logits: Any, sampler: str, temperature: float, top_p: float, gen: Any) -> int:
    if sampler == "greedy":
        return int(torch.argmax(logits[0]))
    probs = torch.softmax(logits[0] / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = torch.sort(probs, descending=True)
        # keep the smallest prefix whose mass reaches top_p (always at least the top token)
        drop = (torch.cumsum(sorted_p, 0) - sorted_p) >= top_p
        sorted_p[drop] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_p)
    return int(torch.multinomial(probs, 1, generator=gen))


class _TextStream:
    """Turns token ids into text deltas for the ``stream`` callback (holding back split UTF-8 characters)."""

    def __init__(self, callback: Callable[[str], Any] | None, vocab: Any, tokenizer: Any, eos: set[int]):
        self.callback, self.vocab, self.tokenizer, self.eos = callback, vocab, tokenizer, eos
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.ids: list[int] = []
        self.sent = ""

    def push(self, ids: list[int]) -> None:
        if self.callback is None:
            return
        ids = [i for i in ids if i not in self.eos]
        if self.vocab is not None:
            delta = self.decoder.decode(b"".join(self.vocab.token_bytes[i] or b"" for i in ids))
        else:
            self.ids.extend(ids)
            text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
            if text.endswith("\ufffd"):
                return
            delta = text[len(self.sent):] if text.startswith(self.sent) else ""
            self.sent = text
        if delta:
            self.callback(delta)

    def close(self) -> None:
        if self.callback is not None and self.vocab is not None:
            rest = self.decoder.decode(b"", final=True)
            if rest:
                self.callback(rest)


def _check_args(max_new_tokens, temperature, top_p, sampler) -> str:
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 1:
        raise InvalidArgumentError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
    if not temperature >= 0.0:
        raise InvalidArgumentError(f"temperature must be >= 0, got {temperature!r}")
    if not 0.0 < top_p <= 1.0:
        raise InvalidArgumentError(f"top_p must be in (0, 1], got {top_p!r}")
    if sampler is None:
        sampler = "sample" if temperature > 0 else "greedy"
    if sampler not in ("greedy", "sample", "asap", "cars"):
        raise InvalidArgumentError(f"sampler must be 'greedy', 'sample', 'asap' or 'cars', got {sampler!r}")
    if sampler == "sample" and temperature == 0:
        raise InvalidArgumentError("sampler='sample' needs temperature > 0 (temperature 0 is greedy decoding)")
    return sampler


def _model_device(model: Any) -> Any:
    device = getattr(model, "device", None)
    if device is None:
        params = getattr(model, "parameters", None)
        p = next(iter(params()), None) if callable(params) else None
        device = p.device if p is not None else "cpu"
    return device


def generate(
    model: Any,
    tokenizer: Any,
    prompt: Any,
    *,
    schema: Any = None,
    grammar: Any = None,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    sampler: str | None = None,
    chat: bool = True,
    system: str | None = None,
    finish_within_budget: bool = True,
    jump_forward: bool = True,
    return_details: bool = False,
    stream: Callable[[str], Any] | None = None,
    schema_options: dict | None = None,
    num_samples: int = 1,
):
    """Generate text from a causal LM, constrained to a JSON Schema or grammar.

    Parameters:
        model, tokenizer: a transformers causal LM and its tokenizer (see :func:`tokensieve._model.load_model`).
        prompt: the user message (or a list of chat messages); sent through the chat template when ``chat`` and
            the tokenizer has one.
        schema: a JSON Schema as dict, JSON text, path to a ``.json`` file, or pydantic model class.
        grammar: a :class:`tokensieve.Grammar` or a ``CompiledGrammar`` (instead of ``schema``). With neither,
            generation is unconstrained.
        max_new_tokens: token budget (forced tokens count).
        temperature, top_p, seed: sampling parameters; ``seed`` seeds a private ``torch.Generator``.
        sampler: ``"greedy"`` or ``"sample"``; default greedy when ``temperature == 0``, else sample.
            ``"asap"`` / ``"cars"``: grammar-aligned sampling (:mod:`tokensieve.sampling`), which draws from the
            model conditioned on validity instead of the distortion plain masking adds (``temperature`` 0 means
            1 there; jump-forward and the budget mask are off, ``max_new_tokens`` bounds each sample).
        num_samples: with ``"asap"``/``"cars"``, how many samples to draw (they share the sampler's trie, so
            later samples are closer to the exact conditional); a list is returned when above 1.
        system: an optional system message.
        finish_within_budget: constrain the matcher to complete the document within ``max_new_tokens``.
        jump_forward: feed bytes the grammar forces as canonical tokens without sampling.
        return_details: return a :class:`GenerationResult` instead of the text.
        stream: called with each new piece of text.
        schema_options: keyword options for :meth:`Grammar.from_json_schema` (whitespace, ``lenient``, ...).

    Returns:
        The text; for a pydantic class, the validated instance; with ``return_details``, a
        :class:`GenerationResult` (a document cut at ``max_new_tokens`` is kept, never valid).

    Raises:
        InvalidArgumentError: empty prompt or bad parameters. SchemaError, GrammarError, UnsupportedFeatureError:
        from the constraint. VocabularyError: model and tokenizer do not fit. IncompleteGenerationError: a
        pydantic class was given without ``return_details`` and the output did not validate.
        KeyboardInterrupt: re-raised unless ``return_details`` (then ``stop_reason == "interrupted"``).
    """
    t0 = time.perf_counter()
    sampler = _check_args(max_new_tokens, temperature, top_p, sampler)
    if not isinstance(num_samples, int) or num_samples < 1:
        raise InvalidArgumentError(f"num_samples must be a positive int, got {num_samples!r}")
    if num_samples > 1 and sampler not in ("asap", "cars"):
        raise InvalidArgumentError("num_samples > 1 needs sampler='asap' or 'cars' (call generate again otherwise)")
    if schema is not None and grammar is not None:
        raise InvalidArgumentError("pass schema= or grammar=, not both")
    if stream is not None and not callable(stream):
        raise InvalidArgumentError("stream must be a callable taking a string")
    try:
        import torch
    except ImportError as e:
        from ._model import MissingDependencyError

        raise MissingDependencyError('generation needs torch: pip install "tokensieve[model]"') from e

    from . import masking

    schema_obj, model_cls, constraint = _resolve_constraint(schema, grammar, schema_options)
    prompt_ids = prompt_token_ids(tokenizer, prompt, chat=chat, system=system)
    vocab_size = check_compatible(model, tokenizer)

    matcher = vocab = bitmask = None
    eos = set(eos_ids_for(model, tokenizer))
    if constraint is not None:
        if _is_compiled(constraint):
            compiled = constraint
            if compiled.vocab.size != vocab_size:
                raise VocabularyError(f"the compiled grammar is for a vocabulary of {compiled.vocab.size} tokens, "
                                      f"the model has {vocab_size} logit rows")
        else:
            compiled = masking.compile(constraint, vocabulary_for(tokenizer, vocab_size, eos))
        vocab = compiled.vocab
        eos = set(vocab.eos_token_ids)
        matcher = masking.Matcher(compiled, max_tokens=max_new_tokens if finish_within_budget else None)
        bitmask = masking.allocate_token_bitmask(1, vocab.size)
        eos_words = np.zeros(bitmask.shape[1], dtype=np.uint32)
        for e in eos:
            eos_words[e >> 5] |= np.uint32(1 << (e & 31))
    compile_s = time.perf_counter() - t0
    if sampler in ("asap", "cars"):
        if constraint is None:
            raise InvalidArgumentError(f"sampler={sampler!r} needs a schema or grammar")
        if top_p < 1.0:
            raise InvalidArgumentError("grammar-aligned sampling targets the full distribution: use top_p=1")
        return _aligned(model, tokenizer, prompt_ids, compiled, sampler, num_samples, max_new_tokens, seed,
                        temperature or 1.0, schema_obj, model_cls, return_details, t0, compile_s)

    device = _model_device(model)
    gen = None
    if sampler == "sample":
        gen = torch.Generator(device=device)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(seed))

    out_ids: list[int] = []
    pending = list(prompt_ids)  # tokens the model has not seen yet; fed in one call before the next pick
    past = None
    stop, errors = None, []
    n_forced, mask_s, t_first = 0, 0.0, None
    text_stream = _TextStream(stream, vocab, tokenizer, eos)

    def emit(ids: list[int]) -> None:
        nonlocal t_first
        if t_first is None:
            t_first = time.perf_counter()
        text_stream.push(ids)

    try:
        with torch.inference_mode():
            while True:
                remaining = max_new_tokens - len(out_ids)
                if matcher is not None:
                    if jump_forward:
                        kept = forced_tokens(matcher, tokenizer, vocab, remaining)
                        if kept:
                            out_ids += kept
                            pending += kept
                            n_forced += len(kept)
                            emit(kept)
                            continue
                    if remaining <= 0:
                        stop = "complete" if matcher.is_accepting() else "max_new_tokens"
                        break
                    t_mask = time.perf_counter()
                    matcher.fill_next_token_bitmask(bitmask, 0)
                    words = bitmask[0].view(np.uint32)
                    if not (words & ~eos_words).any():
                        mask_s += time.perf_counter() - t_mask
                        if matcher.is_accepting():
                            stop = "complete"
                            break
                        if finish_within_budget:
                            errors.append(f"no token keeps the document completable within the remaining "
                                          f"{remaining} tokens")
                            stop = "max_new_tokens"
                            break
                        raise TokensieveError("the grammar allows no next token although the document is "
                                              "incomplete (an engine or grammar defect)")
                    mask_s += time.perf_counter() - t_mask
                elif remaining <= 0:
                    stop = "max_new_tokens"
                    break
                logits, past = _forward(model, torch.tensor([pending], device=device), past)
                pending = []
                if logits.shape[-1] != vocab_size:
                    raise VocabularyError(f"the model returned {logits.shape[-1]} logits per position, "
                                          f"expected {vocab_size}")
                if matcher is not None:
                    t_mask = time.perf_counter()
                    masking.apply_token_bitmask_inplace(logits, bitmask)
                    mask_s += time.perf_counter() - t_mask
                tok = _pick(torch, logits, sampler, temperature, top_p, gen)
                if tok in eos:
                    if matcher is not None and not matcher.accept_token(tok):
                        raise TokensieveError(f"the matcher rejected EOS token {tok} that its mask allowed")
                    out_ids.append(tok)
                    emit([tok])
                    stop = "eos"
                    break
                if matcher is not None and not matcher.accept_token(tok):
                    raise TokensieveError(f"the matcher rejected token {tok} that its mask allowed")
                out_ids.append(tok)
                pending = [tok]
                emit([tok])
    except KeyboardInterrupt:
        if not return_details:
            raise
        stop = "interrupted"
    text_stream.close()
    t_end = time.perf_counter()

    body = [t for t in out_ids if t not in eos]
    if vocab is not None:
        text = b"".join(vocab.token_bytes[t] or b"" for t in body).decode("utf-8", errors="replace")
    else:
        text = tokenizer.decode(body, skip_special_tokens=True)
    finished = stop in ("eos", "complete")
    valid, value = None, None
    if constraint is not None:
        valid = False
        if not finished:
            errors.append(f"the document is incomplete (stopped: {stop})")
        elif schema_obj is not None:
            valid, value = _validate(text, schema_obj, model_cls, errors)
        else:
            valid = True
    n = len(out_ids)
    first = t_first if t_first is not None else t_end
    timings = {
        "ttft_s": first - t0,
        "tpot_s": (t_end - first) / (n - 1) if n > 1 else 0.0,
        "total_s": t_end - t0,
        "compile_s": compile_s,
        "mask_s": mask_s,
        "forced_tokens": n_forced,
        "prompt_tokens": len(prompt_ids),
    }
    result = GenerationResult(text, out_ids, finished, stop, valid, value, errors, timings)
    if return_details:
        return result
    if model_cls is not None:
        if not valid:
            raise IncompleteGenerationError(
                f"the output does not validate as {model_cls.__name__}: {'; '.join(errors)}", result)
        return value
    return text


def _aligned(model, tokenizer, prompt_ids, compiled, method, num_samples, max_new_tokens, seed, temperature,
             schema_obj, model_cls, return_details, t0, compile_s):
    """``generate`` with a grammar-aligned sampler: every sample is a complete, valid document."""
    from .sampling import sample_with_model

    out = sample_with_model(model, tokenizer, list(prompt_ids), compiled, method, num_samples, max_new_tokens,
                            seed, temperature=temperature)
    total = time.perf_counter() - t0
    results = []
    for ids, text in zip(out.samples, out.texts):
        errors: list[str] = []
        valid, value = (_validate(text, schema_obj, model_cls, errors) if schema_obj is not None else (True, None))
        timings = {"total_s": total, "compile_s": compile_s, "prompt_tokens": len(prompt_ids)}
        results.append(GenerationResult(text, list(ids), True, "eos", valid, value, errors, timings,
                                        sampler_stats=out.stats))
    if return_details:
        return results if num_samples > 1 else results[0]
    picked = [r.value if model_cls is not None else r.text for r in results]
    return picked if num_samples > 1 else picked[0]


def _resolve_constraint(schema: Any, grammar: Any, schema_options: dict | None):
    """``(schema_dict_or_None, pydantic_class_or_None, Grammar/CompiledGrammar/None)``."""
    if schema is not None:
        schema_obj, model_cls = load_schema(schema)
        return schema_obj, model_cls, Grammar.from_json_schema(schema_obj, **(schema_options or {}))
    if grammar is not None and not (isinstance(grammar, Grammar) or _is_compiled(grammar)):
        raise InvalidArgumentError(
            f"grammar must be a tokensieve.Grammar (e.g. Grammar.from_lark(text)) or a CompiledGrammar, "
            f"got {type(grammar).__name__}"
        )
    return None, None, grammar


def _validate(text: str, schema: Any, model_cls: type | None, errors: list[str]) -> tuple[bool, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        errors.append(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}")
        return False, None
    except RecursionError:  # a generated document nested deeper than the C decoder recurses
        errors.append("not checked: the document is nested too deeply to parse")
        return False, None
    from . import schema as schema_mod

    problems = schema_mod.validate(value, schema)
    if problems:
        errors.extend(str(getattr(p, "message", p)) for p in problems)
        return False, None
    if model_cls is not None:
        try:
            return True, model_cls.model_validate_json(text)
        except ValueError as e:  # pydantic's ValidationError: a constraint the JSON Schema did not express
            errors.append(str(e))
            return False, None
    return True, value
