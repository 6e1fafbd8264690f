"""The generation worker: one model, every engine, one schema at a time, greedy, the paper's prompt.

tokensieve and the unconstrained baseline (``none``) run through :func:`tokensieve.generate` (the product path,
jump-forward included unless disabled); the peers run through :func:`decode_peer`, the same loop (same model
call with KV cache, same mask application, same argmax) driven by their matchers. Timings follow the paper:

* GCT: schema to a usable matcher (compile, matcher, first mask);
* TTFT: call start to the first generated token (GCT + prompt tokenisation + prefill + first pick);
* TGT: call start to the end; TPOT = (TGT - TTFT) / (N - 1) with N the re-tokenised output length.

Limits: the compile and decode phases each run under a ``SIGALRM`` deadline (Python-level; native code that never
returns is killed by the main process after a grace period); the address space may grow by ``memory_mb``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import _metrics
from ._data import SchemaItem, few_shot_messages
from ._engines import EngineMissing, bundle_from_model, classify_error, engine_class
from ._validate import Checker, extract_fenced
from ._workers import set_memory_limit

__all__ = ["decode_peer", "gen_worker_main", "load_bench_model"]


class _Deadline(KeyboardInterrupt):
    """Raised by the alarm; a KeyboardInterrupt so that ``tokensieve.generate`` returns what it has."""


def _on_alarm(signum, frame):
    raise _Deadline()


class _deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 0.001))

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        return False


def load_bench_model(spec: str) -> tuple[Any, Any]:
    """``smollm2`` (embedded), ``tiny-random`` (a seeded 1-layer Llama on SmolLM2's tokenizer, for smoke tests:
    its outputs are noise) or a model path/id for :func:`tokensieve._model.load_model`."""
    if spec == "tiny-random":
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        from tokensieve._model import load_tokenizer

        tok = load_tokenizer("smollm2")
        cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=8192,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=True)
        torch.manual_seed(0)
        return LlamaForCausalLM(cfg).eval(), tok
    from tokensieve._model import load_model

    return load_model(spec)


def decode_peer(model: Any, tokenizer: Any, messages: list, matcher: Any, bm: np.ndarray, eos: set,
                max_new_tokens: int, first_mask_ready: bool) -> dict:
    """Greedy constrained decoding driven by a peer's matcher; timings relative to this call's start.

    Returns ``{text, token_ids, stop, ttft_s, total_s, mask_s, prompt_tokens}``; ``stop`` is ``eos``,
    ``complete``, ``max_new_tokens``, ``timeout``, or ``error: ...``.
    """
    import torch

    from tokensieve._generate import _forward, _model_device, prompt_token_ids
    from tokensieve.masking import apply_token_bitmask_inplace

    t0 = time.perf_counter()
    prompt_ids = prompt_token_ids(tokenizer, messages)
    device = _model_device(model)
    out: list[int] = []
    pending = list(prompt_ids)
    past = None
    t_first = None
    mask_s = 0.0
    stop = None
    try:
        with torch.inference_mode():
            while True:
                if len(out) >= max_new_tokens:
                    stop = "max_new_tokens"
                    break
                if not first_mask_ready:
                    t = time.perf_counter()
                    matcher.fill(bm)
                    mask_s += time.perf_counter() - t
                first_mask_ready = False
                if not bm.any():
                    stop = "complete" if matcher.accepting() else "error: the mask allows no token"
                    break
                logits, past = _forward(model, torch.tensor([pending], device=device), past)
                t = time.perf_counter()
                apply_token_bitmask_inplace(logits, bm)
                mask_s += time.perf_counter() - t
                tok = int(torch.argmax(logits[0]))
                if t_first is None:
                    t_first = time.perf_counter()
                if tok in eos:
                    out.append(tok)
                    stop = "eos"
                    break
                if not matcher.accept(tok):
                    stop = f"error: the matcher refused token {tok} that its mask allowed"
                    break
                out.append(tok)
                pending = [tok]
                if matcher.stopped():
                    stop = "complete"
                    break
    except _Deadline:
        stop = "timeout"
    t_end = time.perf_counter()
    body = [t for t in out if t not in eos]
    text = tokenizer.decode(body, skip_special_tokens=True)
    first = t_first if t_first is not None else t_end
    return {"text": text, "token_ids": out, "stop": stop, "ttft_s": first - t0, "total_s": t_end - t0,
            "mask_s": mask_s, "prompt_tokens": len(prompt_ids)}


# ------------------------------------------------------------------------------------------- worker

def gen_worker_main(conn, spec: dict) -> None:
    """Worker body (see :class:`jsonschemabench._workers.Worker`): load the model once, then run tasks."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    try:
        device = _resolve_device(torch, spec.get("device") or "cpu")
    except ValueError as e:  # a usage error: its own words, no traceback
        conn.send(("fatal", str(e)))
        return
    model, tok = load_bench_model(spec["model"])
    if device != "cpu":
        model.to(device)
    bundle = bundle_from_model(model, tok, spec["model"])
    engines, missing, versions = {}, {}, {}
    for name in spec["engines"]:
        if name == "none":
            engines[name] = None
            versions[name] = "-"
            continue
        try:
            cls = engine_class(name)
            engines[name] = cls(bundle, spec.get("options", {}).get(cls.name, {}))
            versions[name] = cls.version()
        except EngineMissing as e:
            missing[name] = str(e)
        except Exception as e:  # noqa: BLE001 - an engine that cannot start is reported, not fatal
            missing[name] = f"{type(e).__name__}: {e}"
    _warm_up(model, tok, bundle, engines)
    checker = Checker(spec.get("formats", "paper"))
    ctx = int(getattr(model.config, "max_position_embeddings", 0) or 0) or None
    signal.signal(signal.SIGALRM, _on_alarm)
    if device == "cpu":  # CUDA reserves address space as it goes: RLIMIT_AS would fail its allocations
        set_memory_limit(spec.get("memory_mb"))
    conn.send(("ready", {"device": device, "engines": sorted(engines), "missing": missing, "versions": versions,
                         "vocab_size": bundle.size, "context": ctx, "formats": list(checker.formats),
                         "torch_threads": torch.get_num_threads()}))
    runner = _Runner(model, tok, bundle, engines, checker, ctx, spec)
    while True:
        msg = conn.recv()
        if msg[0] != "task":
            break
        conn.send(("result", runner.run(msg[1], lambda name, data: conn.send(("phase", name, data)))))


def _resolve_device(torch: Any, device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees one; a CUDA device torch cannot use is a setup error, said plainly."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA device")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s)")
    return device


def _warm_up(model, tok, bundle, engines) -> None:
    """One tiny generation and one compile per engine, so the first schema does not pay for one-time setup
    (tokenizer tries, budget tables, torch's first call)."""
    import tokensieve as ts

    ts.generate(model, tok, "Say hi.", max_new_tokens=2)
    bm = np.zeros((1, (bundle.size + 31) // 32), dtype=np.int32)
    for name, engine in engines.items():
        if engine is None:
            continue
        try:
            compiled = engine.compile({"type": "object", "properties": {"a": {"type": "integer"}}})
            if engine.name == "tokensieve":
                ts.Matcher(compiled, max_tokens=16).fill_next_token_bitmask(bm, 0)
            else:
                engine.matcher(compiled).fill(bm)
        except Exception:  # noqa: BLE001 - a failing warm-up shows up again, as data, on real schemas
            pass


class _Runner:
    def __init__(self, model, tok, bundle, engines, checker, ctx, spec):
        self.model, self.tok, self.bundle, self.engines = model, tok, bundle, engines
        self.checker, self.ctx, self.spec = checker, ctx, spec

    def run(self, task: dict, phase) -> dict:
        name = task["engine"]
        engine = self.engines[name]
        label = "none" if engine is None else engine.name
        rec: dict = {"compile_status": None, "decode_status": None}
        item = SchemaItem(task["subset"], task["name"], Path(task["path"]))
        schema, err = item.load()
        if err:
            return {**rec, "compile_status": "invalid_schema_file", "compile_error": err}
        from tokensieve._generate import prompt_token_ids

        messages = few_shot_messages(task["prompt_file"], task["subset"], schema)
        n_prompt = len(prompt_token_ids(self.tok, messages))
        max_new = int(task["max_new_tokens"])
        if self.ctx:
            max_new = min(max_new, self.ctx - n_prompt)
        rec["prompt_tokens"] = n_prompt
        # ---- compile: schema -> matcher with its first mask
        phase("compile", {})
        bm = np.zeros((1, (self.bundle.size + 31) // 32), dtype=np.int32)
        compiled = matcher = None
        t0 = time.perf_counter()
        try:
            with _deadline(task["timeout_compile"]):
                if engine is not None:
                    compiled = engine.compile(schema)
                    if label == "tokensieve":
                        import tokensieve as ts

                        ts.Matcher(compiled, max_tokens=max(1, max_new)).fill_next_token_bitmask(bm, 0)
                    else:
                        matcher = engine.matcher(compiled)
                        matcher.fill(bm)
        except _Deadline:
            return {**rec, "compile_status": "timeout",
                    "compile_error": f"compile exceeded {task['timeout_compile']:g} s"}
        except Exception as e:  # noqa: BLE001 - a refusal is data
            status, msg = classify_error(label, e)
            return {**rec, "compile_status": status, "compile_error": msg}
        gct = time.perf_counter() - t0
        rec.update(compile_status="none" if engine is None else "ok",
                   gct_s=None if engine is None else gct)
        if max_new < 1:
            return {**rec, "decode_status": "exceeding_max_ctx", "output": "", "json_ok": False, "valid": False,
                    "decode_error": f"the prompt ({n_prompt} tokens) fills the model's context ({self.ctx})"}
        # ---- decode
        phase("decode", {"gct_s": rec["gct_s"]})
        base = 0.0 if engine is None else gct
        try:
            with _deadline(task["timeout_generate"]):
                if engine is None or label == "tokensieve":
                    d = self._generate(messages, compiled, max_new, task)
                else:
                    d = decode_peer(self.model, self.tok, messages, matcher, bm, set(self.bundle.eos_ids),
                                    max_new, True)
        except _Deadline:
            d = {"text": "", "token_ids": [], "stop": "timeout", "ttft_s": None, "total_s": None, "mask_s": None}
        except Exception as e:  # noqa: BLE001 - an engine failing mid-generation loses this schema only
            status, msg = classify_error(label, e)
            return {**rec, "decode_status": "error", "decode_error": msg, "output": "", "json_ok": False,
                    "valid": False}
        stop = d["stop"]
        status = {"eos": "ok", "complete": "ok", "max_new_tokens": "max_new_tokens",
                  "timeout": "timeout", "interrupted": "timeout"}.get(stop, "error")
        text = d["text"]
        raw = text
        if engine is None:
            text = extract_fenced(text)  # the paper's LM-only runner takes the fenced block
        rec.update(decode_status=status, stop_reason=stop, output=text, steps=len(d["token_ids"]),
                   forced_tokens=d.get("forced_tokens", 0), mask_s=d.get("mask_s"), max_new_tokens=max_new)
        if raw != text:
            rec["raw_output"] = raw
        if status == "error":
            rec["decode_error"] = stop
        if status == "timeout":  # the paper drops a timed-out generation: it counts as no output
            rec.update(json_ok=False, valid=False, validation_error="generation timed out",
                       ttft_s=None, tgt_s=None, tokens=None, tpot_ms=None)
            return rec
        ok_json, valid, why = self.checker.check(text, schema)
        n_out = len(self.tok.encode(text, add_special_tokens=False)) if text else 0
        ttft = base + d["ttft_s"]
        tgt = base + d["total_s"]
        rec.update(json_ok=ok_json, valid=valid, validation_error=why, ttft_s=ttft, tgt_s=tgt, tokens=n_out,
                   tpot_ms=_metrics.tpot_ms(ttft, tgt, n_out),
                   step_ms=_metrics.tpot_ms(ttft, tgt, len(d["token_ids"])))
        return rec

    def _generate(self, messages, compiled, max_new, task) -> dict:
        import tokensieve as ts

        r = ts.generate(self.model, self.tok, messages, grammar=compiled, max_new_tokens=max_new,
                        return_details=True, jump_forward=task.get("jump_forward", True))
        t = r.timings
        return {"text": r.text, "token_ids": r.token_ids, "stop": r.stop_reason, "ttft_s": t["ttft_s"],
                "total_s": t["total_s"], "mask_s": t.get("mask_s"), "forced_tokens": t.get("forced_tokens", 0)}

