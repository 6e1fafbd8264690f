"""JSONSchemaBench and MaskBench runners: tokensieve and its peers side by side.

    python -m jsonschemabench run --engine tokensieve,llguidance,xgrammar,none --subset paper --limit 25
    python -m jsonschemabench compile-coverage --engine tokensieve,llguidance,xgrammar --data DIR
    python -m jsonschemabench maskbench --engines tokensieve,llguidance,xgrammar --tokenizer smollm2,cl100k --sample 100
    python -m jsonschemabench maskdiff --peer llguidance --layout flexible --tokenizer smollm2 --sample 40
    python -m jsonschemabench report results.jsonl [more.jsonl ...] --out-dir DIR

Every command is resumable (records already in ``--out`` are skipped), runs schemas in isolated workers with time
and memory limits, and shows a progress bar on stderr. Data defaults to ``../shared/data`` next to the
repository, else the committed sample in ``jsonschemabench/sample``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

__all__ = ["main"]


def _engines(text: str) -> list[str]:
    names = [e.strip() for e in text.split(",") if e.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one engine")
    return names


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _device(text: str) -> str:
    if text in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", text):
        return text
    raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto, got {text!r}")


def _shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _parser() -> argparse.ArgumentParser:
    from ._data import default_data_dir, default_maskbench_dir

    ap = argparse.ArgumentParser(prog="python -m jsonschemabench", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p, *, data_default, subset_default, out_default, timeout_flag, timeout_default, memory_default):
        p.add_argument("--data", type=Path, default=data_default,
                       help=f"data directory (default {data_default})")
        p.add_argument("--subset", default=subset_default,
                       help="'all', 'paper' (the paper's 8 subsets) or a comma list of subset names "
                            f"(default {subset_default})")
        p.add_argument("--seed", type=int, default=None,
                       help="pick schemas in a seeded shuffle instead of name order")
        p.add_argument(timeout_flag, type=float, default=timeout_default, dest="timeout",
                       help=f"seconds (default {timeout_default:g})")
        p.add_argument("--memory-mb", type=float, default=memory_default,
                       help=f"address-space growth allowed per worker task, MiB (default {memory_default:g}; 0 = "
                            "no limit)")
        p.add_argument("--out", type=Path, default=Path(out_default), help=f"JSONL results (default {out_default})")
        p.add_argument("--no-resume", action="store_true", help="start the results file afresh")
        p.add_argument("--schema-options", type=_json_object, default={},
                       help="JSON object of tokensieve Grammar.from_json_schema options, e.g. '{\"lenient\": true}'")
        p.add_argument("--xgrammar-threads", type=int, default=1, help="XGrammar compiler threads (default 1)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("run", help="generate with a model for each schema and engine; coverage and efficiency")
    p.add_argument("--engine", type=_engines, default=["tokensieve"],
                   help="comma list of tokensieve, llguidance, xgrammar, outlines, none (unconstrained) or "
                        "module:Class")
    p.add_argument("--model", default="smollm2", help="smollm2 (embedded), tiny-random (smoke tests) or a path")
    p.add_argument("--limit", type=int, default=None, help="schemas per subset")
    p.add_argument("--timeout-generate", type=float, default=60.0, help="seconds (default 60)")
    p.add_argument("--max-new-tokens", type=int, default=2048, help="default 2048 (the paper's)")
    p.add_argument("--formats", choices=("paper", "all"), default="paper",
                   help="formats the validator checks: the paper's set (default) or all the installed "
                        "jsonschema knows")
    p.add_argument("--prompts", type=Path, default=None, help="few-shot prompt file (default: found next to the data)")
    p.add_argument("--no-jump-forward", action="store_true", help="tokensieve: sample every token")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads in the worker (default 1: on a shared 2-core machine 2 threads made the "
                        "model call 4-12x slower)")
    p.add_argument("--device", type=_device, default="cpu",
                   help="where the model runs: cpu (default), cuda, cuda:N or auto (cuda when torch sees one); "
                        "off the CPU the worker's address-space limit is not applied (CUDA maps its own)")
    p.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                   help="run only every N-th schema starting at the K-th (1-based), for parallel runs that "
                        "write separate results files and are reported together")
    common(p, data_default=default_data_dir(), subset_default="paper", out_default="results.jsonl",
           timeout_flag="--timeout-compile", timeout_default=40.0, memory_default=16384)

    p = sub.add_parser("compile-coverage", help="declared coverage only: compile every schema with every engine")
    p.add_argument("--engine", type=_engines, default=["tokensieve", "llguidance", "xgrammar"])
    p.add_argument("--tokenizer", default="smollm2", help="smollm2, cl100k or a tokenizer directory")
    p.add_argument("--limit", type=int, default=None, help="schemas per subset")
    common(p, data_default=default_data_dir(), subset_default="all", out_default="compile_coverage.jsonl",
           timeout_flag="--timeout-compile", timeout_default=40.0, memory_default=8192)

    p = sub.add_parser("maskbench", help="mask time and correctness on MaskBench instances")
    p.add_argument("--engines", "--engine", dest="engine", type=_engines,
                   default=["tokensieve", "llguidance", "xgrammar"])
    p.add_argument("--tokenizer", type=_engines, default=["smollm2"], help="comma list: smollm2, cl100k, a path")
    p.add_argument("--sample", type=int, default=None, help="schemas per subset (seeded shuffle; default all)")
    p.add_argument("--check-twin", action="store_true",
                   help="compare every tokensieve mask with its pure-Python twin's, bit for bit")
    common(p, data_default=default_maskbench_dir(), subset_default="all", out_default="maskbench.jsonl",
           timeout_flag="--timeout", timeout_default=60.0, memory_default=8192)

    p = sub.add_parser("maskdiff", help="tokensieve's masks against a peer's, bit for bit, along MaskBench's "
                                         "valid instances; differences classified and checked by an oracle")
    p.add_argument("--peer", "--diff", dest="peer", choices=("llguidance",), default="llguidance",
                   help="the engine to compare with (default llguidance)")
    p.add_argument("--layout", choices=("flexible", "dumps", "compact"), default="flexible",
                   help="whitespace policy set on both engines: flexible (1..32 whitespace characters around "
                        "structural characters; default), dumps (exactly json.dumps's ', ' and ': '), compact")
    p.add_argument("--llg-forcing", action="store_true",
                   help="keep llguidance's forced-token masks (only the canonical token where bytes are forced); "
                        "by default its no_forcing testing switch is on so both masks are the grammar's")
    p.add_argument("--tokenizer", type=_engines, default=["smollm2"], help="comma list: smollm2, cl100k, a path")
    p.add_argument("--sample", type=int, default=None, help="schemas per subset (seeded shuffle; default all)")
    common(p, data_default=default_maskbench_dir(), subset_default="all", out_default="maskdiff.jsonl",
           timeout_flag="--timeout", timeout_default=60.0, memory_default=8192)

    p = sub.add_parser("report", help="markdown + CSV tables and PNG plots from results files")
    p.add_argument("inputs", type=Path, nargs="+", help="JSONL results files")
    p.add_argument("--out-dir", type=Path, default=Path("report"), help="where to write (default ./report)")
    p.add_argument("--no-plots", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for usage and data errors, 1 for failures, 130 interrupted)."""
    from ._data import DataError
    from ._results import ResultsWriteError
    from ._workers import WorkerStartError

    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ResultsWriteError, WorkerStartError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _dispatch(args) -> int:
    if args.command == "report":
        from ._report import render_report
        from ._results import read_records

        records = []
        for p in args.inputs:
            if not p.is_file():
                from ._data import DataError

                raise DataError(f"results file not found: {p}")
            records += list(read_records(p))
        text, files = render_report(records, args.out_dir, plots=not args.no_plots)
        print(text)
        pngs = [f for f in files if f.suffix == ".png"]
        if not args.no_plots and not pngs and records:
            print("(no plots: matplotlib is not installed; pip install matplotlib)", file=sys.stderr)
        print("wrote " + ", ".join(str(f) for f in files), file=sys.stderr)
        return 0
    options = {"tokensieve": {"schema_options": args.schema_options}, "xgrammar": {"threads": args.xgrammar_threads}}
    memory = args.memory_mb or None
    if args.command == "run":
        from ._run import run_generation

        return run_generation(engines=args.engine, data=args.data, subset=args.subset, model=args.model,
                              limit=args.limit, seed=args.seed, timeout_compile=args.timeout,
                              timeout_generate=args.timeout_generate, max_new_tokens=args.max_new_tokens,
                              out=args.out, resume=not args.no_resume, formats=args.formats,
                              prompt_file=args.prompts, memory_mb=memory, options=options,
                              jump_forward=not args.no_jump_forward, threads=args.threads,
                              device=args.device, shard=args.shard, progress=not args.no_progress)
    if args.command == "compile-coverage":
        from ._coverage import compile_coverage

        return compile_coverage(engines=args.engine, data=args.data, subset=args.subset, limit=args.limit,
                                seed=args.seed, tokenizer=args.tokenizer, timeout_s=args.timeout, memory_mb=memory,
                                out=args.out, resume=not args.no_resume, options=options,
                                progress=not args.no_progress)
    if args.command == "maskdiff":
        from ._maskdiff import run_maskdiff

        return run_maskdiff(peer=args.peer, data=args.data, subset=args.subset, sample=args.sample,
                            seed=args.seed if args.seed is not None else 0, tokenizers=args.tokenizer,
                            layout=args.layout, forcing=args.llg_forcing, timeout_s=args.timeout, memory_mb=memory,
                            out=args.out, resume=not args.no_resume, schema_options=args.schema_options,
                            progress=not args.no_progress)
    from ._maskbench import run_maskbench

    return run_maskbench(engines=args.engine, data=args.data, subset=args.subset, sample=args.sample,
                         seed=args.seed if args.seed is not None else 0, tokenizers=args.tokenizer,
                         timeout_s=args.timeout, memory_mb=memory, twin=args.check_twin, out=args.out,
                         resume=not args.no_resume, options=options, progress=not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
