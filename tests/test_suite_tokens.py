"""The token-level JSON Schema Test Suite runner: group files and the summary (the harness is tested elsewhere)."""

from __future__ import annotations

import json

from jsonschemabench.suite_tokens import summarize, write_groups


def _suite(tmp_path):
    suite = tmp_path / "draft2020-12"
    (suite / "optional" / "format").mkdir(parents=True)
    (suite / "const.json").write_text(json.dumps([
        {"description": "const 1", "schema": {"const": 1}, "tests": [{"valid": True, "data": 1, "description": "a"},
                                                                   {"valid": False, "data": 2, "description": "b"}]},
        {"description": "remote", "schema": {"$ref": "http://localhost:1234/x.json"}, "tests": []},
        {"description": "false", "schema": False, "tests": [{"valid": False, "data": 1, "description": "c"}]},
    ]))
    (suite / "optional" / "format" / "date.json").write_text(json.dumps([
        {"description": "date", "schema": {"format": "date"}, "tests": [{"valid": True, "data": "2020-01-01",
                                                                         "description": "d"}]},
    ]))
    return suite


def test_write_groups_skips_remote_and_names_parts(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    groups = write_groups(_suite(tmp_path), out)
    assert sorted(groups) == ["const/g000", "const/g002", "format-date/g000"]
    assert sorted(p.name for p in out.iterdir()) == ["const---g000.json", "const---g002.json",
                                                     "format-date---g000.json"]


def test_summarize_counts_exact_and_empty_languages(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    groups = write_groups(_suite(tmp_path), out)
    records = [
        {"subset": "const", "schema": "const/g000", "status": "ok", "valid_total": 1, "valid_accepted": 1,
         "invalid_total": 1, "invalid_rejected": 1},
        {"subset": "const", "schema": "const/g002", "status": "error", "error": "grammar has an empty language"},
        {"subset": "format-date", "schema": "format-date/g000", "status": "ok", "valid_total": 1, "valid_accepted": 0,
         "invalid_total": 0, "invalid_rejected": 0},
    ]
    parts = summarize(records, groups)
    assert parts["core"] == {"groups": 2, "compiled": 1, "exact": 2, "empty language": 1, "invalid accepted": 0}
    assert parts["optional/format"]["exact"] == 0 and parts["optional/format"]["compiled"] == 1
