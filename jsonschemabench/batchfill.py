"""Batch mask filling on threads: ``tokensieve.fill_next_token_bitmasks`` with 1 and more threads.

    python -m jsonschemabench.batchfill [--tokenizer cl100k] [--batch 8] [--threads 1,2] [--seed 0]

Takes ``--batch`` MaskBench schemas (seeded shuffle) with a valid instance each and decodes all of them in
lockstep: each step fills the whole batch's bitmask, then every matcher accepts its next token. Two passes per
thread count: *cold* (freshly compiled grammars: new lexer states and parse rows, the walks are long) and
*warm* (the same grammars, their mask caches emptied: every mask recomputed from warm lexer and parser
caches). Prints the time per batch step (p50, mean) and the speed-up over one thread. Not a test: numbers vary.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from ._data import SchemaItem, default_maskbench_dir, load_maskbench
from ._engines import load_tokenizer_bundle


def _pick(bundle, batch: int, seed: int, data: Path):
    import tokensieve as ts

    files = sorted(data.glob("*.json"))
    random.Random(seed).shuffle(files)
    out = []
    for p in files:
        rec, err = load_maskbench(SchemaItem("", "", p))
        if err:
            continue
        valid = [t["data"] for t in rec.get("tests", []) if isinstance(t, dict) and t.get("valid")]
        if not valid:
            continue
        try:
            g = ts.Grammar.from_json_schema(rec["schema"])
            ts.compile(g, bundle.vocab)
        except ts.TokensieveError:
            continue
        out.append((p.stem, g, bundle.encode(json.dumps(valid[0], ensure_ascii=False))))
        if len(out) == batch:
            break
    return out


def _run(bundle, work, threads: int, cold: bool) -> list[float]:
    import tokensieve as ts
    from tokensieve.masking import _engine

    if cold:
        _engine._COMPILED.clear()
    grammars = [ts.compile(g, bundle.vocab) for _, g, _ in work]
    for cg in grammars:
        cg.mask_cache.clear()
    ms = [ts.Matcher(cg) for cg in grammars]
    bm = ts.allocate_token_bitmask(len(ms), bundle.vocab.size)
    steps = []
    for step in range(max(len(ids) for _, _, ids in work)):
        t = time.perf_counter()
        ts.fill_next_token_bitmasks(ms, bm, max_threads=threads)
        steps.append(time.perf_counter() - t)
        for m, (_, _, ids) in zip(ms, work):
            if step < len(ids) and not m.accept_token(ids[step]):
                raise SystemExit(f"a valid instance was refused at token {step}")
    return steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jsonschemabench.batchfill", description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", default="cl100k")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting; the fastest is kept")
    ap.add_argument("--data", type=Path, default=default_maskbench_dir())
    a = ap.parse_args(argv)
    if not a.data.is_dir():
        raise SystemExit(f"MaskBench data not found at {a.data}")
    bundle = load_tokenizer_bundle(a.tokenizer)
    work = _pick(bundle, a.batch, a.seed, a.data)
    print(f"{len(work)} schemas, {a.tokenizer}, tokens per document: {[len(ids) for _, _, ids in work]}")
    base = {}
    print("| threads | pass | step p50 (µs) | step mean (µs) | total (ms) | speed-up |\n|---:|---|---:|---:|---:|---:|")
    for threads in [int(x) for x in a.threads.split(",")]:
        for cold in (True, False):
            best = min((_run(bundle, work, threads, cold) for _ in range(a.repeat)), key=sum)
            key = "cold" if cold else "warm"
            base.setdefault(key, sum(best))
            print(f"| {threads} | {key} | {np.median(best) * 1e6:.0f} | {np.mean(best) * 1e6:.0f} | "
                  f"{sum(best) * 1e3:.1f} | {base[key] / sum(best):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
