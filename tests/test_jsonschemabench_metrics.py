"""JSONSchemaBench runner, fast parts: metrics against hand-computed values, tables, validator, data, results file."""

from __future__ import annotations

import csv
import errno
import io
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jsonschemabench import _data, _metrics, _report, _results, _validate


# ------------------------------------------------------------------------------------------- metrics

def test_coverage_and_compliance_hand_computed():
    declared = [True, True, False, True]
    empirical = [True, False, False, True]
    assert _metrics.declared_coverage(declared) == 0.75
    assert _metrics.empirical_coverage(empirical) == 0.5
    assert _metrics.compliance(declared, empirical) == pytest.approx(2 / 3)


@given(st.lists(st.sampled_from([(0, 0), (1, 0), (1, 1)]), min_size=1, max_size=60))
def test_compliance_is_empirical_over_declared(pairs):
    """The paper's identity CR = EC / DC, and CR = mean of e over the declared schemas."""
    d = [bool(a) for a, _ in pairs]
    e = [bool(b) for _, b in pairs]
    cr = _metrics.compliance(d, e)
    dc = _metrics.declared_coverage(d)
    ec = _metrics.empirical_coverage(e)
    if dc == 0:
        assert math.isnan(cr)
    else:
        assert cr == pytest.approx(ec / dc)
        assert cr == pytest.approx(sum(y for x, y in zip(d, e) if x) / sum(d))


def test_compliance_rejects_impossible_data():
    with pytest.raises(ValueError, match="without a compiled grammar"):
        _metrics.compliance([False], [True])
    with pytest.raises(ValueError, match="length"):
        _metrics.compliance([True, True], [True])


@pytest.mark.parametrize("values, median, std", [([1, 1, 1], 1.0, 0.0), ([0, 0], 0.0, 0.0), ([1], 1.0, 0.0)],
                         ids=["all-ones", "all-zeros", "single"])
def test_bootstrap_constant_lists(values, median, std):
    assert _metrics.bootstrap(values) == (median, std)


def test_bootstrap_spread_and_seed():
    values = [0, 1] * 50  # mean 0.5, standard error sqrt(0.25 / 100) = 0.05
    m, s = _metrics.bootstrap(values, n=2000, seed=1)
    assert m == pytest.approx(0.5, abs=0.02)
    assert s == pytest.approx(0.05, abs=0.01)
    assert _metrics.bootstrap(values, seed=3) == _metrics.bootstrap(values, seed=3)
    assert all(math.isnan(x) for x in _metrics.bootstrap([]))


@pytest.mark.parametrize("ttft, tgt, n, expected", [(1.0, 3.0, 5, 500.0), (0.5, 0.5, 2, 0.0), (1.0, 3.0, 1, None),
                                                    (None, 3.0, 5, None)],
                         ids=["five-tokens", "instant", "one-token", "no-ttft"])
def test_tpot(ttft, tgt, n, expected):
    assert _metrics.tpot_ms(ttft, tgt, n) == expected


def _rec(schema, gct, tpot, ok=True, engine_none=False):
    return {"schema": schema, "compile_status": "none" if engine_none else ("ok" if ok else "unsupported"),
            "decode_status": "ok" if ok else None, "gct_s": None if engine_none else gct, "ttft_s": gct + 0.1,
            "tpot_ms": tpot, "step_ms": tpot, "tgt_s": gct + 1, "tokens": 10}


def test_efficiency_medians_on_common_schemas():
    a = [_rec("s1", 1.0, 10), _rec("s2", 3.0, 30), _rec("s3", 100.0, 999)]
    b = [_rec("s1", 0.1, 20), _rec("s2", 0.3, 40), _rec("s3", 0, 0, ok=False)]
    none = [_rec("s1", 0, 5, engine_none=True), _rec("s2", 0, 7, engine_none=True), _rec("s3", 0, 9, engine_none=True)]
    eff, n = _metrics.efficiency({"a": a, "b": b, "none": none})
    assert n == 2  # s3 is left out: b did not compile it
    assert eff["a"]["gct_s"] == 2.0 and eff["a"]["tpot_ms"] == 20.0
    assert eff["b"]["gct_s"] == pytest.approx(0.2) and eff["b"]["tpot_ms"] == 30.0
    assert eff["none"]["gct_s"] is None and eff["none"]["tpot_ms"] == 6.0


def test_run_table_numbers():
    recs = []
    for i, (d, e) in enumerate([(1, 1), (1, 0), (0, 0), (1, 1)]):
        recs.append({"kind": "run", "engine": "x", "subset": "S", "schema": f"S/{i}",
                     "compile_status": "ok" if d else "unsupported", "decode_status": "ok" if d else None,
                     "valid": bool(e), "gct_s": 0.5, "ttft_s": 1.0, "tgt_s": 2.0, "tpot_ms": 100.0, "step_ms": 90.0,
                     "tokens": 11})
    md, text = _report.run_tables(recs)
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["subset"] == "S" and row["n"] == "4"
    assert float(row["compliance_ratio"]) == pytest.approx(2 / 3)
    assert float(row["tpot_ms"]) == 100.0 and row["n_common"] == "3"
    assert "| S | x | 4 |" in md


def test_run_table_times_one_device_and_pools_subsets():
    """Records timed on two devices: efficiency uses the device with the most decoded records; coverage uses all;
    an ``all`` row pools the subsets."""
    recs = []
    for i, (subset, device, tpot) in enumerate([("S", "cuda", 10.0), ("S", "cuda", 30.0), ("T", "cuda", 20.0),
                                                ("T", "cpu", 900.0)]):
        recs.append({"kind": "run", "engine": "x", "subset": subset, "schema": f"{subset}/{i}", "device": device,
                     "compile_status": "ok", "decode_status": "ok", "valid": i != 3, "gct_s": 0.5, "ttft_s": 1.0,
                     "tgt_s": 2.0, "tpot_ms": tpot, "step_ms": tpot, "tokens": 11})
    md, text = _report.run_tables(recs)
    rows = {r["subset"]: r for r in csv.DictReader(io.StringIO(text))}
    assert list(rows) == ["S", "T", "all"]
    assert rows["T"]["n"] == "2" and float(rows["T"]["empirical"]) == 0.5  # the cpu record counts for coverage
    assert float(rows["T"]["tpot_ms"]) == 20.0 and rows["T"]["n_common"] == "1"  # but is not timed
    assert float(rows["all"]["tpot_ms"]) == 20.0 and rows["all"]["n_common"] == "3"
    assert rows["all"]["n"] == "4" and float(rows["all"]["empirical"]) == 0.75
    assert "timed on cuda; the others (1 on cpu) count for coverage only" in md
    assert _report.timing_device([]) == (None, "")
    assert _report.timing_device([{**recs[0], "device": None}])[0] == "cpu"  # records from before --device


def test_coverage_rows_and_losses():
    recs = [{"engine": e, "subset": "S", "schema": f"S/{i}", "status": st, "error": "why"}
            for i, sts in enumerate([("ok", "ok"), ("ok", "unsupported"), ("unsupported", "ok")])
            for e, st in zip(("tokensieve", "llguidance"), sts)]
    header, rows = _report.coverage_rows(recs)
    assert header[-2:] == ["llg ok, ts not", "ts ok, llg not"]
    assert rows == [["S", 3, "0.667 (2)", "0.667 (2)", 1, 1]]
    assert "`S/2`: unsupported: why" in _report.coverage_losses(recs)


def test_maskbench_table_ratios():
    def rec(engine, times, ttfm):
        return {"engine": engine, "schema": "S/a", "status": "ok", "ttfm_s": ttfm, "mask_us": times,
                "valid_total": 1, "valid_accepted": 1, "invalid_total": 1, "invalid_rejected": 1}

    md, text = _report.maskbench_table([rec("llguidance", [10.0, 20.0, 30.0], 0.002),
                                        rec("tokensieve", [5.0, 10.0, 15.0], 0.004)])
    assert "| tokensieve | 1 | 0.50 | 0.50 | 0.50 | 0.50 | 2.00 |" in md
    rows = {r["engine"]: r for r in csv.DictReader(io.StringIO(text))}
    assert float(rows["tokensieve"]["mask_p50_us"]) == 10.0


# ------------------------------------------------------------------------------------------- validator

def test_paper_format_set():
    c = _validate.Checker("paper")
    assert c.formats == tuple(sorted(_validate.PAPER_FORMATS))


@pytest.mark.parametrize("fmt, good, bad", [("date", "2024-02-29", "2024-13-45"), ("ipv4", "10.0.0.1", "999.1.1.1"),
                                            ("uuid", "12345678-1234-5678-1234-567812345678", "not-a-uuid"),
                                            ("email", "a@b.c", "no-at-sign")],
                         ids=["date", "ipv4", "uuid", "email"])
def test_checked_formats(fmt, good, bad):
    c = _validate.Checker("paper")
    schema = {"type": "string", "format": fmt}
    assert c.check(json.dumps(good), schema)[:2] == (True, True)
    assert c.check(json.dumps(bad), schema)[:2] == (True, False)


def test_unchecked_format_and_errors():
    c = _validate.Checker("paper")
    assert c.check('"yesterday"', {"format": "date-time"})[1]  # not in the paper's set: an annotation
    assert c.check("{", {}) [:2] == (False, False)
    ok, valid, why = c.check('{"a": "x"}', {"properties": {"a": {"type": "integer"}}})
    assert (ok, valid) == (True, False) and why.startswith("at /a")
    assert not c.check("1", {"type": 5})[1]  # a schema failing the meta-schema grades every output invalid


def test_extract_fenced():
    assert _validate.extract_fenced('Sure:\n```json\n{"a": 1}\n```\nBye') == '{"a": 1}'
    assert _validate.extract_fenced('{"a": 1}') == '{"a": 1}'


# ------------------------------------------------------------------------------------------- data

def test_sample_layout_and_prompt():
    subsets = _data.discover_subsets(_data.SAMPLE_DIR / "jsonschemabench")
    assert set(subsets) == set(_data.ALL_SUBSETS) and all(len(v) == 3 for v in subsets.values())
    assert _data.resolve_subsets("paper", subsets) == list(_data.PAPER_SUBSETS)
    item = _data.list_schemas(_data.SAMPLE_DIR / "jsonschemabench", "Kubernetes", limit=1)[0]
    schema, err = item.load()
    assert err is None
    msgs = _data.few_shot_messages(_data.SAMPLE_DIR / "few_shot_examples.json", "Kubernetes", schema)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"] == "You need to generate a JSON object that matches the schema below."
    assert msgs[-1]["content"] == json.dumps(schema)
    assert len(_data.few_shot_messages(_data.SAMPLE_DIR / "few_shot_examples.json", "Other", schema)) == 2


@pytest.mark.parametrize("text, reason", [("{not json", "not JSON"), ("[1, 2]", "must be an object")],
                         ids=["not-json", "array"])
def test_bad_schema_file(tmp_path, text, reason):
    p = tmp_path / "S" / "x.json"
    p.parent.mkdir()
    p.write_text(text)
    value, err = _data.SchemaItem("S", "x", p).load()
    assert value is None and reason in err


def test_bad_data_dir(tmp_path):
    with pytest.raises(_data.DataError, match="data directory not found"):
        _data.discover_subsets(tmp_path / "missing")
    with pytest.raises(_data.DataError, match="unknown subset"):
        _data.resolve_subsets("Nope", {"A": []})


# ------------------------------------------------------------------------------------------- results file

class _FullDisk:
    """Wraps a results file: after ``budget`` bytes it writes part of the next record, then fails like ENOSPC."""

    def __init__(self, f, budget):
        self.f, self.budget = f, budget

    def write(self, data):
        if len(data) > self.budget:
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        self.budget -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_results_disk_full_keeps_earlier_records(tmp_path):
    path = tmp_path / "r.jsonl"
    w = _results.ResultsWriter(path, ("engine", "schema"), kind="run")
    w.write({"engine": "a", "schema": "s1"})
    w.f = _FullDisk(w.f, budget=0)
    with pytest.raises(_results.ResultsWriteError, match="disk is full.*1 records written so far are intact"):
        w.write({"engine": "a", "schema": "s2", "output": "x" * 100})
    w.close()
    assert [r["schema"] for r in _results.read_records(path)] == ["s1"]
    assert path.read_bytes().endswith(b"\n")


def test_results_resume_drops_torn_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"kind": "run", "engine": "a", "schema": "s1"}) + '\n{"kind": "run", "eng')
    w = _results.ResultsWriter(path, ("engine", "schema"), kind="run")
    assert w.done == {("a", "s1")}
    w.write({"engine": "a", "schema": "s2"})
    w.close()
    assert [r["schema"] for r in _results.read_records(path)] == ["s1", "s2"]


def test_maskbench_table_gives_ratios_to_llguidance_and_to_xgrammar():
    from jsonschemabench._report import maskbench_table

    def rec(engine, schema, masks, ttfm):
        return {"kind": "maskbench", "engine": engine, "schema": schema, "subset": "S", "status": "ok",
                "ttfm_s": ttfm, "mask_us": masks, "valid_total": 1, "valid_accepted": 1, "invalid_total": 0,
                "invalid_rejected": 0}

    recs = [rec("tokensieve", "a", [10.0] * 9 + [100.0], 0.004), rec("llguidance", "a", [5.0] * 10, 0.002),
            rec("xgrammar", "a", [20.0] * 10, 0.008)]
    md, _ = maskbench_table(recs)
    to_llg = md.split("Ratios to llguidance")[1].split("Ratios to xgrammar")[0]
    to_xgr = md.split("Ratios to xgrammar")[1]
    assert "| tokensieve | 1 | 2.00 |" in to_llg and "| xgrammar | 1 | 4.00 |" in to_llg
    assert "| tokensieve | 1 | 0.50 |" in to_xgr and "| llguidance | 1 | 0.25 |" in to_xgr
    row = next(line for line in to_xgr.splitlines() if line.startswith("| tokensieve |"))
    assert row.split("|")[-2].strip() == "0.50"  # TTFM p50: 4 ms / 8 ms
