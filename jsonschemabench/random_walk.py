"""Random-walk soundness over JSONSchemaBench (issue 3, acceptance 3).

    python -m jsonschemabench.random_walk [--data DIR | --sample] [--subset S] [--limit N] [--walks K] [--seed S]
        [--timeout-s T] [--memory-mb M] [--out FILE.jsonl] [--tokenizer smollm2|cl100k|bytes]

For every schema that ``tokensieve.Grammar.from_json_schema`` compiles, ``K`` walks follow the masks with random
choices: each step fills the matcher's bitmask, picks an allowed token (uniformly, or among the short ones) and
accepts it; when the document may end, EOS is taken with some probability. Walks are biased to finish by a token
budget (``Matcher(max_tokens=...)``): the shortest document's byte count plus a random slack, so masks forbid the
tokens after which no document fits. Each text is then checked with ``tokensieve.validate`` (the compiler's own
contract: the schema's ``$schema`` draft, ECMA-262 ``pattern``, the compiler's format languages). The benchmark's
grader (:class:`jsonschemabench._validate.Checker`, Draft 2020-12 with the paper's format checkers) is run too and
its rejections are reported as a separate column, not counted as failures: it disagrees by design (it ignores
``$schema``, evaluates ``pattern`` with Python's ``re``, and checks another set of formats).

A soundness failure is an invalid document (not UTF-8, not JSON, or rejected by the validator), a dead end (empty
mask while the document is incomplete), or an engine error on a compiled schema (an exception, a masked token that
``accept_token`` rejects, EOS allowed while ``is_accepting()`` says otherwise). Schemas raising a
``TokensieveError`` when compiled are "not compiled", not failures. Each schema runs in a forked child with time
and memory limits; walk results stream back, so a timeout keeps the walks done before it. Results are appended to
``--out`` (JSONL, resumed on rerun), a table per subset is printed, and the exit status is 1 on any failure.

Data defaults to ``../shared/data/jsonschemabench`` next to the repository, else the committed sample
``jsonschemabench/sample/random_walk`` (``--sample`` forces it). ``--write-sample DIR`` rebuilds that sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ._data import ALL_SUBSETS, PACKAGE_DIR, DataError, SchemaItem, discover_subsets, list_schemas
from ._workers import run_forked

__all__ = ["SAMPLE_DIR", "WalkOptions", "byte_vocabulary", "default_data_dir", "load_vocabulary", "main",
           "run", "run_schema", "summarize", "walk_once", "write_sample"]

SAMPLE_DIR = PACKAGE_DIR / "sample" / "random_walk"
_SHARED = PACKAGE_DIR.parent.parent / "shared" / "data" / "jsonschemabench"
_KIND = "random_walk"
_TEXT_LIMIT = 20_000  # characters of a failing document kept in the record

# Multi-byte tokens of the byte vocabulary: JSON punctuation runs, literals, and UTF-8 characters split across
# two tokens, so walks also cover tokens that span lexemes and tokens that end inside a character.
_BYTE_MERGES = (b'{"', b'"}', b'":', b'": ', b'", "', b'",', b", ", b"[{", b"}]", b"},", b"{}", b"[]", b'[""',
                b"true", b"false", b"null", b"  ", b"\n  ", b"00", b"-1", b"0.", b".5", b"e+", b"\\u00", b"\\n",
                b'\\"', b"http", b"://", b"\xc3\xa9", b"\xe2\x82", b'\xac"', b"\xf0\x9f")


def byte_vocabulary():
    """The small byte-level vocabulary: the 256 single bytes, a few JSON merges, and one EOS (the last id)."""
    import tokensieve as ts

    tokens: list[bytes | None] = [bytes([b]) for b in range(256)] + list(_BYTE_MERGES) + [None]
    return ts.Vocabulary.from_tokens(tokens, eos_token_ids=len(tokens) - 1)


def load_vocabulary(name: str):
    """``bytes`` (:func:`byte_vocabulary`), ``smollm2`` (the embedded model's tokenizer) or ``cl100k``.

    Raises:
        DataError: an unknown name, or the tokenizer's package is missing.
    """
    if name == "bytes":
        return byte_vocabulary()
    if name not in ("smollm2", "cl100k"):
        raise DataError(f"unknown tokenizer {name!r}: use smollm2, cl100k or bytes")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # children are forked: no tokenizer thread pool
    from ._engines import EngineMissing, load_tokenizer_bundle

    import tokensieve as ts

    try:
        return load_tokenizer_bundle(name).vocab
    except (EngineMissing, ImportError, ts.TokensieveError) as e:  # MissingDependencyError, ModelNotFoundError
        raise DataError(f"cannot load the {name} tokenizer: {e}") from None


def default_data_dir() -> Path:
    """``../shared/data/jsonschemabench`` next to the repository if present, else the committed sample."""
    return _SHARED if _SHARED.is_dir() else SAMPLE_DIR


# ------------------------------------------------------------------------------------------- one walk

@dataclass(frozen=True)
class WalkOptions:
    """How walks are taken.

    Parameters: ``walks`` per schema; ``seed`` (with the schema key and walk index it seeds each walk, so any
    walk can be replayed alone); ``max_steps`` caps a walk's tokens (a schema whose shortest document is longer
    is skipped as ``too_long``); ``p_stop`` the chance of taking EOS when it is allowed; ``p_short`` the chance
    of choosing among the allowed tokens of at most 2 bytes instead of all of them; ``slack`` the extra tokens a
    walk's budget may get beyond the shortest document (one drawn per walk); ``bench_check`` also runs the
    benchmark's grader.
    """

    walks: int = 3
    seed: int = 0
    max_steps: int = 4096
    p_stop: float = 0.4
    p_short: float = 0.3
    slack: tuple[int, ...] = (0, 2, 8, 32, 128, 512)
    bench_check: bool = True

    def config(self, tokenizer: str) -> str:
        """The settings a record was made with (records of other settings are not reused on resume)."""
        return f"{tokenizer}/walks={self.walks}/seed={self.seed}/steps={self.max_steps}"


class _Validator:
    """``tokensieve.validate`` (the failure criterion) and, optionally, the benchmark's grader (a report)."""

    def __init__(self, bench: bool):
        self.bench = None
        if bench:
            from ._validate import Checker

            self.bench = Checker("paper")

    def judge(self, data: bytes, schema: Any) -> tuple[str | None, str | None]:
        """``(failure reason or None, benchmark-grader rejection or None)`` of a finished document."""
        import tokensieve as ts

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            return f"not UTF-8: {e.reason} at byte {e.start}", None
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            return f"not JSON: {getattr(e, 'msg', e)}", None
        try:
            errors = ts.validate(value, schema)
        except ts.TokensieveError as e:
            return f"validator error: {type(e).__name__}: {e}", None
        if errors:
            e0 = errors[0]
            return f"invalid at {e0['path'] or '/'}: {e0['message'][:300]} (schema {e0['schema_path']})", None
        bench = None
        if self.bench is not None:
            ok, reason = self.bench.validate(value, schema)
            bench = None if ok else reason
        return None, bench


def _bits(bitmask_row: np.ndarray, size: int) -> np.ndarray:
    return np.flatnonzero(np.unpackbits(bitmask_row.view(np.uint8), bitorder="little")[:size])


def walk_once(compiled, schema: Any, rng: random.Random, *, budget: int | None, opts: WalkOptions,
              validator: _Validator | None = None, token_len: np.ndarray | None = None) -> dict:
    """One random walk over ``compiled``'s masks, then the validation of its text against ``schema``.

    Parameters: ``budget`` the matcher's ``max_tokens`` (None: no budget, the walk stops at ``opts.max_steps``);
    ``token_len`` the byte length per token id (computed when omitted).

    Returns ``{"outcome", "tokens", "text", "ids", "reason", "bench"}``: ``outcome`` is ``valid``,
    ``invalid``, ``dead_end``, ``engine_error`` or ``unfinished`` (only without a budget); ``reason`` says why
    it is not ``valid``; ``bench`` is the benchmark grader's rejection of a valid document, if any.
    """
    import tokensieve as ts

    vocab = compiled.vocab
    if token_len is None:
        token_len = _token_lengths(vocab)
    validator = validator or _Validator(bench=False)
    eos = np.asarray(sorted(vocab.eos_token_ids), dtype=np.int64)
    m = ts.Matcher(compiled, max_tokens=budget)
    bm = ts.allocate_token_bitmask(1, vocab.size)
    ids: list[int] = []

    def result(outcome: str, reason: str | None = None, bench: str | None = None) -> dict:
        data = b"".join(vocab.token_bytes[t] for t in ids)
        return {"outcome": outcome, "tokens": len(ids), "text": data.decode("utf-8", "replace")[:_TEXT_LIMIT],
                "reason": reason, "bench": bench, "ids": ids[:4096]}

    try:
        for _ in range(opts.max_steps + 1):
            m.fill_next_token_bitmask(bm, 0)
            allowed = _bits(bm[0], vocab.size)
            accepting = m.is_accepting()
            eos_ok = allowed[np.isin(allowed, eos)]
            if bool(eos_ok.size) != accepting:
                return result("engine_error", f"the mask {'allows' if eos_ok.size else 'forbids'} EOS but "
                                              f"is_accepting() is {accepting}")
            if not allowed.size:
                left = m.tokens_left()
                return result("dead_end", "empty mask on an incomplete document" +
                              (f" ({left} budget tokens left)" if left is not None else ""))
            rest = allowed[~np.isin(allowed, eos)] if eos_ok.size else allowed
            if eos_ok.size and (not rest.size or rng.random() < opts.p_stop):
                if not m.accept_token(int(eos_ok[0])):
                    return result("engine_error", "accept_token rejected an EOS the mask allowed")
                data = b"".join(vocab.token_bytes[t] for t in ids)
                reason, bench = validator.judge(data, schema)
                return result("invalid" if reason else "valid", reason, bench)
            if len(ids) >= opts.max_steps:
                return result("unfinished", f"no EOS within {opts.max_steps} tokens")
            pool = rest
            if rng.random() < opts.p_short:
                short = rest[token_len[rest] <= 2]
                if short.size:
                    pool = short
            tok = int(pool[rng.randrange(pool.size)])
            if not m.accept_token(tok):
                return result("engine_error", f"accept_token rejected token {tok} "
                                              f"({vocab.token_bytes[tok]!r}) that the mask allowed")
            ids.append(tok)
        return result("unfinished", f"no EOS within {opts.max_steps} tokens")
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - any exception on a compiled schema is an engine failure
        return result("engine_error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)[-3000:]}")


def _token_lengths(vocab) -> np.ndarray:
    return np.asarray([len(t) if t else 0 for t in vocab.token_bytes] + [0] * (vocab.size - len(vocab.token_bytes)),
                      dtype=np.int32)


# ------------------------------------------------------------------------------------------- one schema

def _compile_schema(schema: Any):
    """The grammar the walks use (a seam for tests that need a deliberately wrong grammar)."""
    import tokensieve as ts

    return ts.Grammar.from_json_schema(schema)


def _shortest_bytes(compiled) -> int:
    from .finish_budget import shortest_document_bytes

    return int(shortest_document_bytes(compiled))


def walk_seed(seed: int, key: str, walk: int) -> str:
    """The seed string of one walk (``random.Random`` hashes strings deterministically)."""
    return f"{seed}/{key}/{walk}"


def run_schema(schema: Any, key: str, vocab, opts: WalkOptions, emit: Callable[[dict], None],
               token_len: np.ndarray | None = None) -> None:
    """Compile ``schema`` and take ``opts.walks`` walks, reporting each event through ``emit``.

    Events: ``{"event": "not_compiled", "error_type", "error"}``; ``{"event": "compile_error", ...}`` (an untyped
    exception while compiling: an engine failure); ``{"event": "compiled", "compile_s", "shortest_bytes"}``;
    ``{"event": "too_long", ...}``; one ``{"event": "walk", "walk", "seed", "budget", ...walk_once result}`` per
    walk.
    """
    import tokensieve as ts

    t0 = time.perf_counter()
    try:
        compiled = ts.compile(_compile_schema(schema), vocab)
    except ts.TokensieveError as e:
        emit({"event": "not_compiled", "error_type": type(e).__name__, "error": str(e)[:500]})
        return
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - the compiler must raise typed errors: anything else is a bug
        emit({"event": "compile_error", "error_type": type(e).__name__,
              "error": f"{e}\n{traceback.format_exc(limit=6)[-3000:]}"})
        return
    compile_s = time.perf_counter() - t0
    try:
        shortest = _shortest_bytes(compiled)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - the budget tables are engine code too
        emit({"event": "compile_error", "error_type": type(e).__name__,
              "error": f"shortest document: {e}\n{traceback.format_exc(limit=6)[-3000:]}"})
        return
    emit({"event": "compiled", "compile_s": round(compile_s, 4), "shortest_bytes": shortest,
          "shortest_s": round(time.perf_counter() - t0 - compile_s, 4),
          "exact_budget": bool(getattr(compiled, "budget_exact_bound", False))})
    if shortest >= opts.max_steps:
        emit({"event": "too_long", "error": f"the shortest document has {shortest} bytes, more than the "
                                            f"{opts.max_steps} steps a walk may take"})
        return
    if token_len is None:
        token_len = _token_lengths(vocab)
    validator = _Validator(opts.bench_check)
    for i in range(opts.walks):
        s = walk_seed(opts.seed, key, i)
        rng = random.Random(s)
        budget = min(max(shortest, 1) + rng.choice(opts.slack), opts.max_steps)
        t1 = time.perf_counter()
        r = walk_once(compiled, schema, rng, budget=budget, opts=opts, validator=validator, token_len=token_len)
        emit({"event": "walk", "walk": i, "seed": s, "budget": budget,
              "seconds": round(time.perf_counter() - t1, 4), **r})


# ------------------------------------------------------------------------------------------- records

_FAIL_OUTCOMES = ("invalid", "dead_end", "engine_error")


def _record(item: SchemaItem, config: str, events: list[dict], status: str | None, error: str | None,
            walks: int) -> dict:
    """One JSONL record per schema from the child's events."""
    rec: dict[str, Any] = {"schema": item.key, "subset": item.subset, "config": config}
    counts = dict.fromkeys(("valid", "invalid", "dead_end", "engine_error", "unfinished"), 0)
    failures, bench, times = [], [], []
    compiled = False
    rec["status"] = "ok"
    for ev in events:
        kind = ev["event"]
        if kind == "not_compiled":
            rec.update(status="not_compiled", error_type=ev["error_type"], error=ev["error"])
        elif kind == "compile_error":
            rec.update(status="compile_error", error_type=ev["error_type"], error=ev["error"])
            failures.append({"walk": None, "outcome": "engine_error", "reason": ev["error"]})
            counts["engine_error"] += 1
        elif kind == "compiled":
            compiled = True
            rec.update(compile_s=ev["compile_s"], shortest_bytes=ev["shortest_bytes"], shortest_s=ev["shortest_s"],
                       exact_budget=ev["exact_budget"])
        elif kind == "too_long":
            rec.update(status="too_long", error=ev["error"])
        elif kind == "walk":
            counts[ev["outcome"]] += 1
            times.append(ev["seconds"])
            if ev["outcome"] in _FAIL_OUTCOMES:
                failures.append({k: ev[k] for k in ("walk", "seed", "budget", "outcome", "reason", "text", "ids")})
            elif ev.get("bench"):
                bench.append({"walk": ev["walk"], "reason": ev["bench"], "text": ev["text"]})
    done = sum(ev["event"] == "walk" for ev in events)
    if status is not None:
        rec.update(status=status, error=error, phase=f"walk {done}" if compiled else "compile")
        if status == "crash" and compiled:
            counts["engine_error"] += 1  # a crash while walking a compiled schema: native engine failure
            failures.append({"walk": done, "outcome": "engine_error", "reason": error})
    rec.update(compiled=compiled, walks=done, walks_asked=walks, **counts, bench_rejected=len(bench),
               failures=failures, bench_rejections=bench[:3], walk_s=round(sum(times), 4))
    return rec


def _is_failure(rec: dict) -> bool:
    return bool(rec.get("invalid") or rec.get("dead_end") or rec.get("engine_error"))


def summarize(records: Iterable[dict]) -> str:
    """The markdown table per subset (and total), then one line per failing walk."""
    rows: dict[str, dict[str, int]] = {}
    cols = ("schemas", "compiled", "walks", "valid", "invalid", "dead_end", "engine_error", "unfinished",
            "timeouts", "not_compiled", "too_long", "bad_file", "bench_rejected")
    records = list(records)
    for rec in records:
        row = rows.setdefault(rec["subset"], dict.fromkeys(cols, 0))
        row["schemas"] += 1
        row["compiled"] += bool(rec.get("compiled"))
        for k in ("walks", "valid", "invalid", "dead_end", "engine_error", "unfinished", "bench_rejected"):
            row[k] += rec.get(k, 0)
        st = rec.get("status")
        row["timeouts"] += st in ("timeout", "oom")
        row["not_compiled"] += st == "not_compiled"
        row["too_long"] += st == "too_long"
        row["bad_file"] += st == "invalid_schema_file"
    order = [s for s in ALL_SUBSETS if s in rows] + sorted(set(rows) - set(ALL_SUBSETS))
    total = {c: sum(rows[s][c] for s in order) for c in cols}
    head = ("| subset | schemas | compiled | walks | valid | invalid | dead ends | engine errors | unfinished | "
            "timeouts | not compiled | too long | bad file | bench-rejected |")
    lines = [head, "|---" + "|---:" * (len(cols)) + "|"]
    for name, row in [(s, rows[s]) for s in order] + [("**total**", total)]:
        lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in cols) + " |")
    lines.append("")
    lines.append("timeouts: wall-clock, CPU or memory limit (walks finished before it are counted); not compiled: "
                 "a TokensieveError; too long: compiled, but the shortest document is longer than --max-steps (not "
                 "walked); bench-rejected: valid under tokensieve.validate but not under the benchmark's Draft "
                 "2020-12 grader (reported, not a failure).")
    fails = [(rec, f) for rec in records for f in rec.get("failures", ())]
    if fails:
        lines.append("")
        lines.append(f"FAILURES ({len(fails)}):")
        for rec, f in fails:
            reason = (f.get("reason") or "-").splitlines()[0][:300]
            if f.get("seed") is None:  # compiling, or a crash between walks
                where = "compile" if not rec.get("compiled") else f"walk {f.get('walk')}"
                lines.append(f"- {rec['schema']} ({where}): {f['outcome']}: {reason}")
                continue
            text = (f.get("text") or "")[:200]
            lines.append(f"- {rec['schema']} walk {f['walk']} seed {f['seed']!r} budget {f.get('budget')}: "
                         f"{f['outcome']}: {reason} text={text!r}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- the run

def run(items: list[SchemaItem], *, vocab, tokenizer: str, opts: WalkOptions, timeout_s: float,
        memory_mb: float | None, out: Path | None, resume: bool = True, isolate: bool = True,
        progress: bool = True) -> list[dict]:
    """Walk every schema of ``items``; returns the records of these schemas (earlier ones from ``out`` too).

    ``isolate`` False runs in this process (no time or memory limit; for debugging a single schema).
    """
    from ._results import ResultsWriter, read_records

    config = opts.config(tokenizer)
    writer = ResultsWriter(out, ("schema", "config"), kind=_KIND, resume=resume) if out else None
    done = writer.done if writer else set()
    todo = [it for it in items if (it.key, config) not in done]
    _warm_up(vocab, opts.bench_check)
    token_len = _token_lengths(vocab)
    records: list[dict] = []
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread in a process that forks
    bar = tqdm(total=len(todo), desc="random walk", file=sys.stderr, disable=not progress, dynamic_ncols=True,
               leave=False)
    n_fail = 0
    try:
        for it in todo:
            schema, err = it.load()
            if err:
                rec = {"schema": it.key, "subset": it.subset, "config": config, "status": "invalid_schema_file",
                       "error": err, "compiled": False, "walks": 0, "failures": []}
            else:
                def fn(emit, schema=schema, key=it.key):
                    run_schema(schema, key, vocab, opts, emit, token_len)

                if isolate:
                    events, status, error = run_forked(fn, timeout_s, memory_mb)
                else:
                    events, status, error = [], None, None
                    fn(events.append)
                rec = _record(it, config, events, status, error, opts.walks)
            n_fail += _is_failure(rec)
            records.append(rec)
            if writer:
                writer.write(rec)
            bar.update(1)
            bar.set_postfix(failures=n_fail, refresh=False)
    finally:
        bar.close()
        if writer:
            writer.close()
    if out:
        keys = {it.key for it in items}
        return [r for r in read_records(out, _KIND) if r.get("config") == config and r.get("schema") in keys]
    return records


def _warm_up(vocab, bench: bool) -> None:
    """Build what every child would otherwise build again: the token trie, lazy imports, format automata."""
    import tokensieve as ts

    ts.compile(ts.Grammar.from_regex("0"), vocab)
    try:
        from tokensieve.schema._formats import FORMATS

        names = sorted(FORMATS)
    except ImportError:
        names = []
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string", "format": f}
                                               for i, f in enumerate(names)}}
    schema["properties"]["n"] = {"type": "number", "multipleOf": 0.5, "pattern": "^a+$"}
    try:
        ts.Grammar.from_json_schema(schema)
        _Validator(bench).judge(b"{}", schema)
    except ts.TokensieveError:
        pass  # only a warm-up: the schemas themselves report their own errors


def write_sample(src: Path, dest: Path, *, per_subset: int, max_bytes: int, seed: int, min_fill: int = 5) -> int:
    """Copy a seeded, stratified pick of ``per_subset`` schemas per subset (files of at most ``max_bytes``).

    A subset with fewer than ``min_fill`` files that small (Github_ultra) gets its ``min_fill`` smallest
    instead, so every subset is represented. Returns the number of files written. Raises DataError for a
    missing source.
    """
    available = discover_subsets(src)
    n = 0
    for subset in sorted(available):
        files = [p for p in available[subset] if p.stat().st_size <= max_bytes]
        rng = random.Random(f"{seed}/{subset}")
        chosen = rng.sample(files, min(per_subset, len(files)))
        if len(chosen) < min(min_fill, per_subset):
            chosen = sorted(available[subset], key=lambda p: (p.stat().st_size, p.name))[:min(min_fill, per_subset)]
        chosen.sort()
        (dest / subset).mkdir(parents=True, exist_ok=True)
        for p in chosen:
            shutil.copyfile(p, dest / subset / p.name)
            n += 1
    return n


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m jsonschemabench.random_walk", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help=f"JSONSchemaBench directory, one folder per subset (default {default_data_dir()})")
    ap.add_argument("--sample", action="store_true", help=f"use the committed sample ({SAMPLE_DIR})")
    ap.add_argument("--subset", default="all", help="'all', 'paper' or a comma list of subsets (default all)")
    ap.add_argument("--limit", type=int, default=None, help="schemas per subset (with --seed: a seeded pick)")
    ap.add_argument("--only", action="append", default=[], metavar="SUBSET/NAME",
                    help="run only these schemas (repeatable), e.g. to replay a failure")
    ap.add_argument("--walks", type=int, default=3, help="walks per schema (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the walks and the --limit pick (default 0)")
    ap.add_argument("--max-steps", type=int, default=4096, help="tokens per walk at most (default 4096)")
    ap.add_argument("--timeout-s", type=float, default=60.0, help="wall-clock seconds per schema (default 60)")
    ap.add_argument("--memory-mb", type=float, default=4096.0,
                    help="address-space growth per schema, MiB (default 4096; 0 = no limit)")
    ap.add_argument("--tokenizer", default="smollm2", choices=("smollm2", "cl100k", "bytes"),
                    help="vocabulary to walk (default smollm2; bytes: 256 bytes + a few merges, fast)")
    ap.add_argument("--out", type=Path, default=None, help="JSONL results, resumed when rerun")
    ap.add_argument("--no-resume", action="store_true", help="start --out afresh")
    ap.add_argument("--no-bench-check", action="store_true", help="skip the benchmark grader's second opinion")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--write-sample", type=Path, default=None, metavar="DIR",
                    help="instead of walking: copy a seeded stratified pick of --data into DIR")
    ap.add_argument("--per-subset", type=int, default=25, help="--write-sample: schemas per subset (default 25)")
    ap.add_argument("--max-bytes", type=int, default=20_000, help="--write-sample: largest file (default 20000)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 a soundness failure, 2 a usage error)."""
    args = _parser().parse_args(argv)
    data = SAMPLE_DIR if args.sample else (args.data or default_data_dir())
    try:
        if args.write_sample is not None:
            n = write_sample(data, args.write_sample, per_subset=args.per_subset, max_bytes=args.max_bytes,
                             seed=args.seed)
            print(f"wrote {n} schemas to {args.write_sample}")
            return 0
        if args.walks < 1 or args.max_steps < 1 or args.timeout_s <= 0:
            raise DataError("--walks, --max-steps and --timeout-s must be positive")
        items = list_schemas(data, args.subset, args.limit, args.seed if args.limit is not None else None)
        if args.only:
            wanted = set(args.only)
            items = [it for it in items if it.key in wanted]
            missing = wanted - {it.key for it in items}
            if missing:
                raise DataError(f"not in {data}: {', '.join(sorted(missing))}")
        vocab = load_vocabulary(args.tokenizer)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    opts = WalkOptions(walks=args.walks, seed=args.seed, max_steps=args.max_steps,
                       bench_check=not args.no_bench_check)
    t0 = time.perf_counter()
    records = run(items, vocab=vocab, tokenizer=args.tokenizer, opts=opts, timeout_s=args.timeout_s,
                  memory_mb=args.memory_mb or None, out=args.out, resume=not args.no_resume,
                  progress=not args.no_progress)
    print(f"random walk over {data}: {len(items)} schemas, tokenizer {args.tokenizer}, {opts.walks} walks each, "
          f"seed {opts.seed}, {time.perf_counter() - t0:.0f} s")
    print(summarize(records))
    return 1 if any(_is_failure(r) for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
