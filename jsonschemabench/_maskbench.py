"""``maskbench``: mask speed and correctness on MaskBench files, every engine in the same run.

Each (schema, engine) pair runs in a forked child with time and memory limits (see ``_workers``); the order is
schema-major so the engines see the same machine load.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._data import maskbench_files
from ._engines import engine_label
from ._report import maskbench_table
from ._results import ResultsWriter, read_records
from ._workers import Worker, fork_host_main

__all__ = ["run_maskbench"]


def run_maskbench(*, engines: list[str], data: Path, subset: str | None, sample: int | None, seed: int | None,
                  tokenizers: list[str], timeout_s: float, memory_mb: float | None, twin: bool, out: Path,
                  resume: bool, options: dict, progress: bool = True, log=print) -> int:
    """Run MaskBench for each tokenizer; write JSONL and print the table with ratios to llguidance."""
    from ._coverage import _bar

    items = maskbench_files(data, subset, sample, seed)
    writer = ResultsWriter(out, ("engine", "schema", "tokenizer"), kind="maskbench", resume=resume)
    status = 0
    try:
        labels = {e: engine_label(e) for e in engines}
        for tok in tokenizers:
            worker = Worker(fork_host_main, (tok, engines, options))
            try:
                todo = [(it, e) for it in items for e in engines
                        if (labels[e], f"{it.subset}/{it.name}", tok) not in writer.done]
                info = {"tokenizer": tok, "vocab_size": "?", "versions": {}}
                if todo:
                    info = worker.start()
                    for name, why in info["missing"].items():
                        log(f"engine {name}: not run ({why})", file=sys.stderr)
                    if not info["engines"]:
                        log(f"{tok}: no engine can run", file=sys.stderr)
                        status = 2
                        continue
                    todo = [(it, e) for it, e in todo if e in info["engines"]]
                bar = _bar(len(todo), f"maskbench {tok}", progress)
                for it, e in todo:
                    task = {"kind": "maskbench", "engine": e, "path": str(it.path), "timeout_s": timeout_s,
                            "memory_mb": memory_mb, "twin": twin and labels[e] == "tokensieve"}
                    res, failure, _, _ = worker.call(task, {"start": 30.0, "run": timeout_s + 5})
                    if res is None:
                        res = {"status": "timeout" if failure == "timeout" else "crash", "error": failure}
                    writer.write({"engine": labels[e], "schema": f"{it.subset}/{it.name}", "subset": it.subset,
                                  "tokenizer": info["tokenizer"], "version": info["versions"].get(e), **res})
                    bar.update(1)
                bar.close()
                keys = {f"{it.subset}/{it.name}" for it in items}
                recs = [r for r in read_records(out, "maskbench")
                        if r.get("tokenizer") == info["tokenizer"] and r["schema"] in keys
                        and r["engine"] in set(labels.values())]
                md, _ = maskbench_table(recs)
                log(f"\nMaskBench, tokenizer {info['tokenizer']} (vocabulary {info['vocab_size']}), "
                    f"{len(keys)} schemas, versions: " + ", ".join(f"{labels[k]} {v}" for k, v in
                                                                   info["versions"].items()) + "\n")
                log(md)
            finally:
                worker.close()
    finally:
        writer.close()
    return status
