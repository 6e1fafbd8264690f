"""Finish-within-budget check (generation issue, acceptance 2 and 3).

    python -m jsonschemabench.finish_budget [--n 30] [--max-new-tokens 256] [--seed 0] [--out FILE.jsonl]

Samples ``--n`` JSONSchemaBench schemas across the subsets (those tokensieve compiles; the first ones that do,
in a seeded shuffle), builds the paper's few-shot prompt, and generates greedily with SmolLM2 three ways: with
the token-budget mask (the default of ``generate``), without it, and unconstrained. Prints how many outputs ended
unfinished, how many finished outputs validate, and the shortest possible document per schema in bytes (an
upper bound on the tokens it needs), so a cut-off under the budget can be told apart from an impossible budget.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ._data import default_data_dir, few_shot_messages, find_few_shot_file, list_schemas


def shortest_document_bytes(compiled) -> int:
    from tokensieve.masking._engine import _Stepper

    import tokensieve as ts

    compiled._budget_ready()
    m = ts.Matcher(compiled)
    return _Stepper(compiled, list(m._rows)).cost(m._state)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--max-prompt-tokens", type=int, default=3000,
                    help="skip schemas whose prompt is longer (CPU prefill of huge schemas takes minutes)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is fastest on a loaded 2-core machine)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)

    import tokensieve as ts
    from tokensieve import _model
    from tokensieve._generate import prompt_token_ids

    data = args.data or default_data_dir()
    prompts = find_few_shot_file(data)
    model, tok = _model.load_default_model()
    items = list_schemas(data, None, limit=None, seed=args.seed)
    import random

    random.Random(args.seed).shuffle(items)
    rows, seen_subsets = [], {}
    out = args.out.open("w") if args.out else None
    for item in items:
        if len(rows) >= args.n:
            break
        # spread over subsets: at most ceil(n / subsets) each
        if seen_subsets.get(item.subset, 0) >= -(-args.n // 8):
            continue
        schema = json.loads(Path(item.path).read_text())
        try:
            grammar = ts.Grammar.from_json_schema(schema)
        except ts.TokensieveError:
            continue
        messages = few_shot_messages(prompts, item.subset, schema)
        if len(prompt_token_ids(tok, messages)) > args.max_prompt_tokens:
            continue
        seen_subsets[item.subset] = seen_subsets.get(item.subset, 0) + 1
        rec = {"subset": item.subset, "name": item.name}
        for mode in ("budget", "no-budget", "unconstrained"):
            t0 = time.perf_counter()
            r = ts.generate(model, tok, messages, schema=None if mode == "unconstrained" else schema,
                            max_new_tokens=args.max_new_tokens, finish_within_budget=mode == "budget",
                            return_details=True)
            if mode == "unconstrained":
                try:
                    valid = not ts.validate(json.loads(r.text), schema)
                except json.JSONDecodeError:
                    valid = False
                finished = r.stop_reason == "eos"
            else:
                valid, finished = bool(r.valid), r.finished
            rec[mode] = {"finished": finished, "valid": valid, "tokens": len(r.token_ids),
                         "stop": r.stop_reason, "seconds": round(time.perf_counter() - t0, 2)}
        cg = ts.compile(grammar, ts.Vocabulary.from_huggingface(tok, size=model.get_output_embeddings().weight.shape[0]))
        rec["shortest_bytes"] = shortest_document_bytes(cg)
        rows.append(rec)
        print(json.dumps(rec), file=sys.stderr)
        if out:
            out.write(json.dumps(rec) + "\n")
            out.flush()
    n = len(rows)
    print(f"{n} schemas, greedy SmolLM2, max_new_tokens={args.max_new_tokens}")
    print("| mode | unfinished | finished and valid | finished but invalid |")
    print("|---|---|---|---|")
    for mode in ("budget", "no-budget", "unconstrained"):
        unfinished = sum(not r[mode]["finished"] for r in rows)
        good = sum(r[mode]["finished"] and r[mode]["valid"] for r in rows)
        bad = sum(r[mode]["finished"] and not r[mode]["valid"] for r in rows)
        print(f"| {mode} | {unfinished}/{n} | {good}/{n} | {bad}/{n} |")
    over = [f"{r['subset']}/{r['name']}" for r in rows if r["shortest_bytes"] > args.max_new_tokens]
    print(f"schemas whose shortest document needs more than {args.max_new_tokens} bytes: {over or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
