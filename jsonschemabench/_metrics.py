"""The paper's metrics (Geng et al. 2025, §4-5; the authors' runner for the bootstrap).

Per schema ``i`` of a subset of ``N``: declared ``d_i`` (the engine compiled the schema: no refusal, error,
crash or timeout) and empirical ``e_i`` (the output parses and validates; a failed compile counts 0).

* declared coverage ``DC = mean(d)``; empirical coverage ``EC = mean(e)`` over all ``N``;
* compliance ``CR = EC / DC`` = ``mean(e_i | d_i = 1)`` (the same number, since ``e_i = 1`` implies ``d_i = 1``);
* spread: 100 bootstrap resamples (with replacement) of the 0/1 list, reported as median ± std of the means;
* efficiency (GCT, TTFT, TPOT, TGT, output tokens): medians over the schemas that *every* compared engine
  handled (compiled and decoded to the end), so no engine is timed on an easier subset.
"""

from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "EFFICIENCY_FIELDS", "bootstrap", "compliance", "declared_coverage", "efficiency", "empirical_coverage",
    "handled", "percentile", "tpot_ms",
]

EFFICIENCY_FIELDS = ("gct_s", "ttft_s", "tpot_ms", "step_ms", "tgt_s", "tokens")


def declared_coverage(declared: Sequence[bool]) -> float:
    """Fraction of schemas the engine compiled (``nan`` for none)."""
    return float(np.mean(np.asarray(declared, dtype=float))) if len(declared) else math.nan


def empirical_coverage(empirical: Sequence[bool]) -> float:
    """Fraction of schemas whose output parsed and validated (over all schemas)."""
    return float(np.mean(np.asarray(empirical, dtype=float))) if len(empirical) else math.nan


def compliance(declared: Sequence[bool], empirical: Sequence[bool]) -> float:
    """``EC / DC``: of the schemas the engine compiled, the fraction it produced a valid output for.

    Raises:
        ValueError: lengths differ, or a schema is empirically covered but not declared (impossible data).
    """
    if len(declared) != len(empirical):
        raise ValueError("declared and empirical lists differ in length")
    if any(e and not d for d, e in zip(declared, empirical)):
        raise ValueError("a schema counted as valid output without a compiled grammar")
    n_d = sum(bool(d) for d in declared)
    if n_d == 0:
        return math.nan
    return sum(bool(e) for e in empirical) / n_d


def bootstrap(values: Sequence[float], n: int = 100, seed: int = 0) -> tuple[float, float]:
    """``(median, std)`` of the means of ``n`` resamples with replacement (the authors' runner; ``nan`` for none)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n, x.size))].mean(axis=1)
    return float(np.median(means)), float(np.std(means))


def tpot_ms(ttft_s: float | None, tgt_s: float | None, n_tokens: int | None) -> float | None:
    """The paper's time per output token: ``1000 * (TGT - TTFT) / (N - 1)`` (None when ``N < 2``)."""
    if ttft_s is None or tgt_s is None or n_tokens is None or n_tokens < 2:
        return None
    return 1000.0 * (tgt_s - ttft_s) / (n_tokens - 1)


def handled(rec: dict) -> bool:
    """A run record that can be timed: compiled (or unconstrained) and decoded to the end."""
    return rec.get("compile_status") in ("ok", "none") and rec.get("decode_status") in ("ok", "max_new_tokens")


def efficiency(records_by_engine: dict[str, Iterable[dict]]) -> tuple[dict[str, dict], int]:
    """Median GCT/TTFT/TPOT/TGT/tokens per engine over the schemas every engine handled.

    Returns ``({engine: {field: median or None}}, number of common schemas)``.
    """
    by = {e: {r["schema"]: r for r in recs} for e, recs in records_by_engine.items()}
    common = None
    for recs in by.values():
        keys = {k for k, r in recs.items() if handled(r)}
        common = keys if common is None else common & keys
    common = common or set()
    out = {}
    for e, recs in by.items():
        row = {}
        for f in EFFICIENCY_FIELDS:
            vals = [recs[k].get(f) for k in common if recs[k].get(f) is not None]
            row[f] = statistics.median(vals) if vals else None
        out[e] = row
    return out, len(common)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), None for no values."""
    if not len(values):
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))
