"""Per-schema work run inside a forked child of the fork host: compile only, and the MaskBench walk.

Each function takes ``(task, engine, bundle)`` and returns a plain dict (pickled back to the host).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from ._data import SchemaItem, load_maskbench
from ._engines import classify_error

__all__ = ["compile_only", "maskbench", "maskdiff"]


def _first_mask(engine: Any, schema: Any) -> tuple[Any, Any, np.ndarray, float]:
    """Compile, make a matcher and fill its first mask: ``(compiled, matcher, bitmask, seconds)``."""
    bm = np.zeros((1, (engine.bundle.size + 31) // 32), dtype=np.int32)
    t0 = time.perf_counter()
    compiled = engine.compile(schema)
    m = engine.matcher(compiled)
    m.fill(bm)
    return compiled, m, bm, time.perf_counter() - t0


def compile_only(task: dict, engine: Any, bundle: Any) -> dict:
    """Declared coverage of one schema: ``status`` ok/unsupported/error/oom and the time to first mask."""
    schema, err = SchemaItem("", "", _path(task)).load()
    if err:
        return {"status": "invalid_schema_file", "error": err}
    try:
        compiled, _, bm, dt = _first_mask(engine, schema)
        warnings = engine.warnings(compiled)
    except Exception as e:  # noqa: BLE001 - any refusal is data
        status, msg = classify_error(engine.name, e)
        return {"status": status, "error": msg}
    if not bm.any():
        return {"status": "error", "error": "the first mask allows no token", "ttfm_s": dt}
    out = {"status": "ok", "ttfm_s": dt}
    if warnings:
        out["warnings"] = warnings[:20]
    return out


def _path(task: dict):
    from pathlib import Path

    return Path(task["path"])


def _allowed(bm: np.ndarray, tid: int) -> bool:
    return bool((int(bm[0, tid >> 5]) >> (tid & 31)) & 1)


def maskbench(task: dict, engine: Any, bundle: Any) -> dict:
    """MaskBench on one file: time to first mask, then along each test instance (``json.dumps`` without
    indent, ``ensure_ascii=False``, tokenized canonically) the mask at every token and whether the token is
    allowed; a valid instance must be accepted through EOS, an invalid one rejected somewhere.

    Mask times (µs) are kept for valid instances only. With ``task['twin']`` (tokensieve), every mask is also
    computed by the pure-Python twin and compared bit for bit.
    """
    item = SchemaItem("", "", _path(task))
    record, err = load_maskbench(item)
    if err:
        return {"status": "invalid_schema_file", "error": err}
    try:
        compiled, m, bm, ttfm = _first_mask(engine, record["schema"])
    except Exception as e:  # noqa: BLE001
        status, msg = classify_error(engine.name, e)
        return {"status": status, "error": msg}
    twin = None
    twin_bm = np.zeros_like(bm)
    if task.get("twin") and hasattr(engine, "twin_matcher"):
        twin = engine.twin_matcher(compiled)
    eos = list(bundle.eos_ids)
    out = {"status": "ok", "ttfm_s": ttfm, "mask_us": [], "valid_total": 0, "valid_accepted": 0,
           "invalid_total": 0, "invalid_rejected": 0, "disagree": 0, "tokens": 0, "failures": []}
    if twin is not None:
        out.update(twin_masks=0, twin_mismatches=0, twin_first_mismatch=None)
    t_end = time.perf_counter() + float(task.get("timeout_s", 60.0)) * 0.9
    for k, test in enumerate(record.get("tests", [])):
        if not isinstance(test, dict) or "data" not in test:
            continue
        valid = bool(test.get("valid"))
        ids = bundle.encode(json.dumps(test["data"], indent=None, ensure_ascii=False))
        out["valid_total" if valid else "invalid_total"] += 1
        try:
            accepted, where = _walk(m, ids, bm, eos, out["mask_us"] if valid else None, twin, twin_bm, out, k)
        except Exception as e:  # noqa: BLE001 - a mask that raises mid-document fails that instance
            status, msg = classify_error(engine.name, e)
            accepted, where = False, f"{status}: {msg}"
        if valid and accepted:
            out["valid_accepted"] += 1
        elif not valid and not accepted:
            out["invalid_rejected"] += 1
        else:
            out["failures"].append({"test": k, "valid": valid, "where": where})
        out["tokens"] += len(ids)
        if time.perf_counter() > t_end:  # keep what was measured rather than lose the schema to the kill
            out["truncated"] = True
            break
    out["failures"] = out["failures"][:10]
    return out


def _walk(m, ids, bm, eos, times, twin, twin_bm, out, test_no) -> tuple[bool, str | None]:
    m.reset()
    if twin is not None:
        twin.reset()
    for i, tid in enumerate(ids):
        t = time.perf_counter()
        m.fill(bm)
        dt = time.perf_counter() - t
        if times is not None:
            times.append(round(dt * 1e6, 2))
        if twin is not None:
            _compare(twin, bm, twin_bm, out, test_no, i)
        if not _allowed(bm, tid):
            return False, f"token {i} ({tid}) not allowed"
        if not m.accept(tid):
            out["disagree"] += 1
            return False, f"token {i} ({tid}) allowed by the mask but refused by accept"
        if twin is not None:
            twin.accept(tid)
    t = time.perf_counter()
    m.fill(bm)
    dt = time.perf_counter() - t
    if times is not None:
        times.append(round(dt * 1e6, 2))
    if twin is not None:
        _compare(twin, bm, twin_bm, out, test_no, len(ids))
    if not any(_allowed(bm, e) for e in eos):
        return False, "EOS not allowed at the end"
    return True, None


def _compare(twin, bm, twin_bm, out, test_no, pos) -> None:
    twin.fill(twin_bm)
    out["twin_masks"] += 1
    if not np.array_equal(bm, twin_bm):
        out["twin_mismatches"] += 1
        if out["twin_first_mismatch"] is None:
            diff = np.flatnonzero(np.unpackbits((bm ^ twin_bm).view(np.uint8), bitorder="little"))
            out["twin_first_mismatch"] = {"test": test_no, "token_index": pos, "differing_tokens": diff[:20].tolist(),
                                          "n_differing": int(diff.size)}


def maskdiff(task: dict, engine: Any, bundle: Any) -> dict:
    """The tokensieve/llguidance mask differential on one MaskBench file (``engine`` is a
    :class:`~jsonschemabench._maskdiff.DiffPair`); see :func:`jsonschemabench._maskdiff.diff_record`."""
    from ._maskdiff import run_diff_task

    return run_diff_task(task, engine, bundle)
