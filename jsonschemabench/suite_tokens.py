"""The JSON Schema Test Suite at the token level (issue 3, acceptance 1).

    python -m jsonschemabench.suite_tokens [--suite DIR] [--tokenizer smollm2] [--out FILE.jsonl]

Writes every local test group of ``draft2020-12`` (the non-optional files and ``optional/format``; groups with
remote ``$ref`` are left out) as a MaskBench-format file and runs the MaskBench harness on them with tokensieve:
each valid instance, tokenized, must be allowed by the mask at every token and end accepting; each invalid one
must be rejected somewhere. A group whose schema has an empty language (``false``, contradictory ``allOf``) is
exact when all its instances are invalid. Prints groups, compiled, exact and refused, per part of the suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from ._data import _SHARED


def _remote(schema) -> bool:
    text = json.dumps(schema)
    return "localhost:1234" in text or '"$ref": "https://json-schema.org' in text


def write_groups(suite: Path, out_dir: Path) -> dict[str, dict]:
    """One file per local group, named ``part---gNNN.json``; returns the groups by record name."""
    files = sorted(suite.glob("*.json")) + sorted((suite / "optional" / "format").glob("*.json"))
    groups = {}
    for f in files:
        part = ("format-" if f.parent.name == "format" else "") + f.stem.replace("_", "-")
        for i, g in enumerate(json.loads(f.read_text(encoding="utf-8"))):
            if _remote(g["schema"]):
                continue
            rec = {"description": g["description"], "schema": g["schema"],
                   "tests": [{"valid": t["valid"], "data": t["data"]} for t in g["tests"]]}
            (out_dir / f"{part}---g{i:03d}.json").write_text(json.dumps(rec), encoding="utf-8")
            groups[f"{part}/g{i:03d}"] = rec
    return groups


def summarize(records: list[dict], groups: dict[str, dict]) -> dict[str, Counter]:
    out: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        part = r["subset"]
        kind = "format.json" if part == "format" else "optional/format" if part.startswith("format-") else "core"
        c = out[kind]
        c["groups"] += 1
        if r["status"] == "ok":
            c["compiled"] += 1
            c["invalid accepted"] += r["invalid_total"] - r["invalid_rejected"]
            c["exact"] += r["valid_accepted"] == r["valid_total"] and r["invalid_rejected"] == r["invalid_total"]
        elif "empty language" in str(r.get("error")):
            c["empty language"] += 1
            c["exact"] += all(not t["valid"] for t in groups[r["schema"]]["tests"])
        else:
            c["refused"] += 1
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", type=Path, default=None, help="draft2020-12 folder of the JSON Schema Test Suite")
    ap.add_argument("--tokenizer", default="smollm2")
    ap.add_argument("--out", type=Path, default=Path("suite_tokens.jsonl"))
    args = ap.parse_args(argv)
    suite = args.suite or _SHARED / "json-schema-test-suite" / "tests" / "draft2020-12"
    if not suite.is_dir():
        print(f"JSON Schema Test Suite not found at {suite}", file=sys.stderr)
        return 2
    from .__main__ import main as bench_main

    with tempfile.TemporaryDirectory() as tmp:
        groups = write_groups(suite, Path(tmp))
        rc = bench_main(["maskbench", "--engines", "tokensieve", "--tokenizer", args.tokenizer, "--data", tmp,
                         "--out", str(args.out), "--no-resume", "--no-progress"])
        if rc:
            return rc
    records = [r for r in map(json.loads, args.out.read_text(encoding="utf-8").splitlines())
               if r.get("kind") == "maskbench"]
    parts = summarize(records, groups)
    cols = ["groups", "compiled", "empty language", "refused", "exact", "invalid accepted"]
    print(f"\nJSON Schema Test Suite ({suite}), token level ({args.tokenizer})\n")
    print("| part | " + " | ".join(cols) + " | exact share |")
    print("|---|" + "---:|" * (len(cols) + 1))
    total = Counter()
    for kind in ("core", "format.json", "optional/format"):
        c = parts.get(kind, Counter())
        total.update(c)
        print(f"| {kind} | " + " | ".join(str(c[k]) for k in cols) + f" | {c['exact'] / max(1, c['groups']):.1%} |")
    print("| **total** | " + " | ".join(str(total[k]) for k in cols)
          + f" | {total['exact'] / max(1, total['groups']):.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
