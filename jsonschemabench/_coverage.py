"""``compile-coverage``: declared coverage only (compile and first mask, no model), every engine, every schema."""

from __future__ import annotations

import sys
from pathlib import Path

from ._data import list_schemas
from ._engines import engine_label
from ._report import coverage_table
from ._results import ResultsWriter, read_records
from ._workers import Worker, fork_host_main

__all__ = ["compile_coverage"]


def compile_coverage(*, engines: list[str], data: Path, subset: str | None, limit: int | None, seed: int | None,
                     tokenizer: str, timeout_s: float, memory_mb: float | None, out: Path, resume: bool,
                     options: dict, progress: bool = True, log=print) -> int:
    """Compile every selected schema with every engine in isolated children; write JSONL, print the table.

    Returns the process exit status.
    """
    items = list_schemas(data, subset, limit, seed, default="all")
    writer = ResultsWriter(out, ("engine", "schema", "tokenizer"), kind="compile", resume=resume)
    labels = {e: engine_label(e) for e in engines}
    todo = [(it, e) for it in items for e in engines if (labels[e], it.key, tokenizer) not in writer.done]
    names = list(engines)
    worker = Worker(fork_host_main, (tokenizer, engines, options))
    try:
        if todo:
            info = worker.start()
            for name, why in info["missing"].items():
                log(f"engine {name}: not run ({why})", file=sys.stderr)
            names = [e for e in engines if e in info["engines"]]
            if not names:
                log("no engine can run", file=sys.stderr)
                return 2
            todo = [(it, e) for it, e in todo if e in names]
        bar = _bar(len(todo), "compile", progress)
        for it, e in todo:
            base = {"engine": labels[e], "schema": it.key, "subset": it.subset, "tokenizer": tokenizer}
            _, err = it.load()
            if err:
                rec = {**base, "status": "invalid_schema_file", "error": err}
            else:
                task = {"kind": "compile_only", "engine": e, "path": str(it.path), "timeout_s": timeout_s,
                        "memory_mb": memory_mb}
                res, failure, _, _ = worker.call(task, {"start": 30.0, "run": timeout_s + 5})
                if res is None:
                    res = {"status": "timeout" if failure == "timeout" else "crash", "error": failure}
                rec = {**base, **res}
            writer.write(rec)
            bar.update(1)
        bar.close()
    finally:
        worker.close()
        writer.close()
    recs = [r for r in read_records(out, "compile") if r.get("tokenizer") == tokenizer]
    keys = {it.key for it in items}
    recs = [r for r in recs if r["schema"] in keys and r["engine"] in set(labels.values())]
    log(coverage_table(recs, [labels[e] for e in names]))
    return 0


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, dynamic_ncols=True, leave=False)
