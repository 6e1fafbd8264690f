"""``run``: generation on JSONSchemaBench, every engine per schema in turn, resumable, in an isolated worker."""

from __future__ import annotations

import sys
from pathlib import Path

from ._data import _prompt_data, find_few_shot_file, list_schemas
from ._engines import engine_label
from ._generation import gen_worker_main
from ._report import run_status_table, run_tables
from ._results import ResultsWriter, read_records
from ._workers import Worker

__all__ = ["run_generation", "shard_items"]


def run_generation(*, engines: list[str], data: Path, subset: str | None, model: str, limit: int | None,
                   seed: int | None, timeout_compile: float, timeout_generate: float, max_new_tokens: int,
                   out: Path, resume: bool, formats: str, prompt_file: Path | None, memory_mb: float | None,
                   options: dict, jump_forward: bool, threads: int | None, device: str = "cpu",
                   shard: tuple[int, int] | None = None, progress: bool = True, log=print) -> int:
    """Generate for every (schema, engine), validate, write one JSONL record each; print the tables.

    ``device`` is where the model runs (``cpu``, ``cuda[:N]``, ``auto``); ``shard`` ``(k, n)`` keeps every
    n-th schema from the k-th (1-based), so that n processes split one selection.

    Returns the process exit status.
    """
    from ._coverage import _bar

    items = list_schemas(data, subset, limit, seed, default="paper")
    items = shard_items(items, shard)
    prompts = find_few_shot_file(data, prompt_file)
    _prompt_data(prompts)  # fail now on an unusable prompt file, not in the worker
    writer = ResultsWriter(out, ("engine", "schema", "model"), kind="run", resume=resume)
    spec = {"model": model, "engines": engines, "options": options, "formats": formats, "memory_mb": memory_mb,
            "threads": threads, "device": device}
    labels = {e: engine_label(e) for e in engines}
    todo = [(it, e) for it in items for e in engines if (labels[e], it.key, model) not in writer.done]
    worker = Worker(gen_worker_main, (spec,))
    try:
        if todo:
            info = worker.start()
            for name, why in info["missing"].items():
                log(f"engine {name}: not run ({why})", file=sys.stderr)
            todo = [(it, e) for it, e in todo if e in info["engines"]]
            if not info["engines"]:
                log("no engine can run", file=sys.stderr)
                return 2
            log(f"model {model} (vocabulary {info['vocab_size']}, context {info['context']}, torch threads "
                f"{info['torch_threads']}, device {info.get('device', 'cpu')}); "
                f"formats checked: {', '.join(info['formats'])}; "
                f"versions: {', '.join(f'{labels[k]} {v}' for k, v in info['versions'].items())}", file=sys.stderr)
        bar = _bar(len(todo), "run", progress)
        for it, e in todo:
            base = {"engine": labels[e], "schema": it.key, "subset": it.subset, "model": model,
                    "formats": formats, "version": info["versions"].get(e), "device": info.get("device", "cpu")}
            task = {"engine": e, "subset": it.subset, "name": it.name, "path": str(it.path),
                    "prompt_file": str(prompts), "timeout_compile": timeout_compile,
                    "timeout_generate": timeout_generate, "max_new_tokens": max_new_tokens,
                    "jump_forward": jump_forward}
            limits = {"start": 60.0, "compile": timeout_compile, "decode": timeout_generate}
            res, failure, phase, pdata = worker.call(task, limits)
            if res is None:
                res = _failed(failure, phase, pdata, labels[e])
            writer.write({**base, **res})
            bar.update(1)
        bar.close()
    finally:
        worker.close()
        writer.close()
    keys = {it.key for it in items}
    recs = [r for r in read_records(out, "run")
            if r.get("model") == model and r["schema"] in keys and r["engine"] in set(labels.values())]
    md, _ = run_tables(recs)
    log(md)
    log("\n" + run_status_table(recs))
    return 0


def shard_items(items: list, shard: tuple[int, int] | None) -> list:
    """Every n-th item from the k-th (1-based) for ``shard == (k, n)``; all items for None.

    Items come subset by subset, so a stride (not a block) gives each shard a share of every subset.
    """
    if shard is None:
        return list(items)
    k, n = shard
    return list(items[k - 1::n])


def _failed(failure: str, phase: str, pdata: dict, label: str) -> dict:
    """The record of a task whose worker died or overran (killed by the main process)."""
    kind = "timeout" if failure == "timeout" else "crash"
    if phase in ("start", "compile"):
        return {"compile_status": kind, "compile_error": failure, "decode_status": None}
    return {"compile_status": "none" if label == "none" else "ok", "gct_s": pdata.get("gct_s"),
            "decode_status": kind, "decode_error": failure, "output": "", "json_ok": False, "valid": False}
